"""The pic2word fusion methods through the compose pipeline (fake models): the prompt around the
pseudo-word, the caption form with attribute-aware dropping, the refusal before any model runs
when no mapper is served, and the eval rows that ask for them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from plugin.evaluation.configs import DEFAULT, PIC2WORD_WORDINGS, build_configs
from schemas.errors import InvalidInputError
from schemas.wire import ComposeOptions, ComposeResult
from vectorizer_service.compose.fake import FakeCaptioner
from vectorizer_service.compose.pic2word import (
    PIC2WORD_CAPTION_TEMPLATE,
    PIC2WORD_CAPTION_WORDINGS,
    pic2word_prompt,
    resolve_pic2word_template,
)
from vectorizer_service.compose.pipeline import ComposePipeline
from vectorizer_service.compose.protocols import Caption, ComposeDeps
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors
from vectorizer_service.settings import ServiceSettings

PHOTO = Image.new("RGB", (24, 24), (30, 160, 90))


class Rig:
    """A pipeline over fake models; the fake pseudo-word encoder records what it was asked and
    answers the text vector of the prompt with the image vector's first element in it."""

    def __init__(self, *, mapper: bool = True) -> None:
        self.embedder, self.captioner = FakeEmbedder(), FakeCaptioner()
        self.asked: list[tuple[npt.NDArray[np.float32], str]] = []
        self.captioned = 0
        self.mapper = mapper

    def pipeline(self) -> ComposePipeline:
        async def encode_texts(texts: Sequence[str]) -> Vectors:
            return self.embedder.encode_texts(texts)

        async def encode_images(images: Sequence[Image.Image]) -> Vectors:
            return self.embedder.encode_images(images)

        async def caption(image: Image.Image) -> Caption:
            self.captioned += 1
            return self.captioner.caption([image])[0]

        async def pseudo(items: Sequence[tuple[npt.NDArray[np.float32], str]]) -> Vectors:
            self.asked.extend(items)
            return self.embedder.encode_texts([f"{v[0]:.6f}|{p}" for v, p in items])

        deps = ComposeDeps(
            encode_texts,
            encode_images,
            None,
            caption,
            encode_pseudo_word=pseudo if self.mapper else None,
            pic2word_problem="no Pic2Word mapper loaded: expected /m/pic2word.safetensors",
        )
        settings = ServiceSettings(remove_background=False, captioner="attributes")
        return ComposePipeline(deps, settings)

    async def run(self, image: Image.Image | None, text: str, **options: Any) -> ComposeResult:
        return await self.pipeline().run(image, text, ComposeOptions(**options))


async def test_pic2word_embeds_the_paper_s_prompt_with_the_image_as_its_star() -> None:
    rig = Rig()
    result = await rig.run(PHOTO, "in blue", fusion_method="pic2word")
    ((vector, prompt),) = rig.asked
    assert prompt == "a photo of * , in blue"
    np.testing.assert_array_equal(vector, rig.embedder.encode_images([PHOTO])[0])
    want = rig.embedder.encode_texts([f"{vector[0]:.6f}|{prompt}"])[0]
    np.testing.assert_allclose(result.vector, want, atol=1e-6)
    ex = result.explanation
    assert (ex.fusion_method, ex.fused_text, ex.caption) == ("pic2word", prompt, None)
    assert rig.captioned == 0  # no caption made: pic2word does not read one
    assert "a photo of * , in blue" in next(t.note for t in ex.timings if t.stage == "embedding")


async def test_pic2word_caption_puts_the_caption_without_overridden_attributes_beside_the_star() -> None:
    rig = Rig()
    result = await rig.run(PHOTO, "in blue", fusion_method="pic2word_caption")
    assert rig.asked[0][1] == "a photo of a floral cotton dress like * , in blue"  # red dropped for blue
    assert result.explanation.caption == "a red floral cotton dress"
    note = next(t.note for t in result.explanation.timings if t.stage == "embedding")
    assert "colour=red" in note


async def test_ensemble_sums_the_word_the_fused_caption_and_the_change() -> None:
    rig = Rig()
    result = await rig.run(PHOTO, "in blue", fusion_method="ensemble")
    ((vector, prompt),) = rig.asked
    assert prompt == "a photo of * , in blue"  # the paper's prompt: the caption is its own part
    fused = "a photo of a floral cotton dress, in blue"  # the fusion stage ran: red dropped for blue
    p, f, m = rig.embedder.encode_texts([f"{vector[0]:.6f}|{prompt}", fused, "in blue"])
    mixed = p / np.linalg.norm(p) + 0.5 * f / np.linalg.norm(f) + 0.25 * m / np.linalg.norm(m)
    np.testing.assert_allclose(result.vector, mixed / np.linalg.norm(mixed), atol=1e-6)
    ex = result.explanation
    assert (ex.fusion_method, ex.fused_text, ex.caption) == ("ensemble", fused, "a red floral cotton dress")
    note = next(t.note for t in ex.timings if t.stage == "embedding")
    assert "t('a photo of * , in blue') with * = mapper(image vector)" in note
    assert f"0.5 * t({fused!r})" in note and "0.25 * t('in blue')" in note
    assert not next(t for t in ex.timings if t.stage == "fusion").skipped


async def test_ensemble_without_a_change_is_the_word_and_the_caption() -> None:
    rig = Rig()
    result = await rig.run(PHOTO, "", fusion_method="ensemble")
    ((vector, prompt),) = rig.asked
    p, f = rig.embedder.encode_texts([f"{vector[0]:.6f}|{prompt}", "a red floral cotton dress"])
    mixed = p / np.linalg.norm(p) + 0.5 * f / np.linalg.norm(f)
    np.testing.assert_allclose(result.vector, mixed / np.linalg.norm(mixed), atol=1e-6)


async def test_ensemble_refuses_a_caption_in_its_prompt() -> None:
    with pytest.raises(InvalidInputError, match="ensemble puts no caption"):
        await Rig().run(PHOTO, "x", fusion_method="ensemble", template="{caption} like * , {modification}")


async def test_an_empty_change_is_the_image_alone_as_a_word() -> None:
    rig = Rig()
    await rig.run(PHOTO, "", fusion_method="pic2word")
    assert rig.asked[0][1] == "a photo of *"


async def test_without_a_mapper_the_request_is_refused_before_any_model_runs() -> None:
    rig = Rig(mapper=False)
    with pytest.raises(InvalidInputError, match=r"pic2word: no Pic2Word mapper loaded: expected /m/pic2word"):
        await rig.run(PHOTO, "in blue", fusion_method="pic2word")
    assert rig.embedder.image_batches == [] and rig.captioned == 0


async def test_a_requested_prompt_with_a_star_replaces_the_method_s() -> None:
    rig = Rig()
    await rig.run(
        PHOTO, "in blue", fusion_method="pic2word_caption", template="{caption} like *, {modification}"
    )
    assert rig.asked[0][1] == "a floral cotton dress like * , in blue"


def test_prompts_keep_the_star_a_word_of_its_own() -> None:
    assert (
        pic2word_prompt("a photo of *, {modification}", None, "with *stars*") == "a photo of * , with stars"
    )
    assert pic2word_prompt(PIC2WORD_CAPTION_TEMPLATE, "", "in blue") == "a photo of * , in blue"
    assert pic2word_prompt(PIC2WORD_CAPTION_TEMPLATE, "a red dress", "") == "a photo of a red dress like *"
    that_is = PIC2WORD_CAPTION_WORDINGS["that-is"]
    assert pic2word_prompt(that_is, "a red dress", "") == "a photo of * that is a red dress"


def test_requested_templates_are_checked() -> None:
    assert resolve_pic2word_template("pic2word", None) == "a photo of * , {modification}"
    assert resolve_pic2word_template("pic2word_caption", "a photo of {caption}, {modification}") == (
        PIC2WORD_CAPTION_TEMPLATE  # no star: the server's fusion template, not a pic2word prompt
    )
    with pytest.raises(InvalidInputError, match="once"):
        resolve_pic2word_template("pic2word", "* and * {modification}")
    with pytest.raises(InvalidInputError, match="pic2word_caption"):
        resolve_pic2word_template("pic2word", "* {caption} {modification}")


def test_the_pic2word_rows_run_when_named_and_the_wordings_as_a_group() -> None:
    assert not {"pic2word", "pic2word+caption"} & {c.name for c in build_configs(None, [0.0])}
    named = build_configs(["pic2word", "pic2word+caption", PIC2WORD_WORDINGS], [])
    assert [c.name for c in named[:3]] == [DEFAULT, "pic2word", "pic2word+caption"]
    assert [c.options.fusion_method for c in named[1:3]] == ["pic2word", "pic2word_caption"]
    wordings = named[3:]
    assert [c.options.template for c in wordings] == list(PIC2WORD_CAPTION_WORDINGS.values())
