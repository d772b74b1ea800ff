"""Filtered queries on a large embedded table, planned on the in-memory :class:`Sketch`.

The sketch says how many rows a filter keeps before any vector is read, and the plan follows:

* **none** keep: the answer is empty, at once.
* **a large share** (``POST_FILTER_SHARE`` or more): one unfiltered ANN query, ranked on the
  index's 1-bit codes only, for ``refine_factor`` candidates per neighbour needed (``limit /
  share`` with a margin); the candidates that pass the sketch's mask are re-ranked as below.
  Cheap because LanceDB's cost without its own re-rank hardly grows with the candidates.
* **fewer**: a flat search over the rows kept (the fallback of the large share too): the best
  ``BIT_CANDIDATES`` by Hamming distance on the sign bits, re-ranked on int8, and the best
  ``limit + EXACT_EXTRA`` read back from the table for exact cosine distances. Every kept row
  is a candidate, so the answer has ``limit`` rows whenever that many pass.

A table written meanwhile (its version is no longer the sketch's) is answered by LanceDB's own
pre-filtered query instead (:mod:`plugin.store.lance.query`), and the sketch is rebuilt in the
background (:class:`SketchCache`). Figures behind the constants: docs/scale.md.
"""

from __future__ import annotations

import atexit
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa

from plugin.store.lance.scan import vector_matrix
from plugin.store.lance.sketch import Sketch, SketchCancelledError, build_sketch
from plugin.store.protocol import ProductFilter

__all__ = [
    "BIT_CANDIDATES",
    "DEFAULT_SKETCH_ROWS",
    "EXACT_EXTRA",
    "POST_FILTER_SHARE",
    "SketchCache",
    "flat_search",
    "pinned_table",
    "plan_filtered",
]

_log = logging.getLogger(__name__)

DEFAULT_SKETCH_ROWS = 100_000
"""Rows from which a table gets a sketch: below it LanceDB's own pre-filtered query is already
a few milliseconds, and the sketch's memory buys nothing."""
POST_FILTER_SHARE = 0.2
"""Share of rows a filter keeps from which an unfiltered ANN query plus a post-filter is the
plan: at 20% it asks the index for 850 candidates for 10 results, without LanceDB's re-rank
(whose cost hardly grows with them: 10 or 400 in ~6 ms at 1M), where the flat search would rank
200,000 rows at 1M. Measured at 1M: 50% 13.4 ms, 5% (flat) 10.7 ms p50 (docs/scale.md)."""
POST_FILTER_MARGIN = 1.5
"""Neighbours wanted per expected pass: ``limit / share x margin + limit``."""
MAX_ANN_CANDIDATES = 2_000
"""Most candidates one post-filtered ANN query asks for (``wanted x refine_factor``): without
re-ranking on full vectors, LanceDB's IVF_RQ answers 10 or 400 in about the same 6 ms at 1M."""
BIT_CANDIDATES = 4_096
"""Rows the Hamming ranking keeps for the int8 re-rank."""
EXACT_EXTRA = 6
"""Rows read back beyond ``limit`` for exact distances: the int8 ranking is close, not exact
(a dot product's error is ~3e-4 at 512-d), so the last few places may swap."""
BUILD_AFTER_MISSES = 2
"""Filtered queries on a version without a sketch before one is built for it."""

# A callable that runs one unfiltered ANN query for ``n`` neighbours, ranked on the index's own
# codes (no re-rank on full vectors: the sketch re-ranks), and returns their row ids.
AnnQuery = Callable[[int], np.ndarray]
# A callable that reads rows by LanceDB row id: the uuid, the returned properties, and these columns.
TakeRows = Callable[[list[int], list[str]], pa.Table]


def _normalised(query: np.ndarray) -> np.ndarray:
    return np.asarray(query / np.linalg.norm(query), dtype=np.float32)


def flat_search(
    sketch: Sketch, keep: np.ndarray, query: np.ndarray, limit: int, take: TakeRows, vector_column: str
) -> pa.Table:
    """The ``limit`` rows nearest ``query`` among the rows at ``keep`` (sketch positions), read
    with ``take``; a ``_distance`` column (exact cosine distance) added, nearest first."""
    unit = _normalised(query)
    candidates = keep
    # np.take, not fancy indexing: 10x faster gathering rows of a 2-D array (NumPy 2.x).
    if len(candidates) > BIT_CANDIDATES:
        differing = np.bitwise_count(np.take(sketch.bits, candidates, axis=0) ^ sketch.query_bits(unit))
        # A float matmul sums the words' counts ~7x faster than an integer sum over axis 1.
        hamming = differing.astype(np.float32) @ np.ones(differing.shape[1], np.float32)
        candidates = candidates[np.argpartition(hamming, BIT_CANDIDATES - 1)[:BIT_CANDIDATES]]
    codes = np.take(sketch.int8, candidates, axis=0).astype(np.float32)
    approx = (codes @ unit) * sketch.scale[candidates]
    wanted = min(len(candidates), limit + EXACT_EXTRA)
    best = (
        candidates[np.argpartition(-approx, wanted - 1)[:wanted]] if wanted < len(candidates) else candidates
    )
    rows = take([int(r) for r in sketch.row_ids[best]], [vector_column])
    vectors = vector_matrix(rows.column(vector_column), len(unit))
    norms = np.linalg.norm(vectors, axis=1)
    distance = 1.0 - (vectors @ unit) / np.where(norms > 0, norms, 1.0)
    order = np.argsort(distance, kind="stable")[:limit]
    picked = rows.take(pa.array(order)).drop_columns([vector_column])
    return picked.append_column("_distance", pa.array(distance[order], pa.float32()))


def plan_filtered(
    sketch: Sketch,
    filters: ProductFilter,
    query: np.ndarray,
    limit: int,
    *,
    ann: AnnQuery,
    take: TakeRows,
    vector_column: str,
    refine_factor: int,
) -> pa.Table:
    """The filtered query's rows (``_distance`` ascending, at most ``limit``) by the plan the
    filter's share of rows calls for (module docstring). ``refine_factor``: ANN candidates per
    neighbour wanted, as the unfiltered query re-ranks."""
    keep_mask = sketch.mask(filters)
    kept = int(np.count_nonzero(keep_mask))
    if kept == 0:
        return pa.table({"_distance": pa.array([], pa.float32())})
    share = kept / max(sketch.valid_rows, 1)
    if share >= POST_FILTER_SHARE and kept >= limit:
        wanted = math.ceil(limit / share * POST_FILTER_MARGIN) + limit
        at = sketch.positions(ann(min(MAX_ANN_CANDIDATES, wanted * refine_factor)))
        passing = at[at >= 0]
        passing = passing[keep_mask[passing]]
        if len(passing) >= limit:
            return flat_search(sketch, passing, query, limit, take, vector_column)
    return flat_search(sketch, np.flatnonzero(keep_mask), query, limit, take, vector_column)


def pinned_table(data_dir: Path, name: str) -> Callable[[int], Any]:
    """``reopen`` for :class:`SketchCache`: table ``name`` in ``data_dir`` on a handle of its own,
    pinned at a version (the sketch is built in a thread while queries use the store's handle)."""

    def at(version: int) -> Any:
        table = lancedb.connect(str(data_dir)).open_table(name)
        table.checkout(version)
        return table

    return at


class SketchCache:
    """The latest :class:`Sketch` of one table, rebuilt in a background thread when the table
    moves to a new version (a query meanwhile gets ``None`` and goes through LanceDB).

    ``reopen(version)`` returns a table handle pinned at ``version`` for the build. A table under
    ``min_rows`` gets no sketch. Builds are spaced so that at most about a third of the time goes
    to them under a steady stream of writes (``gap`` x the last build's duration between builds).
    """

    def __init__(
        self,
        reopen: Callable[[int], Any],
        *,
        vector_column: str,
        dimension: int,
        min_rows: int = DEFAULT_SKETCH_ROWS,
        gap: float = 2.0,
    ) -> None:
        self._reopen = reopen
        self._vector_column = vector_column
        self._dimension = dimension
        self._min_rows = min_rows
        self._gap = gap
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sketch: Sketch | None = None
        self._small: int | None = None  # a version found under min_rows
        self._missed: int | None = None  # the version queries last found no sketch of
        self._misses = 0
        self._worker: threading.Thread | None = None
        self._next_start = 0.0
        _OPEN.add(self)

    def current(self, version: int, *, build: bool = False) -> Sketch | None:
        """The sketch of ``version``, or ``None``. A build of it is started (unless one runs)
        at the second filtered query that finds none, or at once with ``build``: a one-shot
        command's single query never pays for a build it would not use."""
        with self._lock:
            if self._sketch is not None and self._sketch.version == version:
                return self._sketch
            if self._small == version or self._stop.is_set():
                return None
            self._misses = self._misses + 1 if self._missed == version else 1
            self._missed = version
            running = self._worker is not None and self._worker.is_alive()
            wanted = build or self._misses >= BUILD_AFTER_MISSES
            if wanted and not running and time.monotonic() >= self._next_start:
                # The old sketch is never used again: let it go before the new one is read.
                self._sketch = None
                self._worker = threading.Thread(
                    target=self._build, args=(version,), name="lance-sketch", daemon=True
                )
                self._worker.start()
        return None

    def warm(self, version: int, timeout: float | None = None) -> Sketch | None:
        """Build the sketch of ``version`` now (or wait for the build running) and return it."""
        with self._lock:
            self._next_start = 0.0
        self.current(version, build=True)
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
        return self.current(version)

    def close(self) -> None:
        """Stop a running build (between batches) and wait for it."""
        self._stop.set()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join()
        self._sketch = None

    def _build(self, version: int) -> None:
        started = time.monotonic()
        try:
            table = self._reopen(version)
            if int(table.count_rows()) < self._min_rows:
                with self._lock:
                    self._small = version
                return
            sketch = build_sketch(
                table, vector_column=self._vector_column, dimension=self._dimension, stop=self._stop
            )
            with self._lock:
                self._sketch = sketch
        except SketchCancelledError:
            return
        except Exception:  # a failed build costs speed, never an answer: queries use LanceDB
            _log.exception("building the filter sketch of version %s failed", version)
        finally:
            with self._lock:
                self._next_start = time.monotonic() + self._gap * (time.monotonic() - started)


_OPEN: weakref.WeakSet[SketchCache] = weakref.WeakSet()


@atexit.register
def _stop_builds() -> None:
    # A build thread still reading when the interpreter shuts down could touch freed state.
    for cache in list(_OPEN):
        cache.close()
