"""An in-memory sketch of the embedded table for filtered queries: the filter columns as NumPy
codes, and each vector as int8 plus 1 sign bit per dimension, keyed by LanceDB row id.

Why (numbers in docs/scale.md, "filtered queries"): at 1M rows LanceDB spends 15-25 ms per
filtered query rebuilding its pre-filter mask from the scalar indexes before the ANN search
starts, and fetching the matching rows by id costs about 12 us a row (35 ms for 3,000 rows).
Held in memory, the same filter is a NumPy mask in a millisecond or two, the rows it keeps are
ranked by Hamming distance on the sign bits (64 bytes a 512-d row: ~1 ms for 50,000 rows), the
best few thousand re-ranked on int8, and only the last few dozen read from the table for exact
distances. This is the flat search over filtered candidates that Weaviate does below its
``flatSearchCutoff``, with the vectors it keeps in its vector cache.

Memory is about ``rows x (dimension + dimension / 8 + 30)`` bytes: 584 MB measured at 1M x 512.
A sketch describes one table version; the planner (:mod:`plugin.store.lance.planner`) uses it
only while the table is still at that version.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from plugin.store.lance.scan import vector_matrix
from plugin.store.protocol import ProductFilter
from schemas.collection import ATTRIBUTE_SEPARATOR

__all__ = ["SKETCH_BATCH", "Sketch", "SketchCancelledError", "build_sketch"]

SKETCH_BATCH = 65_536
"""Rows read per batch while building: bounds the build's extra memory to one batch of floats."""
_LABELS = ("category", "brand")


class SketchCancelledError(Exception):
    """The build was stopped (the process is exiting); nothing is kept."""


@dataclass(frozen=True)
class _Labels:
    """A string column as codes: ``codes[i]`` is row ``i``'s value's code (-1: null), ``lookup``
    a value's code."""

    codes: np.ndarray
    lookup: dict[str, int]

    @classmethod
    def of(cls, column: pa.ChunkedArray | pa.Array) -> _Labels:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = pc.dictionary_encode(column)
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32)
        names = encoded.dictionary.to_pylist()
        return cls(codes, {name: n for n, name in enumerate(names)})

    def any_of(self, values: Sequence[str]) -> np.ndarray:
        wanted = {self.lookup[v] for v in values if v in self.lookup}
        if len(wanted) == 1:
            return np.asarray(self.codes == wanted.pop(), dtype=bool)
        # One lookup per row in a table of the dictionary's size (the last entry is null's -1).
        chosen = np.zeros(len(self.lookup) + 1, dtype=bool)
        chosen[list(wanted)] = True
        return np.asarray(chosen[self.codes])


@dataclass(frozen=True)
class Sketch:
    """The table at ``version``: row ``i`` of every array is the row with LanceDB id
    ``row_ids[i]`` (ascending). ``valid`` is False for a row without a vector (never found)."""

    version: int
    row_ids: np.ndarray
    valid: np.ndarray
    valid_rows: int
    labels: dict[str, _Labels]
    price: np.ndarray
    attribute_offsets: np.ndarray
    attributes: _Labels
    int8: np.ndarray
    scale: np.ndarray
    bits: np.ndarray
    center: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.row_ids)

    @property
    def nbytes(self) -> int:
        arrays = [
            self.row_ids,
            self.valid,
            self.price,
            self.attribute_offsets,
            self.int8,
            self.scale,
            self.bits,
        ]
        arrays += [labels.codes for labels in (*self.labels.values(), self.attributes)]
        return int(sum(a.nbytes for a in arrays))

    def mask(self, filters: ProductFilter) -> np.ndarray:
        """Which rows pass ``filters``, with :func:`plugin.store.lance.sql.filter_sql`'s
        semantics: any of a list of categories / brands (an empty list constrains nothing), an
        inclusive price range that a row without a price never passes, every ``key=value``."""
        keep = self.valid.copy()
        for name in _LABELS:
            value = getattr(filters, name)
            values = [value] if isinstance(value, str) else list(value or [])
            if values:
                keep &= self.labels[name].any_of(values)
        # NaN (no price) compares False either way, as NULL does in SQL.
        if filters.price_min is not None:
            keep &= self.price >= float(filters.price_min)
        if filters.price_max is not None:
            keep &= self.price <= float(filters.price_max)
        for key, value in filters.attributes.items():
            keep &= self._has_attribute(f"{key}{ATTRIBUTE_SEPARATOR}{value}")
        return keep

    def _has_attribute(self, pair: str) -> np.ndarray:
        found = np.zeros(self.rows, dtype=bool)
        code = self.attributes.lookup.get(pair)
        if code is not None:
            at = np.flatnonzero(self.attributes.codes == code)
            found[np.searchsorted(self.attribute_offsets, at, side="right") - 1] = True
        return found

    def positions(self, row_ids: np.ndarray) -> np.ndarray:
        """Index of each row id in the sketch (-1: not in it)."""
        if self.rows == 0:
            return np.full(len(row_ids), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.row_ids, row_ids), self.rows - 1)
        return np.asarray(np.where(self.row_ids[at] == row_ids, at, -1), dtype=np.int64)

    def query_bits(self, query: np.ndarray) -> np.ndarray:
        """The query's sign bits, laid out as the rows' (see :func:`build_sketch`)."""
        return np.asarray(_pack(query[None, :] > 0, self.bits.shape[1])[0])


def _pack(signs: np.ndarray, words: int) -> np.ndarray:
    packed = np.packbits(signs, axis=1)
    padded = np.zeros((len(packed), words * 8), dtype=np.uint8)
    padded[:, : packed.shape[1]] = packed
    return padded.view(np.uint64)


def _unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _quantise(vectors: pa.Array, dimension: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One batch's vectors as (int8 rows, their scales, presence, sum of the unit rows)."""
    present = pc.is_valid(vectors).to_numpy(zero_copy_only=False)
    if vectors.null_count:
        vectors = vectors.fill_null(pa.scalar([0.0] * dimension, vectors.type))
    unit = _unit(vector_matrix(vectors, dimension))
    peak = np.abs(unit).max(axis=1) if len(unit) else np.zeros(0, np.float32)
    step = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
    return np.rint(unit / step[:, None]).astype(np.int8), step, present, unit.sum(axis=0)


def build_sketch(
    table: Any, *, vector_column: str, dimension: int, stop: threading.Event | None = None
) -> Sketch:
    """Read ``table`` once into a :class:`Sketch`; pin it to a version first (a write during
    the read would change the row count). ``stop`` set between batches abandons the build with
    :class:`SketchCancelledError`. Memory: the sketch, LanceDB's read-ahead, and one batch."""
    version = int(table.version)
    count = int(table.count_rows())
    row_ids = np.zeros(count, np.uint64)
    valid = np.zeros(count, bool)
    price = np.full(count, np.nan)
    int8 = np.zeros((count, dimension), np.int8)
    scale = np.ones(count, np.float32)
    total = np.zeros(dimension, np.float64)
    strings: dict[str, list[pa.Array]] = {name: [] for name in (*_LABELS, "attributes")}
    filled = 0
    columns = [*_LABELS, "price", "attributes", vector_column]
    for batch in table.search().select(columns).with_row_id(True).to_batches(SKETCH_BATCH):
        if stop is not None and stop.is_set():
            raise SketchCancelledError("sketch build stopped")
        end = filled + batch.num_rows
        if end > count:
            raise RuntimeError(f"table version {version} grew while its sketch was read")
        codes, step, present, unit_sum = _quantise(batch.column(vector_column), dimension)
        int8[filled:end], scale[filled:end], valid[filled:end] = codes, step, present
        total += unit_sum
        row_ids[filled:end] = batch.column("_rowid").to_numpy(zero_copy_only=False)
        price[filled:end] = batch.column("price").to_numpy(zero_copy_only=False)
        # Copied: a batch that came over Arrow's C interface is freed as a whole, so keeping a
        # slice of it would keep its vectors (the whole table, by the end) in memory.
        order = pa.array(np.arange(batch.num_rows))
        for name in strings:
            strings[name].append(pc.take(batch.column(name), order))
        filled = end
    if filled != count:
        raise RuntimeError(f"table version {version} has {count} rows but {filled} were read")
    # Sign bits of (row - mean): around the mean the signs split evenly, so the Hamming
    # distance separates rows even when every vector shares a dominant direction (CLIP's do).
    # Bits of a row without a vector are never read (it is not ``valid``).
    center = (total / max(int(valid.sum()), 1)).astype(np.float32)
    bits = np.empty((count, (dimension + 63) // 64), dtype=np.uint64)
    for start in range(0, count, SKETCH_BATCH):
        part = (
            int8[start : start + SKETCH_BATCH].astype(np.float32) * scale[start : start + SKETCH_BATCH, None]
        )
        bits[start : start + len(part)] = _pack(part > center, bits.shape[1])
    attributes = pa.chunked_array(strings["attributes"], type=pa.list_(pa.string())).combine_chunks()
    lengths = pc.list_value_length(attributes).fill_null(0).to_numpy(zero_copy_only=False)
    return Sketch(
        version=version,
        row_ids=row_ids,
        valid=valid,
        valid_rows=int(valid.sum()),
        labels={name: _Labels.of(pa.chunked_array(strings[name], type=pa.string())) for name in _LABELS},
        price=price,
        attribute_offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        attributes=_Labels.of(pc.list_flatten(attributes)),
        int8=int8,
        scale=scale,
        bits=bits,
        center=center,
    )
