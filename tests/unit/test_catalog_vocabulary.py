"""grounded vocabulary: a vocabulary derived from a catalog's products (what is kept, what is
dropped and why, aliases from titles), and the zero-shot check's accuracy and confusion pairs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plugin.cli import main
from plugin.vocabulary import check_vocabulary, derive_vocabulary, held_out
from schemas.errors import InvalidInputError
from schemas.product import Product
from schemas.vocabulary import parse_vocabulary


def _product(i: int, category: str, title: str = "", **attributes: str) -> Product:
    return Product(id=f"p{i}", title=title or f"{category} {i}", category=category, attributes=attributes)


def _catalog() -> list[Product]:
    rows = []
    for i in range(6):
        rows.append(
            _product(i, "dress", f"Summer frock no. {i}", colour=["red", "green"][i % 2], sleeve="long")
        )
    for i in range(6, 12):
        rows.append(_product(i, "mug", f"Ceramic mug {i}", colour=["Red", "green"][i % 2]))
    rows.append(_product(12, "mug", "Ceramic mug 12", colour="mauve"))  # seen once: dropped
    rows.append(_product(13, "lamp", "A lamp"))  # a category seen once: dropped
    rows.append(_product(14, "dress", "Summer frock", colour="red", sleeve="short"))
    rows.append(_product(15, "dress", "Summer frock", colour="red", sleeve="short", sku="A1"))
    return rows


def test_categories_values_and_applies_to_come_from_the_catalog() -> None:
    derived = derive_vocabulary(_catalog())
    vocabulary = derived.vocabulary
    assert [c.name for c in vocabulary.categories] == ["dress", "mug"]
    colour = vocabulary.attribute("colour")
    assert colour is not None and colour.applies_to is None
    # Case-insensitive: "Red" and "red" are one value, named by the commoner spelling.
    assert [v.name for v in colour.values] == ["red", "green"]
    assert derived.value_counts["colour"] == {"red": 8, "green": 6}
    sleeve = vocabulary.attribute("sleeve")
    assert sleeve is not None and sleeve.applies_to == ("dress",)
    # Groups are the categories: prompts say "a red mug", not "a red product".
    assert vocabulary.groups["mug"].noun == "mug"
    # The file it writes is one the service reads, equal to what was derived.
    text = json.dumps(vocabulary.model_dump(mode="json", exclude_defaults=True))
    assert parse_vocabulary(text, "derived") == vocabulary


def test_rare_values_categories_and_one_valued_attributes_are_dropped_with_a_reason() -> None:
    dropped = {(d.attribute, d.value): d.reason for d in derive_vocabulary(_catalog()).dropped}
    assert "seen 1 time" in dropped[("colour", "mauve")]
    assert "seen 1 time" in dropped[("category", "lamp")]
    assert "nothing to choose" in dropped[("sku", None)]


def test_a_title_word_frequent_in_one_category_and_rare_elsewhere_becomes_an_alias() -> None:
    categories = {c.name: c for c in derive_vocabulary(_catalog()).vocabulary.categories}
    assert categories["dress"].aliases == ("frock", "summer")
    # "ceramic" is in every mug title; "mug" is the name itself, so it is no alias.
    assert categories["mug"].aliases == ("ceramic",)


def test_fewer_than_two_categories_is_refused_with_what_to_do() -> None:
    with pytest.raises(InvalidInputError, match="at least two; fill the rows' category field"):
        derive_vocabulary([_product(i, "dress", colour="red") for i in range(4)])


def _unit(text: str, dimension: int = 256) -> np.ndarray:
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
    vector = np.random.default_rng(seed).standard_normal(dimension).astype(np.float32)
    return vector / np.linalg.norm(vector)


class _PromptOracle:
    """Texts get random unit vectors; an image (JSON of its category and colour) the sum of its
    true prompts' vectors, except that ``mistake`` maps a colour to another (a model that cannot
    tell them apart)."""

    def __init__(self, mistake: dict[str, str]) -> None:
        self.mistake = mistake

    def embed_texts(self, texts: Any) -> np.ndarray:
        return np.stack([_unit(t) for t in texts])

    def embed_images(self, images: Any) -> np.ndarray:
        rows = []
        for data in images:
            truth = json.loads(data)
            colour = self.mistake.get(truth["colour"], truth["colour"])
            c = truth["category"]
            v = _unit(f"a photo of a {c}") + _unit(f"a photo of a {colour} {c}")
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows)

    def model_info(self) -> Any:
        return None

    def close(self) -> None:
        return None


def test_the_check_scores_each_attribute_and_names_values_the_model_mixes_up() -> None:
    products = [
        p for p in _catalog() if p.category in ("dress", "mug") and p.attributes.get("colour") != "mauve"
    ]
    samples = [
        (p, json.dumps({"category": p.category, "colour": p.attributes["colour"]}).encode()) for p in products
    ]
    vocabulary = derive_vocabulary(products).vocabulary
    report = check_vocabulary(_PromptOracle({"green": "red"}), vocabulary, samples)  # type: ignore[arg-type]
    assert report.attributes["category"].accuracy == 1.0
    colour = report.attributes["colour"]
    assert colour.total == 14 and colour.correct == 8  # every green read as red
    assert [(a, b) for a, b, _, _ in colour.confusions()] == [("green", "red")]
    clean = check_vocabulary(_PromptOracle({}), vocabulary, samples)  # type: ignore[arg-type]
    assert clean.attributes["colour"].accuracy == 1.0 and clean.attributes["colour"].confusions() == []


def test_the_held_out_part_is_seeded() -> None:
    items = [(_product(i, "dress"), b"") for i in range(50)]
    assert held_out(items, 0.2, 0) == held_out(items, 0.2, 0)
    assert len(held_out(items, 0.2, 0)) == 10
    assert held_out(items, 0.2, 0) != held_out(items, 0.2, 1)


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.jsonl"
    path.write_text("".join(p.model_dump_json() + "\n" for p in _catalog()), encoding="utf-8")
    return path


def test_cli_writes_the_vocabulary_and_preview_writes_nothing(tmp_path: Path, capsys: Any) -> None:
    catalog = _write(tmp_path)
    out = tmp_path / "model" / "vocabulary.json"
    assert main(["vocabulary", str(catalog), "--preview", "--out", str(out)]) == 0
    shown = capsys.readouterr().out
    assert not out.exists()
    assert "dropped colour=mauve: seen 1 time(s)" in shown and "preview only" in shown
    assert main(["vocabulary", str(catalog), "--out", str(out)]) == 0
    vocabulary = parse_vocabulary(out.read_text(encoding="utf-8"), str(out))
    assert [c.name for c in vocabulary.categories] == ["dress", "mug"]


def test_cli_bad_input_is_refused_before_anything_loads(tmp_path: Path, capsys: Any) -> None:
    catalog = _write(tmp_path)
    assert main(["vocabulary", str(tmp_path / "nope.jsonl"), "--preview"]) == 2
    assert main(["vocabulary", str(catalog)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["vocabulary", str(catalog), "--preview", "--check"]) == 2
    assert "--check needs --model FOLDER" in capsys.readouterr().err


def test_a_model_folder_gets_the_derived_vocabulary_but_keeps_its_own(tmp_path: Path) -> None:
    from plugin.vocabulary import write_model_vocabulary

    said = write_model_vocabulary(tmp_path, _catalog())
    assert said.startswith(f"vocabulary: wrote {tmp_path / 'vocabulary.json'} (2 categories; colour, sleeve)")
    (tmp_path / "vocabulary.json").write_text("{}", encoding="utf-8")
    assert "kept the folder's own" in write_model_vocabulary(tmp_path, _catalog())
    assert (tmp_path / "vocabulary.json").read_text(encoding="utf-8") == "{}"
    one = tmp_path / "one"
    one.mkdir()
    assert "none written" in write_model_vocabulary(one, [_product(0, "dress")])
    assert not (one / "vocabulary.json").exists()
