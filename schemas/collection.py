"""The product collection, described as data and derived from :class:`schemas.product.Product`.

Both stores build their tables from this description: the Weaviate store turns it into
weaviate-client ``Configure`` calls, the embedded LanceDB store into an Arrow schema. Keeping it
here means the two stores cannot drift apart in property names or filter semantics.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any

from schemas.cluster import ClusterSpec
from schemas.product import Product
from schemas.vector_index import VectorIndexSpec

DEFAULT_COLLECTION = "Product"
DEFAULT_VECTOR = "clip"
ATTRIBUTE_SEPARATOR = "="


class DataType(enum.Enum):
    TEXT = "text"
    TEXT_ARRAY = "text[]"
    NUMBER = "number"
    BLOB = "blob"


@dataclass(frozen=True)
class PropertySpec:
    name: str
    data_type: DataType
    description: str
    filterable: bool = True
    # "field" tokenization: exact-match filters (category == "dress") behave the same in both stores.
    exact: bool = False
    # Added after collections were in use: one without it is still accepted (LanceDB adds the
    # column on open, Weaviate's auto-schema on first write).
    required: bool = True


@dataclass(frozen=True)
class VectorSpec:
    """A named vector. With ``server_side`` Weaviate computes it through multi2vec-clip from the
    weighted fields; otherwise the plugin computes it over the service's gRPC API."""

    name: str = DEFAULT_VECTOR
    image_fields: dict[str, float] = field(default_factory=lambda: {"image": 0.9})
    text_fields: dict[str, float] = field(default_factory=lambda: {"title": 0.1})
    server_side: bool = True
    index: VectorIndexSpec = field(default_factory=VectorIndexSpec)
    """Weaviate's vector index and quantizer for this vector (schemas/vector_index.py)."""


@dataclass(frozen=True)
class CollectionSpec:
    name: str
    properties: tuple[PropertySpec, ...]
    vector: VectorSpec
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    """Replication, shards and tenants on a Weaviate cluster (schemas/cluster.py)."""

    def property(self, name: str) -> PropertySpec:
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(name)


PRODUCT_PROPERTIES: tuple[PropertySpec, ...] = (
    PropertySpec("product_id", DataType.TEXT, "The catalog's own product id", exact=True),
    PropertySpec("title", DataType.TEXT, "Product title"),
    PropertySpec("description", DataType.TEXT, "Product description", filterable=False),
    PropertySpec("category", DataType.TEXT, "Category, matched exactly", exact=True),
    PropertySpec("brand", DataType.TEXT, "Brand, matched exactly", exact=True),
    PropertySpec("price", DataType.NUMBER, "Price in the given currency"),
    PropertySpec("currency", DataType.TEXT, "ISO currency code", exact=True),
    PropertySpec(
        "attributes",
        DataType.TEXT_ARRAY,
        f"Attributes as 'key{ATTRIBUTE_SEPARATOR}value' strings, so that they can be filtered",
        exact=True,
    ),
    PropertySpec("attributes_json", DataType.TEXT, "Attributes as a JSON object", filterable=False),
    PropertySpec(
        "attributes_inferred",
        DataType.TEXT,
        "Attributes auto-tagging filled in (their key=value pairs are in attributes too), as JSON "
        '{"colour": {"value": "red", "confidence": 0.93}}',
        filterable=False,
        required=False,
    ),
    PropertySpec("image_ref", DataType.TEXT, "Where the image came from (path or URL)", filterable=False),
    PropertySpec("image", DataType.BLOB, "The product image, base64", filterable=False),
    PropertySpec(
        "fingerprint",
        DataType.TEXT,
        "Hash of the record, the image and the model: a re-import skips an unchanged object",
        filterable=False,
        exact=True,
    ),
)


def product_collection(name: str = DEFAULT_COLLECTION, vector: VectorSpec | None = None) -> CollectionSpec:
    """The collection definition for products."""
    return CollectionSpec(name=name, properties=PRODUCT_PROPERTIES, vector=vector or VectorSpec())


def attribute_pairs(attributes: dict[str, str]) -> list[str]:
    """``{"colour": "red"}`` -> ``["colour=red"]``, sorted so that stored objects are stable."""
    return sorted(f"{k}{ATTRIBUTE_SEPARATOR}{v}" for k, v in attributes.items())


def product_properties(product: Product, image_b64: str | None) -> dict[str, Any]:
    """The stored properties of a product (identical in both stores)."""
    image_ref = product.image if isinstance(product.image, str) else ""
    props: dict[str, Any] = {
        "product_id": product.id,
        "title": product.title,
        "description": product.description,
        "category": product.category,
        "brand": product.brand,
        "price": product.price,
        "currency": product.currency,
        "attributes": attribute_pairs(product.attributes),
        "attributes_json": json.dumps(product.attributes, sort_keys=True),
        "image_ref": image_ref,
    }
    if image_b64 is not None:
        props["image"] = image_b64
    return props
