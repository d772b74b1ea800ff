"""The default row is always there and marked; the diagnostic ``true_attributes`` row sends each
reference's true title and attributes as merchant data, and is left out, with a note, where the
layout does not carry them (a public download)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plugin.evaluation import DEFAULT, TRUE_ATTRIBUTES, build_configs, load_circo, load_cirr, run_evaluation
from plugin.evaluation.report import report_dict, to_markdown
from plugin.evaluation.truth import REFERENCE_ATTRIBUTES_FORMAT, read_reference_truth
from schemas.errors import InvalidInputError
from schemas.wire import ComposeOptions
from tests.support.eval_layouts import write_circo, write_cirr, write_json
from tests.support.fake_weaviate.encoder import FakeEncoder


def _truth_file(folder: Path, images: dict[str, Any]) -> None:
    write_json(
        folder / "reference_attributes.json", {"format": REFERENCE_ATTRIBUTES_FORMAT, "images": images}
    )


def _entry(i: int) -> dict[str, Any]:
    return {"caption": f"Red dotted thing {i}", "attributes": {"category": "dress", "colour": f"c{i}"}}


def test_build_configs_always_puts_the_default_first() -> None:
    names = [c.name for c in build_configs(["text_only", "fusion+bg"], [])]
    assert names == [DEFAULT, "text_only", "fusion+bg"]
    assert [c.name for c in build_configs([DEFAULT], [])] == [DEFAULT]
    everything = build_configs(None, [0.0])
    assert everything[0].name == DEFAULT and everything[-1].name == TRUE_ATTRIBUTES  # the bound closes it
    default = everything[0]
    # "nothing set": the service's defaults decide, whatever they are
    assert (
        default.default and default.options == ComposeOptions() and default.send_image and default.send_text
    )
    assert [c.name for c in everything if c.default] == [DEFAULT]
    truth = everything[-1]
    # the attribute pipeline, pinned: pic2word (a server default with a mapper) reads no caption
    assert (
        truth.diagnostic
        and not truth.default
        and truth.options == ComposeOptions(fusion_method="image_anchor")
    )
    assert truth.signature() != default.signature()  # composed apart, never shared
    with pytest.raises(InvalidInputError, match="true_attributes"):
        build_configs(["nope"], [])  # the known names are listed


def test_read_reference_truth(tmp_path: Path) -> None:
    assert read_reference_truth(tmp_path) == {}
    _truth_file(tmp_path, {"a": _entry(1)})
    (truth,) = read_reference_truth(tmp_path).values()
    assert truth.caption == "Red dotted thing 1" and truth.attributes == {"category": "dress", "colour": "c1"}
    _truth_file(tmp_path, {"a": {"caption": "x", "attributes": {"colour": 3}}})
    with pytest.raises(InvalidInputError, match=r"reference_attributes.json: image 'a': 'attributes'"):
        read_reference_truth(tmp_path)
    write_json(tmp_path / "reference_attributes.json", {"images": {}})
    with pytest.raises(InvalidInputError, match="format"):
        read_reference_truth(tmp_path)


def test_true_attributes_sends_each_references_truth_as_merchant_data(tmp_path: Path) -> None:
    root = write_cirr(tmp_path / "cirr")
    _truth_file(root, {f"dev-{i}-0-img{i}": _entry(i) for i in range(6)})
    dataset = load_cirr(root, "val")
    encoder = FakeEncoder()
    run = run_evaluation(dataset, encoder, build_configs(["text_only", TRUE_ATTRIBUTES], []),
                         cache_dir=tmp_path / "c", progress=False)  # fmt: skip
    assert [r.config.name for r in run.results] == [DEFAULT, "text_only", TRUE_ATTRIBUTES]
    assert run.notes == []
    # calls within a row run concurrently: tell the references apart by their image bytes
    reference_of = {dataset.images[q.reference].read_bytes(): q.reference for q in dataset.queries}
    merchant = [(reference_of[image or b""], options) for image, _text, options in encoder.compose_calls
                if options is not None and options.catalog_caption is not None]  # fmt: skip
    assert sorted(ref for ref, _ in merchant) == sorted(q.reference for q in dataset.queries)
    for reference, options in merchant:
        i = int(reference[-1])  # each reference gets its own truth, nothing else set
        expected = {"category": "dress", "colour": f"c{i}"}
        assert options == ComposeOptions(
            catalog_caption=f"Red dotted thing {i}", catalog_attributes=expected, fusion_method="image_anchor"
        )
    plain = [options for image, _text, options in encoder.compose_calls if options == ComposeOptions()]
    assert len(plain) == len(dataset.queries)  # the default row: no option set
    report = report_dict(run)
    rows = {c["name"]: c for c in report["configs"]}
    assert report["default_config"] == DEFAULT
    assert [n for n, c in rows.items() if c["default"]] == [DEFAULT]
    assert [n for n, c in rows.items() if c["diagnostic"]] == [TRUE_ATTRIBUTES]
    assert rows[TRUE_ATTRIBUTES]["per_query_options"] == ["catalog_caption", "catalog_attributes"]
    md = to_markdown(run)
    assert "| true_attributes (diagnostic) |" in md and "| default |" in md
    assert "not a method a user can have without merchant data" in md


def test_without_reference_attributes_the_row_is_omitted_with_a_note(tmp_path: Path) -> None:
    root = write_cirr(tmp_path / "cirr")  # a public download: no reference_attributes.json
    run = run_evaluation(load_cirr(root, "val"), FakeEncoder(), build_configs(None, []),
                         cache_dir=tmp_path / "c", progress=False)  # fmt: skip
    assert TRUE_ATTRIBUTES not in [r.config.name for r in run.results]
    assert run.results[0].config.name == DEFAULT
    (note,) = run.notes
    assert note.startswith("true_attributes omitted: this layout carries no reference attributes")
    assert json.loads(json.dumps(report_dict(run)))["notes"] == [note]
    assert f"Note: {note}" in to_markdown(run)
    # a file that misses some references leaves it out too, and counts them
    _truth_file(root, {"dev-0-0-img0": _entry(0)})
    run = run_evaluation(load_cirr(root, "val"), FakeEncoder(), build_configs([TRUE_ATTRIBUTES], []),
                         cache_dir=tmp_path / "c", progress=False)  # fmt: skip
    assert [r.config.name for r in run.results] == [DEFAULT]
    assert "2 of 3 query references have no entry" in run.notes[0]


def test_circo_truth_ids_are_coco_ids(tmp_path: Path) -> None:
    root = write_circo(tmp_path / "circo")
    _truth_file(root, {"000000000001": _entry(1), "3": _entry(3)})
    dataset = load_circo(root, "val")
    assert set(dataset.reference_truth) == {"1", "3"}
    assert {q.reference for q in dataset.queries} <= set(dataset.reference_truth)
    assert dataset.limited(1).reference_truth == dataset.reference_truth
