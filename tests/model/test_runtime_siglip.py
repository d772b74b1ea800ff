"""The transformers backend on a tiny random SiglipModel with a freshly trained tokenizer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vectorizer_service.runtime import Embedder, load_embedder
from vectorizer_service.settings import ServiceSettings

pytest.importorskip("sentencepiece", reason="SigLIP's tokenizer needs the sentencepiece package")

TITLES = ["red leather shoe", "blue denim jacket with two chest pockets", "a cat"]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    from vectorizer_service.runtime import save_random_hf_siglip

    model_dir = save_random_hf_siglip(tmp_path_factory.mktemp("tiny_siglip"))
    return load_embedder(ServiceSettings(backend="transformers", model=model_dir, device="cpu", offline=True))


def test_siglip_never_trims_its_texts(embedder: Embedder) -> None:
    # Bidirectional attention and last-position pooling: padding changes the vector.
    assert (embedder.info.backend, embedder.info.text_trimming) == ("transformers", False)
    assert (embedder.info.dimension, embedder.info.context_length) == (32, 16)


def test_siglip_vectors_are_unit_float32_in_order(
    embedder: Embedder, sample_images: dict[str, Image.Image]
) -> None:
    texts = embedder.encode_texts(TITLES)
    images = embedder.encode_images(list(sample_images.values()))
    for vectors, count in [(texts, len(TITLES)), (images, len(sample_images))]:
        assert vectors.shape == (count, 32) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embedder.encode_texts(TITLES[::-1])[::-1], texts, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([embedder.encode_texts([t]) for t in TITLES]), texts, atol=1e-5)


def test_siglip_truncates_long_texts(embedder: Embedder) -> None:
    words = " ".join(["waterproof"] * 40)
    vectors = embedder.encode_texts([words, words + " silk velvet"])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


def test_siglip_tokenizer_is_deterministic(tmp_path: Path) -> None:
    from vectorizer_service.runtime import save_random_hf_siglip

    first = Path(save_random_hf_siglip(tmp_path / "a")) / "spiece.model"
    second = Path(save_random_hf_siglip(tmp_path / "b")) / "spiece.model"
    assert first.read_bytes() == second.read_bytes()
