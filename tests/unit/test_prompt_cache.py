"""The attribute captioner's prompt vectors are kept on disk, keyed by model and vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from vectorizer_service.compose.attributes import AttributeCaptioner
from vectorizer_service.compose.prompt_cache import default_cache_dir
from vectorizer_service.compose.vocab import load_vocabulary
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors


class CountingEmbedder(FakeEmbedder):
    def __init__(self, dimension: int = 16) -> None:
        super().__init__(dimension)
        self.texts_encoded = 0

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        self.texts_encoded += len(texts)
        return super().encode_texts(texts)


class ShiftedEmbedder(CountingEmbedder):
    """Same name and dimension as the fake, different weights."""

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        return super().encode_texts([f"shifted {t}" for t in texts])


def test_second_load_reads_the_vectors_instead_of_encoding(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(None)
    first_embedder, second_embedder = CountingEmbedder(), CountingEmbedder()
    first = AttributeCaptioner(first_embedder, vocabulary, cache_dir=tmp_path)
    second = AttributeCaptioner(second_embedder, vocabulary, cache_dir=tmp_path)
    assert first_embedder.texts_encoded > 100  # the whole vocabulary (+ the probe)
    assert second_embedder.texts_encoded == 1  # the probe text only
    np.testing.assert_array_equal(first._category_vectors, second._category_vectors)
    uncached = AttributeCaptioner(CountingEmbedder(), vocabulary)
    np.testing.assert_allclose(uncached._category_vectors, second._category_vectors, atol=1e-7)


def test_other_weights_or_vocabulary_are_other_entries(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(None)
    AttributeCaptioner(CountingEmbedder(), vocabulary, cache_dir=tmp_path)
    shifted = ShiftedEmbedder()
    AttributeCaptioner(shifted, vocabulary, cache_dir=tmp_path)
    assert shifted.texts_encoded > 100
    changed = vocabulary.model_copy(update={"prompt": vocabulary.prompt + " (studio shot)"})
    again = CountingEmbedder()
    AttributeCaptioner(again, changed, cache_dir=tmp_path)
    assert again.texts_encoded > 100
    assert len(list((tmp_path / "prompt-vectors").glob("*.npy"))) == 3


def test_an_unreadable_entry_is_recomputed(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(None)
    AttributeCaptioner(CountingEmbedder(), vocabulary, cache_dir=tmp_path)
    [entry] = (tmp_path / "prompt-vectors").glob("*.npy")
    entry.write_bytes(b"not numpy")
    embedder = CountingEmbedder()
    AttributeCaptioner(embedder, vocabulary, cache_dir=tmp_path)
    assert embedder.texts_encoded > 100


def test_default_folder_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir(None) == tmp_path / "grounded"
    assert default_cache_dir(tmp_path / "x") == tmp_path / "x"
