"""The fusion methods through the compose pipeline (fake models): chosen per request or by the
server, recorded in the explanation, with a stated fallback when the image or caption is missing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from PIL import Image

from schemas.wire import ComposeOptions, ComposeResult
from vectorizer_service.compose.fake import FakeCaptioner
from vectorizer_service.compose.fusion import reference_text
from vectorizer_service.compose.pipeline import ComposePipeline
from vectorizer_service.compose.protocols import Caption, ComposeDeps
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors
from vectorizer_service.settings import ServiceSettings

CAPTION = "a red floral cotton dress"
FUSED = "a photo of a floral cotton dress, in blue"  # the fake caption's red, dropped for blue
REFERENCE = "a photo of a red floral cotton dress"


class Rig:
    """A pipeline over the fake embedder and captioner (no background removal: the working
    image is the photo itself)."""

    def __init__(self, *, captioner: bool = True, **settings: Any) -> None:
        self.embedder = FakeEmbedder()
        self.captioner = FakeCaptioner() if captioner else None
        self.settings = ServiceSettings(**{"remove_background": False, **settings})

    def pipeline(self) -> ComposePipeline:
        async def encode_texts(texts: Sequence[str]) -> Vectors:
            return self.embedder.encode_texts(texts)

        async def encode_images(images: Sequence[Image.Image]) -> Vectors:
            return self.embedder.encode_images(images)

        async def caption(image: Image.Image) -> Caption:
            assert self.captioner is not None
            return self.captioner.caption([image])[0]

        deps = ComposeDeps(encode_texts, encode_images, None, caption if self.captioner else None)
        return ComposePipeline(deps, self.settings)

    async def run(self, image: Image.Image | None, text: str, **options: Any) -> ComposeResult:
        return await self.pipeline().run(image, text, ComposeOptions(**options))

    def t(self, text: str) -> np.ndarray:
        return np.asarray(self.embedder.encode_texts([text])[0], dtype=np.float64)

    def v(self, image: Image.Image) -> np.ndarray:
        return np.asarray(self.embedder.encode_images([image])[0], dtype=np.float64)


@pytest.fixture
def photo() -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))


def unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / np.linalg.norm(x))


def note(result: ComposeResult) -> str:
    return next(t.note for t in result.explanation.timings if t.stage == "embedding")


# --- the reference text the direction starts from --------------------------------------------


def test_reference_text_is_the_whole_caption_in_the_template_without_the_change() -> None:
    caption = Caption(CAPTION, {"colour": "red"})
    assert reference_text(caption, "in blue") == REFERENCE
    assert reference_text(caption, "in blue", "{modification} like {caption}") == "like " + CAPTION
    assert reference_text(caption, "in blue", "{modification}") == CAPTION  # no {caption}: the caption
    assert reference_text(caption, "  ") == CAPTION  # no change: what fuse() embeds, D = 0
    assert reference_text(None, "in blue") is None
    assert reference_text(Caption("  "), "in blue") is None


# --- the default is the ensemble; the image anchor by name ------------------------------------


async def test_the_image_anchor_mixes_at_the_weight_and_the_explanation_says_so(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue", image_weight=0.3, fusion_method="image_anchor")
    ex = result.explanation
    assert (ex.fusion_method, ex.direction_gain) == ("image_anchor", None)
    expected = unit(0.7 * rig.t(FUSED) + 0.3 * rig.v(photo))
    np.testing.assert_allclose(result.vector, expected, atol=1e-6)
    assert note(result) == "text mixed with the image at weight 0.3"


async def test_the_default_method_is_the_ensemble_without_a_mapper_the_caption_and_the_change(
    photo: Image.Image,
) -> None:
    rig = Rig()  # no Pic2Word mapper in this rig
    result = await rig.run(photo, "in blue")
    assert result.explanation.fusion_method == "ensemble"
    expected = unit(0.5 * unit(rig.t(FUSED)) + 0.25 * unit(rig.t("in blue")))
    np.testing.assert_allclose(result.vector, expected, atol=1e-6)
    assert "no Pic2Word term" in note(result) and result.explanation.image_weight == 0.0
    # the image weight is the share of the image's own vector
    weighted = await rig.run(photo, "in blue", image_weight=0.3)
    expected = unit(0.3 * unit(rig.v(photo)) + 0.5 * unit(rig.t(FUSED)) + 0.25 * unit(rig.t("in blue")))
    np.testing.assert_allclose(weighted.vector, expected, atol=1e-6)
    assert "0.3 * v(image)" in note(weighted) and weighted.explanation.image_weight == 0.3


async def test_the_server_default_method_and_gain_come_from_the_settings(photo: Image.Image) -> None:
    rig = Rig(fusion_method="direction", direction_gain=2.0, image_weight=1.0)
    result = await rig.run(photo, "in blue")
    assert (result.explanation.fusion_method, result.explanation.direction_gain) == ("direction", 2.0)
    expected = unit(rig.v(photo) + 2.0 * (rig.t(FUSED) - rig.t(REFERENCE)))
    np.testing.assert_allclose(result.vector, expected, atol=1e-6)
    # a request's own choice wins over the server's
    anchor = await rig.run(photo, "in blue", fusion_method="image_anchor", image_weight=0.0)
    np.testing.assert_allclose(anchor.vector, unit(rig.t(FUSED)), atol=1e-6)


# --- direction ---------------------------------------------------------------------------------


async def test_direction_moves_the_image_along_the_change(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue", fusion_method="direction", image_weight=1.0, direction_gain=1.5)
    expected = unit(rig.v(photo) + 1.5 * (rig.t(FUSED) - rig.t(REFERENCE)))
    np.testing.assert_allclose(result.vector, expected, atol=1e-6)
    assert result.explanation.direction_gain == 1.5 and result.explanation.image_weight == 1.0
    assert note(result) == f"direction at gain 1.5, image weight 1; D = t(fused text) - t({REFERENCE!r})"


async def test_direction_mixed_with_the_text_side(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue", fusion_method="direction", image_weight=0.4, direction_gain=1.2)
    d = rig.t(FUSED) - rig.t(REFERENCE)
    image_side, text_side = unit(rig.v(photo) + 1.2 * d), unit(rig.t(REFERENCE) + 1.2 * d)
    np.testing.assert_allclose(result.vector, unit(0.4 * image_side + 0.6 * text_side), atol=1e-6)


async def test_direction_without_a_caption_adds_the_change_to_the_image(photo: Image.Image) -> None:
    rig = Rig(captioner=False)
    result = await rig.run(photo, "in blue", fusion_method="direction", image_weight=1.0)
    np.testing.assert_allclose(result.vector, unit(rig.v(photo) + rig.t("in blue")), atol=1e-6)
    assert "no caption, so no reference text: D = t(query text)" in note(result)


async def test_direction_with_fusion_switched_off_says_so(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue", fusion_method="direction", image_weight=1.0, fuse=False)
    np.testing.assert_allclose(result.vector, unit(rig.v(photo) + rig.t("in blue")), atol=1e-6)
    assert "fusion switched off, so no reference text" in note(result)


async def test_direction_with_no_change_is_the_image(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "", fusion_method="direction", image_weight=1.0)
    np.testing.assert_allclose(result.vector, unit(rig.v(photo)), atol=1e-6)
    assert "empty change: D = 0" in note(result)


async def test_direction_without_an_image_is_the_text_and_encodes_no_image() -> None:
    rig = Rig()
    result = await rig.run(None, "a blue dress", fusion_method="direction", image_weight=0.5)
    np.testing.assert_allclose(result.vector, unit(rig.t("a blue dress")), atol=1e-6)
    assert result.explanation.image_weight == 0.0
    assert "no reference image: the text side only" in note(result)
    assert rig.embedder.image_batches == []


# --- slerp ---------------------------------------------------------------------------------------


async def test_slerp_follows_the_great_circle(photo: Image.Image) -> None:
    rig = Rig()
    result = await rig.run(photo, "in blue", fusion_method="slerp", image_weight=0.2)
    t, v = unit(rig.t(FUSED)), unit(rig.v(photo))
    theta = np.arccos(np.dot(t, v))
    expected = (np.sin(0.2 * theta) * v + np.sin(0.8 * theta) * t) / np.sin(theta)
    np.testing.assert_allclose(result.vector, unit(expected), atol=1e-6)
    assert not np.allclose(result.vector, unit(0.8 * t + 0.2 * v), atol=1e-4)  # not the linear mix
    ex = result.explanation
    assert (ex.fusion_method, ex.direction_gain, ex.image_weight) == ("slerp", None, 0.2)
    assert note(result).startswith("slerp from the text towards the image at weight 0.2 (cos ")


async def test_slerp_without_an_image_is_the_text() -> None:
    rig = Rig()
    result = await rig.run(None, "a blue dress", fusion_method="slerp", image_weight=0.5)
    np.testing.assert_allclose(result.vector, unit(rig.t("a blue dress")), atol=1e-6)
    assert note(result) == "slerp: no reference image: text only"


async def test_every_method_at_image_weight_zero_is_the_fused_text(photo: Image.Image) -> None:
    rig = Rig()
    for method in ("image_anchor", "slerp", "direction"):
        result = await rig.run(photo, "in blue", fusion_method=method, image_weight=0.0)
        np.testing.assert_allclose(result.vector, unit(rig.t(FUSED)), atol=1e-6, err_msg=method)
    assert rig.embedder.image_batches == []  # weight 0: the image is never encoded


# --- the CLI flags reach the request -------------------------------------------------------------


def test_search_flags_choose_the_method_per_request() -> None:
    from plugin.cli import build_parser
    from plugin.cli.search import compose_options

    flags = ["search", "--text", "in blue", "--fusion-method", "slerp", "--image-weight", "0.2"]
    options = compose_options(build_parser().parse_args(flags))
    assert (options.fusion_method, options.image_weight, options.direction_gain) == ("slerp", 0.2, None)
    gain = compose_options(build_parser().parse_args(["search", "--direction-gain", "1.3"]))
    assert (gain.fusion_method, gain.direction_gain) == (None, 1.3)  # unset: the server default
    with pytest.raises(SystemExit):  # argparse names the choices
        build_parser().parse_args(["search", "--fusion-method", "average"])
