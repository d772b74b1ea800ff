"""Near-duplicates and bulk writes at catalog scale (issue 24, items 2 and 3): a benchmark, not a test.

Prints, from one run on one machine:

1. the search-based ``find_duplicates`` of main (kept verbatim as ``old_find_duplicates`` in
   ``benchmarks/main_duplicates.py``:
   products listed by one search capped at 10,000 hits, one ``product()`` read and one search
   per product) beside the scan-based one (``plugin.search.duplicates``) at ``--compare`` sizes:
   time ratio and whether the groups are the same;
2. the scan-based one alone at ``--sizes``: its exact path (flat cells, in two levels of
   centroids from 1,000 cells on), beside main's flat cells of before this round
   (``benchmarks/main_pair_cells.py``, verbatim) at ``--cells`` sizes, every pair compared at
   ``--allpairs`` sizes, and its ANN path (``exact_limit=0``: k neighbours per product from the
   store's IVF index, batched) at ``--ann`` sizes, each with whether the groups are the exact
   path's;
3. ``LanceStore.upsert`` / ``upsert_changed`` throughput of precomputed vectors, main's per-row
   Arrow tables (``old_upsert``, verbatim) beside the columnar batch, ``--upsert`` rows in calls
   of ``--upsert-batch``.

Every duplicates run happens in a child process of its own, on a store the parent wrote to a
temp dir, so its peak RSS (``ru_maxrss``) is that run's: interpreter and imports included
(about 200 MB), vector generation not.

    .venv/bin/python benchmarks/duplicates_scale.py                  # the table in docs/scale.md
    .venv/bin/python benchmarks/duplicates_scale.py --compare 2000 --sizes 50000 --ann 0 --upsert 0
    .venv/bin/python benchmarks/duplicates_scale.py --compare "" --sizes 200000,1000000 \
        --cells 200000 --allpairs 0 --ann 0 --upsert 0 --keep /tmp/dups   # issue 24's 1M row

``--keep DIR`` writes the stores under ``DIR`` and reuses them on the next run (generating and
loading 1M vectors takes minutes); ``/proc/loadavg`` is printed before and after each table, as
the machine these numbers come from is shared.
Vectors: :func:`catalog_vectors.clustered_vectors` (unit, clustered like catalog embeddings, dim
``--dim``) plus near-copies of ``--copies`` of them (noise ``--noise`` per dimension).
"""

from __future__ import annotations

import argparse
import json
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.catalog_vectors import clustered_vectors
from benchmarks.main_duplicates import old_find_duplicates, old_upsert
from plugin.store import ProductRow
from plugin.store.fingerprint import FINGERPRINT_PROPERTY
from plugin.store.lance.store import UUID_COLUMN, LanceStore, arrow_schema

COLLECTION = "Dups"


# --- data -----------------------------------------------------------------------------------------


def catalog(n: int, dim: int, copies: float, noise: float, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: clustered ones, the last ``copies`` of them near-copies of others."""
    n_copies = int(n * copies)
    base = clustered_vectors(n - n_copies, dim, seed=seed)
    rng = np.random.default_rng(seed + 1)
    sources = rng.integers(0, len(base), n_copies)
    out = np.empty((n, dim), dtype=np.float32)
    out[: len(base)] = base
    for start in range(0, n_copies, 100_000):
        part = sources[start : start + 100_000]
        near = base[part] + noise * rng.standard_normal((len(part), dim)).astype(np.float32)
        out[len(base) + start : len(base) + start + len(part)] = near / np.linalg.norm(
            near, axis=1, keepdims=True
        )
    return out


def load(data_dir: Path, vectors: np.ndarray, *, index: bool) -> None:
    """The vectors straight into the embedded table (this measures duplicates, not ingestion)."""
    dim = vectors.shape[1]
    store = LanceStore(data_dir, dimension=dim, collection=COLLECTION)
    store.create_collection()
    schema = arrow_schema(store.spec, dim)
    table = lancedb.connect(str(data_dir)).open_table(COLLECTION)
    for start in range(0, len(vectors), 100_000):
        stop = min(len(vectors), start + 100_000)
        ids = [f"p{i}" for i in range(start, stop)]
        columns: dict[str, Any] = {
            name: pa.nulls(stop - start, schema.field(name).type) for name in schema.names
        }
        columns[UUID_COLUMN] = pa.array(ids)
        columns["product_id"] = pa.array(ids)
        columns["title"] = pa.array([f"product {i}" for i in range(start, stop)])
        flat = pa.array(vectors[start:stop].reshape(-1))
        columns[store.spec.vector.name] = pa.FixedSizeListArray.from_arrays(flat, dim)
        table.add(pa.table([columns[name] for name in schema.names], schema=schema))
    table.optimize()
    if index:
        store.build_indexes()
    store.close()
    (data_dir / "loaded").touch()


# --- one measurement in a child process --------------------------------------------------------


def child(kind: str, data_dir: Path, dim: int, threshold: float) -> None:
    from plugin.search.duplicates import find_duplicates

    store = LanceStore(data_dir, dimension=dim, collection=COLLECTION)
    started = time.perf_counter()
    if kind == "old":
        groups, products = old_find_duplicates(store, dim, threshold=threshold)
    elif kind in ("allpairs", "cells"):  # every pair compared, or main's flat cells (verbatim)
        from benchmarks.main_pair_cells import cell_pairs
        from plugin.search import duplicates, similar_pairs

        def before(unit: np.ndarray, threshold: float, *, assigned: Any = None, **kwargs: Any) -> Any:
            if kind == "allpairs":
                return similar_pairs.all_pairs(unit, threshold, **kwargs)
            return cell_pairs(unit, threshold, unit.shape[0] // similar_pairs.CELL_ROWS, **kwargs)

        duplicates.exact_pairs = before  # type: ignore[assignment]  # the same call
        report = duplicates.find_duplicates(store, threshold=threshold, exact_limit=10**9)
        groups = [[(m.product_id, m.similarity) for m in g.members] for g in report.groups]
        products = report.products
    else:
        report = find_duplicates(store, threshold=threshold, exact_limit=0 if kind == "ann" else 10**9)
        groups = [[(m.product_id, m.similarity) for m in g.members] for g in report.groups]
        products = report.products
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "products": products, "groups": groups, "rss_mb": rss_mb}))


def measure(kind: str, data_dir: Path, dim: int, threshold: float) -> dict[str, Any]:
    args = [sys.executable, __file__, "--child", kind, "--dir", str(data_dir), "--dim", str(dim)]
    out = subprocess.run([*args, "--threshold", str(threshold)], check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["sets"] = {frozenset(pid for pid, _ in g) for g in result["groups"]}
    return result


def stored(tmp: Path, name: str, args: argparse.Namespace, n: int, *, index: bool) -> Path:
    """A store of ``n`` catalog vectors under ``tmp``, generated and loaded only when not kept."""
    data = tmp / name
    if not (data / "loaded").exists():
        load(data, catalog(n, args.dim, args.copies, args.noise), index=index)
    return data


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _pairs(groups: set[frozenset[str]]) -> set[frozenset[str]]:
    return {frozenset((a, b)) for g in groups for a in g for b in g if a < b}


# --- the tables ----------------------------------------------------------------------------------


def duplicates_tables(args: argparse.Namespace, tmp: Path) -> None:
    print(f"\n### Duplicates, {args.dim}-d, threshold {args.threshold}\n")
    print(
        "| products | search-based (main) s | scan, exact s | x faster | same groups | groups | peak RSS MB |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in args.compare:
        data = stored(tmp, f"c{n}", args, n, index=False)
        old = measure("old", data, args.dim, args.threshold)
        new = measure("exact", data, args.dim, args.threshold)
        same = (
            "yes"
            if old["sets"] == new["sets"]
            else (
                f"no: main misses {len(_pairs(new['sets']) - _pairs(old['sets']))} "
                f"of {len(_pairs(new['sets']))} pairs"
            )
        )
        print(
            f"| {n:,} | {old['seconds']:.1f} | {new['seconds']:.1f} | "
            f"{old['seconds'] / new['seconds']:.0f}x | {same} | {len(new['sets'])} | "
            f"{old['rss_mb']:.0f} / {new['rss_mb']:.0f} |",
            flush=True,
        )
    print(f"\nload average at the start: {loadavg()}")
    print(
        "\n| products | method | seconds | products/s | groups | in groups | peak RSS MB | vs exact | load |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sorted(set(args.sizes) | set(args.ann) | set(args.cells)):
        data = stored(tmp, f"s{n}{'i' if n in args.ann else ''}", args, n, index=n in args.ann)
        exact = measure("exact", data, args.dim, args.threshold)
        exact["load"] = loadavg()
        rows = [("exact, cells (two-level centroids)", exact, "")]
        baselines = [
            ("cells", "exact, flat cells (main, before)", "new", args.cells),
            ("allpairs", "exact, every pair (before)", "cells", args.allpairs),
        ]
        for kind, label, winner, sizes in baselines:
            if n in sizes:
                before = measure(kind, data, args.dim, args.threshold)
                before["load"] = loadavg()
                same = "same groups" if before["sets"] == exact["sets"] else "DIFFERENT groups"
                speed = f"{winner} {before['seconds'] / exact['seconds']:.1f}x faster"
                rows.append((label, before, f"{same}; {speed}"))
        if n in args.ann:
            ann = measure("ann", data, args.dim, args.threshold)
            ann["load"] = loadavg()
            truth = _pairs(exact["sets"])
            found = _pairs(ann["sets"]) & truth
            same = (
                "same groups"
                if ann["sets"] == exact["sets"]
                else f"pair recall {len(found) / max(1, len(truth)):.3f}"
            )
            rows.append(("ANN, 10 neighbours", ann, same))
        for name, r, versus in rows:
            members = sum(len(g) for g in r["sets"])
            print(
                f"| {n:,} | {name} | {r['seconds']:.1f} | {n / r['seconds']:,.0f} | {len(r['sets'])} | "
                f"{members} | {r['rss_mb']:.0f} | {versus} | {r['load']} |",
                flush=True,
            )
    print(f"\nload average at the end: {loadavg()}")


def upsert_table(args: argparse.Namespace, tmp: Path) -> None:
    n, per, dim = args.upsert, args.upsert_batch, args.dim
    vectors = catalog(n, dim, 0.0, 0.0, seed=7)

    def rows(fingerprint: str) -> list[ProductRow]:
        return [
            ProductRow(
                f"{i:032x}",
                {
                    "product_id": f"p{i}",
                    "title": f"product {i}",
                    "attributes": ["colour=red"],
                    "price": float(i),
                    FINGERPRINT_PROPERTY: f"{fingerprint}{i}",
                },
                vectors[i].tolist(),
            )
            for i in range(n)
        ]

    first, second = rows("a"), rows("b")
    print(f"\n### Upsert of precomputed {dim}-d vectors, {n:,} rows in calls of {per:,}\n")
    print("| what | main rows/s | columnar, float lists rows/s | columnar, one matrix rows/s | x main |")
    print("|---|---|---|---|---|")
    results: dict[str, dict[str, float]] = {}
    for version in ("main", "new", "matrix"):
        store = LanceStore(tmp / f"u{version}", dimension=dim)
        store.create_collection()
        timings = {}
        for what, batch, changed_only in (
            ("upsert, new rows", first, False),
            ("upsert_changed, every row changed", second, True),
            ("upsert_changed, nothing changed", second, True),
        ):
            started = time.perf_counter()
            for start in range(0, n, per):
                part = batch[start : start + per]
                if version == "main":
                    result = old_upsert(store, part, changed_only=changed_only)
                    assert not result.errors
                else:
                    matrix = vectors[start : start + per] if version == "matrix" else None
                    if changed_only:
                        assert not store.upsert_changed(part, vectors=matrix).errors
                    else:
                        assert store.upsert(part, vectors=matrix) == []
            timings[what] = n / (time.perf_counter() - started)
        assert store.count() == n
        results[version] = timings
        store.close()
    for what in results["main"]:
        old, new, matrix = (results[v][what] for v in ("main", "new", "matrix"))
        print(f"| {what} | {old:,.0f} | {new:,.0f} | {matrix:,.0f} | {matrix / old:.1f}x |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--compare", type=lambda s: [int(x) for x in s.split(",") if x], default=[2000, 10000]
    )
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",") if x], default=[50_000, 100_000]
    )
    parser.add_argument(
        "--ann", type=lambda s: [int(x) for x in s.split(",") if x and x != "0"], default=[20_000]
    )
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument(
        "--copies", type=float, default=0.02, help="fraction of products that are near-copies"
    )
    parser.add_argument("--noise", type=float, default=0.01, help="per-dimension noise of a near-copy")
    parser.add_argument(
        "--upsert", type=int, default=100_000, help="rows of the upsert comparison (0 = skip)"
    )
    parser.add_argument("--upsert-batch", type=int, default=50_000)
    parser.add_argument(
        "--child", choices=["old", "exact", "allpairs", "cells", "ann"], help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--cells",
        type=lambda s: [int(x) for x in s.split(",") if x and x != "0"],
        default=[],
        help="sizes at which main's flat cells (before this round) run beside the exact path",
    )
    parser.add_argument("--keep", type=Path, help="keep the stores here and reuse them")
    parser.add_argument(
        "--allpairs",
        type=lambda s: [int(x) for x in s.split(",") if x and x != "0"],
        default=[100_000],
        help="sizes at which the exact path before cells (every pair) runs beside it",
    )
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.dir, args.dim, args.threshold)
        return
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        duplicates_tables(args, args.keep)
        if args.upsert:
            upsert_table(args, args.keep)
        return
    with tempfile.TemporaryDirectory() as tmp:
        duplicates_tables(args, Path(tmp))
        if args.upsert:
            upsert_table(args, Path(tmp))


if __name__ == "__main__":
    main()
