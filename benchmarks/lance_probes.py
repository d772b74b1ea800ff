"""How many IVF partitions a 1M query should probe: the grid behind the store's ``nprobes``
default (docs/scale.md, "Issue 24, round 3"). A benchmark, not a test.

Builds one table with :func:`scale_bench.prepare` and the store's own build (or reuses
``--dir`` from an earlier run), then runs raw LanceDB queries as the store issues them
(cosine, refine 10, a pre-filter) with the partitions probed fixed (minimum = maximum), and the
store's previous query (at least 20, no maximum) beside them. Prints p50 / p99 ms and recall@10
per filter.

    .venv/bin/python benchmarks/lance_probes.py --dir /tmp/probes1m            # build + grid
    .venv/bin/python benchmarks/lance_probes.py --dir /tmp/probes1m --queries 60
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import lancedb
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scale_bench import FILTERS, K, _load, prepare
from plugin.store.lance.index import IndexPolicy
from plugin.store.lance.sql import filter_sql
from plugin.store.lance.store import LanceStore
from schemas.collection import product_collection


def build(work: Path, rows: int) -> None:
    args = argparse.Namespace(rows=rows, dim=512, cluster_rows=200, decay=0.8, seed=0, queries=200, upsert=0)
    prepare(args, work)
    extra = np.load(work / "extra.npz")
    spec = product_collection()
    store = LanceStore(work / "db", dimension=512, spec=spec, index_policy=IndexPolicy(auto_rows=0))
    store.create_collection()
    _load(
        lancedb.connect(str(work / "db")).open_table(spec.name),
        spec,
        work / "vectors.f32",
        512,
        extra["price"],
        extra["cat"],
    )
    store.build_indexes()


def measure(
    table: Any, queries: np.ndarray, truth: list[list[int]], where: str | None, probes: tuple[int, int]
) -> str:
    latencies, found = [], 0
    for q, expected in zip(queries, truth, strict=False):
        builder = (
            table.search(q, vector_column_name="clip")
            .distance_type("cosine")
            .select(["uuid", "product_id", "title", "price", "_distance"])
            .limit(K)
            .minimum_nprobes(probes[0])
            .maximum_nprobes(probes[1])
            .refine_factor(10)
        )
        if where is not None:
            builder = builder.where(where, prefilter=True)
        start = time.perf_counter()
        ids = builder.to_arrow().column("product_id").to_pylist()
        latencies.append(time.perf_counter() - start)
        found += len({int(i[1:]) for i in ids} & set(expected))
    ms = np.asarray(latencies) * 1000
    recall = found / max(1, sum(min(K, len(t)) for t in truth[: len(queries)]))
    return f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 99):.1f} / {recall:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="work folder, kept (built when empty)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--unfiltered", default="20,30,40,50", help="partitions to try unfiltered")
    parser.add_argument("--filtered", default="40,60,80,120", help="partitions to try under a filter")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    if not (args.dir / "db").exists():
        build(args.dir, args.rows)
    table = lancedb.connect(str(args.dir / "db")).open_table(product_collection().name)
    queries = np.load(args.dir / "extra.npz")["queries"][: args.queries]
    truth = json.loads((args.dir / "truth.json").read_text())
    print(f"{table.count_rows():,} rows, {len(queries)} queries, load average {os.getloadavg()[0]:.1f}")
    print("| filter | partitions | p50 / p99 ms / recall@10 |\n|---|---|---|")
    for name, (filters, _) in FILTERS.items():
        where = filter_sql(filters)
        grid = args.unfiltered if where is None else args.filtered
        rows = [("at least 20, no maximum (before)", (20, 0))]
        rows += [(f"exactly {n}", (n, n)) for n in map(int, grid.split(","))]
        for label, probes in rows:
            print(f"| {name} | {label} | {measure(table, queries, truth[name], where, probes)} |", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
