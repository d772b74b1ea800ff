"""``grounded index build|status|optimize``: the embedded store's vector and scalar indexes
(plugin.store.lance.index). Weaviate indexes on its own; these commands need no model."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from plugin.cli._common import EXIT_OK, Commands, plugin_settings
from schemas.errors import InvalidInputError

if TYPE_CHECKING:
    from plugin.store.lance.store import LanceStore


def _store(args: argparse.Namespace) -> LanceStore:
    from plugin.store import open_embedded_store

    settings = plugin_settings(args)
    if settings.store_backend() == "weaviate":
        raise InvalidInputError("index commands manage the embedded store; Weaviate builds its own indexes")
    return open_embedded_store(settings)


def _print_status(store: LanceStore, as_json: bool) -> None:
    from plugin.store.lance.index import vector_index_kind

    status = store.index_status()
    if as_json:
        payload = {
            "rows": status.rows,
            "unindexed_rows": status.unindexed_rows,
            "vector_index": vector_index_kind(status.vector),
            "indexes": [vars(s) for s in status.indexes],
        }
        print(json.dumps(payload, indent=2))
        return
    kind = vector_index_kind(status.vector) or "none (exact search)"
    print(f"rows: {status.rows}  vector index: {kind}  unindexed rows: {status.unindexed_rows}")
    for s in status.indexes:
        print(
            f"  {s.column:<12} {s.index_type:<10} "
            f"indexed {s.indexed_rows:>10}  unindexed {s.unindexed_rows:>8}"
        )


def _build(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        timings = store.build_indexes(vector=not args.scalars_only)
        for column, seconds in timings.items():
            print(f"built {column} in {seconds:.1f} s")
        _print_status(store, args.json)
    finally:
        store.close()
    return EXIT_OK


def _status(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        _print_status(store, args.json)
    finally:
        store.close()
    return EXIT_OK


def _optimize(args: argparse.Namespace) -> int:
    store = _store(args)
    try:
        store.optimize_indexes()
        _print_status(store, args.json)
    finally:
        store.close()
    return EXIT_OK


def register(commands: Commands) -> None:
    group = commands.group("index", "the embedded store's ANN and filter indexes (build, status, optimize)")
    settings = ("store-backend", "store", "data", "lance")
    build = group.add(
        "build", "build (or rebuild) the vector index and the scalar filter indexes", settings=settings
    )
    build.add_argument("--scalars-only", action="store_true", help="only the scalar (filter) indexes")
    build.set_defaults(run=_build)
    status = group.add("status", "rows, indexes, and rows not yet in the vector index", settings=settings)
    status.set_defaults(run=_status)
    optimize = group.add("optimize", "fold rows written since the build into the indexes", settings=settings)
    optimize.set_defaults(run=_optimize)
    for sub in (build, status, optimize):
        sub.add_argument("--json", action="store_true", help="print JSON")
