"""The embedded product store: one LanceDB table on local disk, no server.

It is the default when no Weaviate URL is configured and has the same semantics as the Weaviate
store: objects keyed by their deterministic UUID, cosine distance (``1 - cos``, as Weaviate
reports it), and the same filter expressions (:class:`ProductFilter` becomes a SQL ``WHERE``
applied *before* the nearest-neighbour search, like Weaviate's pre-filtering). The table is
built from :func:`schemas.collection.product_collection`, so property names cannot drift from
the Weaviate collection. The plugin computes every vector (``computes_vectors`` is False).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import lancedb
import numpy as np

from plugin.store.lance import index as indexes
from plugin.store.lance import query, upkeep
from plugin.store.lance.arrow import arrow_schema, rows_table
from plugin.store.lance.index import IndexPolicy, IndexStatus, SearchTuning
from plugin.store.lance.planner import SketchCache, pinned_table
from plugin.store.lance.scan import scan_vectors
from plugin.store.lance.sql import UUID_COLUMN, chunks, filter_sql, sql_literal, uuid_in
from plugin.store.lance.writes import Written, stored_fingerprints, write_batch
from plugin.store.protocol import (
    SCAN_BATCH,
    ProductFilter,
    ProductRow,
    RowError,
    SearchHit,
    StoredProduct,
    UpsertResult,
    VectorBatch,
    check_scan_batch,
)
from schemas.collection import (
    CollectionSpec,
    DataType,
    product_collection,
)
from schemas.errors import InvalidInputError, NotFoundError
from vectorizer_service import Vectors

__all__ = ["UUID_COLUMN", "LanceStore", "arrow_schema", "filter_sql", "sql_literal"]


_IN_CHUNK = 500
"""UUIDs per ``IN (...)`` list: keeps each SQL statement small for long resume checks."""
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


class LanceStore:
    """A :class:`~plugin.store.protocol.ProductStore` over a LanceDB table in ``data_dir``.

    ``dimension`` is the model's vector size; a table created with another size is refused
    (its vectors could never be compared with this model's queries). ``model`` is the model's
    identity (:func:`plugin.store.fingerprint.model_identity`): it is recorded with the table, and a
    table built by another model is refused the same way, since same-sized vectors of two
    models are just as incomparable. ``weights_sha256`` (the model folder's weights hash,
    :attr:`schemas.model_info.ModelInfo.weights_sha256`) is recorded with a new table beside the
    identity, and a table built by other weights of the same folder (retrained in place) is refused
    naming both hashes; a table or a model without the hash is not compared on it. Writes hold an
    exclusive lock (see :mod:`plugin.store.lance.upkeep`), so concurrent imports never duplicate a
    product.
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        dimension: int,
        collection: str | None = None,
        spec: CollectionSpec | None = None,
        model: str | None = None,
        weights_sha256: str | None = None,
        index_policy: IndexPolicy | None = None,
    ) -> None:
        if dimension < 1:
            raise InvalidInputError(f"vector dimension must be positive, got {dimension}")
        if spec is None:
            spec = product_collection(collection) if collection else product_collection()
        self._spec = spec
        if not _TABLE_NAME.match(self._spec.name):
            raise InvalidInputError(
                f"collection name {self._spec.name!r}: use letters, digits, '_', '-' or '.'"
            )
        self._dimension = dimension
        self._model = model
        self._weights = weights_sha256 or None
        self._schema = arrow_schema(self._spec, dimension, model, self._weights)
        self._property_names = [p.name for p in self._spec.properties]
        self._default_return = [p.name for p in self._spec.properties if p.data_type is not DataType.BLOB]
        self._data_dir = Path(data_dir)
        self._data_dir.mkdir(parents=True, exist_ok=True)
        # Every read checks for a newer version: another process may be importing meanwhile.
        self._db = lancedb.connect(str(self._data_dir), read_consistency_interval=timedelta(0))
        self._table: Any = None
        self._index_policy = index_policy or IndexPolicy()
        self._sketches: SketchCache | None = None
        if self._index_policy.sketch_rows:
            self._sketches = SketchCache(
                pinned_table(self._data_dir, self._spec.name),
                vector_column=self._spec.vector.name,
                dimension=dimension,
                min_rows=self._index_policy.sketch_rows,
            )

    @classmethod
    def open_existing(
        cls, data_dir: Path, *, collection: str, index_policy: IndexPolicy | None = None
    ) -> LanceStore:
        """The existing table ``collection`` in ``data_dir`` with the vector dimension it was built
        with (no model needed: index management). A missing table is a clear ``NotFoundError``."""
        try:
            table = lancedb.connect(str(data_dir)).open_table(collection)
        except (ValueError, FileNotFoundError) as exc:
            raise NotFoundError(
                f"collection {collection!r} does not exist in {data_dir}; run `grounded ingest` first"
            ) from exc
        dimension = upkeep.stored_dimension(table, product_collection(collection).vector.name) or 0
        return cls(data_dir, dimension=dimension, collection=collection, index_policy=index_policy)

    # --- ProductStore -----------------------------------------------------------------------

    @property
    def spec(self) -> CollectionSpec:
        return self._spec

    @property
    def computes_vectors(self) -> bool:
        return False

    @property
    def dimension(self) -> int:
        return self._dimension

    def create_collection(self) -> None:
        """Create the table if it does not exist. An existing one is kept: its vector dimension
        and model are checked, columns added since it was written are added, the model is
        recorded if it was not, and products stored twice (by concurrent imports of an older
        version) are repaired to one row each."""
        with self._locked():
            if self._open() is None:
                self._table = self._db.create_table(self._spec.name, schema=self._schema, exist_ok=True)
                self._check_dimension(self._table)
            table = self._table
            upkeep.add_missing_columns(table, self._schema)
            # The weights hash is recorded only with a new table: on an older one, rows a re-import
            # skips as unchanged may hold another training's vectors, which a hash would vouch for.
            if self._model and upkeep.stored_model(table, self._spec.vector.name) is None:
                upkeep.record_model(table, self._spec.vector.name, self._model)
            upkeep.remove_duplicates(table, UUID_COLUMN)

    def upsert(self, rows: Sequence[ProductRow], *, vectors: np.ndarray | None = None) -> list[RowError]:
        """Insert or replace rows by UUID (``merge_insert``). A row that cannot be stored is
        returned with the reason; the others are still written. ``vectors``: precomputed
        vectors as one ``len(rows) x dimension`` matrix (row ``i`` is row ``i``'s; the rows'
        own ``vector`` is then not read), the fast path for bulk loads."""
        return self._write(rows, vectors, changed_only=False).errors

    def upsert_changed(
        self, rows: Sequence[ProductRow], *, vectors: np.ndarray | None = None
    ) -> UpsertResult:
        """:meth:`upsert` of the rows whose fingerprint is not the stored one, decided under the
        write lock on the latest version: exact however many imports run at once."""
        return self._write(rows, vectors, changed_only=True)

    def _write(
        self, rows: Sequence[ProductRow], vectors: np.ndarray | None, *, changed_only: bool
    ) -> UpsertResult:
        # One columnar table for the whole batch (plugin.store.lance.arrow.rows_table), built
        # before the lock; under it only the fingerprint check and one merge_insert.
        batch = rows_table(rows, self._schema, self._spec.vector.name, vectors)
        errors = batch.errors
        written: Written = ([], set(), set(), set())
        if batch.rows:
            try:
                with self._locked():
                    written = write_batch(self._require(), batch.rows, batch.table, changed_only=changed_only)
            except Exception as exc:
                errors = errors + [RowError(row.uuid, f"write failed: {exc}") for row in batch.rows]
                written = ([], set(), set(), set())
        _, created, replaced, unchanged = written
        return UpsertResult(errors, created, replaced, unchanged, exact=True)

    def existing(self, uuids: Sequence[str]) -> set[str]:
        return set(stored_fingerprints(self._require(), uuids))

    def fingerprints(self, uuids: Sequence[str]) -> dict[str, str]:
        """The stored fingerprint of each of these UUIDs that is stored (``""`` for a row
        written before fingerprints existed)."""
        return stored_fingerprints(self._require(), uuids)

    def compact(self) -> None:
        """Merge the fragments an import wrote and prune old versions (after an import)."""
        with self._locked():
            table = self._require()
            table.checkout_latest()
            upkeep.compact(table)
            # Past the size threshold the first import that gets there builds the indexes.
            indexes.maintain_indexes(table, self._spec, UUID_COLUMN, self._index_policy)

    def without_vectors(self, uuids: Sequence[str]) -> set[str]:
        """Always empty: upsert refuses a row without a vector, so every stored row has one."""
        return set()

    def search(
        self,
        vector: Vectors | Sequence[float],
        *,
        filters: ProductFilter | None = None,
        limit: int = 10,
        return_properties: Sequence[str] | None = None,
        tuning: SearchTuning | None = None,
    ) -> list[SearchHit]:
        """Nearest neighbours by cosine distance among the rows that pass ``filters``: exact
        below the index threshold, through the ANN index (plus an exact scan of rows written
        since it was built) above it (:mod:`plugin.store.lance.query`). ``tuning`` overrides
        nprobes / refine factor per query."""
        query.check_limit(limit)
        return query.search_one(
            self._require(),
            query.query_vector(vector, self._dimension),
            vector_column=self._spec.vector.name,
            where=filter_sql(filters),
            limit=limit,
            properties=self._return_properties(return_properties),
            policy=self._index_policy,
            tuning=tuning,
            filters=filters,
            sketches=self._sketches,
        )

    def warm_filters(self, timeout: float | None = None) -> bool:
        """Build the in-memory sketch filtered queries are planned on now, instead of in the
        background at the second filtered query (a server calls it at start-up). False when the
        policy keeps no sketch, there is no table yet, the table is under ``sketch_rows``, or
        ``timeout`` passed (``timeout=0`` starts the build and returns at once)."""
        table = self._open()
        if self._sketches is None or table is None:  # no table yet: nothing to sketch
            return False
        return self._sketches.warm(int(table.version), timeout) is not None

    def search_many(
        self,
        vectors: np.ndarray,
        *,
        limit: int = 10,
        return_properties: Sequence[str] | None = None,
    ) -> list[list[SearchHit]]:
        """One LanceDB query of several vectors (each through the ANN index as :meth:`search`);
        row ``i``'s hits at ``[i]``, nearest first."""
        query.check_limit(limit)
        rows = np.asarray(vectors, dtype=np.float32).reshape(-1, self._dimension)
        queries = np.stack([query.query_vector(v, self._dimension) for v in rows]) if len(rows) else rows
        return query.search_batch(
            self._require(),
            queries,
            vector_column=self._spec.vector.name,
            limit=limit,
            properties=self._return_properties(return_properties),
            policy=self._index_policy,
        )

    def product(self, product_id: str) -> StoredProduct | None:
        """The stored product with this catalog id (its properties, image included, and its
        vector), or ``None``: the reference of a "this product, but ..." query."""
        table = self._require()
        where = f"product_id = {sql_literal(product_id)}"
        rows = table.search().where(where).limit(1).to_list()
        if not rows:
            return None
        record = rows[0]
        vector = record.get(self._spec.vector.name)
        return StoredProduct(
            uuid=str(record[UUID_COLUMN]),
            properties={name: record.get(name) for name in self._property_names},
            vector=[float(x) for x in vector] if vector is not None else None,
        )

    def iter_vectors(
        self, *, batch_size: int = SCAN_BATCH, properties: Sequence[str] = (), vectors: bool = True
    ) -> Iterator[VectorBatch]:
        """Every row once, as Arrow batches of at most ``batch_size`` rows read from the table
        version current when the scan starts (:mod:`plugin.store.lance.scan`)."""
        check_scan_batch(batch_size)
        names = self._return_properties(properties)
        table = self._require()
        table.checkout_latest()
        return scan_vectors(
            table,
            uuid_column=UUID_COLUMN,
            vector_column=self._spec.vector.name if vectors else None,
            dimension=self._dimension,
            batch_size=batch_size,
            properties=names,
        )

    # --- indexes (plugin.store.lance.index) -----------------------------------------------------

    @property
    def index_policy(self) -> IndexPolicy:
        return self._index_policy

    def build_indexes(self, *, vector: bool = True, scalars: bool = True) -> dict[str, float]:
        """Build (or rebuild) the vector and scalar indexes now; seconds per index."""
        with self._locked():
            table = self._require()
            table.checkout_latest()
            return indexes.build_indexes(
                table, self._spec, UUID_COLUMN, self._index_policy, vector=vector, scalars=scalars
            )

    def index_status(self) -> IndexStatus:
        """Rows, indexes, and how many rows each index does not cover yet."""
        table = self._require()
        table.checkout_latest()
        return indexes.index_status(table, self._spec)

    def optimize_indexes(self) -> IndexStatus:
        """Fold the rows written since the build into the indexes; the status after."""
        with self._locked():
            table = self._require()
            table.checkout_latest()
            indexes.optimize_indexes(table)
            return indexes.index_status(table, self._spec)

    def count(self) -> int:
        return int(self._require().count_rows())

    def delete(self, uuids: Sequence[str]) -> int:
        """Delete these UUIDs; returns how many were stored. Unknown UUIDs are ignored."""
        table = self._require()
        deleted = 0
        with self._locked():
            for chunk in chunks(list(dict.fromkeys(uuids)), _IN_CHUNK):
                deleted += int(table.delete(uuid_in(chunk)).num_deleted_rows)
        return deleted

    def drop(self) -> None:
        """Delete the whole table (and its files), whatever its vector dimension; a missing
        table is not an error."""
        self._table = None
        with self._locked(), contextlib.suppress(ValueError, FileNotFoundError):  # nothing to drop
            self._db.drop_table(self._spec.name)

    def close(self) -> None:
        # LanceDB holds no server connection; dropping the handle releases the dataset files.
        self._table = None
        if self._sketches is not None:
            self._sketches.close()

    # --- helpers ------------------------------------------------------------------------------

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return upkeep.table_lock(self._data_dir, self._spec.name)

    def _open(self) -> Any:
        if self._table is None:
            try:
                self._table = self._db.open_table(self._spec.name)
            except (ValueError, FileNotFoundError):
                return None
            self._check_dimension(self._table)
        return self._table

    def _require(self) -> Any:
        table = self._open()
        if table is None:
            raise NotFoundError(
                f"collection {self._spec.name!r} does not exist in {self._data_dir}; "
                "run `grounded ingest` (or `grounded demo`) first"
            )
        return table

    def _check_dimension(self, table: Any) -> None:
        problem = upkeep.vector_mismatch(
            table, self._spec.vector.name, self._dimension, self._model, self._weights
        )
        if problem is not None:
            self._table = None
            raise InvalidInputError(upkeep.vector_refusal(self._spec.name, self._data_dir, problem))

    def _return_properties(self, names: Sequence[str] | None) -> list[str]:
        if names is None:
            return list(self._default_return)
        unknown = [n for n in names if n not in self._property_names]
        if unknown:
            raise InvalidInputError(f"return_properties: unknown {', '.join(unknown)}")
        return list(dict.fromkeys(names))
