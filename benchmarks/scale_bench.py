"""Cost of the embedded store against catalog size (issue 16): a benchmark, not a test.

For each size: index build time, peak RSS, disk size; query p50 / p99 and recall@10 against
exact search, unfiltered and with filters matching 50%, 10% and 1% of the rows; the exact scan
(``bypass_vector_index``, the store's own exact path) in the same run as the baseline; then 10k
rows upserted and measured again before and after ``optimize``. Ratios are within one run.

    .venv/bin/python benchmarks/scale_bench.py --sizes 10000,100000 --out /tmp/scale.json
    .venv/bin/python benchmarks/scale_bench.py --vectors world_vectors.npy --sizes 1000000

Vectors: ``--vectors FILE.npy`` (real model vectors, grown to each size by
:func:`catalog_vectors.grow_vectors`), else :func:`catalog_vectors.clustered_vectors`. Ground
truth for recall is brute force in numpy over the same unit vectors (identical ranking to the
store's exact path, which is checked on the exact-scan queries and reported as ``exact agrees``).
Rows are loaded straight into the table (this measures search, not ingestion); the 10k upsert goes
through ``LanceStore.upsert``, the production path.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.catalog_vectors import clustered_vectors, grow_vectors, query_vectors
from plugin.store import ProductFilter, ProductRow
from plugin.store.lance.index import IndexPolicy, SearchTuning
from plugin.store.lance.store import UUID_COLUMN, LanceStore, arrow_schema
from schemas.collection import product_collection

K = 10
CATEGORIES = 100
FILTERS: dict[str, tuple[ProductFilter | None, Any]] = {
    # name -> (store filter, numpy mask over (price, category index))
    "none": (None, None),
    "50%": (ProductFilter(price_max=50.0), lambda p, c: p <= 50.0),
    "10%": (ProductFilter(price_max=10.0), lambda p, c: p <= 10.0),
    "1%": (ProductFilter(category="c7"), lambda p, c: c == 7),
}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def _load(store: LanceStore, data_dir: Path, vectors: np.ndarray, price: np.ndarray, cat: np.ndarray) -> None:
    spec = store.spec
    schema = arrow_schema(spec, vectors.shape[1])
    table = lancedb.connect(str(data_dir)).open_table(spec.name)
    for start in range(0, len(vectors), 100_000):
        stop = min(len(vectors), start + 100_000)
        n = stop - start
        ids = [f"p{i}" for i in range(start, stop)]
        columns: dict[str, Any] = {name: pa.nulls(n, schema.field(name).type) for name in schema.names}
        columns[UUID_COLUMN] = pa.array(ids)
        columns["product_id"] = pa.array(ids)
        columns["title"] = pa.array([f"product {i}" for i in range(start, stop)])
        columns["category"] = pa.array([f"c{c}" for c in cat[start:stop]])
        columns["price"] = pa.array(price[start:stop])
        flat = pa.array(vectors[start:stop].reshape(-1))
        columns[spec.vector.name] = pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1])
        table.add(pa.table([columns[name] for name in schema.names], schema=schema))


def _measure(
    store: LanceStore,
    queries: np.ndarray,
    truth: list[set[str]],
    filters: ProductFilter | None,
    tuning: SearchTuning | None = None,
) -> dict[str, float]:
    latencies, found, short = [], 0, 0
    for q, expected in zip(queries, truth, strict=True):
        start = time.perf_counter()
        hits = store.search(q, filters=filters, limit=K, tuning=tuning)
        latencies.append(time.perf_counter() - start)
        found += len({h.properties["product_id"] for h in hits} & expected)
        short += len(hits) < min(K, len(expected))
    ms = np.asarray(latencies) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "recall": found / sum(min(K, len(t)) for t in truth),
        "short_results": short,
    }


def _truth_all(
    vectors: np.ndarray, queries: np.ndarray, masks: dict[str, np.ndarray | None], chunk: int = 100_000
) -> dict[str, list[set[str]]]:
    """Exact top-k ids per query for every mask, in one pass over the rows (no copies of the
    whole matrix): a running top-k merged chunk by chunk."""
    empty = (np.full((len(queries), 0), -np.inf), np.zeros((len(queries), 0), dtype=np.int64))
    best = dict.fromkeys(masks, empty)
    for start in range(0, len(vectors), chunk):
        scores = vectors[start : start + chunk] @ queries.T  # (rows, queries)
        ids = np.arange(start, start + len(scores))
        for name, mask in masks.items():
            s = scores if mask is None else np.where(mask[start : start + len(scores), None], scores, -np.inf)
            k = min(K, len(s))
            top = np.argpartition(-s, k - 1, axis=0)[:k].T  # (queries, k)
            cand_s = np.concatenate([best[name][0], np.take_along_axis(s.T, top, axis=1)], axis=1)
            cand_i = np.concatenate([best[name][1], ids[top]], axis=1)
            keep = np.argsort(-cand_s, axis=1)[:, :K]
            best[name] = (np.take_along_axis(cand_s, keep, axis=1), np.take_along_axis(cand_i, keep, axis=1))
    out: dict[str, list[set[str]]] = {}
    for name, (top_s, top_i) in best.items():
        out[name] = [
            {f"p{i}" for i, sc in zip(row_i, row_s, strict=True) if np.isfinite(sc)}
            for row_i, row_s in zip(top_i, top_s, strict=True)
        ]
    return out


def _truth_with_extra(vectors: np.ndarray, extra: np.ndarray, queries: np.ndarray, n: int) -> list[set[str]]:
    """Exact top-k over the catalog plus the upserted rows (ids ``p<i>`` and ``new<i>``)."""
    out = []
    for q in queries:
        old = vectors @ q
        new = extra @ q
        top_old = np.argpartition(-old, K)[:K]
        top_new = np.argpartition(-new, K)[:K]
        merged = sorted(
            [(float(old[i]), f"p{i}") for i in top_old] + [(float(new[i]), f"new{i}") for i in top_new],
            reverse=True,
        )
        out.append({name for _, name in merged[:K]})
    return out


def run_size(n: int, base: np.ndarray | None, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    dim = args.dim if base is None else base.shape[1]
    t0 = time.perf_counter()
    vectors = clustered_vectors(n, dim, seed=0) if base is None else grow_vectors(base, n, seed=0)
    rng = np.random.default_rng(0)
    price = rng.uniform(0, 100, n)
    cat = rng.integers(0, CATEGORIES, n)
    queries = query_vectors(vectors, args.queries)
    data_dir = root / f"n{n}"
    policy = IndexPolicy(
        index_type=args.index_type, auto_rows=0, nprobes=args.nprobes, refine_factor=args.refine
    )
    store = LanceStore(data_dir, dimension=dim, spec=product_collection(), index_policy=policy)
    store.create_collection()
    _load(store, data_dir, vectors, price, cat)
    result: dict[str, Any] = {"rows": n, "dim": dim, "generate_load_s": time.perf_counter() - t0}

    flat_q = queries[: args.flat_queries]
    masks = {name: None if m is None else m(price, cat) for name, (_, m) in FILTERS.items()}
    truth_all = _truth_all(vectors, queries, masks)
    flat = _measure(store, flat_q, truth_all["none"][: args.flat_queries], None, SearchTuning(exact=True))
    result["flat"] = flat
    result["exact_agrees"] = flat["recall"]

    start = time.perf_counter()
    timings = store.build_indexes()
    result["build_s"] = time.perf_counter() - start
    result["vector_build_s"] = timings[store.spec.vector.name]
    result["disk_mb"] = _disk_mb(data_dir)
    for name, (filters, _) in FILTERS.items():
        result[f"ann_{name}"] = _measure(store, queries, truth_all[name], filters)
    result["speedup_vs_flat"] = flat["p50_ms"] / result["ann_none"]["p50_ms"]

    # 10k new products (near-duplicates of existing ones) through the production upsert.
    extra = grow_vectors(vectors, n + 10_000, seed=7)[n:]
    truth_after = _truth_with_extra(vectors, extra, queries, n)
    del vectors
    rows = [
        ProductRow(
            f"new{i}",
            {"product_id": f"new{i}", "title": f"new {i}", "category": "c7", "price": 5.0},
            v.tolist(),
        )
        for i, v in enumerate(extra)
    ]
    start = time.perf_counter()
    errors = store.upsert(rows)
    result["upsert_10k_s"] = time.perf_counter() - start
    assert not errors, errors[:3]
    # Queries at the new rows: each must come back first (the unindexed tail is searched).
    probe = extra[: args.flat_queries]
    top1 = sum(store.search(v, limit=1)[0].uuid == f"new{i}" for i, v in enumerate(probe))
    result["tail_found_before_optimize"] = top1 / len(probe)
    result["unindexed_before_optimize"] = store.index_status().unindexed_rows
    result["ann_none_tail"] = _measure(store, queries, truth_after, None)
    start = time.perf_counter()
    status = store.optimize_indexes()
    result["optimize_s"] = time.perf_counter() - start
    result["unindexed_after_optimize"] = status.unindexed_rows
    result["ann_none_optimized"] = _measure(store, queries, truth_after, None)
    result["peak_rss_mb"] = _rss_mb()
    store.close()
    return result


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| rows | build s | disk MB | peak RSS MB | flat p50 ms | ANN p50 / p99 ms | recall@10 | x flat "
        "| 50% p50 / R | 10% p50 / R | 1% p50 / R (short) | +10k tail R | optimize s | after R |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        a = r["ann_none"]
        f = [r[f"ann_{s}"] for s in ("50%", "10%", "1%")]
        lines.append(
            f"| {r['rows']:,} | {r['build_s']:.1f} | {r['disk_mb']:.0f} | {r['peak_rss_mb']:.0f} "
            f"| {r['flat']['p50_ms']:.1f} | {a['p50_ms']:.1f} / {a['p99_ms']:.1f} | {a['recall']:.3f} "
            f"| {r['speedup_vs_flat']:.0f}x | {f[0]['p50_ms']:.1f} / {f[0]['recall']:.3f} "
            f"| {f[1]['p50_ms']:.1f} / {f[1]['recall']:.3f} | {f[2]['p50_ms']:.1f} / {f[2]['recall']:.3f} "
            f"({f[2]['short_results']}) | {r['ann_none_tail']['recall']:.3f} | {r['optimize_s']:.1f} "
            f"| {r['ann_none_optimized']['recall']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--dim", type=int, default=512, help="vector size without --vectors (ViT-B/32: 512)")
    parser.add_argument("--vectors", type=Path, help="real vectors (.npy, rows x dim) to grow from")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--flat-queries", type=int, default=20, help="queries for the exact-scan baseline")
    parser.add_argument("--index-type", default="ivf_rq", choices=["ivf_rq", "ivf_hnsw_sq", "ivf_pq"])
    parser.add_argument("--nprobes", type=int, default=20)
    parser.add_argument("--refine", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--keep", type=Path, help="keep the tables in this folder (default: a temp dir)")
    args = parser.parse_args()
    base = np.load(args.vectors).astype(np.float32) if args.vectors else None
    root = args.keep or Path(tempfile.mkdtemp(prefix="scale_bench_"))
    results = []
    try:
        for n in (int(s) for s in args.sizes.split(",")):
            results.append(run_size(n, base, args, root))
            print(json.dumps(results[-1]), flush=True)
            if args.out:
                args.out.write_text(json.dumps(results, indent=2))
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(_table(results))


if __name__ == "__main__":
    main()
