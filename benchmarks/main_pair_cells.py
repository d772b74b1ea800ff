"""main's ``plugin/search/pair_cells.py`` before issue 24's 1M round, verbatim: the baseline of
``benchmarks/duplicates_scale.py --cells`` (flat k-means, assignment with a division and three
masks per (row, cell)). Not used by the product.

Every pair of unit vectors over a similarity threshold, without comparing every pair.

The rows are split into Voronoi cells around k-means centroids (trained on a sample). A pair
``x``, ``y`` with ``x.y >= t`` is at most ``eps = sqrt(2 - 2t)`` apart. If ``x`` lies in cell
``A`` and ``y`` in cell ``B``, ``y`` is on ``B``'s side of the hyperplane halfway between the
two centroids and ``x`` on ``A``'s, so ``|x - y|`` is at least ``x``'s distance to that
hyperplane, ``(|x - c_B|^2 - |x - c_A|^2) / (2 |c_A - c_B|)``. A row is therefore compared with
the rows of its own cell and of the cells whose hyperplane is within ``eps`` of it, and nothing
else: the pairs found are exactly those of comparing every pair (the centroids' quality only
decides the speed). At threshold 0.95 ``eps`` is 0.32, small beside the distance between
unrelated catalog products (~1), so most rows are deep inside their cell: on 100k clustered
512-d vectors 1000 cells (100 rows each) left ~19 other cells per row to meet, and the products
covered ~5% of all pairs
(docs/scale.md).

Each pair is produced once: within a cell, the upper triangle; across cells, from the row of
the lower-numbered cell while the higher-numbered cell is handled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from plugin.search.blas_threads import one_blas_thread

__all__ = ["CELL_ROWS", "PairBlock", "cell_pairs", "centroids"]

CELL_ROWS = 100
"""Rows per cell on average (cells = rows / 100). Fewer, larger cells cost more within cells,
more, smaller ones more k-means and more cells met across: at 100k (clustered 512-d catalog
vectors, threshold 0.95) 100 cells covered 76% of all pairs, 250 cells 45%, 500 17%, 1000 5%."""
_SAMPLE_PER_CELL = 20
"""k-means sample: 20 rows per centroid (20k rows for 1000 cells)."""
_ITERATIONS = 6
_CHUNK = 4_096
"""Rows assigned at once: a few (rows x cells) float32 arrays, 32 MB each at 2,000 cells."""
_MARGIN = 1e-3
"""Added to ``eps``: float32 rounding of the distances (~1e-6) never drops a pair."""


@dataclass(frozen=True)
class PairBlock:
    """Pairs ``(first[i], second[i])`` of row indices with similarity ``similarity[i]``."""

    first: np.ndarray
    second: np.ndarray
    similarity: np.ndarray


def centroids(unit: np.ndarray, cells: int, *, seed: int = 0) -> np.ndarray:
    """``cells`` k-means centroids of a sample of ``unit`` (Lloyd, a few iterations: their
    quality only changes how much is compared, never what is found)."""
    rng = np.random.default_rng(seed)
    n = unit.shape[0]
    sample = unit[np.sort(rng.choice(n, min(n, cells * _SAMPLE_PER_CELL), replace=False))]
    centres: np.ndarray = sample[rng.choice(len(sample), cells, replace=False)].copy()
    for _ in range(_ITERATIONS):
        labels = np.concatenate(
            [_nearest(sample[start : start + _CHUNK], centres)[0] for start in range(0, len(sample), _CHUNK)]
        )
        order = np.argsort(labels, kind="stable")
        present, starts = np.unique(labels[order], return_index=True)
        # Sums per cell by one pass over the sorted rows (np.add.at is ~10x slower); an empty
        # cell keeps its centre.
        sums = np.add.reduceat(sample[order], starts, axis=0)
        counts = np.diff(np.append(starts, len(order)))
        centres[present] = sums / counts[:, None]
    return centres


def _nearest(rows: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centre and the squared distances to every centre."""
    squared = (rows * rows).sum(axis=1)[:, None] + (centres * centres).sum(axis=1)[None, :]
    squared -= 2 * (rows @ centres.T)
    return np.argmin(squared, axis=1), squared


def _assign(unit: np.ndarray, centres: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each row's cell, and the (row, cell) pairs to compare across cells: cells numbered above
    the row's own whose hyperplane lies within ``eps`` of it."""
    cells = len(centres)
    norms = (centres * centres).sum(axis=1)
    between = np.sqrt(np.maximum(norms[:, None] + norms[None, :] - 2 * (centres @ centres.T), 1e-12))
    labels = np.empty(unit.shape[0], dtype=np.int64)
    extra_rows: list[np.ndarray] = []
    extra_cells: list[np.ndarray] = []
    above = np.arange(cells)[None, :]
    for start in range(0, unit.shape[0], _CHUNK):
        rows = unit[start : start + _CHUNK]
        own, squared = _nearest(rows, centres)
        labels[start : start + len(rows)] = own
        gap = (squared - squared[np.arange(len(rows)), own][:, None]) / (2 * between[own])
        row, cell = np.nonzero((gap <= eps) & (above > own[:, None]))
        extra_rows.append((row + start).astype(np.int64))
        extra_cells.append(cell.astype(np.int64))
    return labels, np.concatenate(extra_rows), np.concatenate(extra_cells)


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
) -> Iterator[PairBlock]:
    """Every pair of rows of ``unit`` (unit vectors) with similarity ``>= threshold``, compared
    cell by cell (see the module docstring); ``done(rows)`` after each cell's rows."""
    eps = float(np.sqrt(max(0.0, 2.0 - 2.0 * threshold))) + _MARGIN
    centres = centroids(unit, cells)
    labels, extra_rows, extra_cells = _assign(unit, centres, eps)
    members = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[members], np.arange(cells + 1))
    order = np.argsort(extra_cells, kind="stable")
    extra_rows, extra_bounds = extra_rows[order], np.searchsorted(extra_cells[order], np.arange(cells + 1))
    # Thousands of small products: one BLAS thread each is faster (plugin.search.blas_threads).
    with one_blas_thread():
        for cell in range(cells):
            own = members[bounds[cell] : bounds[cell + 1]]
            if len(own) == 0:
                continue
            block_rows = max(1, block_bytes // (4 * len(own)))
            yield from _over(unit, own, own, threshold, block_rows, same=True)
            visitors = extra_rows[extra_bounds[cell] : extra_bounds[cell + 1]]
            yield from _over(unit, visitors, own, threshold, block_rows, same=False)
            if done is not None:
                done(len(own))
