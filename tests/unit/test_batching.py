"""The generic batcher: coalescing, bounded queue, cancelled callers, one model at a time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from schemas.errors import OverloadedError
from vectorizer_service.batching import Batcher, InferenceRunner


class Recorder:
    """A batch function that records its batches and can be held until released."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def __call__(self, items: Sequence[str]) -> list[str]:
        self.entered.set()
        assert self.gate.wait(5), "test forgot to release the gate"
        self.batches.append(list(items))
        return [item.upper() for item in items]


@pytest.fixture
async def runner() -> AsyncIterator[InferenceRunner]:
    runner = InferenceRunner()
    yield runner
    runner.shutdown()


def make(
    runner: InferenceRunner,
    fn: Callable[[list[str]], Sequence[str]],
    *,
    max_batch_size: int = 4,
    max_wait_ms: float = 20,
    max_queue: int = 100,
) -> Batcher[str, str]:
    batcher: Batcher[str, str] = Batcher(
        "test", fn, runner, max_batch_size=max_batch_size, max_wait_ms=max_wait_ms, max_queue=max_queue
    )
    batcher.start()
    return batcher


async def hold(recorder: Recorder, batcher: Batcher[str, str]) -> asyncio.Task[str]:
    """Occupy the model with one item until ``recorder.gate`` is set."""
    recorder.gate.clear()
    recorder.entered.clear()
    task = asyncio.ensure_future(batcher.submit("busy"))
    assert await asyncio.to_thread(recorder.entered.wait, 5)
    return task


async def test_concurrent_items_are_coalesced_up_to_the_max_batch(runner: InferenceRunner) -> None:
    recorder = Recorder()
    batcher = make(runner, recorder, max_batch_size=4)
    results = await asyncio.gather(*(batcher.submit(f"t{i}") for i in range(10)))
    assert results == [f"T{i}" for i in range(10)]
    assert sorted(len(b) for b in recorder.batches) == [2, 4, 4]
    await batcher.stop()


async def test_work_arriving_while_the_model_is_busy_joins_one_batch(runner: InferenceRunner) -> None:
    recorder = Recorder()
    batcher = make(runner, recorder, max_batch_size=32, max_wait_ms=0)
    busy = await hold(recorder, batcher)
    waiting = [asyncio.ensure_future(batcher.submit(f"t{i}")) for i in range(5)]
    await asyncio.sleep(0.01)
    recorder.gate.set()
    assert await asyncio.gather(*waiting) == ["T0", "T1", "T2", "T3", "T4"]
    assert await busy == "BUSY"
    assert recorder.batches == [["busy"], ["t0", "t1", "t2", "t3", "t4"]]
    await batcher.stop()


async def test_submit_many_keeps_order(runner: InferenceRunner) -> None:
    batcher = make(runner, Recorder(), max_batch_size=3)
    assert await batcher.submit_many(["a", "b", "c", "d", "e"]) == ["A", "B", "C", "D", "E"]
    assert await batcher.submit_many([]) == []
    await batcher.stop()


async def test_full_queue_fails_fast_and_reserves_all_or_nothing(runner: InferenceRunner) -> None:
    recorder = Recorder()
    batcher = make(runner, recorder, max_queue=3)
    busy = await hold(recorder, batcher)
    try:
        queued = asyncio.ensure_future(batcher.submit_many(["a", "b"]))
        await asyncio.sleep(0)
        assert batcher.depth == 2
        with pytest.raises(OverloadedError, match="queue is full"):
            await batcher.submit_many(["c", "d"])
        assert batcher.depth == 2  # nothing of the refused request was queued
        third = asyncio.ensure_future(batcher.submit("c"))  # exactly fills the queue
        await asyncio.sleep(0)
        with pytest.raises(OverloadedError):
            await batcher.submit("d")
    finally:
        recorder.gate.set()
    assert await queued == ["A", "B"]
    assert await third == "C"
    await busy
    assert ["d"] not in recorder.batches
    await batcher.stop()


async def test_cancelled_callers_are_skipped_before_inference(runner: InferenceRunner) -> None:
    recorder = Recorder()
    batcher = make(runner, recorder)
    busy = await hold(recorder, batcher)
    try:
        gone = asyncio.ensure_future(batcher.submit_many(["gone1", "gone2"]))
        kept = asyncio.ensure_future(batcher.submit("kept"))
        await asyncio.sleep(0)
        assert batcher.depth == 3
        gone.cancel()
        await asyncio.sleep(0.01)
        assert batcher.depth == 1  # a caller that went away frees its capacity before the model is free
    finally:
        recorder.gate.set()
    assert await kept == "KEPT"
    await busy
    assert recorder.batches == [["busy"], ["kept"]]
    await batcher.stop()


async def test_a_failing_batch_fails_its_callers_and_the_batcher_keeps_serving(
    runner: InferenceRunner,
) -> None:
    calls: list[list[str]] = []

    def flaky(items: list[str]) -> list[str]:
        calls.append(items)
        if "boom" in items:
            raise RuntimeError("model exploded")
        return items

    batcher = make(runner, flaky, max_wait_ms=0)
    with pytest.raises(RuntimeError, match="model exploded"):
        await batcher.submit("boom")
    assert await batcher.submit("fine") == "fine"
    await batcher.stop()


async def test_wrong_result_count_is_an_error_not_a_misalignment(runner: InferenceRunner) -> None:
    batcher = make(runner, lambda items: items[:-1], max_wait_ms=0)
    with pytest.raises(RuntimeError, match="returned 1 results for 2"):
        await batcher.submit_many(["a", "b"])
    await batcher.stop()


async def test_batchers_sharing_a_runner_never_run_concurrently(runner: InferenceRunner) -> None:
    active = 0
    overlap = False
    lock = threading.Lock()

    def slow(items: list[str]) -> list[str]:
        nonlocal active, overlap
        with lock:
            active += 1
            overlap = overlap or active > 1
        threading.Event().wait(0.005)
        with lock:
            active -= 1
        return items

    texts = make(runner, slow, max_wait_ms=0, max_batch_size=2)
    images = make(runner, slow, max_wait_ms=0, max_batch_size=2)
    await asyncio.gather(*(b.submit(str(i)) for i in range(12) for b in (texts, images)))
    assert not overlap
    await texts.stop()
    await images.stop()


async def test_stop_cancels_queued_work(runner: InferenceRunner) -> None:
    recorder = Recorder()
    batcher = make(runner, recorder)
    busy = await hold(recorder, batcher)
    queued = asyncio.ensure_future(batcher.submit("never"))
    await asyncio.sleep(0)
    await batcher.stop()
    recorder.gate.set()
    with pytest.raises(asyncio.CancelledError):
        await queued
    busy.cancel()
    assert batcher.depth == 0
