"""The composed-query pipeline over fake models: switches, explanation, image weight, vector."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from PIL import Image

from schemas.errors import InvalidInputError
from schemas.wire import ComposeOptions, ComposeResult
from vectorizer_service.compose.fake import FakeCaptioner, FakeRemover
from vectorizer_service.compose.pipeline import ComposePipeline
from vectorizer_service.compose.protocols import Caption, ComposeDeps, Cutout
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors
from vectorizer_service.settings import ServiceSettings

STAGES = ["background", "caption", "fusion", "embedding"]


@dataclass
class Rig:
    """A pipeline over fakes, with the fakes exposed for assertions."""

    embedder: FakeEmbedder = field(default_factory=FakeEmbedder)
    remover: FakeRemover | None = field(default_factory=FakeRemover)
    captioner: FakeCaptioner | None = field(default_factory=FakeCaptioner)
    settings: dict[str, Any] = field(default_factory=dict)

    def deps(self) -> ComposeDeps:
        async def encode_texts(texts: Sequence[str]) -> Vectors:
            return self.embedder.encode_texts(texts)

        async def encode_images(images: Sequence[Image.Image]) -> Vectors:
            return self.embedder.encode_images(images)

        async def remove(image: Image.Image) -> Cutout:
            assert self.remover is not None
            return self.remover.remove([image])[0]

        async def caption(image: Image.Image) -> Caption:
            assert self.captioner is not None
            return self.captioner.caption([image])[0]

        return ComposeDeps(
            encode_texts=encode_texts,
            encode_images=encode_images,
            remove_background=remove if self.remover is not None else None,
            caption=caption if self.captioner is not None else None,
        )

    def pipeline(self) -> ComposePipeline:
        # These tests are about the stages: the server's method is pinned to the linear image
        # anchor, whose vector is the fused text's (the ensemble default: test_fusion_methods).
        return ComposePipeline(
            self.deps(), ServiceSettings(**{"fusion_method": "image_anchor", **self.settings})
        )

    async def run(self, image: Image.Image | None, text: str, **options: Any) -> ComposeResult:
        return await self.pipeline().run(image, text, ComposeOptions(**options))

    def text_vector(self, text: str) -> np.ndarray:
        return self.embedder.encode_texts([text])[0]


@pytest.fixture
def photo() -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8))


def timing(result: ComposeResult, stage: str) -> tuple[bool, str]:
    found = [t for t in result.explanation.timings if t.stage == stage]
    assert len(found) == 1, f"stage {stage} listed {len(found)} times"
    return found[0].skipped, found[0].note


async def test_all_stages_explanation_is_complete(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue")
    ex = result.explanation
    assert ex.caption == "a red floral cotton dress"
    assert ex.attributes == {"category": "dress", "colour": "red", "pattern": "floral", "material": "cotton"}
    assert ex.modification == "in blue"
    assert ex.fused_text == "a photo of a floral cotton dress, in blue"
    assert ex.mask_coverage == 0.5
    assert ex.background_removed is True
    assert "background removed" in ex.background_note
    assert ex.image_weight == 0.0
    assert [t.stage for t in ex.timings] == STAGES
    assert not any(t.skipped for t in ex.timings)
    assert all(t.ms >= 0 for t in ex.timings)
    assert "colour=red" in timing(result, "fusion")[1]
    assert ex.cutout_png is None
    # the query is the text vector of the fused text, unit length, float32-representable
    vector = np.asarray(result.vector, dtype=np.float32)
    np.testing.assert_allclose(vector, rig.text_vector(ex.fused_text), atol=1e-6)
    assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-5)


async def test_captioner_sees_the_cutout(photo: Image.Image) -> None:
    rig = Rig()
    await rig.run(photo, "in blue")
    assert rig.captioner is not None and rig.remover is not None
    assert rig.remover.batches == [1]
    seen = rig.captioner.seen[0]
    assert seen.getpixel((0, 0)) == (255, 255, 255)  # the fake remover whitens the border
    assert seen.tobytes() != photo.tobytes()


@pytest.mark.parametrize(
    ("options", "skipped", "fused"),
    [
        ({"remove_background": False}, {"background"}, "a photo of a floral cotton dress, in blue"),
        ({"caption": False}, {"caption"}, "in blue"),
        ({"fuse": False}, {"fusion"}, "in blue"),
        (
            {"remove_background": False, "caption": False, "fuse": False},
            {"background", "caption", "fusion"},
            "in blue",
        ),
    ],
)
async def test_stage_switches(
    photo: Image.Image, options: dict[str, bool], skipped: set[str], fused: str
) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue", **options)
    ex = result.explanation
    assert [t.stage for t in ex.timings] == STAGES
    assert {t.stage for t in ex.timings if t.skipped} == skipped
    for stage in skipped:
        assert "switched off" in timing(result, stage)[1]
    assert ex.fused_text == fused
    np.testing.assert_allclose(result.vector, rig.text_vector(fused), atol=1e-6)
    if "background" in skipped:
        assert ex.background_removed is False and ex.mask_coverage is None
        assert ex.background_note == "switched off"
        assert rig.remover is not None and rig.remover.batches == []
    if "caption" in skipped:
        assert ex.caption is None and ex.attributes == {}
    else:
        assert ex.caption == "a red floral cotton dress"


async def test_server_defaults_apply_when_options_are_unset(photo: Image.Image) -> None:
    rig = Rig(settings={"remove_background": False, "fusion_template": "{caption} but {modification}"})
    ex = (await rig.run(photo, "in blue")).explanation
    assert timing_skipped(ex.timings, "background")
    assert ex.fused_text == "a floral cotton dress but in blue"
    ex = (
        await rig.run(photo, "in blue", remove_background=True, template="{modification} like {caption}")
    ).explanation
    assert ex.background_removed is True
    assert ex.fused_text == "in blue like a floral cotton dress"


async def test_plain_template_keeps_overridden_attributes(photo: Image.Image) -> None:
    ex = (await Rig().run(photo, "in blue", drop_overridden=False)).explanation
    assert ex.fused_text == "a photo of a red floral cotton dress, in blue"
    assert "dropped" not in timing_note(ex.timings, "fusion")


def timing_note(timings: Sequence[Any], stage: str) -> str:
    return str(next(t.note for t in timings if t.stage == stage))


def timing_skipped(timings: Sequence[Any], stage: str) -> bool:
    return next(t.skipped for t in timings if t.stage == stage)


async def test_text_only_query_skips_image_stages() -> None:
    rig = Rig()
    result = await rig.run(None, "a blue dress", image_weight=0.5)
    ex = result.explanation
    assert timing(result, "background") == (True, "no reference image")
    assert timing(result, "caption") == (True, "no reference image")
    assert ex.background_note == "no reference image"
    assert ex.fused_text == "a blue dress"
    assert ex.image_weight == 0.0
    assert "no reference image" in timing(result, "embedding")[1]
    np.testing.assert_allclose(result.vector, rig.text_vector("a blue dress"), atol=1e-6)


@pytest.mark.parametrize(("coverage", "note"), [(0.0, "mask is empty"), (0.995, "almost the whole image")])
async def test_unusable_mask_keeps_the_original(photo: Image.Image, coverage: float, note: str) -> None:
    rig = Rig(remover=FakeRemover(coverage=coverage))
    result = await rig.run(photo, "in blue", return_cutout=True)
    ex = result.explanation
    assert ex.background_removed is False
    assert ex.mask_coverage == coverage
    assert note in ex.background_note and "kept the original" in ex.background_note
    assert not timing(result, "background")[0]
    assert rig.captioner is not None and rig.captioner.seen[0].tobytes() == photo.tobytes()
    assert ex.cutout_png is None


async def test_return_cutout_gives_the_png(photo: Image.Image) -> None:
    result = await Rig().run(photo, "in blue", return_cutout=True)
    png = result.explanation.cutout_png
    assert png is not None and png.startswith(b"\x89PNG")
    cutout = Image.open(io.BytesIO(png))
    assert cutout.size == photo.size
    assert cutout.convert("RGB").getpixel((0, 0)) == (255, 255, 255)
    # it survives the JSON wire format (base64)
    again = ComposeResult.model_validate_json(result.model_dump_json())
    assert again.explanation.cutout_png == png


@pytest.mark.parametrize("weight", [0.25, 0.5, 1.0])
async def test_image_weight_mixes_the_cutout_vector(photo: Image.Image, weight: float) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue", image_weight=weight, return_cutout=True)
    ex = result.explanation
    assert ex.image_weight == weight
    assert ex.cutout_png is not None
    cutout = Image.open(io.BytesIO(ex.cutout_png)).convert("RGB")
    text_vec = rig.text_vector(ex.fused_text or "")
    image_vec = rig.embedder.encode_images([cutout])[0]
    expected = (1 - weight) * text_vec + weight * image_vec
    expected /= np.linalg.norm(expected)
    np.testing.assert_allclose(result.vector, expected, atol=1e-5)
    assert np.linalg.norm(result.vector) == pytest.approx(1.0, abs=1e-5)
    assert f"weight {weight:g}" in timing(result, "embedding")[1]


async def test_default_image_weight_comes_from_settings(photo: Image.Image) -> None:
    result = await Rig(settings={"image_weight": 0.2}).run(photo, "in blue")
    assert result.explanation.image_weight == 0.2


async def test_empty_text_embeds_the_caption(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "  ")
    assert result.explanation.fused_text == "a red floral cotton dress"
    np.testing.assert_allclose(result.vector, rig.text_vector("a red floral cotton dress"), atol=1e-6)


async def test_nothing_to_embed_fails_before_any_model_runs(photo: Image.Image) -> None:
    rig = Rig()
    with pytest.raises(InvalidInputError, match="nothing to compose"):
        await rig.run(photo, "", caption=False)
    with pytest.raises(InvalidInputError, match="nothing to compose"):
        await rig.run(None, " ")
    assert rig.remover is not None and rig.remover.batches == []
    assert rig.embedder.text_batches == []


async def test_unloaded_models_are_skipped_with_a_note(photo: Image.Image) -> None:
    result = await Rig(remover=None, captioner=None).run(photo, "in blue")
    assert timing(result, "background") == (True, "no background remover loaded")
    assert timing(result, "caption") == (True, "no captioner loaded")
    assert result.explanation.fused_text == "in blue"


async def test_bad_request_template_is_an_input_error(photo: Image.Image) -> None:
    with pytest.raises(InvalidInputError, match=r"unknown placeholder \{colour\}"):
        await Rig().run(photo, "in blue", template="{caption} {colour} {modification}")


def test_bad_server_template_fails_at_startup() -> None:
    with pytest.raises(InvalidInputError, match="must contain"):
        Rig(settings={"fusion_template": "a photo of {caption}"}).pipeline()
