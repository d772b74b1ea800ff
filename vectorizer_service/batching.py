"""A small, generic dynamic batcher: submit items, await their results.

Concurrent callers' items are coalesced into one call of a batch function (up to
``max_batch_size`` items; a batch waits at most ``max_wait_ms`` for more work once it could
run). The queue is bounded: when it is full, :class:`~schemas.errors.OverloadedError` is raised
at once instead of letting memory grow. Items whose caller has gone away (its future was
cancelled) are dropped before they reach the batch function.

Every batcher runs its batch function through an :class:`InferenceRunner`: one thread, one
lock. Batchers sharing a runner therefore never call their models concurrently, and a batch is
only formed when the runner is free, so work that arrived while the model was busy joins it.

The module knows nothing of models or transports.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from schemas.errors import OverloadedError

__all__ = ["BatchObserver", "Batcher", "InferenceRunner"]

T = TypeVar("T")
R = TypeVar("R")
V = TypeVar("V")


class BatchObserver(Protocol):
    """Receives what a batcher does, e.g. to export it as metrics."""

    def batch_done(self, batcher: str, size: int, seconds: float) -> None: ...

    def queue_depth(self, batcher: str, depth: int) -> None: ...


class InferenceRunner:
    """One inference thread shared by every batcher of an engine.

    The lock makes a batcher wait for the model to be free *before* it takes its batch from
    the queue, so batches are as large as the waiting work allows.
    """

    def __init__(self, thread_name: str = "inference") -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name)
        self._lock = asyncio.Lock()

    @property
    def lock(self) -> asyncio.Lock:
        return self._lock

    async def call(self, fn: Callable[[], V]) -> V:
        """Run ``fn`` on the inference thread without holding the lock (startup, warm-up)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


@dataclass(eq=False)
class _Pending(Generic[T, R]):
    item: T
    future: asyncio.Future[R]
    queued: bool = field(default=True)


class Batcher(Generic[T, R]):
    """Coalesces submitted items into calls of ``fn(batch) -> results`` (one result per item,
    in order), run on ``runner``'s thread."""

    def __init__(
        self,
        name: str,
        fn: Callable[[list[T]], Sequence[R]],
        runner: InferenceRunner,
        *,
        max_batch_size: int,
        max_wait_ms: float,
        max_queue: int,
        observer: BatchObserver | None = None,
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError("max_batch_size and max_queue must be >= 1, max_wait_ms >= 0")
        self.name = name
        self._fn = fn
        self._runner = runner
        self._max_batch = max_batch_size
        self._max_wait = max_wait_ms / 1000.0
        self._max_queue = max_queue
        self._observer = observer
        self._queue: collections.deque[_Pending[T, R]] = collections.deque()
        self._depth = 0  # queued items whose caller is still waiting
        self._wakeup = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        """Items waiting to be batched."""
        return self._depth

    def start(self) -> None:
        """Start the worker task; call from the event loop that will submit."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._run(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        """Stop the worker and fail everything still queued."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        while self._queue:
            pending = self._queue.popleft()
            pending.queued = False
            if not pending.future.done():
                pending.future.cancel()
        self._set_depth(0)

    def enqueue_many(self, items: Sequence[T]) -> list[asyncio.Future[R]]:
        """Queue all of ``items`` or none: raises :class:`OverloadedError` when they do not all
        fit. Returns one future per item; cancelling a future withdraws its item."""
        if self._worker is None:
            raise RuntimeError(f"batcher {self.name!r} is not started")
        if self._depth + len(items) > self._max_queue:
            raise OverloadedError(
                f"{self.name} queue is full ({self._depth} of {self._max_queue} waiting, "
                f"{len(items)} more requested); retry later"
            )
        loop = asyncio.get_running_loop()
        futures: list[asyncio.Future[R]] = []
        for item in items:
            pending: _Pending[T, R] = _Pending(item, loop.create_future())
            pending.future.add_done_callback(functools.partial(self._withdraw, pending))
            self._queue.append(pending)
            futures.append(pending.future)
        self._set_depth(self._depth + len(items))
        if items:
            self._wakeup.set()
        return futures

    async def submit_many(self, items: Sequence[T]) -> list[R]:
        """Queue ``items`` atomically and wait for their results, in order."""
        return await gather_all(self.enqueue_many(items))

    async def submit(self, item: T) -> R:
        """Queue one item and wait for its result."""
        return (await self.submit_many([item]))[0]

    def _withdraw(self, pending: _Pending[T, R], _future: asyncio.Future[R]) -> None:
        # A caller that went away no longer holds queue capacity.
        if pending.queued and pending.future.cancelled():
            pending.queued = False
            self._set_depth(self._depth - 1)

    def _set_depth(self, depth: int) -> None:
        self._depth = depth
        if self._observer is not None:
            self._observer.queue_depth(self.name, depth)

    def _take_batch(self) -> list[_Pending[T, R]]:
        batch: list[_Pending[T, R]] = []
        while self._queue and len(batch) < self._max_batch:
            pending = self._queue.popleft()
            if pending.future.done():  # cancelled: its caller has gone away
                continue
            pending.queued = False
            batch.append(pending)
        self._set_depth(self._depth - len(batch))
        return batch

    async def _wait_for_batch(self) -> None:
        """Wait for work, then up to ``max_wait`` for a full batch."""
        while not self._queue:
            self._wakeup.clear()
            await self._wakeup.wait()
        deadline = time.monotonic() + self._max_wait
        while self._depth < self._max_batch:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._wakeup.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), remaining)

    async def _run(self) -> None:
        while True:
            await self._wait_for_batch()
            async with self._runner.lock:
                batch = self._take_batch()
                if not batch:
                    continue
                started = time.perf_counter()
                try:
                    results = await self._runner.call(functools.partial(self._call, batch))
                except Exception as exc:  # the batch function failed: every caller in it learns why
                    for pending in batch:
                        if not pending.future.done():
                            pending.future.set_exception(exc)
                    continue
                finally:
                    if self._observer is not None:
                        self._observer.batch_done(self.name, len(batch), time.perf_counter() - started)
            for pending, result in zip(batch, results, strict=True):
                if not pending.future.done():
                    pending.future.set_result(result)

    def _call(self, batch: list[_Pending[T, R]]) -> Sequence[R]:
        results = self._fn([p.item for p in batch])
        if len(results) != len(batch):
            raise RuntimeError(
                f"{self.name}: batch function returned {len(results)} results for {len(batch)}"
            )
        return results


async def gather_all(futures: Sequence[asyncio.Future[R]]) -> list[R]:
    """Await every future, in order. If the caller is cancelled or one future fails, the rest
    are cancelled so their items are skipped before inference."""
    try:
        return [await f for f in futures]
    finally:
        for f in futures:
            if not f.done():
                f.cancel()
            elif not f.cancelled():
                f.exception()  # mark a sibling's failure as seen; the first one was raised
