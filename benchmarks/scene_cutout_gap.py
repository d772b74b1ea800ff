"""How much of the attribute head's shopper-photo gap is the cut-out (issue 21).

On one split of the product world (val by default: choose on val, never on test) it reads, with
one or more attribute heads (model folders with the same CLIP weights):

- **catalog**: the split's held-out catalog photos, as listed (no background removal);
- **scene, stand-in**: one generated shopper scene per such product (plugin.training.scenes),
  cut out by training's stand-in (the roughened known mask);
- **scene, real**: the same scenes cut out by the service's remover and framing
  (plugin.training.scene_cutout: u2netp, ``cutout_view``);
- **shopper**: the split's shopper photos, cut out the same real way (as
  ``grounded world zero-shot`` does through the compose pipeline).

Per head and set: accuracy of the captioner's confident picks (an abstention counts as wrong, as
in ``grounded world zero-shot``) and of its unconditional top pick, for category, colour,
pattern. Vectors are encoded once and shared by every head; real cut-outs are cached on disk.

    PYTHONPATH=. GROUNDED_U2NET_HOME=.models/u2net python benchmarks/scene_cutout_gap.py \\
      --root grounded-data/world --split val --cache /tmp/cutouts plugin/world/model [MORE_FOLDERS]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from plugin.training.scene_bank import _scene
from plugin.training.scene_cutout import load_real_cutouts
from plugin.training.scenes import query_view
from plugin.world.zero_shot import _samples
from vectorizer_service import (
    AttributeCaptioner,
    ServiceSettings,
    load_attribute_head,
    load_vocabulary,
)
from vectorizer_service.compose.attributes import ConfidenceFloor
from vectorizer_service.runtime import load_embedder

_NAMES = ("category", "colour", "pattern")
_SCENE_SEED = 7_001
"""Scenes drawn for this measurement only (training draws from its own seed)."""


def _scores(
    captioner: AttributeCaptioner, vectors: np.ndarray, truths: list[dict[str, str]]
) -> dict[str, Any]:
    captions = captioner.captions_from_vectors(vectors)
    guesses = captioner.guesses(vectors)
    out: dict[str, Any] = {}
    for name in _NAMES:
        rows = [(c, g, t) for c, g, t in zip(captions, guesses, truths, strict=True) if name in t]
        sure = sum(c.attributes.get(name) == t[name] for c, _, t in rows)
        top = sum(any(x.name == name and x.value == t[name] for x in g) for _, g, t in rows)
        out[name] = {"gated": 100.0 * sure / len(rows), "top1": 100.0 * top / len(rows), "n": len(rows)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--root", type=Path, default=Path("grounded-data/world"))
    parser.add_argument("--split", default="val")
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--no-scenes", action="store_true", help="catalog and shopper photos only (no scenes to cut out)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    settings = ServiceSettings.model_validate(
        {
            "model": str(args.folders[0]),
            "device": "cpu",
            "offline": True,
            "vocabulary": args.root / "vocabulary.json",
        }
    )
    embedder = load_embedder(settings)
    vocabulary = load_vocabulary(args.root / "vocabulary.json")
    real = load_real_cutouts(args.cache)

    catalog = _samples(args.root, args.split, "catalog")
    shopper = _samples(args.root, args.split, "shopper")
    photos = [Image.open(p).convert("RGB") for p, _ in catalog]
    catalog_truth = [t for _, t in catalog]
    # Scenes of the split's own products (their combinations never trained on); the backdrops
    # borrow from the other photos of the split.
    examples = [_FakeExample(image) for image in photos]
    scenes, scene_truth, stand_in = [], [], []
    for row, example in enumerate([] if args.no_scenes else examples):
        drawn = _scene(example, photos, _SCENE_SEED, row, 0)  # type: ignore[arg-type]
        if drawn is not None:
            scene, rng = drawn
            scenes.append(scene.image)
            stand_in.append(query_view(scene, rng))
            scene_truth.append(catalog_truth[row])
    real_scene = real.views(scenes)
    shopper_photos = real.views([Image.open(p).convert("RGB") for p, _ in shopper])
    shopper_truth = [t for _, t in shopper]
    cut_s = time.perf_counter() - started

    sets = {
        "catalog": (photos, catalog_truth),
        "scene, stand-in": (stand_in, scene_truth),
        "scene, real": (real_scene, scene_truth),
        "shopper (real)": (shopper_photos, shopper_truth),
    }
    sets = {name: pair for name, pair in sets.items() if pair[0]}
    vectors = {name: embedder.encode_images(images) for name, (images, _) in sets.items()}
    results: dict[str, Any] = {}
    for folder in args.folders:
        head, why = load_attribute_head(folder, vocabulary)
        if head is None:
            raise SystemExit(f"{folder}: no usable attribute head ({why})")
        floor = ConfidenceFloor(settings.caption_min_probability, settings.caption_min_margin)
        captioner = AttributeCaptioner(embedder, vocabulary, floor=floor, head=head)
        results[str(folder)] = {
            name: _scores(captioner, vectors[name], truth) for name, (_, truth) in sets.items()
        }
    print(
        f"split {args.split}; cut-outs {real.as_json()}; {cut_s:.0f} s to cut out, "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print("| head | set | n | category | colour | pattern | (top-1, no gate) |")
    print("|---|---|---:|---:|---:|---:|---|")
    for folder, per_set in results.items():
        for name, scores in per_set.items():
            gated = " | ".join(f"{scores[a]['gated']:.1f}" for a in _NAMES)
            top = " / ".join(f"{scores[a]['top1']:.1f}" for a in _NAMES)
            print(f"| {folder} | {name} | {scores['category']['n']} | {gated} | {top} |")
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")


class _FakeExample:
    """The one field :func:`_scene` reads of an example."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image


if __name__ == "__main__":
    main()
