"""Keeping the embedded store's table sound: the write lock, the model it was built with,
schema upgrades, duplicate repair and compaction.

LanceDB commits concurrent writes optimistically, and two ``merge_insert`` calls that both
start before either commits each insert the rows they did not see: two imports of the same
catalog at once used to leave every product twice. Every write therefore holds an exclusive
lock on ``<data_dir>/<table>.lock`` (``fcntl.flock``, released by the kernel if the process
dies) and works on the latest version of the table.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from plugin.store.fingerprint import REINGEST, model_mismatch

__all__ = [
    "MODEL_METADATA_KEY",
    "OLD_VERSION_RETENTION",
    "REINGEST",
    "WEIGHTS_METADATA_KEY",
    "add_missing_columns",
    "compact",
    "record_model",
    "remove_duplicates",
    "stored_dimension",
    "stored_model",
    "stored_weights",
    "table_lock",
    "vector_mismatch",
    "vector_refusal",
]

MODEL_METADATA_KEY = "grounded.model"
"""Field metadata of the vector column: the identity of the model that made its vectors."""
WEIGHTS_METADATA_KEY = "grounded.model_weights_sha256"
"""Field metadata of the vector column: the hash of the model folder's weights that made its
vectors (:attr:`schemas.model_info.ModelInfo.weights_sha256`), beside the identity, whose form
must not change. Absent on tables from before it and on tables a hub model built."""
OLD_VERSION_RETENTION = timedelta(minutes=5)
"""Versions older than this are deleted when the table is compacted. Not zero: a search in
another process may still be reading the version it started on."""


@contextlib.contextmanager
def table_lock(data_dir: Path, table: str) -> Iterator[None]:
    """Hold the table's exclusive write lock (blocks until any other writer is done)."""
    path = data_dir / f"{table}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def stored_model(table: Any, vector_column: str) -> str | None:
    """The model identity recorded on the table's vector column, if any."""
    return _metadata(table, vector_column, MODEL_METADATA_KEY)


def stored_weights(table: Any, vector_column: str) -> str | None:
    """The weights hash recorded on the table's vector column, if any."""
    return _metadata(table, vector_column, WEIGHTS_METADATA_KEY)


def _metadata(table: Any, vector_column: str, key: str) -> str | None:
    metadata = table.schema.field(vector_column).metadata or {}
    value = metadata.get(key.encode())
    return value.decode() if value else None


def stored_dimension(table: Any, vector_column: str) -> int | None:
    """The size of the table's vectors (``None``: the column is not a fixed-size list)."""
    size = getattr(table.schema.field(vector_column).type, "list_size", None)
    return int(size) if size is not None else None


def vector_mismatch(
    table: Any, vector_column: str, dimension: int, model: str | None, weights: str | None = None
) -> str | None:
    """Why the table's vectors cannot be compared with this model's (``None``: they can): another
    dimension, another recorded model of the same dimension, or the same model folder holding
    other weights than the ones recorded (retrained in place). A side without a weights hash
    (an older table, a hub model) is not compared on it."""
    stored = stored_dimension(table, vector_column)
    if stored != dimension:
        return f"holds {stored}-d vectors but the model makes {dimension}-d ones"
    return model_mismatch(
        stored_model(table, vector_column), stored_weights(table, vector_column), model, weights
    )


_WAYS_OUT = (
    "Use the model it was built with, import into another collection (--collection NAME) or "
    "data dir, or rebuild it with this model (`grounded ingest --recreate`)"
)


def vector_refusal(collection: str, data_dir: Path, problem: str) -> str:
    """The refusal of a table :func:`vector_mismatch` found ``problem`` with, and the ways out
    (a problem that names ``grounded ingest --recreate`` already says its own)."""
    ways_out = "" if REINGEST in problem else f" {_WAYS_OUT}"
    return f"collection {collection!r} in {data_dir} {problem}.{ways_out}"


def record_model(table: Any, vector_column: str, model: str) -> None:
    """Record ``model`` on the vector column (a table from before models were recorded)."""
    metadata = {k.decode(): v.decode() for k, v in (table.schema.field(vector_column).metadata or {}).items()}
    table.replace_field_metadata(vector_column, {**metadata, MODEL_METADATA_KEY: model})


def add_missing_columns(table: Any, schema: pa.Schema) -> list[str]:
    """Add the columns of ``schema`` the table lacks (as nulls); returns their names. A table
    written by an older Grounded gains the columns added since (e.g. ``fingerprint``)."""
    present = set(table.schema.names)
    missing = [field for field in schema if field.name not in present]
    if missing:
        table.add_columns(pa.schema(missing))
    return [field.name for field in missing]


def remove_duplicates(table: Any, key: str) -> int:
    """Keep one row per ``key`` (tables written by concurrent imports before the lock existed
    hold some products twice); returns how many rows were removed. Call under the lock."""
    total = int(table.count_rows())
    if total == 0:
        return 0
    keys = table.search().select([key]).limit(total).to_arrow().column(key)
    counts = pc.value_counts(keys)
    repeated = [
        str(entry["values"]) for entry in counts.to_pylist() if entry["counts"] > 1 and entry["values"]
    ]
    if not repeated:
        return 0
    quoted = ", ".join("'" + k.replace("'", "''") + "'" for k in repeated)
    rows = table.search().where(f"{key} IN ({quoted})").limit(total).to_arrow()
    first: dict[str, int] = {}
    for index, value in enumerate(rows.column(key).to_pylist()):
        first.setdefault(value, index)
    keep = rows.take(sorted(first.values()))
    # Not atomic: if the process dies between the two, these products are absent (never
    # doubled) and the next import adds them again.
    table.delete(f"{key} IN ({quoted})")
    table.add(keep)
    return len(rows) - len(keep)


def compact(table: Any, retention: timedelta = OLD_VERSION_RETENTION) -> None:
    """Merge the small fragments each batch writes and delete versions older than
    ``retention``. Call under the lock."""
    table.optimize(cleanup_older_than=retention)
