"""The transformers backend on a tiny random CLIPModel saved with ``save_pretrained``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from tests.support.runtime_checks import TITLES, assert_fp16_matches_fp32, assert_unit_rows
from vectorizer_service.runtime import Embedder, load_embedder, save_random_hf_clip
from vectorizer_service.settings import ServiceSettings


@pytest.fixture(scope="module")
def embedder(tiny_hf_clip_settings: dict[str, Any]) -> Embedder:
    return load_embedder(ServiceSettings(**tiny_hf_clip_settings))


@pytest.fixture(scope="module")
def untrimmed(tiny_hf_clip_settings: dict[str, Any]) -> Embedder:
    return load_embedder(ServiceSettings(**tiny_hf_clip_settings, trim_text=False))


def test_the_saved_directory_contains_the_real_files(tiny_hf_clip_settings: dict[str, Any]) -> None:
    names = {path.name for path in Path(tiny_hf_clip_settings["model"]).iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "processor_config.json"} <= names


def test_info_describes_the_loaded_model(embedder: Embedder, tiny_hf_clip_settings: dict[str, Any]) -> None:
    info = embedder.info
    assert (info.backend, info.name, info.device, info.dtype) == (
        "transformers",
        tiny_hf_clip_settings["model"],
        "cpu",
        "float32",
    )
    assert (info.dimension, info.context_length, info.text_trimming) == (32, 77, True)


def test_texts_give_unit_float32_rows_in_input_order(embedder: Embedder) -> None:
    vectors = embedder.encode_texts(TITLES)
    assert_unit_rows(vectors, len(TITLES), embedder.info.dimension)
    np.testing.assert_allclose(embedder.encode_texts(TITLES[::-1])[::-1], vectors, atol=1e-5)
    one_by_one = np.concatenate([embedder.encode_texts([title]) for title in TITLES])
    np.testing.assert_allclose(one_by_one, vectors, atol=1e-5)
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-3


def test_images_give_unit_float32_rows_in_input_order(
    embedder: Embedder, sample_images: dict[str, Image.Image]
) -> None:
    photos = [*sample_images.values(), Image.new("L", (40, 30), 128)]
    vectors = embedder.encode_images(photos)
    assert_unit_rows(vectors, len(photos), embedder.info.dimension)
    np.testing.assert_allclose(embedder.encode_images(photos[::-1])[::-1], vectors, atol=1e-5)
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-3


def test_longest_padding_equals_full_context_padding(embedder: Embedder, untrimmed: Embedder) -> None:
    assert untrimmed.info.text_trimming is False
    batch = [*TITLES, " ".join(["waterproof breathable lightweight"] * 60)]
    np.testing.assert_allclose(embedder.encode_texts(batch), untrimmed.encode_texts(batch), atol=1e-5)


def test_texts_longer_than_the_context_are_truncated_not_rejected(embedder: Embedder) -> None:
    words = ["cotton"] * 100
    vectors = embedder.encode_texts([" ".join(words), " ".join([*words, "silk", "wool"])])
    assert_unit_rows(vectors, 2, embedder.info.dimension)
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


def test_random_weights_are_seeded(tmp_path: Path, embedder: Embedder) -> None:
    same = load_embedder(
        ServiceSettings(
            backend="transformers", model=save_random_hf_clip(tmp_path / "a"), device="cpu", offline=True
        )
    )
    np.testing.assert_allclose(same.encode_texts(TITLES), embedder.encode_texts(TITLES), atol=1e-6)
    other_dir = save_random_hf_clip(tmp_path / "b", seed=1)
    other = load_embedder(
        ServiceSettings(backend="transformers", model=other_dir, device="cpu", offline=True)
    )
    assert np.abs(other.encode_texts(TITLES) - embedder.encode_texts(TITLES)).max() > 1e-3


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 runs only on CUDA; no GPU here")
def test_fp16_on_cuda_returns_float32_close_to_fp32(
    tiny_hf_clip_settings: dict[str, Any], embedder: Embedder, sample_images: dict[str, Image.Image]
) -> None:
    half = load_embedder(ServiceSettings(**{**tiny_hf_clip_settings, "device": "auto"}))
    assert_fp16_matches_fp32(half, embedder, list(sample_images.values()))
