"""Every pair of unit vectors over a similarity threshold, without comparing every pair.

The rows are split into Voronoi cells around k-means centroids (trained on a sample). A pair
``x``, ``y`` with ``x.y >= t`` is at most ``eps = sqrt(2 - 2t)`` apart. If ``x`` lies in cell
``A`` and ``y`` in cell ``B``, ``y`` is on ``B``'s side of the hyperplane halfway between the
two centroids and ``x`` on ``A``'s, so ``|x - y|`` is at least ``x``'s distance to that
hyperplane, ``(|x - c_B|^2 - |x - c_A|^2) / (2 |c_A - c_B|)``; and, ``r_B`` being the distance
from ``c_B`` to ``B``'s farthest row, at least ``|x - c_B| - r_B``. A row is therefore compared
with the rows of its own cell and of the cells whose hyperplane is within ``eps`` of it and
whose centre is within ``r_B + eps``, and nothing else: the pairs found are exactly those of
comparing every pair (the centroids' quality only decides the speed). At threshold 0.95 ``eps``
is 0.32, small beside the distance between unrelated catalog products (~1), so most rows are
deep inside their cell: on 100k clustered 512-d vectors 1000 cells (100 rows each) left ~19
other cells per row to meet, and the products covered ~5% of all pairs (docs/scale.md).

Each pair is produced once: within a cell, the upper triangle; across cells, from the row of
the lower-numbered cell while the higher-numbered cell is handled.

Cost at a million rows (10,000 cells): the centroids come in two levels
(:mod:`plugin.search.centroids`); the assignment, which measures every row against every
centroid (rows x cells x dim), runs in chunks on a thread per core, as do the cells. Cells keep
100 rows while ``eps`` stays fixed, so at 1M a row met ~234 other cells by the hyperplane bound
alone (47 at 200k): the cells' products were most of the 1M run, and the ball bound took it from
809 s to 492 s (docs/scale.md).

Why not a two-level *partition* (coarse cells, each with the rows of other coarse cells within
``eps`` of its border as visitors, flat cells inside)? It is exact, but on this geometry slower
than flat: at 200k a row lay within ``eps`` of 6-9 coarse borders, and a visitor, being outside
the coarse cell, met ~4x as many fine cells as an own row (383 s against 40 s, docs/scale.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from plugin.search.blas_threads import threaded
from plugin.search.centroids import centroids, chunk_rows, nearest

__all__ = ["CELL_ROWS", "PairBlock", "cell_pairs"]

CELL_ROWS = 100
"""Rows per cell on average (cells = rows / 100). Fewer, larger cells cost more within cells,
more, smaller ones more k-means and more cells met across: at 100k (clustered 512-d catalog
vectors, threshold 0.95) 100 cells covered 76% of all pairs, 250 cells 45%, 500 17%, 1000 5%."""
_MARGIN = 1e-3
"""Added to ``eps``: float32 rounding of the distances (~1e-6) never drops a pair."""


@dataclass(frozen=True)
class PairBlock:
    """Pairs ``(first[i], second[i])`` of row indices with similarity ``similarity[i]``."""

    first: np.ndarray
    second: np.ndarray
    similarity: np.ndarray


def _assign(
    unit: np.ndarray, centres: np.ndarray, eps: float, assigned: Callable[[int], None] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's cell, and the (row, cell) pairs to compare across cells: cells numbered above
    the row's own whose hyperplane lies within ``eps`` of it."""
    cells = len(centres)
    # Row x's distance to the hyperplane between its cell a and cell f is
    # (|x - c_f|^2 - |x - c_a|^2) / (2 |c_a - c_f|): compare the numerator with
    # reach[a, f] = 2 eps |c_a - c_f|, -inf where f <= a (the lower cell's row asks), so each
    # chunk costs one gather and one comparison, not a division and three masks.
    norms = (centres * centres).sum(axis=1)
    reach = centres @ centres.T
    reach *= -2
    reach += norms[:, None]
    reach += norms[None, :]
    np.sqrt(np.maximum(reach, 1e-12, out=reach), out=reach)
    reach *= 2 * eps
    for a in range(cells):  # row by row: no index arrays the size of the matrix
        reach[a, : a + 1] = -np.inf
    labels = np.empty(unit.shape[0], dtype=np.int64)
    own_squared = np.empty(unit.shape[0], dtype=np.float32)
    extra_rows: list[np.ndarray] = []
    extra_cells: list[np.ndarray] = []
    extra_squared: list[np.ndarray] = []
    step = chunk_rows(cells)

    def chunk(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rows = unit[start : start + step]
        own, scores = nearest(rows, centres)
        mine = (rows * rows).sum(axis=1) + scores[np.arange(len(own)), own]  # |x - c_a|^2
        scores -= scores[np.arange(len(own)), own][:, None]
        row, cell = np.nonzero(scores <= reach[own])
        # int32: the (row, cell) pairs run to ~50 a row at 200k and ~234 at 1M (1.9 GB)
        squared = scores[row, cell] + mine[row]  # |x - c_f|^2, for the ball test below
        return own, mine, (row + start).astype(np.int32), cell.astype(np.int32), squared

    for start, (own, mine, rows, cells_met, squared) in zip(
        range(0, unit.shape[0], step), threaded(chunk, range(0, unit.shape[0], step)), strict=True
    ):
        labels[start : start + len(own)] = own
        own_squared[start : start + len(own)] = mine
        extra_rows.append(rows)
        extra_cells.append(cells_met)
        extra_squared.append(squared)
        if assigned is not None:
            assigned(len(own))
    # A second bound, from the cell's other side: every row y of cell f lies within r_f (its
    # farthest row) of c_f, so |x - y| >= |x - c_f| - r_f, and a cell farther than r_f + eps
    # holds no partner of x. It halves the cells met on the benchmark catalog.
    radius = np.zeros(cells, dtype=np.float32)
    np.maximum.at(radius, labels, own_squared)
    limit = (np.sqrt(radius) + eps) ** 2
    # Chunk by chunk, each chunk's arrays freed as it is read: the (row, cell) pairs are ~234 a
    # row at 1M (three arrays of ~0.9 GB), and concatenating them before the test held them twice.
    kept_rows: list[np.ndarray] = []
    kept_cells: list[np.ndarray] = []
    while extra_rows:
        rows, cells_met, squared = extra_rows.pop(0), extra_cells.pop(0), extra_squared.pop(0)
        near = squared <= limit[cells_met]
        kept_rows.append(rows[near])
        kept_cells.append(cells_met[near])
        del rows, cells_met, squared, near
    return labels, _joined(kept_rows), _joined(kept_cells)


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """One int32 array of ``parts``, emptying the list as it copies (peak: the result plus one
    part)."""
    out: np.ndarray = np.empty(sum(len(p) for p in parts), dtype=np.int32)
    at = 0
    while parts:
        part = parts.pop(0)
        out[at : at + len(part)] = part
        at += len(part)
    return out


def _over(
    unit: np.ndarray,
    queries: np.ndarray,
    targets: np.ndarray,
    threshold: float,
    block_rows: int,
    *,
    same: bool,
) -> Iterator[PairBlock]:
    """Pairs (query row, target row) at or over ``threshold``; ``same``: the two lists are one
    cell's rows and only pairs with the query first in the list count (each pair once)."""
    target_vectors = unit[targets]
    for start in range(0, len(queries), block_rows):
        chosen = queries[start : start + block_rows]
        block = unit[chosen] @ target_vectors.T
        if same:  # keep target positions after the query's own: each pair once, no self-pairs
            block[
                np.arange(start, start + len(chosen))[:, None] >= np.arange(len(targets))[None, :]
            ] = -np.inf
        # Pairs are rare: one fast reduction finds the rows that have any before asking where.
        hot = np.flatnonzero(block.max(axis=1) >= threshold)
        if len(hot):
            r, c = np.nonzero(block[hot] >= threshold)
            yield PairBlock(chosen[hot[r]], targets[c], block[hot[r], c])


def cell_pairs(
    unit: np.ndarray,
    threshold: float,
    cells: int,
    *,
    block_bytes: int,
    done: Callable[[int], None] | None = None,
    assigned: Callable[[int], None] | None = None,
) -> Iterator[PairBlock]:
    """Every pair of rows of ``unit`` (unit vectors) with similarity ``>= threshold``, compared
    cell by cell (see the module docstring); ``assigned(rows)`` as rows are given their cells
    (minutes at 1M, before any cell is compared), ``done(rows)`` after each cell's rows."""
    eps = float(np.sqrt(max(0.0, 2.0 - 2.0 * threshold))) + _MARGIN
    centres = centroids(unit, cells)
    cells = len(centres)
    labels, extra_rows, extra_cells = _assign(unit, centres, eps, assigned)
    members = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[members], np.arange(cells + 1))
    order = np.argsort(extra_cells, kind="stable")
    extra_rows, extra_bounds = extra_rows[order], np.searchsorted(extra_cells[order], np.arange(cells + 1))
    # This is a generator: its locals live until the last cell, so let the sort's go now
    # (at 1M the order alone is ~0.9 GB).
    del order, extra_cells, labels

    def compare(cell: int) -> tuple[int, list[PairBlock]]:
        own = members[bounds[cell] : bounds[cell + 1]]
        if len(own) == 0:
            return 0, []
        block_rows = max(1, block_bytes // (4 * len(own)))
        visitors = extra_rows[extra_bounds[cell] : extra_bounds[cell + 1]]
        found = list(_over(unit, own, own, threshold, block_rows, same=True))
        found.extend(_over(unit, visitors, own, threshold, block_rows, same=False))
        return len(own), found

    # Thousands of small products: one BLAS thread each, a cell per core
    # (plugin.search.blas_threads).
    for rows, found in threaded(compare, range(cells)):
        yield from found
        if done is not None and rows:
            done(rows)
