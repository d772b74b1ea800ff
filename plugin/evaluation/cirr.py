"""CIRR, as its release ships it::

    <root>/captions/cap.rc2.<split>.json        (also accepted under <root>/cirr/)
        [{"pairid", "reference", "target_hard", "caption", "img_set": {"id", "members"}}]
    <root>/image_splits/split.rc2.<split>.json  {"<name>": "./dev/<name>.png", ...}
    image files at those relative paths, under <root> (or <root>/img_raw)

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


def load_cirr(root: Path, split: str) -> EvalDataset:
    """Load one CIRR split; ``test*`` splits are unlabelled (no ``target_hard``)."""
    base = _annotation_dir(root)
    hidden = split.startswith("test")
    split_path = base / "image_splits" / f"split.rc2.{split}.json"
    mapping = read_json(split_path)
    if not isinstance(mapping, dict):
        raise InvalidInputError(f"{split_path}: expected a JSON object mapping image names to paths")
    images: dict[str, Path] = {}
    for name, relative in mapping.items():
        if not isinstance(relative, str) or not relative.strip():
            raise InvalidInputError(f"{split_path}: image {name!r}: expected a relative path (string)")
        images[str(name)] = _image_path(root, relative.strip())
    gallery = tuple(images)
    check_images_exist(images, gallery, split_path)

    caption_path = base / "captions" / f"cap.rc2.{split}.json"
    items = require_list(read_json(caption_path), caption_path)
    queries: list[Query] = []
    for index, item in enumerate(items):
        pairid = require_str(item, "pairid", caption_path, index)
        reference = require_str(item, "reference", caption_path, index)
        caption = require_str(item, "caption", caption_path, index)
        img_set = require_field(item, "img_set", caption_path, index)
        if not isinstance(img_set, dict):
            raise InvalidInputError(f"{caption_path}: item {index}: field 'img_set' must be an object")
        members = require_str_list(img_set, "members", caption_path, index)
        targets: tuple[str, ...] = ()
        if not hidden:
            targets = (require_str(item, "target_hard", caption_path, index),)
        for image_id in (reference, *targets, *members):
            if image_id not in images:
                raise InvalidInputError(
                    f"{caption_path}: item {index}: image {image_id!r} is not in {split_path.name}"
                )
        queries.append(
            Query(id=pairid, reference=reference, text=caption, targets=targets, subset=tuple(members))
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
    )
