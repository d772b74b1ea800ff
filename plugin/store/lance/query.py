"""Nearest-neighbour queries on the embedded table: one vector (with a pre-filter) or a batch.

A query goes through the ANN index when there is one (plus an exact scan of rows written since
it was built), with the policy's nprobes / refine factor (:func:`index.apply_tuning`). A
filtered query that comes back short of ``limit`` is answered again exactly over the
pre-filtered rows: the index can miss matches of a selective filter, and the scalar indexes make
that exact pass cheap exactly when the filter is that selective.

On a large table a filtered query is first planned on the in-memory sketch
(:mod:`plugin.store.lance.planner`), which answers it without LanceDB's per-query pre-filter
mask; the path above is taken while no sketch of the table's current version is ready.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from plugin.store.lance import index as indexes
from plugin.store.lance import planner
from plugin.store.lance.index import IndexPolicy, SearchTuning
from plugin.store.lance.planner import SketchCache
from plugin.store.lance.sql import UUID_COLUMN
from plugin.store.protocol import ProductFilter, SearchHit
from schemas.errors import InvalidInputError
from vectorizer_service import Vectors

__all__ = ["MAX_SEARCH_LIMIT", "check_limit", "query_vector", "search_batch", "search_one"]

MAX_SEARCH_LIMIT = 10_000


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_SEARCH_LIMIT:
        raise InvalidInputError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}, got {limit}")


def query_vector(vector: Vectors | Sequence[float], dimension: int) -> np.ndarray:
    """One query as a float32 row of ``dimension``, refusing the wrong size, NaN/inf and all
    zeros (cosine distance to a zero vector is undefined)."""
    array = np.asarray(vector, dtype=np.float32)
    if array.ndim == 2 and array.shape[0] != 1:
        raise InvalidInputError(f"search takes one query vector, got {array.shape[0]}")
    array = array.reshape(-1)
    if array.shape[0] != dimension:
        raise InvalidInputError(f"vector has {array.shape[0]} dimensions, expected {dimension}")
    if not np.all(np.isfinite(array)):
        raise InvalidInputError("vector contains NaN or infinite values")
    if not array.any():
        raise InvalidInputError("query vector is all zeros")
    return array


def _builder(table: Any, query: Any, vector_column: str, limit: int, properties: list[str]) -> Any:
    return (
        table.search(query, vector_column_name=vector_column)
        .distance_type("cosine")
        .select([UUID_COLUMN, *properties, "_distance"])
        .limit(limit)
    )


def _hits(records: list[dict[str, Any]], properties: list[str]) -> list[SearchHit]:
    return [
        SearchHit(
            record[UUID_COLUMN], {name: record.get(name) for name in properties}, float(record["_distance"])
        )
        for record in records
    ]


def _search(
    table: Any,
    query: np.ndarray,
    vector_column: str,
    where: str | None,
    limit: int,
    properties: list[str],
    policy: IndexPolicy,
    tuning: SearchTuning | None,
) -> list[SearchHit]:
    builder = indexes.apply_tuning(
        _builder(table, query, vector_column, limit, properties), policy, tuning, filtered=where is not None
    )
    if where is not None:
        builder = builder.where(where, prefilter=True)
    return _hits(builder.to_list(), properties)


def _planned(
    table: Any,
    sketches: SketchCache,
    filters: ProductFilter,
    query: np.ndarray,
    vector_column: str,
    limit: int,
    properties: list[str],
    policy: IndexPolicy,
) -> list[SearchHit] | None:
    """The filtered query through the sketch, or ``None`` when no sketch of the table's
    current version is ready or the table was written while it ran."""
    version = int(table.version)
    sketch = sketches.current(version)
    if sketch is None:
        return None

    def ann(count: int) -> np.ndarray:
        nprobes = indexes.probes(policy, None, filtered=False)
        builder = (
            table.search(query, vector_column_name=vector_column)
            .distance_type("cosine")
            .select(["_distance"])
            .with_row_id(True)
            .limit(count)
            .minimum_nprobes(nprobes)
            .maximum_nprobes(nprobes)
        )
        return np.asarray(builder.to_arrow().column("_rowid").to_numpy(zero_copy_only=False), np.uint64)

    def take(row_ids: list[int], extra: list[str]) -> Any:
        return table.take_row_ids(row_ids).select([UUID_COLUMN, *properties, *extra]).to_arrow()

    try:
        found = planner.plan_filtered(
            sketch,
            filters,
            query,
            limit,
            ann=ann,
            take=take,
            vector_column=vector_column,
            refine_factor=policy.refine_factor,
        )
    except Exception:
        # A write during the plan can remove rows it reads by id: LanceDB's own query answers.
        if int(table.version) != version:
            return None
        raise
    # Row ids name rows of one version only: a write meanwhile may have moved them.
    if int(table.version) != version:
        return None
    return _hits(found.to_pylist(), properties)


def search_one(
    table: Any,
    query: np.ndarray,
    *,
    vector_column: str,
    where: str | None,
    limit: int,
    properties: list[str],
    policy: IndexPolicy,
    tuning: SearchTuning | None,
    filters: ProductFilter | None = None,
    sketches: SketchCache | None = None,
) -> list[SearchHit]:
    """The ``limit`` nearest rows passing ``where`` (cosine distance), nearest first; ``limit``
    of them whenever that many pass (see the module docstring). ``filters`` is ``where`` before
    translation, for the sketch's planner; a query with its own ``tuning`` skips the planner."""
    if sketches is not None and filters is not None and where is not None and tuning is None:
        planned = _planned(table, sketches, filters, query, vector_column, limit, properties, policy)
        if planned is not None:
            return planned
    hits = _search(table, query, vector_column, where, limit, properties, policy, tuning)
    if len(hits) < limit and not (tuning and tuning.exact):
        exact = _search(
            table, query, vector_column, where, limit, properties, policy, SearchTuning(exact=True)
        )
        if len(exact) > len(hits):
            hits = exact
    return hits


def search_batch(
    table: Any,
    queries: np.ndarray,
    *,
    vector_column: str,
    limit: int,
    properties: list[str],
    policy: IndexPolicy,
) -> list[list[SearchHit]]:
    """One LanceDB query of several vectors (rows of ``queries``), each through the ANN index
    as :func:`search_one`; row ``i``'s hits at ``[i]``, nearest first."""
    if len(queries) == 0:
        return []
    rows = [row for row in queries]
    builder = indexes.apply_tuning(_builder(table, rows, vector_column, limit, properties), policy, None)
    result = builder.to_arrow()
    hits: list[list[SearchHit]] = [[] for _ in rows]
    # One query comes back without the query_index column.
    which = result.column("query_index").to_pylist() if "query_index" in result.column_names else None
    for n, hit in enumerate(_hits(result.to_pylist(), properties)):
        hits[which[n] if which else 0].append(hit)
    for found in hits:
        found.sort(key=lambda h: h.distance)
    return hits
