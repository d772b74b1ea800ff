"""Tiny benchmark folders in each release's exact on-disk layout, with PIL-made images.

Shared by the loader unit tests and the ``grounded eval`` end-to-end tests. The images are
flat colours with a shape in the middle, so they are distinct and cheap to embed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

COLOURS = ["red", "blue", "green", "yellow", "black", "white", "purple", "orange"]


def make_image(path: Path, index: int, fmt: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (40, 40), "lightgray")
    draw = ImageDraw.Draw(image)
    colour = COLOURS[index % len(COLOURS)]
    if index % 2:
        draw.ellipse((8, 8, 32, 32), fill=colour)
    else:
        draw.rectangle((10, 6, 30, 34), fill=colour)
    image.save(path, format=fmt)


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


FASHIONIQ_CATEGORIES = ("dress", "shirt", "toptee")


def write_fashioniq(root: Path, split: str = "val") -> Path:
    """3 categories x 4 images (``<cat>0``..``<cat>3``), 2 queries per category."""
    for c, category in enumerate(FASHIONIQ_CATEGORIES):
        names = [f"{category}{i}" for i in range(4)]
        for i, name in enumerate(names):
            make_image(root / "images" / f"{name}.png", 4 * c + i)
        write_json(root / "image_splits" / f"split.{category}.{split}.json", names)
        write_json(
            root / "captions" / f"cap.{category}.{split}.json",
            [
                {"target": names[1], "candidate": names[0], "captions": ["is blue.", "has a round shape"]},
                {"target": names[3], "candidate": names[2], "captions": ["is darker", "is less bright?"]},
            ],
        )
    return root


def write_cirr(root: Path) -> Path:
    """6 images in ``dev/``; ``val`` has 3 labelled queries, ``test1`` 2 unlabelled ones."""
    names = [f"dev-{i}-0-img{i}" for i in range(6)]
    for i, name in enumerate(names):
        make_image(root / "dev" / f"{name}.png", i)
    mapping = {name: f"./dev/{name}.png" for name in names}
    members = names[:6]
    for split in ("val", "test1"):
        write_json(root / "image_splits" / f"split.rc2.{split}.json", mapping)
    val = [
        {"pairid": 10 + i, "reference": names[i], "target_hard": names[i + 1],
         "target_soft": {names[i + 1]: 1.0}, "caption": caption,
         "img_set": {"id": i, "members": members}}
        for i, caption in enumerate(["make it blue", "change the shape to a circle", "make it green"])
    ]  # fmt: skip
    test = [
        {"pairid": 20 + i, "reference": names[i], "caption": caption,
         "img_set": {"id": i, "members": members}}
        for i, caption in enumerate(["make it blue", "make it yellow"])
    ]  # fmt: skip
    write_json(root / "captions" / "cap.rc2.val.json", val)
    write_json(root / "captions" / "cap.rc2.test1.json", test)
    return root


def write_circo(root: Path) -> Path:
    """6 COCO-style images (ids 1..6); ``val`` has 2 labelled queries, ``test`` 2 unlabelled."""
    images = []
    for i in range(1, 7):
        file_name = f"{i:012d}.jpg"
        make_image(root / "COCO2017_unlabeled" / "unlabeled2017" / file_name, i, fmt="JPEG")
        images.append({"id": i, "file_name": file_name})
    write_json(
        root / "COCO2017_unlabeled" / "annotations" / "image_info_unlabeled2017.json", {"images": images}
    )
    write_json(
        root / "annotations" / "val.json",
        [
            {"id": 0, "reference_img_id": 1, "target_img_id": 2, "relative_caption": "is blue",
             "shared_concept": "a box", "gt_img_ids": [2, 4]},
            {"id": 1, "reference_img_id": 3, "target_img_id": 5, "relative_caption": "is black",
             "shared_concept": "a shape", "gt_img_ids": [5]},
        ],
    )  # fmt: skip
    write_json(
        root / "annotations" / "test.json",
        [
            {"id": 0, "reference_img_id": 1, "relative_caption": "is blue", "shared_concept": "a box"},
            {"id": 1, "reference_img_id": 2, "relative_caption": "is round", "shared_concept": "a shape"},
        ],
    )
    return root
