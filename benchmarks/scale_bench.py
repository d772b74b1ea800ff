"""Search at catalog scale (issue 24, item 1): a benchmark, not a test.

One table of ``--rows`` products, two builds of it measured in the same process, one after the
other: the **baseline** (the build before issue 24: scalar indexes and IVF_RQ with LanceDB's
default partitions over the fragments the load wrote, queried as before: at least 20 partitions
with an open maximum, refine 10, kept verbatim as ``old_search``) and the **store's build now**
(:meth:`LanceStore.build_indexes` with the default policy), queried the old way (the build's
effect alone), by :meth:`LanceStore.search` without the filter sketch, and with it (built by
:meth:`LanceStore.warm_filters`, timed). For each: build seconds,
then query p50 / p99 and recall@10 unfiltered and with filters matching 50%, 5% and 0.3% of the
rows (``short``: queries answered with fewer than ``min(k, matches)`` rows). Then the upsert of
precomputed vectors (new rows into the indexed table) as ``ProductRow`` float lists (the
baseline) and as one matrix (``upsert(rows, vectors=...)``), then the matrix rows once more,
each replacing a stored row. The store runs in a child process
of its own that reads the vectors from a file a chunk at a time, so its peak RSS is the
store's (the load, both builds and the queries; reported again after the upserts, whose rows
are the benchmark's), not the benchmark's copy of the vectors.

    .venv/bin/python benchmarks/scale_bench.py --rows 1000000            # docs/scale.md
    .venv/bin/python benchmarks/scale_bench.py --rows 200000 --seed 1 --cluster-rows 50 --decay 1.0
    .venv/bin/python benchmarks/scale_bench.py --rows 5000 --queries 20 --upsert 1000   # smoke

The second command is the check set: vectors of another seed and shape (4x more, smaller
clusters, a steeper spectrum) than those the parameters were chosen on. Vectors:
:func:`catalog_vectors.clustered_vectors` (512-d); queries: perturbed catalog rows. Ground truth:
brute force over the same unit vectors, one chunked pass for every filter.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa
from lancedb.index import IvfRq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.catalog_vectors import clustered_vectors, query_vectors
from plugin.store import ProductFilter, ProductRow
from plugin.store.lance.index import IndexPolicy, scalar_index_plan
from plugin.store.lance.query import query_vector
from plugin.store.lance.sql import filter_sql
from plugin.store.lance.store import UUID_COLUMN, LanceStore, arrow_schema
from schemas.collection import product_collection

K = 10
CATEGORIES = 100
LOAD_CHUNK = 100_000
FILTERS: dict[str, tuple[ProductFilter | None, Any]] = {
    # name -> (store filter, numpy mask over (price, category index))
    "none": (None, None),
    "50%": (ProductFilter(price_max=50.0), lambda p, c: p <= 50.0),
    "5%": (ProductFilter(price_max=5.0), lambda p, c: p <= 5.0),
    "0.3%": (ProductFilter(category="c7", price_max=30.0), lambda p, c: (c == 7) & (p <= 30.0)),
}
PROPERTIES = ["product_id", "title", "price"]


def _truth_all(
    vectors: np.ndarray, queries: np.ndarray, masks: dict[str, np.ndarray | None], chunk: int = 100_000
) -> dict[str, list[list[int]]]:
    """Exact top-k row numbers per query for every mask, in one pass over the rows: a running
    top-k merged chunk by chunk (no copy of the whole matrix)."""
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
    return {
        name: [
            [int(i) for i, sc in zip(ri, rs, strict=True) if np.isfinite(sc)]
            for ri, rs in zip(*best[name][::-1], strict=True)
        ]
        for name in masks
    }


def _read_rows(path: Path, dim: int, start: int, count: int) -> np.ndarray:
    # A plain read, not a memory map: mapped pages would count in the store's RSS.
    with path.open("rb") as f:
        f.seek(start * dim * 4)
        return np.fromfile(f, dtype=np.float32, count=count * dim).reshape(count, dim)


def _load(table: Any, spec: Any, path: Path, dim: int, price: np.ndarray, cat: np.ndarray) -> None:
    """The rows straight into the table, one append per 100k (as the bulk import writes them)."""
    schema = arrow_schema(spec, dim)
    for start in range(0, len(price), LOAD_CHUNK):
        stop = min(len(price), start + LOAD_CHUNK)
        n = stop - start
        ids = [f"p{i}" for i in range(start, stop)]
        columns: dict[str, Any] = {name: pa.nulls(n, schema.field(name).type) for name in schema.names}
        columns[UUID_COLUMN] = pa.array(ids)
        columns["product_id"] = pa.array(ids)
        columns["title"] = pa.array([f"product {i}" for i in range(start, stop)])
        columns["category"] = pa.array([f"c{c}" for c in cat[start:stop]])
        columns["price"] = pa.array(price[start:stop])
        flat = pa.array(_read_rows(path, dim, start, n).reshape(-1))
        columns[spec.vector.name] = pa.FixedSizeListArray.from_arrays(flat, dim)
        table.add(pa.table([columns[name] for name in schema.names], schema=schema))


def old_search(table: Any, q: np.ndarray, filters: ProductFilter | None) -> list[str]:
    """The store's query before this change, verbatim but for names: at least 20 partitions
    with no maximum (``maximum_nprobes(0)``), refine 10, a pre-filter, and an exact retry when
    the answer is short. Returns the product ids, nearest first."""

    def run(exact: bool) -> list[str]:
        builder = (
            table.search(query_vector(q, len(q)), vector_column_name="clip")
            .distance_type("cosine")
            .select([UUID_COLUMN, *PROPERTIES, "_distance"])
            .limit(K)
        )
        if exact:
            builder = builder.bypass_vector_index()
        else:
            builder = builder.minimum_nprobes(20).maximum_nprobes(0).refine_factor(10)
        where = filter_sql(filters)
        if where is not None:
            builder = builder.where(where, prefilter=True)
        return [str(r["product_id"]) for r in builder.to_list()]

    ids = run(exact=False)
    if len(ids) < K:
        exact = run(exact=True)
        ids = exact if len(exact) > len(ids) else ids
    return ids


def _measure(queries: np.ndarray, truth: dict[str, list[list[int]]], search: Any) -> dict[str, Any]:
    """``search(vector, filters) -> product ids`` over every query and filter."""
    out: dict[str, Any] = {}
    for name, (filters, _) in FILTERS.items():
        latencies, found, short = [], 0, 0
        for q, expected in zip(queries, truth[name], strict=True):
            start = time.perf_counter()
            ids = search(q, filters)
            latencies.append(time.perf_counter() - start)
            found += len({int(i[1:]) for i in ids} & set(expected))
            short += len(ids) < min(K, len(expected))
        ms = np.asarray(latencies) * 1000
        out[name] = {
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
            "recall": found / max(1, sum(min(K, len(t)) for t in truth[name])),
            "short": short,
        }
    return out


def _baseline_build(table: Any, spec: Any) -> None:
    """The build before this change (verbatim but for names): scalar indexes, then IVF_RQ with
    LanceDB's default partitions over the fragments as loaded."""
    for column, config in scalar_index_plan(spec, UUID_COLUMN).items():
        table.create_index(column, config=config, replace=True)
    vector = spec.vector.name
    table.create_index(
        vector, config=IvfRq(distance_type="cosine", num_bits=1), replace=True, name=f"{vector}_idx"
    )


def _upsert_rates(store: LanceStore, path: Path, dim: int, count: int) -> dict[str, float]:
    matrix = _read_rows(path, dim, 0, count) * np.float32(0.999)
    rates: dict[str, float] = {}
    for how in ("lists", "matrix"):
        rows = [
            ProductRow(
                f"{how}{i}",
                {"product_id": f"{how}{i}", "title": f"new {i}", "category": "c1", "price": 1.0},
                matrix[i].tolist() if how == "lists" else None,
            )
            for i in range(count)
        ]
        start = time.perf_counter()
        errors = store.upsert(rows, vectors=matrix if how == "matrix" else None)
        rates[how] = count / (time.perf_counter() - start)
        assert not errors, errors[:3]
    # The same rows again, each now stored: every one is replaced (LanceDB's merge_insert).
    start = time.perf_counter()
    errors = store.upsert(rows, vectors=matrix * np.float32(0.999))
    rates["replace"] = count / (time.perf_counter() - start)
    assert not errors, errors[:3]
    return rates


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(work: Path) -> None:
    meta = json.loads((work / "meta.json").read_text())
    dim = meta["dim"]
    extra = np.load(work / "extra.npz")
    queries, price, cat = extra["queries"], extra["price"], extra["cat"]
    truth = json.loads((work / "truth.json").read_text())
    spec = product_collection()
    # No sketch here: the store's queries without one are measured first, then with it.
    store = LanceStore(
        work / "db", dimension=dim, spec=spec, index_policy=IndexPolicy(auto_rows=0, sketch_rows=0)
    )
    store.create_collection()
    table = lancedb.connect(str(work / "db")).open_table(spec.name)
    result: dict[str, Any] = {}
    start = time.perf_counter()
    _load(table, spec, work / "vectors.f32", dim, price, cat)
    result["load_s"] = time.perf_counter() - start
    start = time.perf_counter()
    _baseline_build(table, spec)
    result["baseline_build_s"] = time.perf_counter() - start

    def before(q: np.ndarray, filters: ProductFilter | None) -> list[str]:
        return old_search(table, q, filters)

    def searching(on: LanceStore) -> Any:
        def search(q: np.ndarray, filters: ProductFilter | None) -> list[str]:
            hits = on.search(q, filters=filters, limit=K, return_properties=PROPERTIES)
            return [str(h.properties["product_id"]) for h in hits]

        return search

    result["baseline"] = _measure(queries, truth, before)
    start = time.perf_counter()
    result["build_timings"] = store.build_indexes()
    result["build_s"] = time.perf_counter() - start
    table.checkout_latest()
    result["build_only"] = _measure(queries, truth, before)
    result["no_sketch"] = _measure(queries, truth, searching(store))
    result["index"] = store.index_status().vector.__dict__ if store.index_status().vector else None
    result["rss_before_sketch_mb"] = _rss_mb()
    sketched = LanceStore(work / "db", dimension=dim, spec=spec, index_policy=IndexPolicy(auto_rows=0))
    start = time.perf_counter()
    result["sketch_built"] = sketched.warm_filters()
    result["sketch_s"] = time.perf_counter() - start
    result["rss_with_sketch_mb"] = _rss_mb()
    result["new"] = _measure(queries, truth, searching(sketched))
    # Before the upserts: their float-list rows are the benchmark's (~1 GB of Python floats at 50k).
    result["store_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sketched.close()
    result["upsert_rows_per_s"] = _upsert_rates(store, work / "vectors.f32", dim, meta["upsert"])
    result["peak_rss_with_upserts_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def prepare(args: argparse.Namespace, work: Path) -> None:
    vectors = clustered_vectors(
        args.rows,
        args.dim,
        clusters=max(16, args.rows // args.cluster_rows),
        decay=args.decay,
        seed=args.seed,
    )
    rng = np.random.default_rng(args.seed)
    price = rng.uniform(0, 100, args.rows)
    cat = rng.integers(0, CATEGORIES, args.rows)
    queries = query_vectors(vectors, args.queries, seed=args.seed + 1)
    masks = {name: None if m is None else m(price, cat) for name, (_, m) in FILTERS.items()}
    (work / "truth.json").write_text(json.dumps(_truth_all(vectors, queries, masks)))
    vectors.tofile(work / "vectors.f32")
    np.savez(work / "extra.npz", queries=queries, price=price, cat=cat)
    (work / "meta.json").write_text(json.dumps({"dim": args.dim, "rows": args.rows, "upsert": args.upsert}))


def _row(name: str, build: float, m: dict[str, Any]) -> str:
    cells = [f"{m['none']['p50_ms']:.1f} / {m['none']['p99_ms']:.1f} / {m['none']['recall']:.3f}"]
    for f in ("50%", "5%", "0.3%"):
        cells.append(f"{m[f]['p50_ms']:.1f} / {m[f]['p99_ms']:.1f} / {m[f]['recall']:.3f} ({m[f]['short']})")
    return f"| {name} | {build:.0f} | " + " | ".join(cells) + " |"


def report(args: argparse.Namespace, r: dict[str, Any], load: list[float]) -> str:
    b, n = r["baseline"], r["new"]
    build_only = r.get("build_only")
    up = r["upsert_rows_per_s"]
    lines = [
        f"{args.rows:,} x {args.dim}, seed {args.seed}, {args.cluster_rows} rows per cluster, "
        f"decay {args.decay}, {args.queries} queries; "
        f"load average {load[0]:.1f} before, {load[1]:.1f} after (2 cores)",
        "",
        "| build | build s | unfiltered p50 / p99 ms / R@10 | 50% | 5% | 0.3% (short) |",
        "|---|---|---|---|---|---|",
        _row("baseline (before: build and queries)", r["baseline_build_s"], b),
        *([_row("store build now, queries as before", r["build_s"], build_only)] if build_only else []),
        *(
            [_row("store build and queries, no sketch", r["build_s"], r["no_sketch"])]
            if "no_sketch" in r
            else []
        ),
        _row("store build and queries now (sketch)", r["build_s"], n),
        f"| new / baseline p50 | {r['build_s'] / r['baseline_build_s']:.2f}x | "
        + " | ".join(f"{n[f]['p50_ms'] / b[f]['p50_ms']:.2f}x" for f in FILTERS)
        + " |",
        "",
        f"filter sketch built in {r.get('sketch_s', float('nan')):.1f} s "
        f"(built: {r.get('sketch_built')}); store RSS {r.get('rss_before_sketch_mb', float('nan')):.0f} MB "
        f"before it, {r.get('rss_with_sketch_mb', float('nan')):.0f} MB with it",
        f"store peak RSS {r['store_peak_rss_mb']:.0f} MB (load, both builds, sketch, queries; "
        f"{r['peak_rss_with_upserts_mb']:.0f} MB with the upserts' rows); load {r['load_s']:.0f} s; "
        f"index {r['index']}",
        f"upsert of {args.upsert:,} precomputed vectors into it: float lists {up['lists']:,.0f} rows/s, "
        f"matrix {up['matrix']:,.0f} rows/s ({up['matrix'] / up['lists']:.1f}x); "
        f"the matrix rows again, each replacing a stored row: {up['replace']:,.0f} rows/s",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cluster-rows", type=int, default=200, help="rows per generated cluster")
    parser.add_argument("--decay", type=float, default=0.8, help="spectrum decay of the generator")
    parser.add_argument("--upsert", type=int, default=50_000, help="rows of each upsert measurement")
    parser.add_argument("--dir", type=Path, help="work folder (default: a temp dir, deleted after)")
    parser.add_argument("--out", type=Path, help="write the child's results as JSON here")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory(prefix="scale_bench_", dir=args.dir) as tmp:
        work = Path(tmp)
        prepare(args, work)
        load_before = os.getloadavg()[0]
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(work)], check=True, capture_output=True, text=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        if args.out:
            args.out.write_text(json.dumps(result, indent=2))
        print(report(args, result, [load_before, os.getloadavg()[0]]))


if __name__ == "__main__":
    main()
