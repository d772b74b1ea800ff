"""The product world: deterministic by seed, held-out combinations kept out of training, queries
that say what they change, files in the CIRR and CIRCO layouts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from plugin.world import World, build_world, load_world_spec, restrict
from plugin.world.products import enumerate_products

TINY = {"categories": 3, "colours": 3, "patterns": 2}


def _tiny(out: Path, **kwargs: int) -> World:
    return build_world(out, spec=restrict(load_world_spec(), **TINY), queries=12, **kwargs)


def _digests(root: Path) -> dict[str, str]:
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != "world.json":
            found[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return _tiny(tmp_path_factory.mktemp("world"))


def test_same_seed_same_bytes(world: World, tmp_path: Path) -> None:
    again = _tiny(tmp_path / "again")
    assert _digests(world.root) == _digests(again.root)
    assert len(_digests(world.root)) > 50


def test_other_seed_other_held_out_split(world: World) -> None:
    spec = restrict(load_world_spec(), **TINY)
    splits = {p.id: p.split for p in world.products}
    other = {p.id: p.split for p in enumerate_products(spec, seed=7)}
    assert splits.keys() == other.keys()
    assert splits != other


def test_training_catalog_never_holds_a_held_out_combination(world: World) -> None:
    rows = [json.loads(line) for line in world.train_catalog.read_text().splitlines()]
    trained = {(r["category"], r["attributes"]["colour"], r["attributes"]["pattern"]) for r in rows}
    held_out = {p.combination for p in world.products if p.split != "train"}
    assert trained and held_out
    assert trained.isdisjoint(held_out)
    # ... while the full catalog (the gallery) has every product.
    assert len(world.catalog.read_text().splitlines()) == len(world.products)


def test_query_targets_are_held_out_and_the_reference_differs_in_what_the_text_changes(world: World) -> None:
    for split, queries in world.queries.items():
        assert len(queries) == 12
        for q in queries:
            assert q.target.split == split
            assert q.relevant[0] == q.target.id
            differs = {
                "colour": q.reference.colour != q.target.colour,
                "pattern": q.reference.pattern != q.target.pattern,
                "category": q.reference.category != q.target.category,
            }
            for attribute, changed in differs.items():
                assert changed == (attribute in q.changed), (q.text, attribute)
            if "colour" in q.changed:
                assert q.target.colour in q.text


def test_test_split_uses_its_own_wordings(world: World) -> None:
    spec = restrict(load_world_spec(), **TINY)
    dev = spec.modifications["development"]
    dev_starts = {
        t.split("{")[0].strip() for t in dev.colour + dev.pattern + dev.category if t.split("{")[0].strip()
    }
    for q in world.queries["test"]:
        assert not any(q.text.startswith(start) for start in dev_starts), q.text


def test_cirr_and_circo_layouts(world: World) -> None:
    root = world.root
    for split in ("val", "val-shopper", "test", "test-shopper"):
        captions = json.loads((root / "captions" / f"cap.rc2.{split}.json").read_text())
        gallery = json.loads((root / "image_splits" / f"split.rc2.{split}.json").read_text())
        assert len(gallery) == len(world.products)
        for row in captions:
            assert set(row) == {"pairid", "reference", "target_hard", "target_soft", "caption", "img_set"}
            assert row["target_hard"] in gallery and set(row["img_set"]["members"]) <= set(gallery)
            assert (root / gallery[row["target_hard"]]).is_file()
            if split.endswith("shopper"):
                photos = json.loads((root / "image_splits" / "split.rc2.shopper-photos.json").read_text())
                assert row["reference"] not in gallery and (root / photos[row["reference"]]).is_file()
    info = json.loads(
        (root / "circo/COCO2017_unlabeled/annotations/image_info_unlabeled2017.json").read_text()
    )
    ids = {image["id"] for image in info["images"]}
    for row in json.loads((root / "circo/annotations/val.json").read_text()):
        assert row["target_img_id"] == row["gt_img_ids"][0]
        assert {row["reference_img_id"], *row["gt_img_ids"]} <= ids
    for image in info["images"][:3]:
        assert (root / "circo/COCO2017_unlabeled/unlabeled2017" / image["file_name"]).is_file()


def test_vocabulary_loads_in_the_captioners_format(world: World) -> None:
    from vectorizer_service.compose.vocab import load_vocabulary

    vocabulary = load_vocabulary(world.vocabulary)
    assert [c.name for c in vocabulary.categories] == ["t-shirt", "dress", "trousers"]
    assert vocabulary.attribute("colour") is not None and vocabulary.attribute("sleeve") is not None
    cut = vocabulary.attribute("cut")
    assert cut is not None
    a_line = cut.value("a-line")
    # The tiny world has t-shirts, dresses and trousers: only dresses come in an a-line cut.
    assert a_line is not None and a_line.applies_to == ("dress",)
