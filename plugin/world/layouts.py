"""Write the world's composed queries in the public benchmarks' own on-disk layouts, so that
``grounded eval`` reads them with the same loaders as the real CIRR and CIRCO releases.

CIRR (the world's root is the CIRR root): ``captions/cap.rc2.<split>.json`` and
``image_splits/split.rc2.<split>.json`` (the gallery: every catalog photo). Queries whose
reference is a shopper photo are the split ``<split>-shopper``; the shopper photos are named in
``image_splits/split.rc2.shopper-photos.json`` and are not part of any gallery.

CIRCO (under ``circo/``): ``annotations/<split>.json`` and COCO's unlabeled layout
(``COCO2017_unlabeled/annotations/image_info_unlabeled2017.json`` and ``unlabeled2017/``),
with catalog-photo references; ``gt_img_ids`` lists every product that satisfies the query.

Both roots also carry ``reference_attributes.json``: each reference image's true product, its
catalog title and attributes (the category included). A public download has no such file; with
it ``grounded eval`` adds the diagnostic ``true_attributes`` row (``plugin/evaluation/truth.py``
reads it).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from plugin.world.products import WorldProduct
from plugin.world.queries import CompositionQuery

__all__ = [
    "CIRCO_DIR",
    "REFERENCE_ATTRIBUTES_FILE",
    "SHOPPER_PHOTOS_SPLIT",
    "shopper_name",
    "write_circo",
    "write_cirr",
]

CIRCO_DIR = "circo"
SHOPPER_PHOTOS_SPLIT = "shopper-photos"
REFERENCE_ATTRIBUTES_FILE = "reference_attributes.json"
_REFERENCE_ATTRIBUTES_FORMAT = "grounded-reference-attributes/1"


def shopper_name(split: str, query: CompositionQuery) -> str:
    return f"shopper-{split}-{query.pair_id:05d}"


def _dump(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n", encoding="utf-8")


def _truth(product: WorldProduct, titles: dict[str, str]) -> dict[str, object]:
    return {"caption": titles[product.id], "attributes": {"category": product.category, **product.attributes}}


def _write_truth(folder: Path, entries: dict[str, dict[str, object]]) -> None:
    """Add ``entries`` (image id -> true caption and attributes) to ``reference_attributes.json``."""
    path = folder / REFERENCE_ATTRIBUTES_FILE
    known = json.loads(path.read_text("utf-8"))["images"] if path.is_file() else {}
    known.update(entries)
    payload = {
        "format": _REFERENCE_ATTRIBUTES_FORMAT,
        "about": "each reference image's true product (catalog title, attributes): grounded eval's "
        "diagnostic true_attributes row; a benchmark's own download has no such file",
        "images": dict(sorted(known.items())),
    }
    _dump(path, payload)


def write_cirr(
    root: Path,
    split: str,
    queries: Sequence[CompositionQuery],
    products: Sequence[WorldProduct],
    catalog_paths: dict[str, str],
    shopper_paths: dict[str, str],
    titles: dict[str, str],
) -> None:
    """Two CIRR splits: ``<split>`` (catalog-photo references) and ``<split>-shopper``, and
    their references' true attributes (``titles``: product id -> catalog title)."""
    gallery = {p.id: "./" + catalog_paths[p.id] for p in products}
    for name, shopper in ((split, False), (f"{split}-shopper", True)):
        rows = []
        for q in queries:
            rows.append(
                {
                    "pairid": q.pair_id,
                    "reference": shopper_name(split, q) if shopper else q.reference.id,
                    "target_hard": q.target.id,
                    "target_soft": {pid: 1.0 for pid in q.relevant},
                    "caption": q.text,
                    "img_set": {"id": q.pair_id, "members": list(q.members)},
                }
            )
        _dump(root / "captions" / f"cap.rc2.{name}.json", rows)
        _dump(root / "image_splits" / f"split.rc2.{name}.json", gallery)
    shopper_file = root / "image_splits" / f"split.rc2.{SHOPPER_PHOTOS_SPLIT}.json"
    known = json.loads(shopper_file.read_text("utf-8")) if shopper_file.is_file() else {}
    known.update({shopper_name(split, q): "./" + shopper_paths[shopper_name(split, q)] for q in queries})
    _dump(shopper_file, known)
    truth = {q.reference.id: _truth(q.reference, titles) for q in queries}
    truth.update({shopper_name(split, q): _truth(q.reference, titles) for q in queries})
    _write_truth(root, truth)


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.unlink()
    try:
        os.link(source, target)  # the same bytes, without a second copy on disk
    except OSError:
        shutil.copyfile(source, target)


def write_circo(
    root: Path,
    split: str,
    queries: Sequence[CompositionQuery],
    products: Sequence[WorldProduct],
    catalog_paths: dict[str, str],
    titles: dict[str, str],
) -> None:
    """One CIRCO split with catalog-photo references; image ids are 1-based product positions."""
    circo = root / CIRCO_DIR
    coco = circo / "COCO2017_unlabeled"
    image_id = {p.id: i for i, p in enumerate(products, 1)}
    images = []
    for product in products:
        file_name = f"{image_id[product.id]:012d}.png"
        _link(root / catalog_paths[product.id], coco / "unlabeled2017" / file_name)
        images.append({"id": image_id[product.id], "file_name": file_name, "width": 128, "height": 128})
    _dump(coco / "annotations" / "image_info_unlabeled2017.json", {"images": images})
    rows = [
        {
            "id": q.pair_id,
            "reference_img_id": image_id[q.reference.id],
            "target_img_id": image_id[q.target.id],
            "relative_caption": q.text,
            "shared_concept": q.target.category,
            "gt_img_ids": [image_id[pid] for pid in q.relevant],
        }
        for q in queries
    ]
    _dump(circo / "annotations" / f"{split}.json", rows)
    _write_truth(circo, {str(image_id[q.reference.id]): _truth(q.reference, titles) for q in queries})
