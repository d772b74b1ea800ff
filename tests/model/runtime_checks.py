"""What every embedding backend's tests check the same way."""

from __future__ import annotations

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
