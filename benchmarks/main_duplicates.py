"""Main's near-duplicates and upsert before issue 24, verbatim but for names: the baselines of
``benchmarks/duplicates_scale.py`` (the search-based ``old_find_duplicates`` and the per-row
Arrow tables of ``old_upsert``). Kept apart so the benchmark stays readable; not a library."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from plugin.store import ProductRow, ProductStore
from plugin.store.fingerprint import FINGERPRINT_PROPERTY
from plugin.store.lance.sql import chunks, uuid_in
from plugin.store.lance.store import UUID_COLUMN, LanceStore
from plugin.store.protocol import RowError, UpsertResult, split_changed
from schemas.errors import InvalidInputError

_MAX_SEARCH_LIMIT = 10_000


class _OldGroups:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def old_find_duplicates(
    store: ProductStore, dimension: int, *, threshold: float = 0.95, neighbours: int = 10
) -> tuple[list[list[tuple[str, float]]], int]:
    """main's find_duplicates (vectors only): groups as [(product_id, similarity)], products."""
    probe = np.ones(dimension, dtype=np.float32) / np.sqrt(dimension)
    hits = store.search(probe, limit=_MAX_SEARCH_LIMIT, return_properties=["product_id", "title"])
    listing = [(str(h.properties.get("product_id")), str(h.properties.get("title") or "")) for h in hits]
    groups = _OldGroups()
    best: dict[str, float] = {}
    for product_id, _title in listing:
        stored = store.product(product_id)
        if stored is None or stored.vector is None:
            continue
        found = store.search(stored.vector, limit=neighbours + 1, return_properties=["product_id", "title"])
        for hit in found:
            other = str(hit.properties.get("product_id"))
            similarity = 1.0 - hit.distance
            if other == product_id or similarity < threshold:
                continue
            groups.union(product_id, other)
            for pid in (product_id, other):
                best[pid] = max(best.get(pid, 0.0), similarity)
    members: dict[str, list[tuple[str, float]]] = {}
    for pid in sorted(best):
        members.setdefault(groups.find(pid), []).append((pid, round(best[pid], 4)))
    return sorted(members.values(), key=lambda m: (-len(m), m[0][0])), len(listing)


def _old_row_table(store: LanceStore, row: ProductRow) -> pa.Table:
    names = [p.name for p in store.spec.properties]
    unknown = sorted(set(row.properties) - set(names))
    if unknown:
        raise InvalidInputError(f"unknown properties: {', '.join(unknown)}")
    if row.vector is None:
        raise InvalidInputError("no vector: the embedded store needs the plugin to compute it")
    array = np.asarray(row.vector, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise InvalidInputError("vector contains NaN or infinite values")
    vector = [float(x) for x in array]
    record = {UUID_COLUMN: row.uuid, **row.properties, store.spec.vector.name: vector}
    return pa.Table.from_pylist([record], schema=store._schema)


def _old_fingerprints(table: Any, uuids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    columns = [UUID_COLUMN, FINGERPRINT_PROPERTY]
    for chunk in chunks(list(dict.fromkeys(uuids)), 500):
        result = table.search().where(uuid_in(chunk)).select(columns).limit(len(chunk)).to_arrow()
        for uid, fp in zip(
            result.column(UUID_COLUMN).to_pylist(),
            result.column(FINGERPRINT_PROPERTY).to_pylist(),
            strict=True,
        ):
            found[uid] = fp or ""
    return found


def old_upsert(store: LanceStore, rows: list[ProductRow], *, changed_only: bool) -> UpsertResult:
    """main's LanceStore._write: a one-row Arrow table per row, IN-list fingerprints, merge_insert."""
    errors: list[RowError] = []
    latest: dict[str, tuple[ProductRow, pa.Table]] = {}
    for row in rows:
        try:
            latest[row.uuid] = (row, _old_row_table(store, row))
        except (InvalidInputError, pa.ArrowException, TypeError, ValueError) as exc:
            errors.append(RowError(row.uuid, str(exc)))
            latest.pop(row.uuid, None)
    with store._locked():
        table = store._require()
        table.checkout_latest()
        stored = _old_fingerprints(table, list(latest)) if changed_only else {}
        write, created, replaced, unchanged = split_changed([r for r, _ in latest.values()], stored)
        if write:
            data = pa.concat_tables([latest[r.uuid][1] for r in write]).combine_chunks()
            merge = table.merge_insert(UUID_COLUMN).when_matched_update_all()
            merge.when_not_matched_insert_all().execute(data)
    return UpsertResult(errors, created, replaced, unchanged, exact=True)
