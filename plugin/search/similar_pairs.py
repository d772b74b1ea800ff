"""Pairs of stored products whose vectors are at least ``threshold`` alike (cosine similarity),
two ways:

* :func:`exact_pairs`: every pair over the threshold, exactly, over unit vectors held in memory:
  cell by cell (:mod:`plugin.search.pair_cells`) from a few thousand rows, else
  :func:`all_pairs`, blocked matrix products over every pair.
  Each block is ``rows x (n - first row)`` similarities (the upper triangle only: each pair
  once), sized so that it stays under ``block_bytes``; the work is ``n^2 d / 2``
  multiply-adds, done by BLAS on every core.
* :func:`neighbour_pairs`: each product's ``k`` nearest neighbours from the store's own (ANN)
  vector search, batched (:meth:`ProductStore.search_many`), for catalogs too large to hold and
  compare whole; a pair is usually seen from both sides.

Both hand back pairs block by block (row indices into the scan's order and similarities), so
the caller's memory holds one block's pairs at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from plugin.search.pair_cells import CELL_ROWS, PairBlock, cell_pairs
from plugin.store.protocol import ProductStore, VectorBatch

__all__ = [
    "BLOCK_BYTES",
    "SEARCH_BATCH",
    "PairBlock",
    "all_pairs",
    "exact_pairs",
    "neighbour_pairs",
    "unit_rows",
]

BLOCK_BYTES = 256 * 2**20
"""Largest block of similarities computed at once (float32)."""

MIN_CELLS = 8
"""Fewest cells worth the k-means (below ~1,600 rows every pair is compared: milliseconds)."""

SEARCH_BATCH = 256
"""Queries per :meth:`ProductStore.search_many` request of :func:`neighbour_pairs`."""


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (float32) scaled to unit length in place; an all-zero row stays zero (it is
    like nothing, as cosine distance to it is undefined)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    vectors /= norms
    return vectors


def exact_pairs(
    unit: np.ndarray,
    threshold: float,
    *,
    block_bytes: int = BLOCK_BYTES,
    done: Callable[[int], None] | None = None,
    cell_rows: int = CELL_ROWS,
    assigned: Callable[[int], None] | None = None,
) -> Iterator[PairBlock]:
    """Every pair of rows of ``unit`` (unit vectors) with ``unit[i] @ unit[j] >= threshold``,
    each once, a block at a time; ``assigned(rows)`` as rows are given their cells, then
    ``done(rows)`` as rows are finished. From ``MIN_CELLS`` cells of ``cell_rows`` rows on,
    compared cell by cell (:mod:`plugin.search.pair_cells`: the same pairs, ~6x less work at
    100k), below that every pair (:func:`all_pairs`)."""
    cells = unit.shape[0] // max(1, cell_rows)
    if cells >= MIN_CELLS:
        return cell_pairs(unit, threshold, cells, block_bytes=block_bytes, done=done, assigned=assigned)
    if assigned is not None:  # every row is in the one cell of every pair
        assigned(unit.shape[0])
    return all_pairs(unit, threshold, block_bytes=block_bytes, done=done)


def all_pairs(
    unit: np.ndarray,
    threshold: float,
    *,
    block_bytes: int = BLOCK_BYTES,
    done: Callable[[int], None] | None = None,
) -> Iterator[PairBlock]:
    """Every pair ``i < j`` of rows of ``unit`` (unit vectors) with ``unit[i] @ unit[j] >=
    threshold``, comparing every pair, one block of rows at a time; ``done(rows)`` after each
    block."""
    n = unit.shape[0]
    rows = max(1, min(n, block_bytes // max(1, 4 * n)))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        block = unit[start:stop] @ unit[start:].T
        # Columns are rows start.. of ``unit``: the leading square holds each pair of this
        # block twice and every row with itself; keep its upper triangle only.
        for i in range(stop - start):  # row by row: no index arrays the size of the square
            block[i, : i + 1] = -np.inf
        # Near-duplicates are rare: find the rows that have any (one fast reduction) before
        # asking where, rather than a boolean matrix the size of the block.
        hot = np.flatnonzero(block.max(axis=1) >= threshold)
        r, c = np.nonzero(block[hot] >= threshold)
        r = hot[r]
        similarity = block[r, c]
        del block
        yield PairBlock(r + start, c + start, similarity)
        if done is not None:
            done(stop - start)


def neighbour_pairs(
    store: ProductStore,
    batch: VectorBatch,
    threshold: float,
    neighbours: int,
    properties: Sequence[str],
    row: Callable[[str, dict[str, object]], int],
) -> PairBlock:
    """The pairs between each product of ``batch`` and its ``neighbours`` nearest products by
    the store's search, :data:`SEARCH_BATCH` queries a request. ``row(uuid, properties)`` is a
    product's row index (given on first sight, whether the scan or a search saw it first)."""
    first: list[int] = []
    second: list[int] = []
    similarity: list[float] = []
    rows = [
        row(uid, {name: values[i] for name, values in batch.properties.items()})
        for i, uid in enumerate(batch.uuids)
    ]
    searchable = np.flatnonzero(batch.vectors.any(axis=1))  # a zero vector is like nothing
    for start in range(0, len(searchable), SEARCH_BATCH):
        chosen = searchable[start : start + SEARCH_BATCH]
        answers = store.search_many(
            batch.vectors[chosen], limit=neighbours + 1, return_properties=list(properties)
        )
        for i, hits in zip(chosen.tolist(), answers, strict=True):
            for hit in hits:
                value = 1.0 - hit.distance
                if hit.uuid == batch.uuids[i] or value < threshold:
                    continue
                first.append(rows[i])
                second.append(row(hit.uuid, hit.properties))
                similarity.append(value)
    return PairBlock(
        np.asarray(first, dtype=np.int64),
        np.asarray(second, dtype=np.int64),
        np.asarray(similarity, dtype=np.float32),
    )
