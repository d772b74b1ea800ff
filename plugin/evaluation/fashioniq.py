"""FashionIQ, as its release ships it::

    <root>/captions/cap.<category>.<split>.json     [{"candidate", "target", "captions": [c1, c2]}]
    <root>/image_splits/split.<category>.<split>.json   ["B00...", ...]  (the category's gallery)
    <root>/images/<name>.png  (or .jpg / .jpeg / .webp, in any letter case, or one folder down)

Each category is ranked against its own image split, the reference is not removed (the
protocol of the FashionIQ paper and the ZS-CIR papers that reprint its numbers). The two
captions are joined the way SEARLE and CIReVL do: each stripped of trailing ``.?,`` and spaces,
then ``"<c1> and <c2>"``.

The release's ``test`` captions carry no ``target`` (the challenge's hidden labels): a split
where no caption has one is unlabelled, and its rankings go to a submission file.

Images are found by one scan of ``images/``: FashionIQ ships URLs, not files, so every copy is
downloaded by its user, and the copies differ in extension (``.png``, ``.jpg``, ``.JPG``) and
sometimes keep one folder per category.
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


def _image_files(images_dir: Path) -> dict[str, Path]:
    """Image name -> file, for every image in ``images_dir`` or one folder below it. When a name
    has several files, the shallower one wins, then the extension listed first."""
    if not images_dir.is_dir():
        return {}
    found: list[tuple[int, int, str, Path]] = []
    for pattern, depth in (("*", 0), ("*/*", 1)):
        for path in images_dir.glob(pattern):
            ext = path.suffix.lower()
            if ext in IMAGE_EXTENSIONS and path.is_file():
                found.append((depth, IMAGE_EXTENSIONS.index(ext), str(path), path))
    files: dict[str, Path] = {}
    for *_, path in sorted(found):
        files.setdefault(path.stem, path)
    return files


def _image_path(files: dict[str, Path], images_dir: Path, name: str) -> Path:
    # An absent image keeps the conventional path, which the "not found" error then shows.
    return files.get(name, images_dir / f"{name}{IMAGE_EXTENSIONS[0]}")


def load_fashioniq(root: Path, split: str, categories: Sequence[str] | None = None) -> EvalDataset:
    """Load ``split`` (``val``, ``train``, or the release's unlabelled ``test``) of the given
    categories (default: dress, shirt, toptee)."""
    chosen = tuple(categories) if categories else CATEGORIES
    unknown = [c for c in chosen if c not in CATEGORIES]
    if unknown:
        raise InvalidInputError(f"unknown FashionIQ categories {unknown}; choose from {list(CATEGORIES)}")
    images_dir = root / "images"
    files = _image_files(images_dir)
    images: dict[str, Path] = {}
    galleries: dict[str, tuple[str, ...]] = {}
    queries: list[Query] = []
    hidden_by_category: list[bool] = []
    for category in chosen:
        split_path = root / "image_splits" / f"split.{category}.{split}.json"
        names = require_list(read_json(split_path), split_path)
        gallery: list[str] = []
        for index, name in enumerate(names):
            if not isinstance(name, str) or not name.strip():
                raise InvalidInputError(f"{split_path}: item {index}: expected an image name (string)")
            gallery.append(name.strip())
            images.setdefault(name.strip(), _image_path(files, images_dir, name.strip()))
        galleries[category] = tuple(dict.fromkeys(gallery))
        check_images_exist(images, galleries[category], split_path)

        caption_path = root / "captions" / f"cap.{category}.{split}.json"
        items = require_list(read_json(caption_path), caption_path)
        hidden = not any(isinstance(item, dict) and "target" in item for item in items)
        if items:  # an empty file is neither; load_dataset refuses it by name
            hidden_by_category.append(hidden)
        references: list[str] = []
        for index, item in enumerate(items):
            reference = require_str(item, "candidate", caption_path, index)
            targets = () if hidden else (require_str(item, "target", caption_path, index),)
            first, second = require_str_list(item, "captions", caption_path, index, length=2)
            images.setdefault(reference, _image_path(files, images_dir, reference))
            references.append(reference)
            queries.append(
                Query(
                    id=f"{category}-{index}",
                    reference=reference,
                    text=join_captions(first, second),
                    targets=targets,
                    group=category,
                )
            )
        check_images_exist(images, list(dict.fromkeys(references)), caption_path)
    if len(set(hidden_by_category)) > 1:
        labelled = sorted({q.group for q in queries if q.targets})
        raise InvalidInputError(
            f"FashionIQ {split}: captions of {labelled} have targets, the others none; "
            "evaluate them separately with --categories"
        )
    return EvalDataset(
        name="fashioniq",
        split=split,
        root=root,
        images=images,
        queries=tuple(queries),
        galleries=galleries,
        labelled=not any(hidden_by_category),
        exclude_reference=False,
        groups=chosen,
    )
