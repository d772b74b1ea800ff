"""Run a stretch of many small matrix products on one BLAS thread.

OpenBLAS splits every product across its threads and makes them meet at the end. For the
thousands of small products of :mod:`plugin.search.pair_cells` (a few thousand rows by ~100)
that meeting costs more than it saves, and on a machine with more runnable threads than cores
it is ruinous: a thread waits a whole time slice for its descheduled partner. Measured on
20k catalog vectors on 2 shared cores (load ~30): 14.5 s with two threads, 4.0 s with one
(docs/scale.md). The big products elsewhere keep every thread.

NumPy has no API for this; like ``threadpoolctl`` we find the OpenBLAS library this process
loaded and call its own setter. Anything else (another BLAS, no ``/proc``) is left as it is.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["WORKERS", "one_blas_thread", "threaded"]

WORKERS = min(4, os.cpu_count() or 1)
"""Threads of :func:`threaded`: one per core, at most 4."""

_T = TypeVar("_T")
_R = TypeVar("_R")

_PREFIXES = ("scipy_openblas", "openblas")
_SUFFIXES = ("64_", "_64_", "")


def _openblas() -> tuple[Any, Any] | None:
    """The loaded OpenBLAS's (get, set) thread-count functions, if there is one."""
    try:
        maps = Path("/proc/self/maps").read_text()
    except OSError:
        return None
    paths = {line.split()[-1] for line in maps.splitlines() if "openblas" in line.rsplit("/", 1)[-1]}
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in _PREFIXES:
            for suffix in _SUFFIXES:
                getter = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                setter = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if getter is not None and setter is not None:
                    return getter, setter
    return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Inside: OpenBLAS uses one thread; after: as many as before."""
    found = _openblas()
    if found is None:
        yield
        return
    getter, setter = found
    before = int(getter())
    setter(1)
    try:
        yield
    finally:
        setter(before)


def threaded(work: Callable[[_T], _R], items: Iterable[_T]) -> Iterator[_R]:
    """``work`` over ``items`` in :data:`WORKERS` threads, each product on one OpenBLAS thread,
    answers in order. Independent small products on a core each, unlike one product split across
    cores, never wait for one another; NumPy lets go of the GIL in the products and the loops
    over arrays, so the threads run side by side."""
    with one_blas_thread(), ThreadPoolExecutor(WORKERS) as pool:
        yield from pool.map(work, items)
