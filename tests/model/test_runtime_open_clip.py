"""The open_clip backend on tiny random models saved to disk and loaded like real weights."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from tests.support.runtime_checks import TITLES, assert_fp16_matches_fp32, assert_unit_rows
from vectorizer_service.runtime import (
    TINY_OPEN_CLIP_CONFIG,
    Embedder,
    load_embedder,
    save_random_open_clip,
)
from vectorizer_service.runtime.folder_identity import weights_sha256
from vectorizer_service.settings import ServiceSettings


@pytest.fixture(scope="module")
def embedder(tiny_clip_settings: dict[str, Any]) -> Embedder:
    return load_embedder(ServiceSettings(**tiny_clip_settings))


@pytest.fixture(scope="module")
def untrimmed(tiny_clip_settings: dict[str, Any]) -> Embedder:
    return load_embedder(ServiceSettings(**tiny_clip_settings, trim_text=False))


def test_info_describes_the_loaded_model(embedder: Embedder, tiny_clip_settings: dict[str, Any]) -> None:
    info = embedder.info
    assert (info.backend, info.name, info.device, info.dtype) == (
        "open_clip",
        tiny_clip_settings["model"],
        "cpu",
        "float32",
    )
    assert info.dimension == TINY_OPEN_CLIP_CONFIG["embed_dim"]
    assert info.context_length == 77
    assert info.text_trimming is True
    # The folder's weights hash, which a store records beside the (unchanged) vector space.
    folder = Path(tiny_clip_settings["model"].removeprefix("local-dir:"))
    assert info.weights_sha256 == weights_sha256(folder)
    assert info.weights_sha256.startswith("sha256:") and info.weights_sha256 not in info.vector_space


def test_texts_give_unit_float32_rows_in_input_order(embedder: Embedder) -> None:
    vectors = embedder.encode_texts(TITLES)
    assert_unit_rows(vectors, len(TITLES), embedder.info.dimension)
    reversed_vectors = embedder.encode_texts(TITLES[::-1])
    np.testing.assert_allclose(reversed_vectors[::-1], vectors, atol=1e-5)
    one_by_one = np.concatenate([embedder.encode_texts([title]) for title in TITLES])
    np.testing.assert_allclose(one_by_one, vectors, atol=1e-5)
    # Different titles must not collapse onto one vector.
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-3


def test_images_give_unit_float32_rows_in_input_order(
    embedder: Embedder, sample_images: dict[str, Image.Image]
) -> None:
    photos = list(sample_images.values())
    vectors = embedder.encode_images(photos)
    assert_unit_rows(vectors, len(photos), embedder.info.dimension)
    np.testing.assert_allclose(embedder.encode_images(photos[::-1])[::-1], vectors, atol=1e-5)
    np.testing.assert_array_equal(embedder.encode_images(photos), vectors)
    assert np.abs(vectors[0] - vectors[1]).max() > 1e-3


def test_grayscale_and_rgba_images_are_accepted(embedder: Embedder) -> None:
    images = [Image.new("L", (40, 30), 128), Image.new("RGBA", (30, 40), (10, 200, 30, 100))]
    assert_unit_rows(embedder.encode_images(images), 2, embedder.info.dimension)


def test_empty_batches_give_empty_arrays(embedder: Embedder) -> None:
    assert embedder.encode_texts([]).shape == (0, embedder.info.dimension)
    assert embedder.encode_images([]).shape == (0, embedder.info.dimension)


def test_trimmed_vectors_equal_untrimmed_ones(embedder: Embedder, untrimmed: Embedder) -> None:
    assert untrimmed.info.text_trimming is False
    long_text = " ".join(["waterproof breathable lightweight"] * 60)  # far beyond 77 tokens
    batch = [*TITLES, long_text]
    np.testing.assert_allclose(embedder.encode_texts(batch), untrimmed.encode_texts(batch), atol=1e-5)


def test_texts_longer_than_the_context_are_truncated_not_rejected(embedder: Embedder) -> None:
    words = ["cotton"] * 100
    head, longer = " ".join(words), " ".join([*words, "silk", "wool", "velvet"])
    vectors = embedder.encode_texts([head, longer])
    assert_unit_rows(vectors, 2, embedder.info.dimension)
    # Everything past the context is cut, so the extra words change nothing.
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)


@pytest.fixture
def text_lengths_seen(embedder: Embedder) -> Iterator[list[int]]:
    """Sequence lengths the text transformer actually runs on."""
    seen: list[int] = []
    model: Any = embedder._model  # type: ignore[attr-defined]

    def record(_module: torch.nn.Module, args: tuple[Any, ...]) -> None:
        seen.append(int(args[0].shape[1]))

    handle = model.transformer.register_forward_pre_hook(record)
    yield seen
    handle.remove()


def test_trimming_runs_the_text_tower_on_the_longest_title_only(
    embedder: Embedder, text_lengths_seen: list[int]
) -> None:
    embedder.encode_texts(["red shoe", "blue jeans slim fit"])
    # <start> + 4 tokens + <end> = 6 positions instead of 77.
    assert text_lengths_seen == [6]


def test_named_architecture_with_a_checkpoint_file(tmp_path: Path, embedder: Embedder) -> None:
    model_dir = tmp_path / "weights"
    save_random_open_clip(TINY_OPEN_CLIP_CONFIG, model_dir)
    arch = tmp_path / "Tiny-CLIP.json"
    arch.write_text(json.dumps(TINY_OPEN_CLIP_CONFIG))
    settings = ServiceSettings(
        model=str(arch), pretrained=str(model_dir / "open_clip_model.safetensors"), device="cpu", offline=True
    )
    loaded = load_embedder(settings)
    assert loaded.info.text_trimming is True
    assert loaded.info.weights_sha256 == weights_sha256(model_dir)  # the checkpoint file's hash
    # Same seed, same architecture: the very vectors of the fixture model.
    np.testing.assert_allclose(loaded.encode_texts(TITLES), embedder.encode_texts(TITLES), atol=1e-6)


def test_a_plain_directory_loads_like_local_dir(
    tiny_clip_settings: dict[str, Any], embedder: Embedder
) -> None:
    directory = tiny_clip_settings["model"].removeprefix("local-dir:")
    loaded = load_embedder(ServiceSettings(**{**tiny_clip_settings, "model": directory}))
    np.testing.assert_allclose(loaded.encode_texts(TITLES[:2]), embedder.encode_texts(TITLES[:2]), atol=1e-6)


def test_random_weights_are_seeded(tmp_path: Path, embedder: Embedder) -> None:
    other, _ = save_random_open_clip(TINY_OPEN_CLIP_CONFIG, tmp_path / "seed1", seed=1)
    reseeded = load_embedder(ServiceSettings(model=other, pretrained="", device="cpu", offline=True))
    assert np.abs(reseeded.encode_texts(TITLES) - embedder.encode_texts(TITLES)).max() > 1e-3


@pytest.mark.parametrize(
    "text_cfg_change",
    [{"no_causal_mask": True}, {"pool_type": "last"}],
    ids=["bidirectional-attention", "last-token-pooling"],
)
def test_trimming_is_off_where_it_would_change_vectors(
    tmp_path: Path, text_cfg_change: dict[str, Any]
) -> None:
    config = json.loads(json.dumps(TINY_OPEN_CLIP_CONFIG))
    config["text_cfg"].update(text_cfg_change)
    model, pretrained = save_random_open_clip(config, tmp_path / "model")
    loaded = load_embedder(ServiceSettings(model=model, pretrained=pretrained, device="cpu", offline=True))
    assert loaded.info.text_trimming is False
    assert_unit_rows(loaded.encode_texts(TITLES), len(TITLES), loaded.info.dimension)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="fp16 runs only on CUDA; no GPU here")
def test_fp16_on_cuda_returns_float32_close_to_fp32(
    tiny_clip_settings: dict[str, Any], embedder: Embedder, sample_images: dict[str, Image.Image]
) -> None:
    half = load_embedder(ServiceSettings(**{**tiny_clip_settings, "device": "auto"}))
    assert_fp16_matches_fp32(half, embedder, list(sample_images.values()))
