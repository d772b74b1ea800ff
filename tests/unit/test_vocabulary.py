"""The attribute vocabulary (loading, validation, rendering) and the attribute captioner's logic,
driven by a scripted embedder whose vectors encode exactly what each image shows."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from schemas.errors import ModelUnavailableError
from vectorizer_service.compose.attributes import AttributeCaptioner
from vectorizer_service.compose.vocab import Vocabulary, load_vocabulary, render_caption, value_pattern
from vectorizer_service.runtime.protocol import ModelInfo, Vectors

DEFAULT = load_vocabulary()


class ScriptedEmbedder:
    """One axis per vocabulary word. A text points along the words it contains; an image along
    the words listed in ``image.info["shows"]``. So CLIP's "this image matches this prompt" is
    exact, and the captioner's choices can be checked against the script."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        words = {c.name for c in vocabulary.categories}
        words |= {v.name for a in vocabulary.attributes for v in a.values}
        self.words = sorted(words)
        self.dim = len(self.words) + 1
        self.text_calls = 0
        self.image_calls = 0

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            name="scripted",
            backend="fake",
            pretrained="",
            dimension=self.dim,
            device="cpu",
            dtype="float32",
            context_length=77,
            text_trimming=False,
        )

    def _vector(self, words: Sequence[str]) -> np.ndarray:
        vec = np.zeros(self.dim, np.float32)
        vec[-1] = 0.1  # a shared component, so nothing is exactly orthogonal
        for word in words:
            vec[self.words.index(word)] = 1.0
        return vec / np.linalg.norm(vec)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        self.text_calls += 1
        return np.stack([self._vector([w for w in self.words if value_pattern(w).search(t)]) for t in texts])

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        self.image_calls += 1
        return np.stack([self._vector(img.info["shows"]) for img in images])


def showing(*words: str) -> Image.Image:
    image = Image.new("RGB", (8, 8))
    image.info["shows"] = list(words)
    return image


@pytest.fixture(scope="module")
def captioner() -> AttributeCaptioner:
    return AttributeCaptioner(ScriptedEmbedder(DEFAULT), DEFAULT)


@pytest.mark.parametrize(
    ("shows", "caption", "attributes"),
    [
        (["dress", "red"], "a red dress", {"category": "dress", "colour": "red"}),
        (
            ["dress", "red", "floral", "cotton"],
            "a red floral cotton dress",
            {"category": "dress", "colour": "red", "pattern": "floral", "material": "cotton"},
        ),
        (
            ["shirt", "navy blue", "long sleeve"],
            "a navy blue shirt with long sleeves",
            {"category": "shirt", "colour": "navy blue", "sleeve": "long sleeve"},
        ),
        (["jeans", "blue"], "blue jeans", {"category": "jeans", "colour": "blue"}),
        (["handbag", "orange"], "an orange handbag", {"category": "handbag", "colour": "orange"}),
        (["sofa", "leather"], "a leather sofa", {"category": "sofa", "material": "leather"}),
        # leather applies to sofas, not to tables: the material stays unsaid
        (["table", "leather"], "a table", {"category": "table"}),
        # sleeves do not apply to sneakers
        (["sneakers", "white", "long sleeve"], "white sneakers", {"category": "sneakers", "colour": "white"}),
        # the "plain" pattern is scored but writes nothing
        (
            ["skirt", "plain", "black"],
            "a black skirt",
            {"category": "skirt", "colour": "black", "pattern": "plain"},
        ),
    ],
)
def test_attribute_captions(
    captioner: AttributeCaptioner, shows: list[str], caption: str, attributes: dict[str, str]
) -> None:
    [result] = captioner.caption([showing(*shows)])
    assert result.text == caption
    assert result.attributes == attributes


def test_unsure_category_falls_back_to_a_generic_noun(captioner: AttributeCaptioner) -> None:
    # two categories tie: neither is confident, the group still is
    [result] = captioner.caption([showing("dress", "skirt", "red")])
    assert "category" not in result.attributes
    assert result.text == "a red piece of clothing"


def test_prompts_are_encoded_once_and_images_in_one_batch() -> None:
    embedder = ScriptedEmbedder(DEFAULT)
    captioner = AttributeCaptioner(embedder, DEFAULT)
    loaded = embedder.text_calls
    assert loaded >= 1 and captioner.prompt_count > len(DEFAULT.categories)
    results = captioner.caption(
        [showing("dress", "red"), showing("boots", "brown"), showing("vase", "glass")]
    )
    assert [r.text for r in results] == ["a red dress", "brown boots", "a glass vase"]
    assert embedder.text_calls == loaded and embedder.image_calls == 1
    assert captioner.caption([]) == []


def test_default_vocabulary_covers_the_product_groups() -> None:
    assert set(DEFAULT.groups) == {"apparel", "shoes", "bags", "home"}
    names = {a.name for a in DEFAULT.attributes}
    assert {"colour", "pattern", "material", "sleeve", "length", "fit", "style"} <= names


@pytest.mark.parametrize(
    ("attributes", "group", "text"),
    [
        ({"category": "dress", "colour": "red", "sleeve": "sleeveless"}, None, "a red sleeveless dress"),
        ({"category": "coat", "fit": "oversized", "colour": "beige"}, None, "an oversized beige coat"),
        ({"category": "dress", "length": "maxi", "fit": "slim fit"}, None, "a slim-fit maxi dress"),
        ({"colour": "black"}, "shoes", "black shoes"),
        ({"colour": "black"}, None, "a black product"),
        ({"category": "dress", "colour": "not-a-colour"}, None, "a dress"),
    ],
)
def test_render(attributes: dict[str, str], group: str | None, text: str) -> None:
    assert render_caption(DEFAULT, attributes, group=group) == text


def _minimal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "format": "grounded-vocabulary/1",
        "groups": {"apparel": {"noun": "garment"}},
        "categories": [{"name": "dress", "group": "apparel"}, {"name": "skirt", "group": "apparel"}],
        "attributes": [{"name": "colour", "values": ["red", "blue"]}],
    }
    data.update(overrides)
    return data


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "vocab.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_custom_vocabulary_file_loads(tmp_path: Path) -> None:
    vocabulary = load_vocabulary(_write(tmp_path, _minimal()))
    assert [c.name for c in vocabulary.categories] == ["dress", "skirt"]
    assert render_caption(vocabulary, {"category": "skirt", "colour": "blue"}) == "a blue skirt"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("{not json", "not valid JSON"),
        (_minimal(format="v2"), "format"),
        (
            _minimal(categories=[{"name": "dress", "group": "shoes"}, {"name": "skirt", "group": "apparel"}]),
            "unknown group 'shoes'",
        ),
        (_minimal(attributes=[{"name": "colour", "values": ["red"]}]), "attributes.0.values"),
        (
            _minimal(attributes=[{"name": "colour", "values": ["red", "blue"], "applies_to": ["hats"]}]),
            "applies_to names unknown ['hats']",
        ),
        (_minimal(attributes=[{"name": "colour", "values": ["red", "Red"]}]), "values must be unique"),
        (
            _minimal(attributes=[{"name": "colour", "values": ["red", "blue"], "phrase": "with it"}]),
            "must contain {value}",
        ),
        (_minimal(attributes=[{"name": "category", "values": ["a", "b"]}]), "not 'category'"),
        (_minimal(prompt="a photo"), "exactly one {}"),
        (_minimal(colour="red"), "colour: Extra inputs are not permitted"),
        (
            _minimal(attributes=[{"name": "colour", "values": ["red", "blue"], "min_margin": 2}]),
            "attributes.0.min_margin",
        ),
    ],
)
def test_vocabulary_errors_name_the_file_and_the_problem(tmp_path: Path, data: Any, problem: str) -> None:
    path = _write(tmp_path, data)
    with pytest.raises(ModelUnavailableError) as info:
        load_vocabulary(path)
    assert str(path) in info.value.message
    assert problem in info.value.message


def test_missing_vocabulary_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="GROUNDED_VOCABULARY") as info:
        load_vocabulary(tmp_path / "nope.json")
    assert "nope.json" in info.value.message
