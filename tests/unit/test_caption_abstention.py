"""The attribute captioner names only what it is sure of, says what it left out and why, and
reads its probabilities at the model's own temperature; the caption stage passes that on."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from schemas.vocabulary import Vocabulary, write_vocabulary
from tests.unit.test_pipeline import Rig
from vectorizer_service.compose.attributes import AttributeCaptioner, ConfidenceFloor
from vectorizer_service.compose.factory import load_captioner
from vectorizer_service.compose.fake import FakeCaptioner
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.compose.stages.caption import caption_note
from vectorizer_service.runtime._normalize import learned_logit_scale
from vectorizer_service.runtime.protocol import ModelInfo, Vectors
from vectorizer_service.settings import ServiceSettings

VOCABULARY = Vocabulary.model_validate(
    {
        "format": "grounded-vocabulary/1",
        "logit_scale": 10.0,
        "groups": {"bags": {"noun": "bag"}, "apparel": {"noun": "garment"}},
        "category_min_probability": 0.3,
        "category_min_margin": 0.05,
        "categories": [
            {"name": "handbag", "group": "bags"},
            {"name": "backpack", "group": "bags"},
            {"name": "dress", "group": "apparel"},
        ],
        "attributes": [
            {"name": "colour", "min_probability": 0.3, "min_margin": 0.05, "values": ["red", "blue"]},
        ],
    }
)
WORDS = ("handbag", "backpack", "dress", "red", "blue")


class WordEmbedder:
    """One axis per vocabulary word: a prompt points along the words it names; an image along
    ``image.info["shows"]`` (word -> weight), so each cosine similarity is set by the test."""

    def __init__(self, logit_scale: float | None = None) -> None:
        self.dim = len(WORDS) + 1
        if logit_scale is not None:
            self.logit_scale = logit_scale

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="words", backend="fake", pretrained="", dimension=self.dim, device="cpu",
            dtype="float32", context_length=77, text_trimming=False,
        )  # fmt: skip

    def _vector(self, weights: dict[str, float]) -> np.ndarray:
        vec = np.zeros(self.dim, np.float32)
        vec[-1] = 0.05
        for word, weight in weights.items():
            vec[WORDS.index(word)] = weight
        return vec / np.linalg.norm(vec)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        named = [{w: 1.0 for w in WORDS if re.search(rf"\b{w}\b", t)} for t in texts]
        return np.stack([self._vector(n) for n in named])

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        return np.stack([self._vector(image.info["shows"]) for image in images])


def showing(**weights: float) -> Image.Image:
    image = Image.new("RGB", (8, 8))
    image.info["shows"] = weights
    return image


def describe(image: Image.Image, floor: ConfidenceFloor | None = None) -> Caption:
    return AttributeCaptioner(WordEmbedder(), VOCABULARY, floor=floor).caption([image])[0]


def test_a_sure_category_is_named() -> None:
    caption = describe(showing(handbag=1.0, red=1.0))
    assert caption.text == "a red handbag"
    assert caption.attributes == {"category": "handbag", "colour": "red"}
    assert caption.left_out == ()
    # Each named word says how sure it was (what the search page shows beside it).
    assert caption.probabilities.keys() == caption.attributes.keys()
    assert all(0.5 <= p <= 1.0 for p in caption.probabilities.values())


def test_an_unsure_category_is_left_out_and_the_note_says_why() -> None:
    # handbag and backpack nearly tie: the bag is sure, which bag is not
    caption = describe(showing(handbag=1.0, backpack=0.99, red=1.0))
    assert caption.text == "a red bag"
    assert caption.attributes == {"colour": "red"}
    assert caption.probabilities.keys() == {"colour"}  # what was left out has none to show
    (note,) = caption.left_out
    match = re.fullmatch(r"category unsure: (0\.\d\d) handbag / (0\.\d\d) backpack - left out", note)
    assert match is not None, note
    first, second = float(match[1]), float(match[2])
    assert first > second and first - second < VOCABULARY.category_min_margin


def test_the_floor_raises_the_vocabularys_thresholds_but_never_lowers_them() -> None:
    image = showing(handbag=1.0, backpack=0.85, red=1.0)
    assert describe(image).attributes["category"] == "handbag"  # margin ~0.43: sure for the vocabulary
    raised = describe(image, ConfidenceFloor(min_margin=0.6))
    assert "category" not in raised.attributes
    assert raised.left_out[0].startswith("category unsure: ")
    # a floor below the vocabulary's own thresholds changes nothing
    tie = showing(handbag=1.0, backpack=0.99, red=1.0)
    assert describe(tie, ConfidenceFloor(0.0, 0.0)) == describe(tie)


def test_when_nothing_is_sure_the_caption_is_empty_and_every_reason_is_given() -> None:
    caption = describe(showing(handbag=1.0, dress=1.0, red=1.0, blue=1.0))
    assert caption.text == "" and caption.attributes == {}
    assert [n.split(" unsure")[0] for n in caption.left_out] == ["category", "group", "colour"]
    note = caption_note(caption)
    assert note.startswith("nothing sure, caption left empty: category unsure: ")
    assert "group unsure: " in note and "colour unsure: " in note


def test_without_a_sure_group_only_what_applies_everywhere_is_named() -> None:
    caption = describe(showing(handbag=1.0, dress=1.0, red=1.0))
    assert caption.text == "a red product"  # the vocabulary's fallback noun
    assert caption.attributes == {"colour": "red"}


def test_guesses_carry_the_runner_up_and_the_margin() -> None:
    captioner = AttributeCaptioner(WordEmbedder(), VOCABULARY)
    vectors = WordEmbedder().encode_images([showing(handbag=1.0, backpack=0.99, red=1.0)])
    category = captioner.guesses(vectors)[0][0]
    assert (category.value, category.runner_up) == ("handbag", "backpack")
    assert category.margin == pytest.approx(category.probability - category.runner_up_probability)
    assert not category.confident


def test_probabilities_are_read_at_the_models_own_temperature(tmp_path: Path) -> None:
    write_vocabulary(VOCABULARY, tmp_path / "vocabulary.json")
    settings = ServiceSettings(
        captioner="attributes", vocabulary=tmp_path / "vocabulary.json", cache_dir=tmp_path
    )

    def captioner(embedder: WordEmbedder, **overrides: float) -> AttributeCaptioner:
        loaded = load_captioner(settings.model_copy(update=overrides), embedder)
        assert isinstance(loaded, AttributeCaptioner)
        return loaded

    image = showing(handbag=1.0, backpack=0.85, red=1.0)
    sharp, soft, plain = (
        captioner(WordEmbedder(100.0)),
        captioner(WordEmbedder(1.0)),
        captioner(WordEmbedder()),
    )
    assert (sharp.logit_scale, soft.logit_scale) == (100.0, 1.0)
    assert plain.logit_scale == VOCABULARY.logit_scale  # no temperature in the model: the vocabulary's
    assert "category" in sharp.caption([image])[0].attributes
    assert "category" not in soft.caption([image])[0].attributes  # at 1 nothing stands out
    # an explicit setting wins over the model's temperature
    assert captioner(WordEmbedder(100.0), caption_logit_scale=1.0).logit_scale == 1.0


def test_the_learned_temperature_is_read_from_the_checkpoint() -> None:
    model = torch.nn.Module()
    model.logit_scale = torch.nn.Parameter(torch.tensor(np.log(18.7), dtype=torch.float32))
    assert learned_logit_scale(model) == pytest.approx(18.7, rel=1e-5)
    assert learned_logit_scale(torch.nn.Linear(2, 2)) is None


async def test_the_caption_stage_reports_what_was_left_out() -> None:
    unsure = Caption(
        "a red bag", {"colour": "red"}, left_out=("category unsure: 0.48 handbag / 0.46 backpack - left out",)
    )
    rig = Rig(captioner=FakeCaptioner(unsure), settings={"remove_background": False})
    result = await rig.run(showing(), "in blue")
    (note,) = [t.note for t in result.explanation.timings if t.stage == "caption"]
    assert note == "1 attributes; category unsure: 0.48 handbag / 0.46 backpack - left out"
    assert result.explanation.attributes == {"colour": "red"}
    assert result.explanation.fused_text == "a photo of a bag, in blue"


async def test_an_empty_caption_leaves_the_query_to_the_change() -> None:
    nothing = Caption("", {}, left_out=("category unsure: 0.40 handbag / 0.38 dress - left out",))
    rig = Rig(captioner=FakeCaptioner(nothing), settings={"remove_background": False})
    result = await rig.run(showing(), "in blue")
    ex = result.explanation
    (note,) = [t.note for t in ex.timings if t.stage == "caption"]
    assert note.startswith("nothing sure, caption left empty: category unsure")
    assert ex.caption == "" and ex.attributes == {}
    assert ex.fused_text == "in blue"


async def test_with_nothing_sure_and_no_change_the_most_likely_reading_is_used() -> None:
    # an image-only query ("find this") needs some text while the vector is a text vector
    caption = describe(showing(handbag=1.0, dress=1.0, red=1.0, blue=1.0))
    assert caption.text == "" and caption.guess in {
        "a red handbag",
        "a red dress",
        "a blue handbag",
        "a blue dress",
    }
    rig = Rig(captioner=FakeCaptioner(caption), settings={"remove_background": False})
    ex = (await rig.run(showing(), "")).explanation
    (note,) = [t.note for t in ex.timings if t.stage == "caption"]
    assert note.startswith("nothing sure and no change: the most likely reading, unsure: category unsure")
    assert ex.caption == caption.guess and ex.fused_text == caption.guess
    assert ex.attributes == {}  # nothing is reported as sure
    # with a change the caption stays empty
    ex = (await rig.run(showing(), "in blue")).explanation
    assert ex.caption == "" and ex.fused_text == "in blue"
