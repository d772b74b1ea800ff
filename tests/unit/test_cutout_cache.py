"""The cut-out cache: the same pixels are cut out once; other pixels, or a full cache, are not
served a stale cut-out."""

from __future__ import annotations

from PIL import Image

from vectorizer_service.compose.cutout_cache import CutoutCache
from vectorizer_service.compose.protocols import Cutout


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
