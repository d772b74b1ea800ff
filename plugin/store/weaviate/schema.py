"""The collection spec and the store-neutral query in weaviate-client terms: property
definitions, the named-vector configuration, query filters and query vectors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from weaviate.classes.config import Configure, DataType, Multi2VecField, Property, Tokenization
from weaviate.classes.query import Filter
from weaviate.collections.classes.filters import _Filters

from plugin.store.protocol import ProductFilter
from plugin.store.weaviate.drift import inference_url
from plugin.store.weaviate.index import index_and_quantizer
from schemas.collection import ATTRIBUTE_SEPARATOR, CollectionSpec, PropertySpec
from schemas.collection import DataType as SpecType
from schemas.errors import InvalidInputError
from vectorizer_service import Vectors

__all__ = ["as_vector", "product_filter", "vector_config", "weaviate_properties"]

_DATA_TYPES: dict[SpecType, DataType] = {
    SpecType.TEXT: DataType.TEXT,
    SpecType.TEXT_ARRAY: DataType.TEXT_ARRAY,
    SpecType.NUMBER: DataType.NUMBER,
    SpecType.BLOB: DataType.BLOB,
}
_TEXT_TYPES = (SpecType.TEXT, SpecType.TEXT_ARRAY)


def weaviate_properties(spec: CollectionSpec) -> list[Property]:
    """weaviate-client property definitions for the spec's properties."""
    return [_property(prop) for prop in spec.properties]


def _property(prop: PropertySpec) -> Property:
    tokenization = None
    if prop.data_type in _TEXT_TYPES:
        tokenization = Tokenization.FIELD if prop.exact else Tokenization.WORD
    return Property(
        name=prop.name,
        data_type=_DATA_TYPES[prop.data_type],
        description=prop.description,
        tokenization=tokenization,
        index_filterable=prop.filterable if prop.data_type is not SpecType.BLOB else False,
        # Only free text is worth a BM25 index; exact fields are matched by filters.
        index_searchable=prop.data_type in _TEXT_TYPES and not prop.exact and prop.filterable,
        index_range_filters=prop.data_type is SpecType.NUMBER,
    )


def vector_config(spec: CollectionSpec, clip_inference_url: str | None) -> Any:
    """The named-vector configuration: multi2vec-clip (weighted image and text fields) when
    Weaviate computes vectors, self-provided otherwise; cosine distance either way."""
    vec = spec.vector
    index, quantizer = index_and_quantizer(vec.index)
    if not vec.server_side:
        return Configure.Vectors.self_provided(name=vec.name, vector_index_config=index, quantizer=quantizer)
    return Configure.Vectors.multi2vec_clip(
        name=vec.name,
        inference_url=inference_url(clip_inference_url),
        image_fields=[Multi2VecField(name=n, weight=w) for n, w in vec.image_fields.items()],
        text_fields=[Multi2VecField(name=n, weight=w) for n, w in vec.text_fields.items()],
        vector_index_config=index,
        quantizer=quantizer,
    )


def product_filter(filters: ProductFilter | None) -> _Filters | None:
    """Translate the store-neutral filter into a Weaviate filter (``None`` when empty)."""
    if filters is None:
        return None
    parts: list[_Filters] = []
    for name, value in (("category", filters.category), ("brand", filters.brand)):
        if value is None:
            continue
        if isinstance(value, str):
            parts.append(Filter.by_property(name).equal(value))
        elif value:
            parts.append(Filter.by_property(name).contains_any(list(value)))
    if filters.price_min is not None:
        parts.append(Filter.by_property("price").greater_or_equal(filters.price_min))
    if filters.price_max is not None:
        parts.append(Filter.by_property("price").less_or_equal(filters.price_max))
    if filters.attributes:
        pairs = sorted(f"{k}{ATTRIBUTE_SEPARATOR}{v}" for k, v in filters.attributes.items())
        parts.append(Filter.by_property("attributes").contains_all(pairs))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Filter.all_of(parts)


def as_vector(vector: Vectors | Sequence[float]) -> list[float]:
    """One query vector as a plain list (accepts a ``(d,)`` or ``(1, d)`` array)."""
    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise InvalidInputError(f"expected one query vector, got an array of shape {arr.shape}")
    return [float(x) for x in arr]
