"""Choose the attribute captioner's confidence floor on a product world's val split.

The captioner names a category or attribute value only when its softmax probability reaches
``max(vocabulary's min_probability, caption_min_probability)`` and its lead over the runner-up
``max(vocabulary's min_margin, caption_min_margin)`` (``ConfidenceFloor``). This program
measures, for every floor on a grid, each attribute's precision (named values that are right)
and coverage (products given a value) on the split's catalog photos (held-out products, as a
shop lists them) and shopper photos (the split's query references, background removed and
framed by the pipeline's own background stage), and picks the operating point by one rule:

    the lowest margin floor (then the lowest probability floor) at which the category, named
    on catalog and shopper photos together, is right at least --target of the time.

The category rule is the one that matters most: the noun anchors the caption, and a wrong one
sends the query to another shelf. The same floor then applies to every attribute and to any
vocabulary (it is a rule over probabilities, not over our world's words).

    python benchmarks/caption_thresholds.py --root grounded-data/world --split val \\
        --u2net-home .models/u2net --cache /tmp/caption-vectors.npz

Image vectors are computed once (``--cache`` keeps them between runs); the sweep itself is
matrix products. Use the val split for choices; the test split only to report.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from plugin.encoder.local import LocalEncoder
from plugin.world.trained import TRAINED_MODEL_DIR, trained_model_settings
from schemas.wire import ComposeOptions
from vectorizer_service.compose.attributes import GROUP, AttributeCaptioner, ConfidenceFloor
from vectorizer_service.compose.factory import load_captioner
from vectorizer_service.compose.vocab import CATEGORY, Vocabulary
from vectorizer_service.runtime.loader import load_embedder
from vectorizer_service.settings import ServiceSettings

ATTRIBUTES = (CATEGORY, GROUP, "colour", "pattern", "cut", "sleeve")
MARGINS = (*(round(m, 2) for m in np.arange(0.0, 0.95, 0.05)), 0.95, 0.98, 0.99)
PROBABILITIES = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99)
PHOTOS = ("catalog", "shopper")
DEFAULT_TARGET = 80.0
_CHUNK = 64


@dataclass
class Photos:
    """Image vectors of one kind of photo with their true attributes."""

    kind: str
    vectors: np.ndarray
    truths: list[dict[str, str]]


@dataclass
class Score:
    total: int = 0
    named: int = 0
    correct: int = 0

    def add(self, truth: str | None, named: str | None) -> None:
        if truth is None:
            return
        self.total += 1
        if named is not None:
            self.named += 1
            self.correct += int(named == truth)

    @property
    def coverage(self) -> float:
        return 100 * self.named / self.total if self.total else 0.0

    @property
    def precision(self) -> float:
        return 100 * self.correct / self.named if self.named else float("nan")


@dataclass
class Point:
    floor: ConfidenceFloor
    scores: dict[str, dict[str, Score]] = field(default_factory=dict)
    """photos kind (and "both") -> attribute -> score."""
    empty: dict[str, int] = field(default_factory=dict)
    """photos kind -> captions left empty (nothing sure)."""


def _samples(root: Path, split: str) -> dict[str, list[tuple[Path, dict[str, str]]]]:
    rows = {
        row["id"]: row
        for row in (json.loads(line) for line in (root / "catalog.jsonl").read_text().splitlines() if line)
    }

    def truth(row: dict[str, Any]) -> dict[str, str]:
        return {CATEGORY: row["category"], **{k: str(v) for k, v in row["attributes"].items()}}

    held_out = set(json.loads((root / "world.json").read_text())["held_out_combinations"][split])
    catalog = [
        (root / row["image"], truth(row))
        for row in rows.values()
        if f"{row['category']}/{row['attributes']['colour']}/{row['attributes']['pattern']}" in held_out
    ]
    captions = root / "captions"
    references = {
        q["pairid"]: q["reference"] for q in json.loads((captions / f"cap.rc2.{split}.json").read_text())
    }
    paths = json.loads((root / "image_splits" / "split.rc2.shopper-photos.json").read_text())
    shopper = [
        (root / paths[q["reference"]], truth(rows[references[q["pairid"]]]))
        for q in json.loads((captions / f"cap.rc2.{split}-shopper.json").read_text())
    ]
    return {"catalog": catalog, "shopper": shopper}


def _working_images(encoder: LocalEncoder, paths: Iterable[Path], remove: bool) -> list[bytes]:
    """What the captioner looks at: the photo, or the pipeline's framed cut-out of it."""
    if not remove:
        return [p.read_bytes() for p in paths]
    cut = ComposeOptions(
        remove_background=True, caption=False, fuse=False, image_weight=0.0, return_cutout=True
    )
    working = []
    for path in paths:
        data = path.read_bytes()
        explanation = encoder.compose(data, "x", cut).explanation
        working.append(explanation.cutout_png or data)
    return working


def _vectors(
    encoder: LocalEncoder, root: Path, split: str, cache: Path | None, limit: int | None
) -> list[Photos]:
    samples = _samples(root, split)
    if cache is not None and cache.is_file():
        stored = np.load(cache, allow_pickle=False)
        return [
            Photos(kind, stored[kind], [t for _, t in samples[kind]][: len(stored[kind])]) for kind in PHOTOS
        ]
    photos = []
    for kind in PHOTOS:
        chosen = samples[kind][:limit]
        print(f"{kind}: {len(chosen)} photos", file=sys.stderr)
        images = _working_images(encoder, (p for p, _ in chosen), remove=kind == "shopper")
        vectors = np.concatenate(
            [encoder.embed_images(images[i : i + _CHUNK]) for i in range(0, len(images), _CHUNK)]
        )
        photos.append(Photos(kind, vectors, [t for _, t in chosen]))
    if cache is not None:
        np.savez(cache, **{p.kind: p.vectors for p in photos})
    return photos


def _measure(captioner: AttributeCaptioner, floor: ConfidenceFloor, photos: list[Photos]) -> Point:
    vocabulary = captioner.vocabulary
    captioner = captioner.with_floor(floor)
    point = Point(floor)
    both = {name: Score() for name in ATTRIBUTES}
    for kind in photos:
        scores = {name: Score() for name in ATTRIBUTES}
        empty = 0
        for caption, truth in zip(captioner.captions_from_vectors(kind.vectors), kind.truths, strict=True):
            empty += int(not caption.text.strip())
            category = vocabulary.category(truth[CATEGORY])
            named_group = _named_group(caption.text, caption.attributes, vocabulary)
            for name in ATTRIBUTES:
                true_value = category.group if name == GROUP and category else truth.get(name)
                named = named_group if name == GROUP else caption.attributes.get(name)
                scores[name].add(true_value, named)
                both[name].add(true_value, named)
        point.scores[kind.kind] = scores
        point.empty[kind.kind] = empty
    point.scores["both"] = both
    return point


def _named_group(text: str, attributes: dict[str, str], vocabulary: Vocabulary) -> str | None:
    """The group a caption names: its category's, or the group whose noun it uses."""
    category = vocabulary.category(attributes.get(CATEGORY, ""))
    if category is not None:
        return category.group
    for name, group in vocabulary.groups.items():
        if text.endswith(group.noun) or f" {group.noun} " in f" {text} ":
            return name
    return None


def _row(label: str, point: Point, kinds: Sequence[str]) -> str:
    cells = []
    for kind in kinds:
        for name in ATTRIBUTES:
            s = point.scores[kind][name]
            cells.append(f"{s.precision:.1f} / {s.coverage:.1f}" if s.total else "-")
    return f"| {label} | " + " | ".join(cells) + " |"


def _label(point: Point) -> str:
    return f"{point.floor.min_probability:g}, {point.floor.min_margin:g}"


def _table(rows: list[tuple[str, Point]], kinds: Sequence[str]) -> None:
    header = [f"{k} {n}" for k in kinds for n in ATTRIBUTES]
    print("| floor (p, m) | " + " | ".join(header) + " |")
    print("|---|" + "---:|" * len(header))
    for label, point in rows:
        print(_row(label, point, kinds))


def choose(points: list[Point], target: float) -> Point | None:
    """The rule: among the floors at which the category named on both kinds of photo together
    is right at least ``target`` percent of the time, the one that names it most often (ties:
    the lower margin floor, then the lower probability floor)."""
    passing = [p for p in points if p.scores["both"][CATEGORY].precision >= target]
    return max(
        passing,
        key=lambda p: (p.scores["both"][CATEGORY].coverage, -p.floor.min_margin, -p.floor.min_probability),
        default=None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="a world from `grounded world build`")
    parser.add_argument("--split", default="val", help="val (choices) or test (reporting only)")
    parser.add_argument("--model", type=Path, default=TRAINED_MODEL_DIR)
    parser.add_argument("--u2net-home", type=Path, required=True, help="folder holding u2netp.onnx")
    parser.add_argument(
        "--target", type=float, action="append", help="category precision to reach, percent (repeatable)"
    )
    parser.add_argument("--limit", type=int, help="at most this many photos of each kind")
    parser.add_argument("--cache", type=Path, help="keep the image vectors in this .npz between runs")
    args = parser.parse_args()
    args.target = args.target or [DEFAULT_TARGET]
    settings = trained_model_settings(
        ServiceSettings(
            device="cpu", offline=True, captioner="none", remove_background=True, u2net_home=args.u2net_home
        ),
        args.model,
    )
    settings = settings.model_copy(
        update={"vocabulary": args.root / "vocabulary.json", "captioner": "attributes"}
    )
    with LocalEncoder(settings.model_copy(update={"captioner": "none"})) as encoder:
        photos = _vectors(encoder, args.root, args.split, args.cache, args.limit)
    # The service's own captioner (its temperature included), with the floor left to the sweep.
    base = load_captioner(settings, load_embedder(settings))
    assert isinstance(base, AttributeCaptioner)
    print(f"split {args.split}: " + ", ".join(f"{len(p.truths)} {p.kind} photos" for p in photos))
    print(f"captioner temperature (logit scale): {base.logit_scale:.2f}")
    print("cells: precision / coverage, percent\n")
    points = [_measure(base, ConfidenceFloor(p, m), photos) for p in PROBABILITIES for m in MARGINS]
    margin_sweep = [(_label(p), p) for p in points if p.floor.min_probability == 0.0]
    probability_sweep = [(_label(p), p) for p in points if p.floor.min_margin == 0.0]
    for kinds in (["both"], list(PHOTOS)):
        print(f"### margin floor ({', '.join(kinds)})")
        _table(margin_sweep, kinds)
        print(f"\n### probability floor ({', '.join(kinds)})")
        _table(probability_sweep, kinds)
        print()
    before = _measure(
        base.with_floor(ConfidenceFloor(), logit_scale=base.vocabulary.logit_scale), ConfidenceFloor(), photos
    )
    print("### operating points (the rule: the most category coverage at category precision >= target)")
    print(f"before: the vocabulary's temperature ({base.vocabulary.logit_scale:g}) and its thresholds alone")
    rows = [("before", before), ("no floor", points[0])]
    for target in args.target:
        chosen = choose(points, target)
        print(
            f"target {target:g} %: "
            + (
                f"caption_min_probability={chosen.floor.min_probability:g} "
                f"caption_min_margin={chosen.floor.min_margin:g}"
                if chosen
                else "no floor reaches it"
            )
        )
        if chosen is not None:
            rows.append((f"{target:g} %: {_label(chosen)}", chosen))
    for kinds in (["both"], list(PHOTOS)):
        print()
        _table(rows, kinds)
    print("\nempty captions (nothing sure):")
    for label, point in rows:
        print(
            f"  {label}: "
            + ", ".join(
                f"{k} {v}/{len(p.truths)}" for (k, v), p in zip(point.empty.items(), photos, strict=True)
            )
        )


if __name__ == "__main__":
    main()
