"""FashionIQ, as its release ships it::

    <root>/captions/cap.<category>.<split>.json     [{"candidate", "target", "captions": [c1, c2]}]
    <root>/image_splits/split.<category>.<split>.json   ["B00...", ...]  (the category's gallery)
    <root>/images/<name>.png  (or .jpg / .jpeg / .webp)

Each category is ranked against its own image split, the reference is not removed (the
protocol of the FashionIQ paper and the ZS-CIR papers that reprint its numbers). The two
captions are joined the way SEARLE and CIReVL do: each stripped of trailing ``.?,`` and spaces,
then ``"<c1> and <c2>"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from plugin.evaluation.dataset import (
    EvalDataset,
    Query,
    check_images_exist,
    read_json,
    require_list,
    require_str,
    require_str_list,
)
from schemas.errors import InvalidInputError

__all__ = ["CATEGORIES", "IMAGE_EXTENSIONS", "join_captions", "load_fashioniq"]

CATEGORIES = ("dress", "shirt", "toptee")
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")


def join_captions(first: str, second: str) -> str:
    """``"is blue." + "has short sleeves"`` -> ``"is blue and has short sleeves"``."""
    return f"{first.strip('.?, ')} and {second.strip('.?, ')}"


def _image_path(images_dir: Path, name: str) -> Path:
    for ext in IMAGE_EXTENSIONS:
        path = images_dir / f"{name}{ext}"
        if path.is_file():
            return path
    return images_dir / f"{name}{IMAGE_EXTENSIONS[0]}"


def load_fashioniq(root: Path, split: str, categories: Sequence[str] | None = None) -> EvalDataset:
    """Load ``split`` (``val``, ``train``; ``test`` only where targets are present) of the
    given categories (default: dress, shirt, toptee)."""
    chosen = tuple(categories) if categories else CATEGORIES
    unknown = [c for c in chosen if c not in CATEGORIES]
    if unknown:
        raise InvalidInputError(f"unknown FashionIQ categories {unknown}; choose from {list(CATEGORIES)}")
    images_dir = root / "images"
    images: dict[str, Path] = {}
    galleries: dict[str, tuple[str, ...]] = {}
    queries: list[Query] = []
    for category in chosen:
        split_path = root / "image_splits" / f"split.{category}.{split}.json"
        names = require_list(read_json(split_path), split_path)
        gallery: list[str] = []
        for index, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                raise InvalidInputError(f"{split_path}: item {index}: expected an image name (string)")
            gallery.append(name.strip())
            images.setdefault(name.strip(), _image_path(images_dir, name.strip()))
        galleries[category] = tuple(dict.fromkeys(gallery))
        check_images_exist(images, galleries[category], split_path)

        caption_path = root / "captions" / f"cap.{category}.{split}.json"
        items = require_list(read_json(caption_path), caption_path)
        for index, item in enumerate(items):
            reference = require_str(item, "candidate", caption_path, index)
            target = require_str(item, "target", caption_path, index)
            first, second = require_str_list(item, "captions", caption_path, index, length=2)
            images.setdefault(reference, _image_path(images_dir, reference))
            check_images_exist(images, [reference], caption_path)
            queries.append(
                Query(
                    id=f"{category}-{index}",
                    reference=reference,
                    text=join_captions(first, second),
                    targets=(target,),
                    group=category,
                )
            )
    return EvalDataset(
        name="fashioniq",
        split=split,
        root=root,
        images=images,
        queries=tuple(queries),
        galleries=galleries,
        labelled=True,
        exclude_reference=False,
        groups=chosen,
    )
