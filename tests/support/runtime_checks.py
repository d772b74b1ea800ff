"""What every embedding backend's tests check the same way."""

from __future__ import annotations

from typing import Any

import numpy as np

TITLES = [
    "red shoe",
    "blue denim jacket with long sleeves, two chest pockets and silver buttons",
    "a",
    "women's waterproof hiking boots, size 38, brown leather",
]


def assert_unit_rows(vectors: np.ndarray, rows: int, dimension: int) -> None:
    """``rows`` float32 vectors of ``dimension`` with unit L2 norm."""
    assert vectors.shape == (rows, dimension)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def assert_fp16_matches_fp32(half: Any, full: Any, photos: list[Any]) -> None:
    """A CUDA fp16 load gives float32 unit rows pointing where the fp32 model's do."""
    assert (half.info.device.startswith("cuda"), half.info.dtype) == (True, "float16")
    for got, want in [
        (half.encode_texts(TITLES), full.encode_texts(TITLES)),
        (half.encode_images(photos), full.encode_images(photos)),
    ]:
        assert_unit_rows(got, len(want), half.info.dimension)
        assert float(np.min(np.sum(got * want, axis=1))) > 0.99
