"""k-means centroids for the cells of :mod:`plugin.search.pair_cells`, flat or in two levels.

Flat Lloyd on a sample of 20 rows per centroid costs ``sample x cells x dim`` per iteration, which
grows as ``cells^2``: at 2,000 cells (200k rows) ~28 s on this 2-core machine, at 10,000 cells
(1M rows) ~25x that (estimated; two levels took 96 s there). From :data:`FLAT_CENTROIDS` on,
the sample is first split into ~sqrt(cells) coarse groups by Lloyd, and each group gets fine
centroids by Lloyd on its own sample rows, in proportion to its size: the same sample,
~sqrt(cells) times less work, then 2 flat iterations over the whole sample. The cells' proof never
depends on the centroids (any centroids give exactly the pairs); better ones only compare less.
"""

from __future__ import annotations

import numpy as np

from plugin.search.blas_threads import threaded

__all__ = ["FLAT_CENTROIDS", "centroids", "nearest"]

FLAT_CENTROIDS = 1_000
"""Up to this many centroids, one flat Lloyd; above, two levels."""
_SAMPLE_PER_CELL = 20
"""k-means sample: 20 rows per centroid (20k rows for 1000 cells)."""
_ITERATIONS = 6
_REFINE = 2
"""Flat Lloyd iterations over the two levels' centroids."""
_CHUNK_ENTRIES = 2**24
"""(rows x centres) distances held at once: 64 MB of float32."""


def nearest(rows: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's nearest centre, and ``|c|^2 - 2 x.c`` for every centre: the squared distance
    less ``|x|^2``, which is the same for every centre of a row, so neither the order nor the
    differences between centres need it."""
    scores = rows @ centres.T
    scores *= -2
    scores += (centres * centres).sum(axis=1)[None, :]
    return np.argmin(scores, axis=1), scores


def chunk_rows(centres: int) -> int:
    """Rows to compare with ``centres`` centres at once (a bounded distance matrix)."""
    return max(64, _CHUNK_ENTRIES // max(1, centres))


def _labels(sample: np.ndarray, centres: np.ndarray) -> np.ndarray:
    step = chunk_rows(len(centres))
    starts = range(0, len(sample), step)
    return np.concatenate(list(threaded(lambda s: nearest(sample[s : s + step], centres)[0], starts)))


def _lloyd(sample: np.ndarray, centres: np.ndarray, iterations: int = _ITERATIONS) -> np.ndarray:
    """``centres`` moved by ``iterations`` of Lloyd over ``sample`` (in place)."""
    for _ in range(iterations):
        labels = _labels(sample, centres)
        order = np.argsort(labels, kind="stable")
        present, starts = np.unique(labels[order], return_index=True)
        # Sums per cell by one pass over the sorted rows (np.add.at is ~10x slower); an empty
        # cell keeps its centre.
        sums = np.add.reduceat(sample[order], starts, axis=0)
        counts = np.diff(np.append(starts, len(order)))
        centres[present] = sums / counts[:, None]
    return centres


def _seeds(sample: np.ndarray, cells: int, rng: np.random.Generator) -> np.ndarray:
    return sample[rng.choice(len(sample), cells, replace=False)].copy()


def _apportion(sizes: np.ndarray, total: int) -> np.ndarray:
    """``total`` split in proportion to ``sizes`` (largest remainders): exact sum, none above
    its size when ``total <= sizes.sum()``."""
    exact = sizes * (total / sizes.sum())
    share = np.floor(exact).astype(np.int64)
    short = total - int(share.sum())
    share[np.argsort(share - exact, kind="stable")[:short]] += 1
    capped: np.ndarray = np.minimum(share, sizes)
    return capped


def centroids(unit: np.ndarray, cells: int, *, seed: int = 0) -> np.ndarray:
    """``cells`` k-means centroids of a sample of ``unit`` (Lloyd, a few iterations; in two
    levels above :data:`FLAT_CENTROIDS`, see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = unit.shape[0]
    sample = unit[np.sort(rng.choice(n, min(n, cells * _SAMPLE_PER_CELL), replace=False))]
    if cells <= FLAT_CENTROIDS:
        return _lloyd(sample, _seeds(sample, cells, rng))
    groups = _lloyd(sample, _seeds(sample, int(np.sqrt(cells)), rng))
    labels = _labels(sample, groups)
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels, minlength=len(groups))
    share = _apportion(sizes, cells)
    bounds = np.append(0, np.cumsum(sizes))
    parts = []
    for g in np.flatnonzero(share):
        part = sample[order[bounds[g] : bounds[g + 1]]]
        parts.append(_lloyd(part, _seeds(part, int(share[g]), rng)))
    # Each group's centroids only met its own rows: cells cut at the groups' borders meet ~2x
    # more cells across (91 vs 42 a row at 200k); a few flat iterations over the whole sample
    # bring that to ~47 for a fraction of flat Lloyd's cost.
    return _lloyd(sample, np.concatenate(parts), _REFINE)
