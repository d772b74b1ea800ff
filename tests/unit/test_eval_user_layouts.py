"""Benchmark folders as users hold them after downloading the releases themselves: FashionIQ
images in any extension case or one folder per category, the release's unlabelled FashionIQ
test captions, and incomplete downloads reported all at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from plugin.evaluation import load_circo, load_cirr, load_dataset, load_fashioniq
from schemas.errors import InvalidInputError
from tests.support.eval_layouts import make_image, write_circo, write_cirr, write_fashioniq, write_json


def test_fashioniq_images_in_any_extension_case_or_one_folder_down(tmp_path: Path) -> None:
    root = write_fashioniq(tmp_path)
    images = root / "images"
    (images / "dress0.png").rename(images / "dress0.PNG")
    (images / "dress1.png").unlink()
    make_image(images / "dress1.JPG", 1, fmt="JPEG")
    (images / "shirt").mkdir()
    for i in range(4):
        (images / f"shirt{i}.png").rename(images / "shirt" / f"shirt{i}.png")
    make_image(images / "toptee" / "toptee0.png", 9)  # a stale copy one folder down
    ds = load_fashioniq(root, "val")
    assert ds.images["dress0"] == images / "dress0.PNG"
    assert ds.images["dress1"] == images / "dress1.JPG"
    assert ds.images["shirt2"] == images / "shirt" / "shirt2.png"
    assert ds.images["toptee0"] == images / "toptee0.png"  # the top-level file wins


def _write_release_test_split(root: Path) -> None:
    """The release's ``cap.<category>.test.json``: candidate and captions, no target."""
    for category in ("dress", "shirt", "toptee"):
        names = json.loads((root / "image_splits" / f"split.{category}.val.json").read_text())
        write_json(root / "image_splits" / f"split.{category}.test.json", names)
        write_json(
            root / "captions" / f"cap.{category}.test.json",
            [
                {"candidate": names[0], "captions": ["is a lighter color", " green"]},
                {"candidate": names[2], "captions": ["A solid lighter color.", "it is gray and pocketed"]},
            ],
        )


def test_fashioniq_release_test_split_is_unlabelled(tmp_path: Path) -> None:
    root = write_fashioniq(tmp_path)
    _write_release_test_split(root)
    ds = load_fashioniq(root, "test")
    assert not ds.labelled and len(ds.queries) == 6
    assert all(q.targets == () for q in ds.queries)
    assert ds.queries[0].text == "is a lighter color and green"


def test_fashioniq_categories_labelled_differently_are_refused(tmp_path: Path) -> None:
    root = write_fashioniq(tmp_path)
    _write_release_test_split(root)
    labelled = json.loads((root / "captions" / "cap.dress.val.json").read_text())
    write_json(root / "captions" / "cap.dress.test.json", labelled)
    with pytest.raises(InvalidInputError, match=r"captions of \['dress'\] have targets, the others none"):
        load_fashioniq(root, "test")
    assert load_fashioniq(root, "test", ["shirt", "toptee"]).labelled is False


def test_every_missing_image_is_counted_and_the_first_are_named(tmp_path: Path) -> None:
    root = write_cirr(tmp_path)
    for i in range(6):
        (root / "dev" / f"dev-{i}-0-img{i}.png").unlink()
    with pytest.raises(InvalidInputError) as err:
        load_cirr(root, "val")
    message = err.value.message
    assert "split.rc2.val.json: 6 of 6 images not found: 'dev-0-0-img0' (" in message
    assert "'dev-4-0-img4'" in message and message.endswith("and 1 more")


def test_a_missing_coco_image_is_named_with_its_path(tmp_path: Path) -> None:
    root = write_circo(tmp_path)
    (root / "COCO2017_unlabeled" / "unlabeled2017" / "000000000004.jpg").unlink()
    with pytest.raises(InvalidInputError, match=r"image '4' not found \(.*000000000004\.jpg\)"):
        load_circo(root, "val")


@pytest.mark.parametrize("limit", [0, -1])
def test_a_limit_below_one_is_refused(tmp_path: Path, limit: int) -> None:
    dataset = load_cirr(write_cirr(tmp_path), "val")
    with pytest.raises(InvalidInputError, match=f"--limit must be at least 1, got {limit}"):
        dataset.limited(limit)


def test_an_empty_captions_file_is_refused_not_scored(tmp_path: Path) -> None:
    cirr = write_cirr(tmp_path / "cirr")
    write_json(cirr / "captions" / "cap.rc2.val.json", [])
    with pytest.raises(InvalidInputError, match=r"cirr val: the captions have no queries$"):
        load_dataset("cirr", cirr, "val")
    fiq = write_fashioniq(tmp_path / "fiq")
    write_json(fiq / "captions" / "cap.shirt.val.json", [])
    with pytest.raises(InvalidInputError, match="fashioniq val: the captions have no queries for shirt"):
        load_dataset("fashioniq", fiq, "val")
    assert len(load_dataset("fashioniq", fiq, "val", ["dress"]).queries) == 2
