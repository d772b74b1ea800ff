"""``nearGrounded``: a composed query (reference image + requested change) as a vector search.

The encoder composes the query into one vector (background removal, caption, fusion, embedding,
all on the service), then the store searches by that vector. Two entry points: one over the
store-neutral :class:`ProductStore`, and one over a weaviate-client ``Collection`` for users who
already hold one (Weaviate filters, any target vector, the client's own result objects).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from plugin.encoder.protocol import QueryEncoder
from plugin.store.protocol import ProductFilter, ProductStore, SearchHit, StoredProduct
from schemas.collection import DEFAULT_VECTOR
from schemas.errors import InvalidInputError, NotFoundError, UpstreamError
from schemas.limits import (
    MAX_ATTRIBUTE_NAME_CHARS,
    MAX_ATTRIBUTE_VALUE_CHARS,
    MAX_CATALOG_ATTRIBUTES,
    MAX_CATALOG_CAPTION_CHARS,
)
from schemas.wire import ComposeExplanation, ComposeOptions, ComposeResult

if TYPE_CHECKING:
    # The weaviate client takes a second to import: only near_grounded_collection needs it,
    # never the embedded store's search (grounded search, the page, the evaluation).
    from weaviate.collections import Collection
    from weaviate.collections.classes.filters import _Filters
    from weaviate.collections.classes.internal import Object

__all__ = [
    "GroundedResult",
    "GroundedWeaviateResult",
    "catalog_options",
    "near_grounded",
    "near_grounded_collection",
    "reference_image",
    "result_payload",
]

MAX_SEARCH_LIMIT = 10_000
"""The stores' largest ``limit`` (Weaviate's default QUERY_MAXIMUM_RESULTS, LanceStore's cap)."""


@dataclass
class GroundedResult:
    """Ranked products and what the composed query did."""

    hits: list[SearchHit]
    explanation: ComposeExplanation


def result_payload(result: GroundedResult) -> dict[str, Any]:
    """The result as JSON-ready data: ``grounded search --json`` prints it and the search page's
    ``/api/search`` answers with it (the cut-out PNG left out: the explanation says what it did)."""
    return {
        "hits": [{"uuid": h.uuid, "distance": h.distance, "properties": h.properties} for h in result.hits],
        "explanation": result.explanation.model_dump(mode="json", exclude={"cutout_png"}),
    }


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


def reference_image(store: ProductStore, product_id: str) -> tuple[StoredProduct, bytes]:
    """The stored product ``product_id`` and its stored image: the reference of a "this
    product, but ..." query, so the caller uploads nothing. Unknown ids are a clear error."""
    stored = store.product(product_id)
    if stored is None:
        raise NotFoundError(f"product {product_id!r} is not in collection {store.spec.name!r}")
    encoded = stored.properties.get("image")
    if not encoded:
        raise InvalidInputError(f"product {product_id!r} has no stored image to search from")
    try:
        return stored, base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"product {product_id!r}: its stored image is not valid base64") from exc


def catalog_options(stored: StoredProduct, options: ComposeOptions | None) -> ComposeOptions:
    """``options`` with the stored product's merchant data as the caption: its title and its
    catalog attributes (a better caption than any zero-shot guess); the captioner then fills in
    only attributes the catalog lacks. What the caller set explicitly is kept."""
    base = options or ComposeOptions()
    props = stored.properties
    try:
        attributes = json.loads(props.get("attributes_json") or "{}")
    except json.JSONDecodeError:
        attributes = {}
    update: dict[str, Any] = {}
    if base.catalog_caption is None and props.get("title"):
        update["catalog_caption"] = str(props["title"])[:MAX_CATALOG_CAPTION_CHARS]
    if base.catalog_attributes is None and isinstance(attributes, dict) and attributes:
        update["catalog_attributes"] = _within_limits({str(k): str(v) for k, v in attributes.items()})
    return base.model_copy(update=update)


def _within_limits(attributes: dict[str, str]) -> dict[str, str]:
    """The attributes a compose request accepts (:mod:`schemas.limits`): the first ones, in the
    catalog's order, whose name and value fit. A caption needs a few attributes, not all of a
    catalog row that ingestion accepted (values up to 100,000 characters)."""
    kept = {
        k: v
        for k, v in attributes.items()
        if len(k) <= MAX_ATTRIBUTE_NAME_CHARS and len(v) <= MAX_ATTRIBUTE_VALUE_CHARS
    }
    return dict(list(kept.items())[:MAX_CATALOG_ATTRIBUTES])


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
    product: str | None = None,
    include_reference: bool = False,
) -> GroundedResult:
    """The ``limit`` products nearest to the composed query, best first.

    With ``product`` (a catalog id) the stored product's image is the reference (``image``
    must then be ``None``), and that product is left out of the results unless
    ``include_reference``: "this one, but blue" never answers with this one.
    """
    reference: StoredProduct | None = None
    if product is not None:
        if image is not None:
            raise InvalidInputError("give a reference image or a stored product, not both")
        reference, image = reference_image(store, product)
        options = catalog_options(reference, options)
    composed = _compose(encoder, image, text, limit, options)
    skip = reference is not None and not include_reference
    # One more than asked, so that dropping the reference still leaves ``limit`` hits.
    wanted = min(limit + 1, MAX_SEARCH_LIMIT) if skip else limit
    hits = store.search(composed.vector, filters=filters, limit=wanted, return_properties=return_properties)
    if skip and reference is not None:
        hits = [h for h in hits if h.uuid != reference.uuid][:limit]
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
    from weaviate.classes.query import MetadataQuery
    from weaviate.exceptions import WeaviateBaseError

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
