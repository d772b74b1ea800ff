"""Score fusion (BASIC) against vector fusion, on val splits only: does it earn a second search?

BASIC (NeurIPS 2025, arXiv 2510.25387) scores each gallery item by the product of its image
and text similarities, ``S = s_v * s_t - l * (s_v + s_t)^2`` (l = 0.1), after centring the
features: an item must match both the reference image and the change, where a sum lets one
strong similarity carry it. It needs candidates from two searches and a re-rank, so issue 25
asks for it in the stores only if the table shows it wins. This measures that question, with
exact scoring over the whole gallery (the limit of any candidate union), through the product's
own compose path:

- ``v``: the reference image vector, background removal left to the service (``auto``);
- ``t``: the modification text's vector;
- ``p``: the product's default query (Pic2Word with the shipped world model).

Rows: the sum ``norm(v + t)`` (the eval table's ``image_text_sum+auto``), BASIC on (v, t) at
l = 0 and 0.1, the default ``p``, and BASIC on (v, p) and (p, t). R@10 and R@50, in percent.

    .venv/bin/python benchmarks/score_fusion.py --dataset cirr --root grounded-data/world \
        --split val-shopper --model plugin/world/model --u2net-home .models/u2net

Val only: this picks whether to build score fusion, it reports no test figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugin.encoder import open_encoder
from plugin.evaluation import load_dataset
from plugin.evaluation.dataset import EvalDataset, Query
from plugin.settings import PluginSettings
from schemas.wire import ComposeOptions
from vectorizer_service.settings import ServiceSettings

Matrix = npt.NDArray[np.float32]
IMAGE = ComposeOptions(caption=False, fuse=False, image_weight=1.0, fusion_method="image_anchor")
TEXT = ComposeOptions(caption=False, fuse=False, image_weight=0.0, fusion_method="image_anchor")
LAMBDAS = (0.0, 0.1)
KS = (10, 50)


def _unit(m: Matrix) -> Matrix:
    return (m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


def _compose(
    encoder, dataset: EvalDataset, options: ComposeOptions | None, image: bool, text: bool
) -> Matrix:
    def one(q: Query) -> list[float]:
        data = dataset.images[q.reference].read_bytes() if image else None
        return encoder.compose(data, q.text if text else "", options).vector

    with ThreadPoolExecutor(max_workers=8) as pool:
        return np.asarray(list(pool.map(one, dataset.queries)), dtype=np.float32)


def _recall(scores: Matrix, dataset: EvalDataset, ids: list[str]) -> dict[str, float]:
    index = {image_id: i for i, image_id in enumerate(ids)}
    hits = {k: 0 for k in KS}
    for row, q in zip(scores, dataset.queries, strict=True):
        row = row.copy()
        if dataset.exclude_reference and q.reference in index:
            row[index[q.reference]] = -np.inf
        order = np.argsort(-row, kind="stable")[: max(KS)]
        top = [ids[j] for j in order]
        for k in KS:
            hits[k] += any(t in top[:k] for t in q.targets)
    return {f"R@{k}": round(100.0 * hits[k] / len(dataset.queries), 1) for k in KS}


def open_model_encoder(model: str, u2net_home: Path | None):
    """The product's in-process encoder on a model folder, with its vocabulary when it has one."""
    vocabulary = Path(model) / "vocabulary.json"
    service = ServiceSettings(
        model=model,
        device="cpu",
        offline=True,
        vocabulary=vocabulary if vocabulary.is_file() else None,
        u2net_home=u2net_home,
    )
    return open_encoder(PluginSettings(), service)


def embed_gallery(encoder, dataset: EvalDataset, ids: list[str]) -> Matrix:
    """The gallery's image vectors, in ``ids`` order, 64 at a time."""
    return np.concatenate(
        [
            np.asarray(encoder.embed_images([dataset.images[i].read_bytes() for i in ids[s : s + 64]]))
            for s in range(0, len(ids), 64)
        ]
    ).astype(np.float32)


def _basic(a: Matrix, b: Matrix, gallery: Matrix, lam: float) -> Matrix:
    mean = gallery.mean(axis=0, keepdims=True)
    g = _unit(gallery - mean)
    s_a, s_b = _unit(a - mean) @ g.T, _unit(b - mean) @ g.T
    return (s_a * s_b - lam * (s_a + s_b) ** 2).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cirr")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--split", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--u2net-home", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.split.startswith("test"):
        parser.error("val splits only: this chooses whether to build score fusion")
    dataset = load_dataset(args.dataset, args.root, args.split, None)
    encoder = open_model_encoder(args.model, args.u2net_home)
    started = time.perf_counter()
    try:
        ids = dataset.gallery_ids()
        gallery = embed_gallery(encoder, dataset, ids)
        v = _compose(encoder, dataset, IMAGE, image=True, text=True)  # image weight 1: the text is unused
        t = _compose(encoder, dataset, TEXT, image=False, text=True)
        p = _compose(encoder, dataset, None, image=True, text=True)
    finally:
        encoder.close()
    rows: dict[str, dict[str, float]] = {
        "sum norm(v + t) (image_text_sum+auto)": _recall(_unit(v + t) @ gallery.T, dataset, ids),
        "default p (Pic2Word)": _recall(p @ gallery.T, dataset, ids),
    }
    for lam in LAMBDAS:
        rows[f"BASIC (v, t), l={lam}"] = _recall(_basic(v, t, gallery, lam), dataset, ids)
        rows[f"BASIC (v, p), l={lam}"] = _recall(_basic(v, p, gallery, lam), dataset, ids)
        rows[f"BASIC (p, t), l={lam}"] = _recall(_basic(p, t, gallery, lam), dataset, ids)
    print(f"{dataset.name} {dataset.split}: {len(dataset.queries)} queries, gallery {len(ids)}, "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    print("| row | " + " | ".join(f"R@{k}" for k in KS) + " |")
    print("|---|" + "---:|" * len(KS))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{values[f'R@{k}']:.1f}" for k in KS) + " |")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"split": args.split, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
