"""Remember the last cut-outs and captions: the same reference photo is often composed several
times in a row (a shopper toggling the image weight or the template on the search page, an
evaluation comparing configurations), and background removal is the slowest stage on a CPU,
captioning the next one (an image embedding per photo)."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from PIL import Image

from vectorizer_service.compose.protocols import Caption, Cutout

__all__ = ["CaptionCache", "CutoutCache", "PixelCache"]

_T = TypeVar("_T")


def _key(image: Image.Image) -> bytes:
    digest = hashlib.blake2b(image.tobytes(), digest_size=16)
    digest.update(f"{image.mode}:{image.width}x{image.height}".encode())
    return digest.digest()


class PixelCache(Generic[_T]):
    """An LRU of one stage's answers keyed by the decoded pixels (not the file bytes: the same
    photo re-encoded is the same photo). ``size`` 0 turns it off.

    Concurrent calls for the same pixels share one computation: an evaluation composes one
    reference under several configurations at once, and each would otherwise miss."""

    def __init__(self, compute: Callable[[Image.Image], Awaitable[_T]], size: int) -> None:
        self._compute = compute
        self._size = size
        self._entries: OrderedDict[bytes, _T] = OrderedDict()
        self._pending: dict[bytes, asyncio.Future[_T]] = {}
        self.hits = 0
        self.misses = 0

    def _kept(self, value: _T) -> _T:
        """What an entry keeps of an answer."""
        return value

    async def __call__(self, image: Image.Image) -> _T:
        if self._size == 0:
            return await self._compute(image)
        key = await asyncio.to_thread(_key, image)  # hashes every pixel: off the event loop
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return found
        pending = self._pending.get(key)
        if pending is not None:
            self.hits += 1
            return await asyncio.shield(pending)
        self.misses += 1
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = self._kept(await self._compute(image))
        except BaseException as exc:
            # Waiters get the same failure; the next call tries again (nothing is cached).
            if isinstance(exc, asyncio.CancelledError):
                future.cancel()
            else:
                future.set_exception(exc)
                future.exception()  # marks it retrieved: no "never retrieved" warning
            raise
        finally:
            del self._pending[key]
        future.set_result(value)
        self._entries[key] = value
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return value


class CutoutCache(PixelCache[Cutout]):
    """Cut-outs by the reference's pixels."""

    def _kept(self, value: Cutout) -> Cutout:
        # The stages never read the mask (training does): not kept, so an entry costs what it did.
        return dataclasses.replace(value, alpha=None)


class CaptionCache(PixelCache[Caption]):
    """Captions by the working image's pixels (the cut-out, framed): the captioner and its
    vocabulary are fixed for the engine's life, so the same pixels get the same caption."""
