"""Auto-tags that abstain, through an import: the catalog's own vocabulary and margins calibrated
on its own products; what the model cannot tell (here the category, and a colour the catalog does
not use) is left empty and counted."""

from __future__ import annotations

import json
from pathlib import Path

from plugin.ingest.catalog import read_catalog
from plugin.ingest.pipeline import ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.lance.store import LanceStore
from plugin.vocabulary import catalog_tagger
from tests.e2e.test_tagging import RGB, ColourEncoder, _png


def test_an_import_writes_only_sure_catalog_values_and_counts_what_abstained(tmp_path: Path) -> None:
    rows = []
    # 140 products: the seeded half calibration runs on is more than the 59 that can make 95 %
    # sure (tests/unit/test_tag_calibration.py); a smaller catalog abstains everywhere.
    for i in range(140):
        colour = ("red", "blue")[i % 2]
        (tmp_path / f"{i}.png").write_bytes(_png(RGB[colour]))
        category = ("dress", "coat")[i // 70]
        rows.append({"id": f"p{i}", "title": f"{category} {i}", "category": category, "image": f"{i}.png",
                     "attributes": {"colour": colour}})  # fmt: skip
    for name in ("red", "blue", "green"):  # no category, no colour: the tagger's to fill
        (tmp_path / f"{name}.png").write_bytes(_png(RGB[name]))
        rows.append({"id": f"new-{name}", "title": "new product", "image": f"{name}.png"})
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    encoder = ColourEncoder()
    products = [r.product for r in read_catalog(catalog) if r.product is not None]
    tagger = catalog_tagger(encoder, products, tmp_path)
    calibration = tagger.calibration or {}
    # The fake's images say nothing of dress or coat: the category never reaches 95 %.
    assert calibration["category"].threshold is None
    assert calibration["colour"].threshold is not None and calibration["colour"].precision == 1.0
    assert calibration["colour"].products == 70 and calibration["colour"].lower_bound >= 0.95
    store = LanceStore(tmp_path / "data", dimension=4, collection="Calibrated")
    report = ingest_catalog(
        catalog,
        store=store,
        encoder=encoder,
        settings=PluginSettings(data_dir=tmp_path / "data"),
        progress=False,
        tagger=tagger,
    )
    assert report.ok
    # Red and blue are written; green is no value of this catalog (it scores as red or blue
    # with no lead) and abstains, as does every category.
    assert (report.tags_written, report.tags_abstained) == (2, 4)
    by_id = {
        h.properties["product_id"]: h.properties
        for h in store.search(encoder.embed_texts(["new product"])[0], limit=200)
    }
    red = json.loads(by_id["new-red"]["attributes_inferred"])
    assert red["colour"]["value"] == "red" and red["colour"]["source"] == "zero-shot"
    assert "category" not in red
    assert json.loads(by_id["new-green"]["attributes_inferred"]) == {}
    store.close()
