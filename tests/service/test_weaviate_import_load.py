"""Weaviate's import load must never be refused by the default queue (issue 10.12).

Weaviate's multi2vec-clip module sends one object per ``/vectorize`` request, up to 2 x its CPU
count at once, and does not retry a 429 or 503: the object simply fails. The worst moment is the
model being busy while a whole wave arrives, so every request of the wave is queued at once.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support.service import b64, http_client, image_bytes, make_engine
from vectorizer_service.runtime.fake import GatedEmbedder
from vectorizer_service.settings import ServiceSettings

# A large Weaviate node: 256 vCPUs, so 512 requests in flight, each one image and one title.
_WEAVIATE_CPUS = 256
_IN_FLIGHT = 2 * _WEAVIATE_CPUS


async def _wave(max_queue: int | None) -> list[int]:
    embedder = GatedEmbedder()
    overrides = {} if max_queue is None else {"max_queue": max_queue}
    engine = make_engine(embedder, **overrides)
    image = b64(image_bytes())
    async with http_client(engine) as client:
        embedder.hold()  # the model is busy: everything that arrives now waits in the queues
        requests = [
            asyncio.ensure_future(
                client.post("/vectorize", json={"texts": [f"title {i}"], "images": [image]})
            )
            for i in range(_IN_FLIGHT)
        ]
        # Let the wave reach the batchers. On a loaded machine that takes a while: with a bounded
        # queue, wait (up to 30 s) for the first refusal instead of a fixed pause.
        deadline = asyncio.get_running_loop().time() + 30
        await asyncio.sleep(0.5)
        while max_queue is not None and not any(r.done() for r in requests):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)
        embedder.gate.set()
        answers = await asyncio.gather(*requests)
    return [a.status_code for a in answers]


async def test_default_queue_takes_a_large_weaviate_nodes_whole_wave() -> None:
    assert ServiceSettings().max_queue >= _IN_FLIGHT
    statuses = await _wave(None)
    assert statuses.count(200) == _IN_FLIGHT


@pytest.mark.parametrize("max_queue", [64])
async def test_a_small_queue_refuses_part_of_the_wave(max_queue: int) -> None:
    # The measurement above can fail: with a queue smaller than the wave, objects are refused.
    statuses = await _wave(max_queue)
    assert 429 in statuses and statuses.count(200) < _IN_FLIGHT
