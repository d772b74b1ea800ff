"""The one in-memory shape every benchmark loader returns, and the JSON-reading helpers that
make a malformed file an :class:`InvalidInputError` naming the file, the item and the field."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import InvalidInputError

__all__ = [
    "EvalDataset",
    "Query",
    "ReferenceTruth",
    "check_images_exist",
    "read_json",
    "require_field",
    "require_list",
    "require_str",
    "require_str_list",
]


@dataclass(frozen=True)
class Query:
    """One composed query: a reference image and the requested change, with its answers."""

    id: str
    """The benchmark's own query id (FashionIQ: ``<category>-<index>``; CIRR: ``pairid``; CIRCO: ``id``)."""
    reference: str
    """Image id of the reference image (a key of :attr:`EvalDataset.images`)."""
    text: str
    """The relative caption sent as the modification (FashionIQ: both captions joined)."""
    targets: tuple[str, ...] = ()
    """Relevant image ids: one target (FashionIQ, CIRR) or ``gt_img_ids`` (CIRCO). Empty when
    the split's labels are hidden (CIRR test1, CIRCO test)."""
    subset: tuple[str, ...] = ()
    """CIRR's ``img_set.members`` (the reference included), for Recall_subset."""
    soft_relevant: tuple[str, ...] = ()
    """CIRR's ``target_hard`` plus every ``target_soft`` image with value 1.0: the relevant set
    of our extension metric ``mAP@10 soft`` (not an official CIRR metric)."""
    group: str = ""
    """Which gallery the query is ranked against (FashionIQ: the category)."""


@dataclass(frozen=True)
class ReferenceTruth:
    """What a reference image really shows, where the benchmark knows it (the product world
    writes it; a public CIRR or CIRCO download has none): merchant data for the diagnostic
    ``true_attributes`` row."""

    caption: str
    """The reference product's catalog title."""
    attributes: Mapping[str, str]
    """Its true attributes, the category included."""


@dataclass(frozen=True)
class EvalDataset:
    """A benchmark split ready to evaluate.

    ``images`` maps every image id the split needs (gallery and references) to its file;
    ``galleries`` maps each query group to the image ids its queries are ranked against, in a
    stable order. ``exclude_reference`` removes each query's reference from its ranking (CIRR's
    protocol)."""

    name: str
    split: str
    root: Path
    images: dict[str, Path]
    queries: tuple[Query, ...]
    galleries: dict[str, tuple[str, ...]]
    labelled: bool
    exclude_reference: bool
    groups: tuple[str, ...] = field(default=("",))
    """Groups in report order (FashionIQ categories; ``("",)`` for one gallery)."""
    reference_truth: Mapping[str, ReferenceTruth] = field(default_factory=dict)
    """Image id -> its true caption and attributes, from the layout's ``reference_attributes.json``
    (:mod:`plugin.evaluation.truth`); empty when the layout carries none."""
    reference_truth_source: str = ""
    """Where :attr:`reference_truth` was looked for (named in the report's notes)."""

    def gallery_ids(self) -> list[str]:
        """Every gallery image once, in first-seen order over the groups: the one index."""
        seen: dict[str, None] = {}
        for group in self.groups:
            for image_id in self.galleries[group]:
                seen.setdefault(image_id, None)
        return list(seen)

    def limited(self, limit: int | None) -> EvalDataset:
        """The first ``limit`` queries of each group (galleries unchanged), for quick runs."""
        if limit is None:
            return self
        if limit < 1:  # a slice would silently drop the last queries (-1) or leave none (0)
            raise InvalidInputError(f"--limit must be at least 1, got {limit}")
        kept: list[Query] = []
        for group in self.groups:
            kept.extend([q for q in self.queries if q.group == group][:limit])
        return dataclasses.replace(self, queries=tuple(kept))


def read_json(path: Path) -> Any:
    """Parse one JSON file; a missing or unparsable file names itself."""
    if not path.is_file():
        raise InvalidInputError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: not valid JSON ({exc})") from None


def require_list(data: Any, path: Path) -> list[Any]:
    if not isinstance(data, list):
        raise InvalidInputError(f"{path}: expected a JSON list at the top level, got {type(data).__name__}")
    return data


def require_field(item: Any, name: str, path: Path, index: int) -> Any:
    """``item[name]``; a missing field (or a non-object item) names file, item index and field."""
    if not isinstance(item, dict):
        raise InvalidInputError(f"{path}: item {index}: expected an object, got {type(item).__name__}")
    if name not in item:
        raise InvalidInputError(f"{path}: item {index}: missing field {name!r}")
    return item[name]


def require_str(item: Any, name: str, path: Path, index: int) -> str:
    """A non-empty string field; numbers (CIRCO's ids, CIRR's pairid) are accepted as text."""
    value = require_field(item, name, path, index)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInputError(
            f"{path}: item {index}: field {name!r} must be a string, got {type(value).__name__}"
        )
    text = str(value).strip()
    if not text:
        raise InvalidInputError(f"{path}: item {index}: field {name!r} is empty")
    return text


def require_str_list(item: Any, name: str, path: Path, index: int, *, length: int | None = None) -> list[str]:
    """A list of strings (or ids); ``length`` when the benchmark fixes it."""
    value = require_field(item, name, path, index)
    if not isinstance(value, list) or not all(
        isinstance(v, str | int) and not isinstance(v, bool) for v in value
    ):
        raise InvalidInputError(f"{path}: item {index}: field {name!r} must be a list of strings")
    if length is not None and len(value) != length:
        raise InvalidInputError(
            f"{path}: item {index}: field {name!r} must have {length} entries, has {len(value)}"
        )
    return [str(v).strip() for v in value]


MAX_MISSING_SHOWN = 5
"""Missing images named in the error (the count says how many in all)."""


def check_images_exist(images: dict[str, Path], needed: Sequence[str], source: Path) -> None:
    """Fail at load, not mid-run, when images a split names are not on disk; the error counts
    them all and names the first few, so an incomplete download shows at once, not one file per
    run."""
    missing = [
        (image_id, images.get(image_id) or "no path")
        for image_id in needed
        if image_id not in images or not images[image_id].is_file()
    ]
    if len(missing) == 1:
        image_id, path = missing[0]
        raise InvalidInputError(f"{source}: image {image_id!r} not found ({path})")
    if missing:
        shown = ", ".join(f"{image_id!r} ({path})" for image_id, path in missing[:MAX_MISSING_SHOWN])
        more = f" and {len(missing) - MAX_MISSING_SHOWN} more" if len(missing) > MAX_MISSING_SHOWN else ""
        raise InvalidInputError(f"{source}: {len(missing)} of {len(needed)} images not found: {shown}{more}")
