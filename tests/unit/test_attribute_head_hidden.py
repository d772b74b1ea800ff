"""Probes with a hidden layer: the held-out products choose them only where they read better, a
saved one reads back exactly, a linear head is still written in the format older services read,
and a head from a newer format is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from plugin.training.probes import choose_probe, fit_probe, score_probe
from schemas.errors import ModelUnavailableError
from tests.unit.test_caption_abstention import VOCABULARY
from vectorizer_service.compose.attribute_head import (
    ATTRIBUTE_HEAD_CONFIG_FILE,
    AttributeHead,
    Probe,
    load_attribute_head,
    save_attribute_head,
    vocabulary_fingerprint,
)

CATEGORIES = ("handbag", "backpack", "dress")


def _xor(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels a linear probe cannot read: the sign of x0 * x1 (plus 6 noise dimensions)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(rows, 8)).astype(np.float32)
    return vectors, (vectors[:, 0] * vectors[:, 1] > 0).astype(np.int64)


def _blobs(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)).astype(np.float32)
    labels = np.random.default_rng(seed).integers(0, 3, rows)
    noise = np.random.default_rng(seed + 1).normal(size=(rows, 8))
    return (centres[labels] + 0.3 * noise).astype(np.float32), labels


def test_a_hidden_layer_is_chosen_where_a_linear_probe_cannot_read_the_labels() -> None:
    train, held_out = _xor(400, 0), _xor(200, 1)
    best, tried = choose_probe(train, held_out, 2, (0, 16), (1e-5, 1e-3), seed=0)
    assert best.hidden == 16 and best.score.accuracy > 0.9
    assert max(c.score.accuracy for c in tried if c.hidden == 0) < 0.7
    assert best.score.accuracy == max(c.score.accuracy for c in tried)
    assert [c.name for c in tried] == ["linear/1e-05", "linear/0.001", "hidden16/1e-05", "hidden16/0.001"]


def test_the_choice_is_the_held_out_best_and_a_tie_keeps_the_linear_smoother_probe() -> None:
    train, held_out = _blobs(200, 1), _blobs(100, 2)
    best, tried = choose_probe(train, held_out, 3, (0, 16), (1e-6, 1e-3, 10.0), seed=0)
    top = max(c.score.accuracy for c in tried)
    assert best.score.accuracy == top
    # a weight decay of 10 flattens the probe: its held-out NLL is what the choice avoids
    assert next(c for c in tried if c.weight_decay == 10.0 and not c.hidden).score.nll > best.score.nll
    tied = [c for c in tried if c.score.accuracy == top and c.score.nll == best.score.nll]
    assert best == max(tied, key=lambda c: (-c.hidden, c.weight_decay))


def test_a_hidden_fit_is_a_function_of_its_seed() -> None:
    vectors, labels = _xor(200, 0)
    first, again, other = (fit_probe(vectors, labels, 2, 1e-4, hidden=8, seed=s) for s in (0, 0, 1))
    assert first.hidden_weight is not None and other.hidden_weight is not None
    np.testing.assert_array_equal(first.hidden_weight, again.hidden_weight)
    assert not np.array_equal(first.hidden_weight, other.hidden_weight)


def _hidden_probe() -> Probe:
    vectors, labels = _blobs(120, 3)
    fit = fit_probe(vectors, labels, 3, 1e-4, hidden=6, seed=0)
    assert score_probe(fit, vectors, labels).accuracy > 0.95
    return Probe(CATEGORIES, fit.weight, fit.bias, 0.8, fit.hidden_weight, fit.hidden_bias)


def test_a_hidden_probe_reads_back_exactly(tmp_path: Path) -> None:
    probe = _hidden_probe()
    head = AttributeHead({"category": probe}, vocabulary_fingerprint(VOCABULARY), min_probability=0.5)
    save_attribute_head(tmp_path, head)
    config = json.loads((tmp_path / ATTRIBUTE_HEAD_CONFIG_FILE).read_text(encoding="utf-8"))
    assert config["format"] == "grounded-attribute-head/2" and config["probes"]["category"]["hidden"] == 6
    loaded, _ = load_attribute_head(tmp_path, VOCABULARY)
    assert loaded is not None
    back = loaded.probes["category"]
    assert back.hidden == 6 and back.temperature == pytest.approx(0.8)
    for array, saved in ((back.weight, probe.weight), (back.hidden_weight, probe.hidden_weight)):
        np.testing.assert_array_equal(array, saved)
    image = _blobs(1, 9)[0][0]
    np.testing.assert_array_equal(back.probabilities(image), probe.probabilities(image))
    assert back.probabilities(image).argmax() == _blobs(1, 9)[1][0]  # served through the hidden layer


def test_a_linear_head_keeps_the_format_older_services_read(tmp_path: Path) -> None:
    linear = Probe(CATEGORIES, np.eye(3, 8, dtype=np.float32), np.zeros(3, np.float32))
    save_attribute_head(tmp_path, AttributeHead({"category": linear}, vocabulary_fingerprint(VOCABULARY)))
    config = json.loads((tmp_path / ATTRIBUTE_HEAD_CONFIG_FILE).read_text(encoding="utf-8"))
    assert config["format"] == "grounded-attribute-head/1" and "hidden" not in config["probes"]["category"]
    loaded, _ = load_attribute_head(tmp_path, VOCABULARY)
    assert loaded is not None and loaded.probes["category"].hidden == 0


def test_a_head_of_an_unknown_format_is_refused_by_name(tmp_path: Path) -> None:
    save_attribute_head(
        tmp_path, AttributeHead({"category": _hidden_probe()}, vocabulary_fingerprint(VOCABULARY))
    )
    path = tmp_path / ATTRIBUTE_HEAD_CONFIG_FILE
    config = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**config, "format": "grounded-attribute-head/3"}), encoding="utf-8")
    with pytest.raises(ModelUnavailableError, match=r"attribute-head/3.*upgrade the service"):
        load_attribute_head(tmp_path, VOCABULARY)
