"""The embedded table's Arrow schema, built from the collection description, and rows to write
converted to it in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from plugin.store.lance import upkeep
from plugin.store.lance.sql import UUID_COLUMN
from plugin.store.protocol import ProductRow, RowError
from schemas.collection import CollectionSpec, DataType
from schemas.errors import InvalidInputError

__all__ = ["RowsTable", "arrow_schema", "rows_table"]

_ARROW_TYPES: dict[DataType, pa.DataType] = {
    DataType.TEXT: pa.string(),
    DataType.TEXT_ARRAY: pa.list_(pa.string()),
    DataType.NUMBER: pa.float64(),
    # Same representation as Weaviate's blob properties: base64 text.
    DataType.BLOB: pa.large_string(),
}


def arrow_schema(
    spec: CollectionSpec, dimension: int, model: str | None = None, weights: str | None = None
) -> pa.Schema:
    """The table schema: the UUID key, every collection property, and the vector column
    (a fixed-size list of float32 of the model's dimension, named like Weaviate's named vector,
    with the model's identity and its weights hash in its field metadata when known)."""
    fields = [pa.field(UUID_COLUMN, pa.string(), nullable=False)]
    fields += [pa.field(prop.name, _ARROW_TYPES[prop.data_type]) for prop in spec.properties]
    recorded = {upkeep.MODEL_METADATA_KEY: model, upkeep.WEIGHTS_METADATA_KEY: weights}
    metadata = {key: value for key, value in recorded.items() if value} or None
    fields.append(pa.field(spec.vector.name, pa.list_(pa.float32(), dimension), metadata=metadata))
    return pa.schema(fields)


@dataclass
class RowsTable:
    """Rows to write as one Arrow table (row ``i`` of ``table`` is ``rows[i]``), and the rows
    refused with the reason, in input order."""

    rows: list[ProductRow]
    table: pa.Table
    errors: list[RowError]


def rows_table(
    rows: Sequence[ProductRow], schema: pa.Schema, vector_name: str, vectors: np.ndarray | None = None
) -> RowsTable:
    """``rows`` as one columnar table of ``schema``: the vectors as one float32 matrix, the
    properties in one ``from_pylist``, so a large batch costs a few C loops, not a table per row.

    ``vectors`` (``len(rows) x dimension``), when given, holds row ``i``'s vector in row ``i``
    and the rows' own ``vector`` is not read: precomputed vectors then never become Python
    floats (turning 50k x 512 floats into a matrix took ~3 s of a ~6 s upsert, docs/scale.md).

    A row is refused (never dropped silently) for an unknown property, a missing vector, a
    vector of another size or with NaN/inf, or a value its column cannot hold. When a UUID
    repeats, the last row wins (as in a Weaviate batch); a refused last row drops the UUID.
    """
    dimension = schema.field(vector_name).type.list_size
    names = set(schema.names) - {UUID_COLUMN, vector_name}
    problems: dict[int, str] = {}
    for i, row in enumerate(rows):
        unknown = sorted(set(row.properties) - names)
        if unknown:
            problems[i] = f"unknown properties: {', '.join(unknown)}"
        elif row.vector is None and vectors is None:
            problems[i] = "no vector: the embedded store needs the plugin to compute it"
    if vectors is None:
        matrix, position = _vectors(rows, dimension, problems)
    else:
        matrix, position = _given_vectors(vectors, len(rows), dimension, problems)
    props_schema = pa.schema([f for f in schema if f.name != vector_name])
    kept = _last_per_uuid(rows, problems)
    try:
        props = _properties(rows, kept, props_schema)
    except (pa.ArrowException, TypeError, ValueError):
        for i in kept:  # find the rows whose values their columns cannot hold
            try:
                _properties(rows, [i], props_schema)
            except (pa.ArrowException, TypeError, ValueError) as exc:
                problems[i] = str(exc)
        kept = _last_per_uuid(rows, problems)
        props = _properties(rows, kept, props_schema)
    if kept and len(kept) == matrix.shape[0] and all(position[i] == n for n, i in enumerate(kept)):
        chosen = matrix  # the common case: every row kept, in order (no copy)
    elif kept:
        chosen = matrix[[position[i] for i in kept]]
    else:
        chosen = np.empty((0, dimension), np.float32)
    flat = pa.array(np.ascontiguousarray(chosen, dtype=np.float32).reshape(-1), type=pa.float32())
    columns = [props.column(name) for name in props_schema.names]
    columns.append(pa.chunked_array([pa.FixedSizeListArray.from_arrays(flat, dimension)]))
    table = pa.Table.from_arrays(columns, names=[*props_schema.names, vector_name])
    table = table.select(schema.names).cast(schema)
    errors = [RowError(rows[i].uuid, problems[i]) for i in sorted(problems)]
    return RowsTable([rows[i] for i in kept], table, errors)


def _vectors(
    rows: Sequence[ProductRow], dimension: int, problems: dict[int, str]
) -> tuple[np.ndarray, dict[int, int]]:
    """The unrefused rows' vectors as one float32 matrix and each row's place in it, refusing
    the wrong-sized and non-finite ones."""
    candidates = [i for i in range(len(rows)) if i not in problems]
    try:  # one conversion for the whole batch: the common case
        matrix = np.asarray([rows[i].vector for i in candidates], dtype=np.float32)
    except (TypeError, ValueError):  # ragged (a wrong-sized vector) or not numbers
        matrix = np.empty(0, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape[1] != dimension:
        good: list[np.ndarray] = []
        place: dict[int, int] = {}
        for i in candidates:
            try:
                vector = np.asarray(rows[i].vector, dtype=np.float32).reshape(-1)
            except (TypeError, ValueError) as exc:
                problems[i] = str(exc)
                continue
            if vector.shape[0] != dimension:
                problems[i] = f"vector has {vector.shape[0]} dimensions, expected {dimension}"
                continue
            place[i] = len(good)
            good.append(vector)
        matrix = np.stack(good) if good else np.empty((0, dimension), np.float32)
        candidates = list(place)
    finite = np.asarray(np.isfinite(matrix).all(axis=1))
    position: dict[int, int] = {}
    for n, i in enumerate(candidates):
        if finite[n]:
            position[i] = n
        else:
            problems[i] = "vector contains NaN or infinite values"
    return matrix, position


def _given_vectors(
    vectors: np.ndarray, count: int, dimension: int, problems: dict[int, str]
) -> tuple[np.ndarray, dict[int, int]]:
    """A caller's matrix of vectors (row ``i`` is row ``i``'s), refusing non-finite rows."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim != 2 or matrix.shape != (count, dimension):
        raise InvalidInputError(f"vectors: expected a {count} x {dimension} matrix, got shape {matrix.shape}")
    finite = np.asarray(np.isfinite(matrix).all(axis=1))
    position: dict[int, int] = {}
    for i in range(count):
        if i in problems:
            continue
        if finite[i]:
            position[i] = i
        else:
            problems[i] = "vector contains NaN or infinite values"
    return matrix, position


def _last_per_uuid(rows: Sequence[ProductRow], problems: dict[int, str]) -> list[int]:
    """The index of each UUID's last row, unless that row is refused (then none)."""
    last = {row.uuid: i for i, row in enumerate(rows)}
    return sorted(i for i in last.values() if i not in problems)


def _properties(rows: Sequence[ProductRow], indices: Sequence[int], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(
        [{UUID_COLUMN: rows[i].uuid, **rows[i].properties} for i in indices], schema=schema
    )
