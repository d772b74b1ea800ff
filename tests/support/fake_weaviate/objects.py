"""The fake's object store rules, shared by its gRPC and GraphQL sides.

Each rule is Weaviate's: an object's named vectors must exist in the class and keep the index's
dimension (adapters/repos/db/vector/hnsw/insert.go); a vector search names an existing target
vector, or the class has only one (adapters/repos/db/shard_read.go); a delete removes at most
``QUERY_MAXIMUM_RESULTS`` objects per request (adapters/repos/db/batch.go); the cursor API pages
through objects in UUID order strictly after a UUID and refuses any other search parameter
(entities/filters/cursor.go, usecases/traverser/explorer_validate_cursor.go).
"""

from __future__ import annotations

import uuid as uuid_module
from typing import Any

import numpy as np
from weaviate.proto.v1 import base_pb2, search_get_pb2

from .filters import _matches, _schema_props
from .schema import vectorize_settings
from .state import FakeWeaviateError, FakeWeaviateState, StoredObject
from .vectorize import vectorize_object

__all__ = ["cursor_page", "delete_matching", "prepare_object", "vector_search"]


def _named_vectors(cls: dict[str, Any] | None) -> dict[str, Any]:
    return dict((cls or {}).get("vectorConfig") or {})


def prepare_object(
    state: FakeWeaviateState, collection: str, props: dict[str, Any], given: dict[str, np.ndarray]
) -> StoredObject:
    """The object as Weaviate would store it: vectors computed by multi2vec-clip where the class
    says so and none was given, each checked against the class; :class:`FakeWeaviateError` else.
    Call without the state lock: vectorizing calls the inference service."""
    with state.lock:
        cls = state.schema.get(collection)
    if cls is None:
        raise FakeWeaviateError(f"class {collection!r} not found in schema")
    named = _named_vectors(cls)
    unknown = sorted(set(given) - set(named))
    if unknown:
        raise FakeWeaviateError(f"collection {collection} does not have named vector {unknown[0]!r}")
    vectors = dict(given)
    for name in named:
        clip = vectorize_settings(cls, name)
        if clip is not None and name not in vectors:
            vectors[name] = vectorize_object(props, clip, state.clip_inference_api)
    with state.lock:
        for name, vector in vectors.items():
            dims = state.dimensions.setdefault((collection, name), len(vector))
            if len(vector) != dims:
                raise FakeWeaviateError(
                    f"new node has a vector with length {len(vector)}. "
                    f"Existing nodes have vectors with length {dims}"
                )
    return StoredObject(props, vectors)


def _target(cls: dict[str, Any] | None, target: str | None) -> str:
    named = _named_vectors(cls)
    if target is None:
        if len(named) > 1:
            raise FakeWeaviateError("multiple target vectors: specify targetVectors")
        target = next(iter(named), "")
    if target not in named:
        raise FakeWeaviateError(f'index for target vector "{target}" not found')
    return target


def vector_search(
    state: FakeWeaviateState,
    collection: str,
    query: np.ndarray | None,
    target: str | None,
    filters: base_pb2.Filters | None,
    limit: int,
    max_distance: float | None = None,
    objects_key: str | None = None,
) -> list[tuple[float, str, StoredObject]]:
    """(cosine distance, uuid, object) best first; without ``query`` every object that passes
    ``filters``, in UUID order."""
    with state.lock:
        cls = state.schema.get(collection)
        objects = dict(state.objects.get(objects_key or collection, {}))
    schema = _schema_props(cls)
    name = _target(cls, target) if query is not None else None
    scored: list[tuple[float, str, StoredObject]] = []
    for oid, obj in objects.items():
        if filters is not None and not _matches(filters, oid, obj.properties, schema):
            continue
        distance = 0.0
        if query is not None:
            stored = obj.vectors.get(name or "")
            if stored is None:
                continue  # an object without this vector is not in the index
            if stored.shape != query.shape:
                raise FakeWeaviateError(
                    f"vector search: vector lengths don't match: {len(query)} vs {len(stored)}"
                )
            distance = 1.0 - float(np.dot(query, stored) / (np.linalg.norm(query) * np.linalg.norm(stored)))
            if max_distance is not None and distance > max_distance:
                continue
        scored.append((distance, oid, obj))
    scored.sort(key=lambda t: (t[0], t[1]))
    return scored[:limit]


def delete_matching(
    state: FakeWeaviateState, collection: str, filters: base_pb2.Filters, objects_key: str | None = None
) -> tuple[int, int]:
    """(matches, deleted): at most ``state.query_maximum_results`` per call, like Weaviate."""
    with state.lock:
        objects = state.objects.get(objects_key or collection, {})
        schema = _schema_props(state.schema.get(collection))
        doomed = [oid for oid, o in objects.items() if _matches(filters, oid, o.properties, schema)]
        doomed = doomed[: state.query_maximum_results]
        for oid in doomed:
            del objects[oid]
    return len(doomed), len(doomed)


# Search parameters the explorer refuses beside a cursor with "other params cannot be set ...".
_NOT_WITH_CURSOR = (
    "near_vector",
    "near_object",
    "near_text",
    "near_image",
    "hybrid_search",
    "bm25_search",
    "group_by",
    "generative",
    "rerank",
)


def cursor_page(
    state: FakeWeaviateState,
    collection: str,
    request: search_get_pb2.SearchRequest,
    objects_key: str | None = None,
) -> list[tuple[float, str, StoredObject]]:
    """A gRPC search with ``after`` set: the cursor API. Weaviate (parse_search_request.go) turns
    a non-empty ``after`` into a cursor of the request's limit (10 when unset); the explorer
    refuses it beside a vector or keyword search, and ``ValidateCursor`` beside ``offset``,
    ``where`` or ``sort``, or when ``after`` is not a UUID. The page is the next ``limit``
    objects in UUID order (the objects bucket's key order, merged across shards by UUID),
    strictly after ``after``, which need not exist any more; a page is at most
    ``QUERY_MAXIMUM_RESULTS`` objects."""
    prefix = "cursor api: invalid 'after' parameter: "
    if any(request.HasField(name) for name in _NOT_WITH_CURSOR):
        raise FakeWeaviateError(prefix + "other params cannot be set with after and limit parameters")
    refused = [
        name
        for name, present in (
            ("offset", request.offset > 0),
            ("where", request.HasField("filters")),
            ("sort", len(request.sort_by) > 0),
        )
        if present
    ]
    if refused:
        raise FakeWeaviateError(prefix + ",".join(refused) + " cannot be set with after and limit parameters")
    try:
        after = str(uuid_module.UUID(request.after))
    except ValueError as exc:
        raise FakeWeaviateError(
            f"{prefix}after parameter '{request.after}' is not a valid uuid: {exc}"
        ) from exc
    limit = request.limit or 10
    with state.lock:
        if collection not in state.schema:
            raise FakeWeaviateError(f"class {collection!r} not found in schema")
        if limit > state.query_maximum_results:
            # db.Search's getTotalLimit: a cursor page is a search like any other.
            raise FakeWeaviateError("query maximum results exceeded")
        objects = dict(state.objects.get(objects_key or collection, {}))
    page = sorted(oid for oid in objects if oid > after)[:limit]
    return [(0.0, oid, objects[oid]) for oid in page]
