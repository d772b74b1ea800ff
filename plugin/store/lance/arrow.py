"""The embedded table's Arrow schema, built from the collection description."""

from __future__ import annotations

import pyarrow as pa

from plugin.store.lance import upkeep
from plugin.store.lance.sql import UUID_COLUMN
from schemas.collection import CollectionSpec, DataType

__all__ = ["arrow_schema"]

_ARROW_TYPES: dict[DataType, pa.DataType] = {
    DataType.TEXT: pa.string(),
    DataType.TEXT_ARRAY: pa.list_(pa.string()),
    DataType.NUMBER: pa.float64(),
    # Same representation as Weaviate's blob properties: base64 text.
    DataType.BLOB: pa.large_string(),
}


def arrow_schema(spec: CollectionSpec, dimension: int, model: str | None = None) -> pa.Schema:
    """The table schema: the UUID key, every collection property, and the vector column
    (a fixed-size list of float32 of the model's dimension, named like Weaviate's named vector,
    with the model's identity in its field metadata when known)."""
    fields = [pa.field(UUID_COLUMN, pa.string(), nullable=False)]
    fields += [pa.field(prop.name, _ARROW_TYPES[prop.data_type]) for prop in spec.properties]
    metadata = {upkeep.MODEL_METADATA_KEY: model} if model else None
    fields.append(pa.field(spec.vector.name, pa.list_(pa.float32(), dimension), metadata=metadata))
    return pa.schema(fields)
