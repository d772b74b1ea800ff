"""The store interface both product stores implement with the same semantics."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from plugin.store.fingerprint import FINGERPRINT_PROPERTY
from schemas.collection import CollectionSpec
from schemas.errors import InvalidInputError
from vectorizer_service import Vectors

SCAN_BATCH = 4096
"""Products per batch of :meth:`ProductStore.iter_vectors` unless asked otherwise (8 MB of
512-d float32 vectors)."""

MAX_SCAN_BATCH = 100_000
"""The largest batch a scan hands out: the bound on its memory."""


class ProductFilter(BaseModel):
    """Filters both stores understand. Fields combine with AND; a list of categories or brands
    matches any of them; ``attributes`` must all match exactly."""

    model_config = ConfigDict(extra="forbid")

    category: str | list[str] | None = None
    brand: str | list[str] | None = None
    price_min: float | None = None
    price_max: float | None = None
    attributes: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class ProductRow:
    """One object to upsert: its deterministic UUID, stored properties and, when the plugin
    computes vectors, the vector (``None`` lets Weaviate's module compute it)."""

    uuid: str
    properties: dict[str, Any]
    vector: list[float] | None = None


@dataclass(frozen=True)
class RowError:
    uuid: str
    message: str


@dataclass(frozen=True)
class UpsertResult:
    """What :meth:`ProductStore.upsert_changed` did with each row (by UUID)."""

    errors: list[RowError]
    created: set[str]
    """Written, and not stored before."""
    replaced: set[str]
    """Written over a stored object with another fingerprint."""
    unchanged: set[str]
    """Stored already with the same fingerprint (another import got there first): not written."""
    exact: bool
    """True when the store decided under its write lock. False where it cannot (Weaviate): the
    sets then follow a read just before the write, and an import writing the same products at
    the same moment can make both count a product as created."""


def split_changed(
    rows: Sequence[ProductRow], stored: Mapping[str, str]
) -> tuple[list[ProductRow], set[str], set[str], set[str]]:
    """The rows to write, and the created, replaced and unchanged UUIDs, given the stored
    fingerprints (``stored``: UUID -> fingerprint). A row without a fingerprint is written."""
    write: list[ProductRow] = []
    created: set[str] = set()
    replaced: set[str] = set()
    unchanged: set[str] = set()
    for row in rows:
        fingerprint = row.properties.get(FINGERPRINT_PROPERTY)
        if row.uuid in stored and fingerprint and stored[row.uuid] == fingerprint:
            unchanged.add(row.uuid)
            continue
        write.append(row)
        (replaced if row.uuid in stored else created).add(row.uuid)
    return write, created, replaced, unchanged


@dataclass(frozen=True)
class StoredProduct:
    """A stored product read back whole: the reference of a "this product, but ..." query."""

    uuid: str
    properties: dict[str, Any]
    vector: list[float] | None


@dataclass(frozen=True)
class VectorBatch:
    """One batch of a whole-catalog scan (:meth:`ProductStore.iter_vectors`)."""

    uuids: list[str]
    vectors: np.ndarray
    """``(len(uuids), dimension)`` float32, row ``i`` the vector of ``uuids[i]``, as stored
    (``(len(uuids), 0)`` when the scan asked for properties only)."""
    properties: dict[str, list[Any]]
    """The properties the scan asked for, one value per UUID (``None`` when unset)."""

    def __len__(self) -> int:
        return len(self.uuids)


def check_scan_batch(batch_size: int) -> None:
    """Refuse a scan batch size outside ``1..MAX_SCAN_BATCH``."""
    if not 1 <= batch_size <= MAX_SCAN_BATCH:
        raise InvalidInputError(f"batch_size must be between 1 and {MAX_SCAN_BATCH}, got {batch_size}")


@dataclass(frozen=True)
class SearchHit:
    uuid: str
    properties: dict[str, Any]
    distance: float
    """Cosine distance (1 - cosine similarity), as Weaviate reports it."""


class ProductStore(Protocol):
    @property
    def spec(self) -> CollectionSpec: ...

    @property
    def computes_vectors(self) -> bool:
        """True when the store embeds objects itself (Weaviate + multi2vec-clip)."""
        ...

    def create_collection(self) -> None:
        """Create the collection if it does not exist; an existing one is kept."""
        ...

    def upsert(self, rows: Sequence[ProductRow]) -> list[RowError]:
        """Insert or replace by UUID; returns the rows that failed, never drops one silently."""
        ...

    def upsert_changed(self, rows: Sequence[ProductRow]) -> UpsertResult:
        """Like :meth:`upsert`, but a row whose fingerprint (``FINGERPRINT_PROPERTY``) is the
        stored one is not written; says which rows were created, replaced or unchanged (what an
        import's report counts)."""
        ...

    def existing(self, uuids: Sequence[str]) -> set[str]:
        """Which of these UUIDs are stored already (for resuming an import)."""
        ...

    def fingerprints(self, uuids: Sequence[str]) -> dict[str, str]:
        """The stored content fingerprint of each of these UUIDs that is stored (``""`` when an
        object has none): a re-import skips the products whose fingerprint is unchanged."""
        ...

    def compact(self) -> None:
        """Tidy the storage after an import (the embedded store merges its fragments); a no-op
        where the server does it."""
        ...

    def without_vectors(self, uuids: Sequence[str]) -> set[str]:
        """Which of these stored UUIDs have no vector (they would never be found by search)."""
        ...

    def search(
        self,
        vector: Vectors | Sequence[float],
        *,
        filters: ProductFilter | None = None,
        limit: int = 10,
        return_properties: Sequence[str] | None = None,
    ) -> list[SearchHit]: ...

    def search_many(
        self,
        vectors: np.ndarray,
        *,
        limit: int = 10,
        return_properties: Sequence[str] | None = None,
    ) -> list[list[SearchHit]]:
        """:meth:`search` (no filters) for each row of ``vectors`` (``(m, dimension)``): the
        hits of row ``i`` at ``[i]``. One request where the store takes several queries at once
        (LanceDB), one per row otherwise (Weaviate)."""
        ...

    def product(self, product_id: str) -> StoredProduct | None:
        """The stored product with this catalog id (properties incl. image, and its vector),
        ``None`` when there is none."""
        ...

    def iter_vectors(
        self, *, batch_size: int = SCAN_BATCH, properties: Sequence[str] = (), vectors: bool = True
    ) -> Iterator[VectorBatch]:
        """Every stored product that has a vector, exactly once, in batches of at most
        ``batch_size`` (no cap on the catalog, memory bounded by one batch), with the named
        ``properties``: the scan whole-catalog work (duplicates, facets) reads. Order is the
        store's own. A product written or deleted during the scan may or may not be seen.
        ``vectors=False`` reads the properties alone (``VectorBatch.vectors`` is ``(n, 0)``),
        of every product."""
        ...

    def count(self) -> int: ...

    def delete(self, uuids: Sequence[str]) -> int: ...

    def drop(self) -> None: ...

    def close(self) -> None: ...
