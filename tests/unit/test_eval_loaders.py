"""Benchmark loaders on tiny folders in each release's exact layout, and their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from plugin.evaluation import load_circo, load_cirr, load_dataset, load_fashioniq
from plugin.evaluation.fashioniq import join_captions
from schemas.errors import InvalidInputError
from tests.support.eval_layouts import write_circo, write_cirr, write_fashioniq, write_json


def test_fashioniq_loads_each_category_with_its_own_gallery(tmp_path: Path) -> None:
    ds = load_fashioniq(write_fashioniq(tmp_path), "val")
    assert ds.groups == ("dress", "shirt", "toptee")
    assert ds.galleries["shirt"] == ("shirt0", "shirt1", "shirt2", "shirt3")
    assert len(ds.gallery_ids()) == 12 and len(ds.queries) == 6
    first = ds.queries[0]
    assert (first.id, first.reference, first.targets, first.group) == (
        "dress-0",
        "dress0",
        ("dress1",),
        "dress",
    )
    assert first.text == "is blue and has a round shape"  # trailing "." stripped, joined with "and"
    assert ds.queries[1].text == "is darker and is less bright"
    assert ds.images["dress0"] == tmp_path / "images" / "dress0.png"
    assert ds.labelled and not ds.exclude_reference


def test_fashioniq_categories_and_limit(tmp_path: Path) -> None:
    ds = load_fashioniq(write_fashioniq(tmp_path), "val", ["toptee"]).limited(1)
    assert ds.groups == ("toptee",) and [q.id for q in ds.queries] == ["toptee-0"]
    with pytest.raises(InvalidInputError, match="unknown FashionIQ categories"):
        load_fashioniq(tmp_path, "val", ["hat"])


def test_join_captions_like_the_literature() -> None:
    assert join_captions("is red. ", "has stripes?") == "is red and has stripes"


def test_cirr_val_and_hidden_test(tmp_path: Path) -> None:
    root = write_cirr(tmp_path)
    val = load_cirr(root, "val")
    q = val.queries[0]
    assert (q.id, q.reference, q.targets, q.text) == ("10", "dev-0-0-img0", ("dev-1-0-img1",), "make it blue")
    assert len(q.subset) == 6 and val.exclude_reference and val.labelled
    assert val.images["dev-2-0-img2"] == root / "dev" / "dev-2-0-img2.png"
    test = load_cirr(root, "test1")
    assert not test.labelled and all(q.targets == () for q in test.queries)


def test_cirr_annotations_under_the_repository_folder(tmp_path: Path) -> None:
    root = write_cirr(tmp_path)
    (root / "cirr").mkdir()
    shutil.move(root / "captions", root / "cirr" / "captions")
    shutil.move(root / "image_splits", root / "cirr" / "image_splits")
    assert len(load_cirr(root, "val").queries) == 3


def test_circo_val_and_hidden_test(tmp_path: Path) -> None:
    root = write_circo(tmp_path)
    val = load_circo(root, "val")
    assert val.gallery_ids() == ["1", "2", "3", "4", "5", "6"]
    assert val.queries[0].targets == ("2", "4") and val.queries[0].text == "is blue"
    assert val.images["3"].name == "000000000003.jpg"
    test = load_circo(root, "test")
    assert not test.labelled and test.queries[1].reference == "2"


def test_circo_without_image_info_scans_the_folder(tmp_path: Path) -> None:
    root = write_circo(tmp_path)
    (root / "COCO2017_unlabeled" / "annotations" / "image_info_unlabeled2017.json").unlink()
    assert load_circo(root, "val").gallery_ids() == ["1", "2", "3", "4", "5", "6"]


def _edit(path: Path, index: int, **changes: object) -> None:
    items = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None:
            del items[index][key]
        else:
            items[index][key] = value
    write_json(path, items)


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("target", None, "item 1: missing field 'target'"),
        ("candidate", None, "item 1: missing field 'candidate'"),
        ("captions", ["only one"], "item 1: field 'captions' must have 2 entries, has 1"),
        ("captions", "is red", "item 1: field 'captions' must be a list of strings"),
        ("target", "", "item 1: field 'target' is empty"),
        ("candidate", "missing-image", "image 'missing-image' not found"),
    ],
)
def test_fashioniq_malformed_captions_name_file_item_and_field(
    tmp_path: Path, field: str, value: object, problem: str
) -> None:
    root = write_fashioniq(tmp_path)
    path = root / "captions" / "cap.shirt.val.json"
    _edit(path, 1, **{field: value})
    with pytest.raises(InvalidInputError) as info:
        load_fashioniq(root, "val")
    assert str(path) in info.value.message and problem in info.value.message


def test_missing_and_unparsable_files_are_named(tmp_path: Path) -> None:
    root = write_fashioniq(tmp_path)
    with pytest.raises(InvalidInputError, match=r"split\.dress\.test\.json: file not found"):
        load_fashioniq(root, "test")
    (root / "captions" / "cap.dress.val.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match=r"cap\.dress\.val\.json: not valid JSON"):
        load_fashioniq(root, "val")
    write_json(root / "captions" / "cap.dress.val.json", {"a": 1})
    with pytest.raises(InvalidInputError, match=r"cap\.dress\.val\.json: expected a JSON list"):
        load_fashioniq(root, "val")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("target_hard", None, "item 2: missing field 'target_hard'"),
        ("pairid", None, "item 2: missing field 'pairid'"),
        ("img_set", [1, 2], "item 2: field 'img_set' must be an object"),
        ("img_set", {"id": 1}, "item 2: missing field 'members'"),
        ("reference", "nowhere", "item 2: reference 'nowhere' is in no image_splits file"),
        ("target_hard", "nowhere", "item 2: image 'nowhere' is not in split.rc2.val.json"),
    ],
)
def test_cirr_malformed_captions(tmp_path: Path, field: str, value: object, problem: str) -> None:
    root = write_cirr(tmp_path)
    path = root / "captions" / "cap.rc2.val.json"
    _edit(path, 2, **{field: value})
    with pytest.raises(InvalidInputError) as info:
        load_cirr(root, "val")
    assert str(path) in info.value.message and problem in info.value.message


def test_cirr_missing_image_file_is_named(tmp_path: Path) -> None:
    root = write_cirr(tmp_path)
    (root / "dev" / "dev-4-0-img4.png").unlink()
    with pytest.raises(InvalidInputError, match=r"split\.rc2\.val\.json: image 'dev-4-0-img4' not found"):
        load_cirr(root, "val")


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("gt_img_ids", None, "item 0: missing field 'gt_img_ids'"),
        ("relative_caption", None, "item 0: missing field 'relative_caption'"),
        ("reference_img_id", 99, "item 0: image 99 is not in the gallery"),
        ("gt_img_ids", 5, "item 0: field 'gt_img_ids' must be a list of strings"),
    ],
)
def test_circo_malformed_annotations(tmp_path: Path, field: str, value: object, problem: str) -> None:
    root = write_circo(tmp_path)
    path = root / "annotations" / "val.json"
    _edit(path, 0, **{field: value})
    with pytest.raises(InvalidInputError) as info:
        load_circo(root, "val")
    assert str(path) in info.value.message and problem in info.value.message


def test_load_dataset_checks_the_root(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="--root: no such folder"):
        load_dataset("cirr", tmp_path / "nope", "val")
    with pytest.raises(InvalidInputError, match="--categories applies to fashioniq only"):
        load_dataset("cirr", tmp_path, "val", ["dress"])


def test_cirr_reference_from_another_split_file_stays_out_of_the_gallery(tmp_path: Path) -> None:
    # Reference photos that are not gallery images (e.g. shopper photos) may be named in another
    # image_splits file; the query resolves them, the gallery does not grow.
    root = write_cirr(tmp_path)
    path = root / "captions" / "cap.rc2.val.json"
    (root / "photos").mkdir()
    Image.new("RGB", (8, 8), "red").save(root / "photos" / "snap-1.png")
    write_json(root / "image_splits" / "split.rc2.snaps.json", {"snap-1": "./photos/snap-1.png"})
    _edit(path, 0, reference="snap-1", target_soft={"dev-2-0-img2": 1.0, "dev-3-0-img3": 0.5})
    dataset = load_cirr(root, "val")
    assert "snap-1" in dataset.images and "snap-1" not in dataset.galleries[""]
    query = dataset.queries[0]
    assert query.reference == "snap-1"
    # target_soft == 1.0 joins target_hard in the relevant set of the (extension) soft mAP.
    assert query.soft_relevant[0] == query.targets[0]
    assert query.soft_relevant == ("dev-1-0-img1", "dev-2-0-img2")
