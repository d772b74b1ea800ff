"""CIRR, as its release ships it::

    <root>/captions/cap.rc2.<split>.json        (also accepted under <root>/cirr/)
        [{"pairid", "reference", "target_hard", "caption", "img_set": {"id", "members"}}]
    <root>/image_splits/split.rc2.<split>.json  {"<name>": "./dev/<name>.png", ...}
    image files at those relative paths, under <root> (or <root>/img_raw)

A layout that knows its references' true attributes (the product world) carries
``reference_attributes.json`` beside ``captions/`` (:mod:`plugin.evaluation.truth`).

Splits: ``train``, ``val``, ``test1``. The gallery is every image of the split's image list;
each query's reference is removed from its own ranking (CIRR's protocol). ``test1`` ships no
``target_hard``: its rankings go to the submission files instead of metrics.
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

__all__ = ["load_cirr"]


def _annotation_dir(root: Path) -> Path:
    # The CIRR repository keeps its JSON under cirr/; many copies move it up one level.
    nested = root / "cirr"
    return nested if (nested / "captions").is_dir() and not (root / "captions").is_dir() else root


def _image_path(root: Path, relative: str) -> Path:
    direct = root / relative
    if direct.is_file():
        return direct
    raw = root / "img_raw" / relative
    return raw if raw.is_file() else direct


def _split_images(root: Path, split_path: Path) -> dict[str, Path]:
    mapping = read_json(split_path)
    if not isinstance(mapping, dict):
        raise InvalidInputError(f"{split_path}: expected a JSON object mapping image names to paths")
    images: dict[str, Path] = {}
    for name, relative in mapping.items():
        if not isinstance(relative, str) or not relative.strip():
            raise InvalidInputError(f"{split_path}: image {name!r}: expected a relative path (string)")
        images[str(name)] = _image_path(root, relative.strip())
    return images


def _outside_references(root: Path, base: Path, split_path: Path, wanted: set[str]) -> dict[str, Path]:
    """Reference images named in other ``split.rc2.*.json`` files (e.g. shopper photos that are
    references only); they are resolved for the query but never join the gallery."""
    found: dict[str, Path] = {}
    for other in sorted((base / "image_splits").glob("split.rc2.*.json")):
        if other != split_path and wanted - found.keys():
            found.update({k: v for k, v in _split_images(root, other).items() if k in wanted})
    return found


def load_cirr(root: Path, split: str) -> EvalDataset:
    """Load one CIRR split. A split whose captions carry no ``target_hard`` (the release's
    ``test1``) is unlabelled: it gets submission files instead of metrics."""
    base = _annotation_dir(root)
    split_path = base / "image_splits" / f"split.rc2.{split}.json"
    images = _split_images(root, split_path)
    gallery = tuple(images)
    check_images_exist(images, gallery, split_path)

    caption_path = base / "captions" / f"cap.rc2.{split}.json"
    items = require_list(read_json(caption_path), caption_path)
    hidden = not any(isinstance(item, dict) and "target_hard" in item for item in items)
    references = {item.get("reference") for item in items if isinstance(item, dict)}
    missing = {r for r in references if isinstance(r, str)} - images.keys()
    if missing:
        outside = _outside_references(root, base, split_path, missing)
        check_images_exist(outside, tuple(outside), split_path.parent)
        images.update(outside)
    queries: list[Query] = []
    gallery_set = set(gallery)
    for index, item in enumerate(items):
        pairid = require_str(item, "pairid", caption_path, index)
        reference = require_str(item, "reference", caption_path, index)
        caption = require_str(item, "caption", caption_path, index)
        img_set = require_field(item, "img_set", caption_path, index)
        if not isinstance(img_set, dict):
            raise InvalidInputError(f"{caption_path}: item {index}: field 'img_set' must be an object")
        members = require_str_list(img_set, "members", caption_path, index)
        targets: tuple[str, ...] = ()
        soft: tuple[str, ...] = ()
        if not hidden:
            targets = (require_str(item, "target_hard", caption_path, index),)
            soft = _soft_relevant(item, targets[0], caption_path, index)
        if reference not in images:
            raise InvalidInputError(
                f"{caption_path}: item {index}: reference {reference!r} is in no image_splits file"
            )
        for image_id in (*targets, *soft, *members):
            if image_id not in gallery_set:
                raise InvalidInputError(
                    f"{caption_path}: item {index}: image {image_id!r} is not in {split_path.name}"
                )
        queries.append(
            Query(
                id=pairid,
                reference=reference,
                text=caption,
                targets=targets,
                subset=tuple(members),
                soft_relevant=soft,
            )
        )
    return EvalDataset(
        name="cirr",
        split=split,
        root=root,
        images=images,
        queries=tuple(queries),
        galleries={"": gallery},
        labelled=not hidden,
        exclude_reference=True,
        reference_truth=read_reference_truth(base),
        reference_truth_source=str(base / REFERENCE_ATTRIBUTES_FILE),
    )


def _soft_relevant(item: object, target: str, path: Path, index: int) -> tuple[str, ...]:
    soft = item.get("target_soft") if isinstance(item, dict) else None
    if soft is None:
        return ()
    if not isinstance(soft, dict) or not all(isinstance(v, int | float) for v in soft.values()):
        raise InvalidInputError(f"{path}: item {index}: field 'target_soft' must map image names to numbers")
    return tuple(dict.fromkeys([target, *(str(k) for k, v in soft.items() if v == 1.0)]))
