"""How long ``find_duplicates`` takes on the embedded store, and its precision/recall on
planted near-duplicates, for N products with synthetic unit vectors (no model: the time is the
store's searches; the precision/recall here is of the grouping on vectors whose copies are
known, not of a model's embeddings).

    python benchmarks/duplicates_bench.py --products 10000 --dim 512
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from plugin.search.duplicates import find_duplicates
from plugin.store import ProductRow
from plugin.store.lance.store import LanceStore
from schemas.product import product_uuid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--copies", type=float, default=0.05, help="fraction of products given a near-copy")
    parser.add_argument("--noise", type=float, default=0.012, help="per-dimension noise of a copy")
    parser.add_argument("--threshold", type=float, default=0.95)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n_copies = int(args.products * args.copies)
    n_base = args.products - n_copies
    base = rng.normal(size=(n_base, args.dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    sources = rng.choice(n_base, size=n_copies, replace=False)
    copies = base[sources] + args.noise * rng.normal(size=(n_copies, args.dim)).astype(np.float32)
    copies /= np.linalg.norm(copies, axis=1, keepdims=True)
    truth = {frozenset((f"p{s}", f"c{i}")) for i, s in enumerate(sources)}
    with tempfile.TemporaryDirectory() as tmp:
        store = LanceStore(Path(tmp), dimension=args.dim)
        store.create_collection()
        rows = [
            ProductRow(
                str(product_uuid(pid)),
                {"product_id": pid, "title": pid, "attributes": []},
                list(map(float, v)),
            )
            for pid, v in [(f"p{i}", v) for i, v in enumerate(base)]
            + [(f"c{i}", v) for i, v in enumerate(copies)]
        ]
        for i in range(0, len(rows), 2000):
            store.upsert(rows[i : i + 2000])
        started = time.perf_counter()
        report = find_duplicates(store, args.dim, threshold=args.threshold)
        seconds = time.perf_counter() - started
        store.close()
    found = set()
    for group in report.groups:
        ids = [m.product_id for m in group.members]
        found |= {frozenset((a, b)) for a in ids for b in ids if a < b}
    tp = len(found & truth)
    print("| products | dim | planted pairs | found pairs | precision | recall | seconds |")
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {report.products} | {args.dim} | {len(truth)} | {len(found)} | "
        f"{tp / len(found) if found else 0:.3f} | {tp / len(truth) if truth else 0:.3f} | {seconds:.1f} |"
    )


if __name__ == "__main__":
    main()
