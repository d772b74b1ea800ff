"""The studio-photo detector (``vectorizer_service/compose/studio.py``) on a product world's split.

Catalog photos (the split's held-out products, as a shop lists them, and the references of the
split's catalog-photo queries) should be detected studio;
shopper photos (the split's query references: a product on a photo or texture) should not; and
neither should the generic photos that ship with scikit-image (astronaut, coffee, chelsea...).
Prints each group's accuracy and its range of the two measures, the thresholds the rule gives
(plain border: the midpoint between the plainest shopper photo and the least plain catalog
photo; subject span: fixed at 0.4, checked against the catalog photos' smallest), and the
detector's time per photo.

    python benchmarks/studio_bench.py --root grounded-data/world --split val
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from vectorizer_service.compose.studio import MIN_PLAIN_BORDER, MIN_SUBJECT_SPAN, StudioVerdict, detect_studio

GENERIC = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "camera",
           "brick", "grass", "gravel", "text", "moon", "coins", "page")  # fmt: skip
"""scikit-image's sample photos and textures, all expected "not studio"."""


def _world_photos(root: Path, split: str) -> dict[str, list[Path]]:
    rows = [json.loads(line) for line in (root / "catalog.jsonl").read_text().splitlines() if line]
    held_out = set(json.loads((root / "world.json").read_text())["held_out_combinations"][split])
    catalog = [
        root / r["image"]
        for r in rows
        if f"{r['category']}/{r['attributes']['colour']}/{r['attributes']['pattern']}" in held_out
    ]
    images = {r["id"]: root / r["image"] for r in rows}
    references = json.loads((root / "captions" / f"cap.rc2.{split}.json").read_text())
    paths = json.loads((root / "image_splits" / "split.rc2.shopper-photos.json").read_text())
    queries = json.loads((root / "captions" / f"cap.rc2.{split}-shopper.json").read_text())
    return {
        "catalog": catalog,
        "catalog references": [images[q["reference"]] for q in references],
        "shopper": [root / paths[q["reference"]] for q in queries],
    }


def _generic() -> dict[str, Image.Image]:
    import skimage.data

    images = {}
    for name in GENERIC:
        pixels = getattr(skimage.data, name)()
        images[name] = Image.fromarray(pixels).convert("RGB")
    return images


def _summary(kind: str, verdicts: list[StudioVerdict], expected: bool) -> str:
    plain = np.array([v.plain_border for v in verdicts])
    right = sum(v.studio == expected for v in verdicts)
    spread = f"{plain.min():.3f} | {np.median(plain):.3f} | {plain.max():.3f}"
    accuracy = 100 * right / len(verdicts)
    return (
        f"| {kind} | {len(verdicts)} | {'studio' if expected else 'not studio'} | {accuracy:.1f} | {spread} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="a world from `grounded world build`")
    parser.add_argument("--split", default="val", help="val (choices) or test (reporting only)")
    args = parser.parse_args()
    photos = _world_photos(args.root, args.split)
    verdicts: dict[str, list[StudioVerdict]] = {}
    seconds = 0.0
    count = 0
    for kind, paths in photos.items():
        images = [Image.open(p).convert("RGB") for p in paths]
        started = time.perf_counter()
        verdicts[kind] = [detect_studio(image) for image in images]
        seconds += time.perf_counter() - started
        count += len(images)
    generic = _generic()
    generic_verdicts = {name: detect_studio(image) for name, image in generic.items()}
    print(
        f"split {args.split}; studio: plain border >= {MIN_PLAIN_BORDER}, subject span >= {MIN_SUBJECT_SPAN}"
    )
    print("| photos | n | expected | accuracy | plain border min | median | max |")
    print("|---|---:|---|---:|---:|---:|---:|")
    print(_summary("catalog", verdicts["catalog"], expected=True))
    print(_summary("catalog references", verdicts["catalog references"], expected=True))
    print(_summary("shopper", verdicts["shopper"], expected=False))
    print(_summary("scikit-image", list(generic_verdicts.values()), expected=False))
    least_plain_catalog = min(v.plain_border for v in verdicts["catalog"])
    plainest_shopper = max(v.plain_border for v in verdicts["shopper"])
    smallest_span = min(v.subject_span for v in (*verdicts["catalog"], *verdicts["catalog references"]))
    midpoint = (plainest_shopper + least_plain_catalog) / 2
    print(
        f"\nrule: plain-border threshold = midpoint({plainest_shopper:.3f} plainest shopper, "
        f"{least_plain_catalog:.3f} least plain catalog) = {midpoint:.3f}; "
        f"smallest catalog subject span {smallest_span:.3f}"
    )
    print("\n| scikit-image photo | plain border | subject span | studio |")
    print("|---|---:|---:|---|")
    for name, v in generic_verdicts.items():
        print(f"| {name} | {v.plain_border:.3f} | {v.subject_span:.3f} | {v.studio} |")
    large = Image.fromarray(np.asarray(generic["astronaut"].resize((4000, 3000))))
    started = time.perf_counter()
    for _ in range(5):
        detect_studio(large)
    large_ms = (time.perf_counter() - started) / 5 * 1e3
    print(f"\ntime: {seconds / count * 1e3:.2f} ms per world photo, {large_ms:.1f} ms for a 4000x3000 photo")


if __name__ == "__main__":
    main()
