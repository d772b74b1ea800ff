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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["one_blas_thread"]

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
