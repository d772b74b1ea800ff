"""The ``grounded-vocabulary/1`` format is defined once (schemas.vocabulary): what the plugin
writes is what the service reads, and the vocabulary shipped with the world model is the one
the world builder makes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.world import load_world_spec
from plugin.world.vocabulary import make_vocabulary
from schemas.errors import ModelUnavailableError
from schemas.vocabulary import VOCABULARY_FORMAT, Vocabulary, parse_vocabulary, write_vocabulary
from vectorizer_service import load_vocabulary

SHIPPED = Path(__file__).resolve().parents[2] / "plugin" / "world" / "model" / "vocabulary.json"


@pytest.mark.parametrize("which", ["bundled", "world"])
def test_a_written_vocabulary_reads_back_equal(which: str, tmp_path: Path) -> None:
    vocabulary = load_vocabulary() if which == "bundled" else make_vocabulary(load_world_spec())
    path = tmp_path / "vocabulary.json"
    write_vocabulary(vocabulary, path)
    assert load_vocabulary(path) == vocabulary
    assert json.loads(path.read_text(encoding="utf-8"))["format"] == VOCABULARY_FORMAT


def test_the_shipped_world_model_vocabulary_is_the_world_builders() -> None:
    assert load_vocabulary(SHIPPED) == make_vocabulary(load_world_spec())


def test_the_world_file_loads_as_the_world_builders_vocabulary(tmp_path: Path) -> None:
    spec = load_world_spec()
    write_vocabulary(make_vocabulary(spec), tmp_path / "v.json")
    assert load_vocabulary(tmp_path / "v.json") == make_vocabulary(spec)


def test_a_bad_file_is_refused_naming_it_and_the_entry() -> None:
    with pytest.raises(ModelUnavailableError, match=r"vocabulary mine\.json: attributes\.0\.values"):
        parse_vocabulary(
            json.dumps(
                {
                    "format": VOCABULARY_FORMAT,
                    "groups": {"g": {"noun": "thing"}},
                    "categories": [{"name": "a", "group": "g"}, {"name": "b", "group": "g"}],
                    "attributes": [{"name": "colour", "values": ["red"]}],
                }
            ),
            "mine.json",
        )
    with pytest.raises(ModelUnavailableError, match="not valid JSON"):
        parse_vocabulary("{", "mine.json")
    assert isinstance(load_vocabulary(), Vocabulary)
