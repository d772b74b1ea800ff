"""Linear blends of the composed query's parts, on val splits only: which mixture is the default?

Pic2Word reads the reference image as a word (``p = t("a photo of * , {change}")``); the plain
sum keeps the image itself (``norm(v + t)``); the attribute pipeline writes what the captioner is
sure of (``f``, the fused caption + change, abstaining where unsure). On val each wins somewhere:
Pic2Word on shopper R@10, the sum on catalog photos' CIRCO mAP, the caption when it is right.
This measures one family that contains all of them,

    q = norm(p + a * v + b * t + c * f)      (every part a unit vector)

with ``a, b, c`` on a small grid fixed before any run, through the product's own compose path:

- ``v``: the reference image vector, the service's background decision (``auto``);
- ``t``: the modification text's vector;
- ``p``: Pic2Word (the world model carries a mapper);
- ``f``: the attribute pipeline's fused text vector at image weight 0.

Rows are sorted by the mean R@10 over the splits given. The vectors are saved (``--out``), so a
finer look needs no second compose pass.

    .venv/bin/python benchmarks/query_blend.py --root grounded-data/world \
        --split val-shopper --split val --model plugin/world/model --u2net-home .models/u2net \
        --out reports/query-blend

Val only: this chooses; `grounded eval` then measures the chosen method once on test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.score_fusion import (
    IMAGE,
    KS,
    TEXT,
    Matrix,
    _compose,
    _recall,
    _unit,
    embed_gallery,
    open_model_encoder,
)
from plugin.evaluation import load_dataset
from schemas.wire import ComposeOptions

PIC2WORD = ComposeOptions(fusion_method="pic2word")
FUSED = ComposeOptions(fusion_method="image_anchor", image_weight=0.0)
GRID_A = (0.0, 0.25, 0.5, 1.0)
GRID_B = (0.0, 0.25, 0.5, 1.0)
GRID_C = (0.0, 0.5, 1.0)


def _parts(encoder, dataset, cache: Path | None) -> dict[str, Matrix]:
    if cache is not None and cache.is_file():
        with np.load(cache) as saved:
            return {k: saved[k] for k in saved.files}
    parts = {
        "gallery": embed_gallery(encoder, dataset, dataset.gallery_ids()),
        "v": _compose(encoder, dataset, IMAGE, image=True, text=True),
        "t": _compose(encoder, dataset, TEXT, image=False, text=True),
        "p": _compose(encoder, dataset, PIC2WORD, image=True, text=True),
        "f": _compose(encoder, dataset, FUSED, image=True, text=True),
    }
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, **parts)
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cirr")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--split", action="append", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--u2net-home", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if any(s.startswith("test") for s in args.split):
        parser.error("val splits only: this chooses the default")
    encoder = open_model_encoder(args.model, args.u2net_home)
    results: dict[str, dict[str, dict[str, float]]] = {}
    try:
        for split in args.split:
            started = time.perf_counter()
            dataset = load_dataset(args.dataset, args.root, split, None)
            ids = dataset.gallery_ids()
            cache = args.out / f"{args.dataset}-{split}.npz" if args.out else None
            parts = _parts(encoder, dataset, cache)
            g = parts["gallery"]
            for a, b, c in itertools.product(GRID_A, GRID_B, GRID_C):
                q = _unit(parts["p"] + a * parts["v"] + b * parts["t"] + c * parts["f"])
                results.setdefault(f"a={a:g} b={b:g} c={c:g}", {})[split] = _recall(q @ g.T, dataset, ids)
            results.setdefault("sum norm(v + t)", {})[split] = _recall(
                _unit(parts["v"] + parts["t"]) @ g.T, dataset, ids
            )
            results.setdefault("f (attributes)", {})[split] = _recall(parts["f"] @ g.T, dataset, ids)
            print(f"{split}: {len(dataset.queries)} queries, gallery {len(ids)}, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
    finally:
        encoder.close()

    def score(row: dict[str, dict[str, float]]) -> float:
        return float(np.mean([row[s]["R@10"] for s in args.split]))

    print("| blend | " + " | ".join(f"{s} R@{k}" for s in args.split for k in KS) + " | mean R@10 |")
    print("|---|" + "---:|" * (len(args.split) * len(KS) + 1))
    for name, row in sorted(results.items(), key=lambda kv: -score(kv[1])):
        cells = " | ".join(f"{row[s][f'R@{k}']:.1f}" for s in args.split for k in KS)
        print(f"| {name} | {cells} | {score(row):.1f} |")
    if args.out:
        (args.out / "blend.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
