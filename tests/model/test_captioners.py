"""Captioners on tiny real models saved to disk and loaded through the production loaders."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from schemas.errors import ModelUnavailableError
from schemas.wire import ComposeOptions
from vectorizer_service.compose.attributes import AttributeCaptioner
from vectorizer_service.compose.factory import load_captioner, load_stage_models
from vectorizer_service.compose.pipeline import ComposePipeline
from vectorizer_service.compose.protocols import Caption, ComposeDeps, Cutout
from vectorizer_service.compose.random_weights import save_random_captioner
from vectorizer_service.compose.vocab import load_vocabulary, render_caption
from vectorizer_service.runtime.loader import load_embedder
from vectorizer_service.runtime.protocol import Embedder, Vectors
from vectorizer_service.settings import ServiceSettings


def _hf_settings(model: str) -> ServiceSettings:
    return ServiceSettings(captioner="transformers", caption_model=model, offline=True, device="cpu")


@pytest.fixture(scope="module", params=["blip", "git"])
def captioner_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return save_random_captioner(tmp_path_factory.mktemp(request.param), kind=request.param)


@pytest.fixture(scope="module")
def tiny_clip(tiny_clip_settings: dict[str, Any]) -> Embedder:
    return load_embedder(ServiceSettings(**tiny_clip_settings))


def test_transformers_captioner_from_a_local_directory(
    captioner_dir: str, sample_images: dict[str, Image.Image]
) -> None:
    captioner = load_captioner(_hf_settings(captioner_dir), embedder=None)  # type: ignore[arg-type]
    assert captioner is not None and captioner.name == f"transformers:{captioner_dir}"
    images = [sample_images["astronaut"], sample_images["coffee"]]
    batch = captioner.caption(images)
    assert len(batch) == 2
    for caption in batch:
        assert caption.text.strip() and caption.attributes == {}
    # batching changes nothing: each image alone gets the same caption
    assert [captioner.caption([im])[0] for im in images] == batch
    assert captioner.caption([]) == []


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        ("/no/such/captioner", "not found"),
        ("grounded-tests/not-a-captioner", "offline"),
    ],
)
def test_unavailable_caption_model_is_a_clear_error(model: str, problem: str) -> None:
    with pytest.raises(ModelUnavailableError, match="GROUNDED_CAPTION_MODEL") as info:
        load_captioner(_hf_settings(model), embedder=None)  # type: ignore[arg-type]
    assert model in info.value.message and problem in info.value.message


def test_a_clip_directory_is_not_a_captioner(tiny_hf_clip_settings: dict[str, Any]) -> None:
    with pytest.raises(ModelUnavailableError, match="cannot be loaded"):
        load_captioner(_hf_settings(tiny_hf_clip_settings["model"]), embedder=None)  # type: ignore[arg-type]


def test_attribute_captioner_on_tiny_clip(tiny_clip: Embedder, sample_images: dict[str, Image.Image]) -> None:
    captioner = load_captioner(ServiceSettings(captioner="attributes"), tiny_clip)
    assert isinstance(captioner, AttributeCaptioner)
    vocabulary = load_vocabulary()
    captions = captioner.caption(list(sample_images.values()))
    assert len(captions) == len(sample_images)
    for caption in captions:
        # whatever a random model picks, the caption is the vocabulary's rendering of it
        for name, value in caption.attributes.items():
            spec = vocabulary.category(value) if name == "category" else vocabulary.attribute(name)
            assert spec is not None, (name, value)
        if not caption.text:  # nothing sure: nothing named, and every reason given
            assert caption.attributes == {} and caption.left_out
            continue
        groups = [None, *vocabulary.groups]  # without a category the noun is a group's
        assert any(caption.text == render_caption(vocabulary, caption.attributes, group=g) for g in groups)


def test_attribute_captioner_with_a_custom_vocabulary(tiny_clip: Embedder, tmp_path: Path) -> None:
    path = tmp_path / "mugs.json"
    colour = {"name": "colour", "values": ["red", "blue"], "min_probability": 0, "min_margin": 0}
    vocabulary = {
        "format": "grounded-vocabulary/1",
        "groups": {"home": {"noun": "item"}},
        "categories": [{"name": "mug", "group": "home"}, {"name": "vase", "group": "home"}],
        "category_min_probability": 0,
        "category_min_margin": 0,
        "attributes": [colour],
    }
    path.write_text(json.dumps(vocabulary))
    # the vocabulary's thresholds alone (the service's floor off)
    settings = ServiceSettings(captioner="attributes", vocabulary=path, caption_min_probability=0.0)
    captioner = load_captioner(settings, tiny_clip)
    assert captioner is not None
    [caption] = captioner.caption([Image.new("RGB", (40, 40), (200, 20, 20))])
    # thresholds of 0 always pick: one of each
    assert caption.attributes["category"] in {"mug", "vase"}
    assert caption.attributes["colour"] in {"red", "blue"}
    assert caption.text == f"a {caption.attributes['colour']} {caption.attributes['category']}"


async def test_pipeline_end_to_end_on_real_models(
    tiny_clip: Embedder, u2net_home: Path, sample_images: dict[str, Image.Image]
) -> None:
    # A random model is sure of nothing at its own (untrained) temperature and the shipped floor:
    # read it at CLIP's 100 with the vocabulary's thresholds alone, so that a caption is made.
    settings = ServiceSettings(
        u2net_home=u2net_home,
        captioner="attributes",
        device="cpu",
        caption_min_probability=0.0,
        caption_logit_scale=100.0,
    )
    remover, captioner = load_stage_models(settings, tiny_clip)
    assert remover is not None and captioner is not None

    async def encode_texts(texts: Sequence[str]) -> Vectors:
        return tiny_clip.encode_texts(texts)

    async def encode_images(images: Sequence[Image.Image]) -> Vectors:
        return tiny_clip.encode_images(images)

    async def remove(image: Image.Image) -> Cutout:
        return remover.remove([image])[0]

    async def caption(image: Image.Image) -> Caption:
        return captioner.caption([image])[0]

    pipeline = ComposePipeline(ComposeDeps(encode_texts, encode_images, remove, caption), settings)
    result = await pipeline.run(sample_images["chelsea"], "in blue", ComposeOptions(image_weight=0.3))
    ex = result.explanation
    assert ex.background_removed and ex.mask_coverage is not None
    assert ex.caption and ex.fused_text and ex.fused_text.endswith(", in blue")
    assert [t.stage for t in ex.timings] == ["background", "caption", "fusion", "embedding"]
    vector = np.asarray(result.vector, dtype=np.float32)
    assert vector.shape == (tiny_clip.info.dimension,)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)
