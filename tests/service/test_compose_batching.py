"""Concurrent composed queries share the background remover: their photos are cut out in one
batch (one u2netp run), not one after another."""

from __future__ import annotations

import asyncio
import io

import numpy as np
from PIL import Image, ImageDraw

from tests.support.service import b64, http_client, service_settings
from vectorizer_service.compose.fake import FakeRemover
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder


def shopper_photo(seed: int) -> bytes:
    """A product on a noisy, cluttered background (auto mode cuts it out)."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 255, (16, 12, 3), dtype=np.uint8)).resize((120, 160))
    ImageDraw.Draw(image).ellipse([25, 30, 95, 135], fill=(30, 60, 200))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def test_four_queries_in_flight_are_cut_out_in_one_remover_batch() -> None:
    remover = FakeRemover()
    engine = Engine(
        service_settings(captioner="none", remove_background="auto", max_wait_ms=200),
        embedder=FakeEmbedder(),
        remover=remover,
        load_compose_models=False,
    )
    async with http_client(engine) as client:
        warm_up = len(remover.batches)
        replies = await asyncio.gather(
            *(
                client.post("/compose", json={"image": b64(shopper_photo(seed)), "text": "in black"})
                for seed in range(4)
            )
        )
    assert all(r.status_code == 200 for r in replies), [r.text for r in replies]
    assert all(r.json()["explanation"]["background_removed"] for r in replies)
    assert remover.batches[warm_up:] == [4]
