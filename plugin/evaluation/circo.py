"""CIRCO, as its release ships it::

    <root>/annotations/<split>.json   [{"id", "reference_img_id", "target_img_id",
                                        "relative_caption", "shared_concept", "gt_img_ids"}]
    <root>/COCO2017_unlabeled/annotations/image_info_unlabeled2017.json   {"images": [{"id", "file_name"}]}
    <root>/COCO2017_unlabeled/unlabeled2017/<file_name>      (the gallery: COCO 2017 unlabeled)

Without the image-info file the gallery is every ``*.jpg`` in ``unlabeled2017/`` (id: the
file name's number). Splits: ``val`` (labelled) and ``test`` (no ``target_img_id`` nor
``gt_img_ids``: rankings go to the submission file). The query text is ``relative_caption``;
``shared_concept`` is kept out of the query (it is CIRCO's annotation aid, not user input).
A layout that knows its references' true attributes carries ``<root>/reference_attributes.json``
(:mod:`plugin.evaluation.truth`).
"""

from __future__ import annotations

from pathlib import Path

from plugin.evaluation.dataset import (
    EvalDataset,
    Query,
    check_images_exist,
    read_json,
    require_field,
    require_list,
    require_str,
    require_str_list,
)
from plugin.evaluation.truth import REFERENCE_ATTRIBUTES_FILE, read_reference_truth
from schemas.errors import InvalidInputError

__all__ = ["load_circo"]

_COCO = "COCO2017_unlabeled"


def _image_id(value: str) -> str:
    # COCO ids appear both as numbers and zero-padded file stems; compare them as integers.
    return str(int(value)) if value.isdigit() else value


def _gallery(root: Path) -> dict[str, Path]:
    image_dir = root / _COCO / "unlabeled2017"
    info_path = root / _COCO / "annotations" / "image_info_unlabeled2017.json"
    if info_path.is_file():
        info = read_json(info_path)
        entries = require_list(require_field(info, "images", info_path, 0), info_path)
        return {
            _image_id(require_str(e, "id", info_path, i)): image_dir
            / require_str(e, "file_name", info_path, i)
            for i, e in enumerate(entries)
        }
    if not image_dir.is_dir():
        raise InvalidInputError(f"{info_path}: file not found (and no image folder {image_dir})")
    return {_image_id(p.stem): p for p in sorted(image_dir.glob("*.jpg"))}


def load_circo(root: Path, split: str) -> EvalDataset:
    """Load a CIRCO split over the COCO 2017 unlabeled gallery. A split without ``gt_img_ids``
    (the release's ``test``) is unlabelled: it gets a submission file instead of metrics."""
    images = _gallery(root)
    if not images:
        raise InvalidInputError(f"{root / _COCO / 'unlabeled2017'}: no gallery images")
    gallery = tuple(images)
    check_images_exist(images, gallery, root / _COCO / "unlabeled2017")
    path = root / "annotations" / f"{split}.json"
    items = require_list(read_json(path), path)
    hidden = not any(isinstance(item, dict) and "gt_img_ids" in item for item in items)
    queries: list[Query] = []
    for index, item in enumerate(items):
        query_id = require_str(item, "id", path, index)
        reference = _image_id(require_str(item, "reference_img_id", path, index))
        text = require_str(item, "relative_caption", path, index)
        targets: tuple[str, ...] = ()
        if not hidden:
            target = _image_id(require_str(item, "target_img_id", path, index))
            relevant = [_image_id(v) for v in require_str_list(item, "gt_img_ids", path, index)]
            # gt_img_ids includes the target; keep it first and once.
            targets = tuple(dict.fromkeys([target, *relevant]))
        for image_id in (reference, *targets):
            if image_id not in images:
                raise InvalidInputError(f"{path}: item {index}: image {image_id} is not in the gallery")
        queries.append(Query(id=query_id, reference=reference, text=text, targets=targets))
    return EvalDataset(
        name="circo",
        split=split,
        root=root,
        images=images,
        queries=tuple(queries),
        galleries={"": gallery},
        labelled=not hidden,
        exclude_reference=False,
        reference_truth={_image_id(k): v for k, v in read_reference_truth(root).items()},
        reference_truth_source=str(root / REFERENCE_ATTRIBUTES_FILE),
    )
