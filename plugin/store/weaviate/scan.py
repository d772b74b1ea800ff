"""The Weaviate store's whole-collection scan: the cursor API, regrouped into batches.

``collection.iterator`` pages with gRPC ``after`` = the last UUID seen: Weaviate answers the next
``limit`` objects in UUID order, strictly after it, and refuses a filter, sort or offset beside
a cursor (entities/filters/cursor.go). Each page is a search that ``QUERY_MAXIMUM_RESULTS``
bounds, so pages stay small; batches are regrouped from them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from weaviate.collections import Collection
from weaviate.exceptions import WeaviateBaseError

from plugin.store.protocol import VectorBatch
from schemas.errors import UpstreamError

__all__ = ["DEFAULT_CURSOR_PAGE", "cursor_scan"]

DEFAULT_CURSOR_PAGE = 1000
"""Objects per cursor request: a page of 512-d vectors and properties stays far below gRPC's
message limit, and below Weaviate's default QUERY_MAXIMUM_RESULTS (10,000)."""


def _matrix(rows: list[list[float]], n: int) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32).reshape(n, -1)


def cursor_scan(
    collection: Collection[Any, Any],
    vector_name: str,
    *,
    batch_size: int,
    page: int,
    properties: list[str],
    with_vectors: bool,
) -> Iterator[VectorBatch]:
    """Every object once (with ``vector_name``, those that have it), in batches of at most
    ``batch_size``; properties only (``(n, 0)`` vectors) when ``with_vectors`` is false."""
    objects = collection.iterator(
        include_vector=with_vectors, return_properties=properties, cache_size=min(batch_size, page)
    )
    uuids: list[str] = []
    rows: list[list[float]] = []
    values: dict[str, list[Any]] = {name: [] for name in properties}
    try:
        for obj in objects:
            vector = obj.vector.get(vector_name) if obj.vector else None
            if with_vectors and not vector:
                continue  # not in the vector index: search never finds it either
            uuids.append(str(obj.uuid))
            rows.append(vector if with_vectors else [])  # type: ignore[arg-type]  # a named vector is flat
            for name in properties:
                values[name].append(obj.properties.get(name))
            if len(uuids) == batch_size:
                yield VectorBatch(uuids, _matrix(rows, len(uuids)), values)
                uuids, rows, values = [], [], {name: [] for name in properties}
    except WeaviateBaseError as exc:
        raise UpstreamError(f"cannot scan the collection: {exc}") from exc
    if uuids:
        yield VectorBatch(uuids, _matrix(rows, len(uuids)), values)
