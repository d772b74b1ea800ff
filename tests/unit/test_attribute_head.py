"""The attribute head: its probes replace the zero-shot prompts for what they cover, its
probabilities pass the same gates (so it can abstain), the explanation says which model named
each attribute, a head for another vocabulary is not used, and the probe fit is sound."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plugin.training.probes import fit_probe, fit_temperature, score_probe
from schemas.errors import ModelUnavailableError
from schemas.vocabulary import Vocabulary, write_vocabulary
from tests.unit.test_caption_abstention import VOCABULARY, WordEmbedder, showing
from vectorizer_service.compose.attribute_head import (
    ATTRIBUTE_HEAD_CONFIG_FILE,
    AttributeHead,
    Probe,
    label_space,
    load_attribute_head,
    save_attribute_head,
    vocabulary_fingerprint,
)
from vectorizer_service.compose.attributes import AttributeCaptioner, ConfidenceFloor
from vectorizer_service.compose.factory import load_captioner
from vectorizer_service.compose.stages.caption import caption_note
from vectorizer_service.settings import ServiceSettings

DIM = WordEmbedder().dim
BACKPACK_AXIS = 1  # WordEmbedder's axes: handbag, backpack, dress, red, blue, bias


def _category_probe(weight_on: int, *, gain: float = 40.0) -> Probe:
    """A category probe that answers ``backpack`` for any image with weight on axis
    ``weight_on`` (the test's images all have), whatever the prompts say."""
    weight = np.zeros((3, DIM), np.float32)
    weight[BACKPACK_AXIS, weight_on] = gain
    return Probe(("handbag", "backpack", "dress"), weight, np.zeros(3, np.float32))


def _head(probe: Probe, vocabulary: Vocabulary = VOCABULARY) -> AttributeHead:
    return AttributeHead({"category": probe}, vocabulary_fingerprint(vocabulary))


def test_the_head_names_the_category_and_the_rest_stays_zero_shot() -> None:
    image = showing(handbag=1.0, red=1.0)  # zero-shot reads a red handbag
    zero_shot = AttributeCaptioner(WordEmbedder(), VOCABULARY).caption([image])[0]
    assert zero_shot.attributes == {"category": "handbag", "colour": "red"}
    with_head = AttributeCaptioner(WordEmbedder(), VOCABULARY, head=_head(_category_probe(3))).caption(
        [image]
    )[0]
    assert with_head.text == "a red backpack"
    assert with_head.sources == {"category": "attribute-head", "colour": "zero-shot"}
    assert caption_note(with_head) == "2 attributes (attribute-head, zero-shot)"


def test_an_unsure_head_abstains_and_says_so() -> None:
    # equal logits for the three categories: probability 1/3, under the vocabulary's margin
    flat = Probe(("handbag", "backpack", "dress"), np.zeros((3, DIM), np.float32), np.zeros(3, np.float32))
    caption = AttributeCaptioner(WordEmbedder(), VOCABULARY, head=_head(flat)).caption(
        [showing(handbag=1.0, red=1.0)]
    )[0]
    assert "category" not in caption.attributes
    assert caption.left_out[0].startswith("category unsure: 0.33")


def test_the_temperature_is_applied() -> None:
    cold = _category_probe(3, gain=2.0)
    hot = Probe(cold.values, cold.weight, cold.bias, temperature=0.05)
    image = WordEmbedder().encode_images([showing(handbag=1.0, red=1.0)])[0]
    assert cold.probabilities(image)[1] < 0.7 and hot.probabilities(image)[1] > 0.99


def test_a_head_for_another_vocabulary_is_refused(tmp_path: Path) -> None:
    other = VOCABULARY.model_copy(update={"categories": VOCABULARY.categories[:2]})
    assert vocabulary_fingerprint(other) != vocabulary_fingerprint(VOCABULARY)
    save_attribute_head(tmp_path, _head(_category_probe(3), other))
    head, reason = load_attribute_head(tmp_path, VOCABULARY)
    assert head is None and "another vocabulary" in reason
    with pytest.raises(ValueError, match="another vocabulary"):
        AttributeCaptioner(WordEmbedder(), VOCABULARY, head=_head(_category_probe(3), other))


def test_a_head_fitted_on_other_weights_is_left_unused(tmp_path: Path) -> None:
    weights = tmp_path / "open_clip_model.safetensors"
    weights.write_bytes(b"the weights the probes were fitted on")
    save_attribute_head(tmp_path, _head(_category_probe(3)))
    head, _ = load_attribute_head(tmp_path, VOCABULARY)
    assert head is not None and head.model_weights_sha256 is not None
    # The model is retrained into the folder after the head: the probes would read vectors they
    # never saw, with confident answers. The captioner stays zero-shot and says why.
    weights.write_bytes(b"weights retrained after the head")
    head, reason = load_attribute_head(tmp_path, VOCABULARY)
    assert head is None
    assert "trained for other CLIP weights" in reason and "grounded train-attributes" in reason


def test_the_fingerprint_ignores_wording_but_not_labels() -> None:
    reworded = VOCABULARY.model_copy(update={"prompt": "a picture of {}", "category_min_probability": 0.9})
    assert vocabulary_fingerprint(reworded) == vocabulary_fingerprint(VOCABULARY)
    assert label_space(VOCABULARY) == {
        "category": ("handbag", "backpack", "dress"),
        "colour": ("red", "blue"),
    }


def test_the_factory_uses_the_model_folder_s_head_unless_switched_off(tmp_path: Path) -> None:
    write_vocabulary(VOCABULARY, tmp_path / "vocabulary.json")
    save_attribute_head(tmp_path, _head(_category_probe(3)))
    settings = ServiceSettings(model=str(tmp_path), captioner="attributes", cache_dir=tmp_path / "cache")
    loaded = load_captioner(settings, WordEmbedder())
    assert isinstance(loaded, AttributeCaptioner) and loaded.head is not None
    assert loaded.caption([showing(handbag=1.0, red=1.0)])[0].attributes["category"] == "backpack"
    off = load_captioner(settings.model_copy(update={"attribute_head": False}), WordEmbedder())
    assert isinstance(off, AttributeCaptioner) and off.head is None


def test_a_broken_head_is_a_model_error(tmp_path: Path) -> None:
    save_attribute_head(tmp_path, _head(_category_probe(3)))
    (tmp_path / ATTRIBUTE_HEAD_CONFIG_FILE).write_text("{}", encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match="cannot load the attribute head"):
        load_attribute_head(tmp_path, VOCABULARY)


def test_a_probe_learns_separable_labels_and_calibration_cools_overconfidence() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)).astype(np.float32)
    labels = rng.integers(0, 3, 300)
    vectors = (centres[labels] + 0.3 * rng.normal(size=(300, 8))).astype(np.float32)
    fit = fit_probe(vectors[:200], labels[:200], 4, weight_decay=1e-3)  # class 3 never seen
    assert score_probe(fit, vectors[200:], labels[200:]).accuracy > 0.95
    assert (fit.logits(vectors[200:]).argmax(axis=1) != 3).all()
    # noisy labels on held-out rows: a sharp probe must be cooled (temperature above 1)
    noisy = np.where(rng.random(100) < 0.3, rng.integers(0, 3, 100), labels[200:])
    temperature = fit_temperature(fit.logits(vectors[200:]) * 5, noisy)
    assert temperature > 1.0
    assert (
        score_probe(fit, vectors[200:], noisy, temperature).nll < score_probe(fit, vectors[200:], noisy).nll
    )


def test_a_head_s_own_probability_gate_replaces_the_service_floor_for_its_picks() -> None:
    image = showing(handbag=1.0, red=1.0)
    probe = _category_probe(3, gain=1.6)  # backpack at about 0.6
    floor = ConfidenceFloor(min_probability=0.8)
    strict = AttributeCaptioner(WordEmbedder(), VOCABULARY, floor=floor, head=_head(probe))
    assert "category" not in strict.caption([image])[0].attributes
    own = AttributeHead({"category": probe}, vocabulary_fingerprint(VOCABULARY), min_probability=0.5)
    caption = AttributeCaptioner(WordEmbedder(), VOCABULARY, floor=floor, head=own).caption([image])[0]
    assert caption.attributes["category"] == "backpack"
    assert caption.sources == {"category": "attribute-head", "colour": "zero-shot"}
