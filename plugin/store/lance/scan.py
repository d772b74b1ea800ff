"""The embedded store's whole-table scan: Arrow record batches straight off the table.

LanceDB streams a plain (no vector, no filter) query as a :class:`pyarrow.RecordBatchReader`
of at most ``batch_size`` rows, read from one table version: memory is bounded by one batch
whatever the table's size, and each row comes once. The vector column (a fixed-size list of
float32) becomes a NumPy matrix without a Python float per value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plugin.store.protocol import VectorBatch

__all__ = ["scan_vectors", "vector_matrix"]


def vector_matrix(column: pa.Array | pa.ChunkedArray, dimension: int) -> np.ndarray:
    """A fixed-size-list column without nulls as an ``(n, dimension)`` float32 matrix."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    # flatten() honours the array's offset (a sliced batch), .values would not.
    flat = column.flatten().to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(len(column), dimension)


def scan_vectors(
    table: Any,
    *,
    uuid_column: str,
    vector_column: str | None,
    dimension: int,
    batch_size: int,
    properties: Sequence[str],
) -> Iterator[VectorBatch]:
    """Every row with a vector, in batches of at most ``batch_size`` rows; every row, without
    vectors, when ``vector_column`` is ``None``."""
    wanted = [name for name in dict.fromkeys(properties) if name not in (uuid_column, vector_column)]
    columns = [uuid_column, *([vector_column] if vector_column else []), *wanted]
    for batch in table.search().select(columns).to_batches(batch_size):
        # Rows loaded around upsert (which refuses them) can lack a vector: search never finds
        # them, so neither does the scan.
        if vector_column is not None and batch.column(vector_column).null_count:
            batch = batch.filter(pc.is_valid(batch.column(vector_column)))
        if batch.num_rows == 0:
            continue
        yield VectorBatch(
            uuids=[str(u) for u in batch.column(uuid_column).to_pylist()],
            vectors=(
                vector_matrix(batch.column(vector_column), dimension)
                if vector_column is not None
                else np.empty((batch.num_rows, 0), dtype=np.float32)
            ),
            properties={name: batch.column(name).to_pylist() for name in properties},
        )
