"""Zero-shot attribute accuracy on the world's held-out products, through the attribute
captioner's own path (the compose pipeline with an empty change: its explanation lists the
category and attribute values the captioner picked, or leaves out what it was not sure of).

Catalog photos are read as a shop lists them (no background removal); shopper photos go through
the pipeline's background removal first, as a shopper's query would.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin.encoder.protocol import QueryEncoder
from schemas.errors import InvalidInputError
from schemas.wire import ComposeOptions

__all__ = ["AttributeScore", "ZeroShotReport", "zero_shot_accuracy"]

_ATTRIBUTES = ("category", "colour", "pattern", "cut", "sleeve")


@dataclass
class AttributeScore:
    """Per attribute: how many products had it, how many the captioner named, how many right."""

    total: int = 0
    named: int = 0
    correct: int = 0

    @property
    def accuracy(self) -> float:
        """Right picks over all products (an abstention counts as wrong)."""
        return self.correct / self.total if self.total else 0.0

    @property
    def coverage(self) -> float:
        return self.named / self.total if self.total else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.named if self.named else 0.0


@dataclass
class ZeroShotReport:
    split: str
    photos: str
    scores: dict[str, AttributeScore] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "photos": self.photos,
            "attributes": {
                name: {
                    "products": s.total,
                    "accuracy": round(s.accuracy, 4),
                    "coverage": round(s.coverage, 4),
                    "precision": round(s.precision, 4),
                }
                for name, s in self.scores.items()
            },
        }


def _truth(row: dict[str, Any]) -> dict[str, str]:
    attrs = {k: str(v) for k, v in dict(row.get("attributes") or {}).items()}
    return {"category": str(row["category"]), **attrs}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"{path}: cannot be read as JSON ({exc})") from exc


def _samples(root: Path, split: str, photos: str) -> list[tuple[Path, dict[str, str]]]:
    rows = {}
    for line in (root / "catalog.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["id"]] = row
    if photos == "catalog":
        manifest = _read_json(root / "world.json")
        held_out = set(manifest["held_out_combinations"][split])
        return [
            (root / row["image"], _truth(row))
            for row in rows.values()
            if f"{row['category']}/{row['attributes']['colour']}/{row['attributes']['pattern']}" in held_out
        ]
    references = {
        q["pairid"]: q["reference"] for q in _read_json(root / "captions" / f"cap.rc2.{split}.json")
    }
    shopper = _read_json(root / "captions" / f"cap.rc2.{split}-shopper.json")
    paths = _read_json(root / "image_splits" / "split.rc2.shopper-photos.json")
    return [(root / paths[q["reference"]], _truth(rows[references[q["pairid"]]])) for q in shopper]


def zero_shot_accuracy(
    encoder: QueryEncoder,
    root: Path,
    split: str,
    *,
    photos: str = "catalog",
    limit: int | None = None,
    progress: Callable[[Sequence[Any]], Iterable[Any]] | None = None,
) -> ZeroShotReport:
    """Score the captioner's picks against the world's known attributes.

    ``photos`` is ``catalog`` (the split's held-out products) or ``shopper`` (the split's query
    references)."""
    if photos not in ("catalog", "shopper"):
        raise InvalidInputError(f"photos must be 'catalog' or 'shopper', got {photos!r}")
    samples = _samples(root, split, photos)[:limit]
    # The attribute pipeline, pinned: a pic2word default (a model with a mapper) reads no caption.
    options = ComposeOptions(remove_background=photos == "shopper", fusion_method="image_anchor")
    report = ZeroShotReport(split, photos, {name: AttributeScore() for name in _ATTRIBUTES})
    for path, truth in progress(samples) if progress else samples:
        picked = encoder.compose(path.read_bytes(), "", options).explanation.attributes
        for name, score in report.scores.items():
            if name not in truth:
                continue
            score.total += 1
            if name in picked:
                score.named += 1
                score.correct += int(picked[name] == truth[name])
    report.scores = {name: s for name, s in report.scores.items() if s.total}
    return report
