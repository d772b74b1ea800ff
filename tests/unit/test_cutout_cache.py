"""The cut-out cache: the same pixels are cut out once; other pixels, or a full cache, are not
served a stale cut-out."""

from __future__ import annotations

from PIL import Image

from vectorizer_service.compose.cutout_cache import CaptionCache, CutoutCache
from vectorizer_service.compose.protocols import Caption, Cutout


class _Remover:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, image: Image.Image) -> Cutout:
        self.calls += 1
        return Cutout(image.copy(), coverage=0.5)


async def test_same_pixels_are_cut_out_once() -> None:
    remover = _Remover()
    cache = CutoutCache(remover, size=2)
    red = Image.new("RGB", (8, 8), "red")
    first = await cache(red)
    again = await cache(Image.new("RGB", (8, 8), "red"))  # another object, the same pixels
    assert again is first and remover.calls == 1 and cache.hits == 1


async def test_other_pixels_and_eviction() -> None:
    remover = _Remover()
    cache = CutoutCache(remover, size=2)
    images = [Image.new("RGB", (8, 8), c) for c in ("red", "green", "blue")]
    for image in images:
        await cache(image)
    assert remover.calls == 3
    await cache(images[0])  # evicted by the third: cut out again
    assert remover.calls == 4
    await cache(images[2])
    assert remover.calls == 4


async def test_size_zero_turns_it_off() -> None:
    remover = _Remover()
    cache = CutoutCache(remover, size=0)
    red = Image.new("RGB", (8, 8), "red")
    await cache(red)
    await cache(red)
    assert remover.calls == 2


async def test_concurrent_calls_for_the_same_pixels_compute_once() -> None:
    import asyncio

    started = asyncio.Event()
    release = asyncio.Event()
    calls = 0

    async def slow(image: Image.Image) -> Caption:
        nonlocal calls
        calls += 1
        started.set()
        await release.wait()
        return Caption("red dress")

    cache = CaptionCache(slow, size=4)
    red = Image.new("RGB", (8, 8), "red")
    first = asyncio.create_task(cache(red))
    await started.wait()
    others = [asyncio.create_task(cache(Image.new("RGB", (8, 8), "red"))) for _ in range(3)]
    await asyncio.sleep(0.05)  # the others hash the pixels and find the computation under way
    release.set()
    answers = await asyncio.gather(first, *others)
    assert calls == 1 and all(a is answers[0] for a in answers) and cache.hits == 3


async def test_a_failure_is_shared_and_not_cached() -> None:
    import asyncio

    import pytest

    calls = 0

    async def failing(image: Image.Image) -> Caption:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        raise RuntimeError("captioner down")

    cache = CaptionCache(failing, size=4)
    red = Image.new("RGB", (8, 8), "red")
    results = await asyncio.gather(cache(red), cache(red), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await cache(red)  # tried again: a failure is not remembered
    assert calls == 2
