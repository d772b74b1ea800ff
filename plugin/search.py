"""``nearGrounded``: a composed query (reference image + requested change) as a vector search.

The encoder composes the query into one vector (background removal, caption, fusion, embedding,
all on the service), then the store searches by that vector. Two entry points: one over the
store-neutral :class:`ProductStore`, and one over a weaviate-client ``Collection`` for users who
already hold one (Weaviate filters, any target vector, the client's own result objects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from weaviate.classes.query import MetadataQuery
from weaviate.collections import Collection
from weaviate.collections.classes.filters import _Filters
from weaviate.collections.classes.internal import Object
from weaviate.exceptions import WeaviateBaseError

from plugin.encoder import QueryEncoder
from plugin.store.protocol import ProductFilter, ProductStore, SearchHit
from schemas.collection import DEFAULT_VECTOR
from schemas.errors import InvalidInputError, UpstreamError
from schemas.wire import ComposeExplanation, ComposeOptions, ComposeResult

__all__ = ["GroundedResult", "GroundedWeaviateResult", "near_grounded", "near_grounded_collection"]


@dataclass
class GroundedResult:
    """Ranked products and what the composed query did."""

    hits: list[SearchHit]
    explanation: ComposeExplanation


@dataclass
class GroundedWeaviateResult:
    """weaviate-client result objects (``metadata.distance`` set), the explanation, and the
    query vector that was searched with."""

    objects: list[Object[Any, Any]]
    explanation: ComposeExplanation
    vector: list[float]


def _compose(
    encoder: QueryEncoder, image: bytes | None, text: str, limit: int, options: ComposeOptions | None
) -> ComposeResult:
    if image is None and not text.strip():
        raise InvalidInputError("nearGrounded needs a reference image, a text, or both")
    if limit < 1:
        raise InvalidInputError(f"limit must be at least 1, got {limit}")
    return encoder.compose(image, text, options)


def near_grounded(
    store: ProductStore,
    encoder: QueryEncoder,
    *,
    image: bytes | None,
    text: str,
    filters: ProductFilter | None = None,
    limit: int = 10,
    return_properties: Sequence[str] | None = None,
    options: ComposeOptions | None = None,
) -> GroundedResult:
    """The ``limit`` products nearest to the composed query, best first."""
    composed = _compose(encoder, image, text, limit, options)
    hits = store.search(composed.vector, filters=filters, limit=limit, return_properties=return_properties)
    return GroundedResult(hits=hits, explanation=composed.explanation)


def near_grounded_collection(
    collection: Collection[Any, Any],
    encoder: QueryEncoder,
    *,
    image: bytes | None,
    text: str,
    filters: _Filters | None = None,
    limit: int = 10,
    target_vector: str = DEFAULT_VECTOR,
    return_properties: Sequence[str] | None = None,
    options: ComposeOptions | None = None,
) -> GroundedWeaviateResult:
    """``nearGrounded`` on a weaviate-client collection: compose, then ``near_vector`` on
    ``target_vector`` with the caller's Weaviate ``filters``."""
    composed = _compose(encoder, image, text, limit, options)
    try:
        res = collection.query.near_vector(
            near_vector=composed.vector,
            target_vector=target_vector,
            filters=filters,
            limit=limit,
            return_properties=list(return_properties) if return_properties is not None else None,
            return_metadata=MetadataQuery(distance=True),
        )
    except WeaviateBaseError as exc:
        raise UpstreamError(f"Weaviate search failed: {exc}") from exc
    return GroundedWeaviateResult(
        objects=list(res.objects), explanation=composed.explanation, vector=composed.vector
    )
