"""Remember the last cut-outs: the same reference photo is often composed several times in a row
(a shopper toggling the image weight or the template on the search page, an evaluation comparing
configurations), and background removal is the slowest stage on a CPU."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from PIL import Image

from vectorizer_service.compose.protocols import Cutout

__all__ = ["CutoutCache"]


def _key(image: Image.Image) -> bytes:
    digest = hashlib.blake2b(image.tobytes(), digest_size=16)
    digest.update(f"{image.mode}:{image.width}x{image.height}".encode())
    return digest.digest()


class CutoutCache:
    """An LRU of cut-outs keyed by the decoded pixels (not the file bytes: the same photo
    re-encoded is the same photo). ``size`` 0 turns it off."""

    def __init__(self, remove: Callable[[Image.Image], Awaitable[Cutout]], size: int) -> None:
        self._remove = remove
        self._size = size
        self._entries: OrderedDict[bytes, Cutout] = OrderedDict()
        self.hits = 0
        self.misses = 0

    async def __call__(self, image: Image.Image) -> Cutout:
        if self._size == 0:
            return await self._remove(image)
        key = await asyncio.to_thread(_key, image)  # hashes every pixel: off the event loop
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return found
        self.misses += 1
        # The stages never read the mask (training does): not kept, so an entry costs what it did.
        cutout = dataclasses.replace(await self._remove(image), alpha=None)
        self._entries[key] = cutout
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return cutout
