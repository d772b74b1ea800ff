"""The engine with a FakeEmbedder: readiness, validation before queueing, batching, compose checks."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

import numpy as np
import pytest
from PIL import Image

from schemas.errors import InvalidInputError, NotReadyError, OverloadedError
from schemas.wire import ComposeOptions
from vectorizer_service.compose.protocols import Caption, Cutout
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder, GatedEmbedder
from vectorizer_service.settings import ServiceSettings


def png(color: tuple[int, int, int] = (10, 200, 30), size: tuple[int, int] = (16, 16)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def settings(**overrides: Any) -> ServiceSettings:
    return ServiceSettings(**{"max_wait_ms": 2.0, "captioner": "none", **overrides})


@pytest.fixture
async def embedder() -> GatedEmbedder:
    return GatedEmbedder()


@pytest.fixture
async def engine(embedder: GatedEmbedder) -> AsyncIterator[Engine]:
    engine = Engine(settings(max_queue=4), embedder=embedder, load_compose_models=False)
    await engine.start()
    yield engine
    embedder.gate.set()
    await engine.stop()


async def occupy(embedder: GatedEmbedder, engine: Engine) -> asyncio.Task[Any]:
    embedder.gate.clear()
    embedder.entered.clear()
    task = asyncio.ensure_future(engine.embed(["busy"], []))
    assert await asyncio.to_thread(embedder.entered.wait, 5)
    return task


async def test_not_ready_before_start() -> None:
    engine = Engine(settings(), embedder=FakeEmbedder(), load_compose_models=False)
    assert not engine.ready
    with pytest.raises(NotReadyError):
        _ = engine.info
    with pytest.raises(NotReadyError):
        await engine.embed(["a"], [])


async def test_start_warms_up_and_stop_clears_readiness() -> None:
    fake = FakeEmbedder(dimension=8)
    engine = Engine(settings(), embedder=fake, load_compose_models=False)
    await engine.start()
    assert engine.ready and engine.info.dimension == 8
    assert fake.text_batches == [1] and fake.image_batches == [1]  # one warm-up call each
    await engine.stop()
    assert not engine.ready


async def test_embed_returns_one_vector_per_input_in_order(engine: Engine) -> None:
    reference = FakeEmbedder()
    images = [png((255, 0, 0)), png((0, 0, 255))]
    result = await engine.embed(["first", "second", "third"], images)
    np.testing.assert_allclose(result.text_vectors, reference.encode_texts(["first", "second", "third"]))
    decoded = [Image.open(io.BytesIO(b)).convert("RGB") for b in images]
    np.testing.assert_allclose(result.image_vectors, reference.encode_images(decoded))


async def test_embed_with_nothing_gives_empty_matrices(engine: Engine) -> None:
    result = await engine.embed([], [])
    assert result.text_vectors.shape == (0, 16) and result.image_vectors.shape == (0, 16)


async def test_concurrent_requests_share_batches(engine: Engine, embedder: GatedEmbedder) -> None:
    embedder.text_batches.clear()
    await asyncio.gather(*(engine.embed([f"text {i}"], []) for i in range(4)))
    assert sum(embedder.text_batches) == 4
    assert max(embedder.text_batches) > 1


@pytest.mark.parametrize(
    ("texts", "images", "message"),
    [
        (["x"] * 5, [png()] * 2, "over the limit of 6 items"),
        (["ok", "y" * 51], [], r"texts\[1\]: 51 characters, over the limit of 50"),
        ([], [png(), b"garbage"], r"images\[1\]: not an image"),
    ],
)
async def test_bad_requests_fail_before_anything_is_queued(
    texts: list[str], images: list[bytes], message: str
) -> None:
    fake = FakeEmbedder()
    engine = Engine(
        settings(max_items_per_request=6, max_text_chars=50), embedder=fake, load_compose_models=False
    )
    await engine.start()
    with pytest.raises(InvalidInputError, match=message):
        await engine.embed(texts, images)
    assert fake.text_batches == [1] and fake.image_batches == [1]  # only the warm-up ran
    assert (await engine.embed(["still serving"], [])).text_vectors.shape == (1, 16)
    await engine.stop()


async def test_request_byte_limit() -> None:
    engine = Engine(settings(max_request_bytes=100), embedder=FakeEmbedder(), load_compose_models=False)
    await engine.start()
    with pytest.raises(InvalidInputError, match="over the limit of 100"):
        await engine.embed(["a" * 60, "b" * 60], [])
    await engine.stop()


async def test_overload_fails_fast_and_leaves_nothing_queued(engine: Engine, embedder: GatedEmbedder) -> None:
    busy = await occupy(embedder, engine)
    try:
        waiting = asyncio.ensure_future(engine.embed(["a", "b", "c"], []))
        await asyncio.sleep(0.01)
        with pytest.raises(OverloadedError):
            await engine.embed(["d", "e"], [])
        # texts fit, images do not: the texts' reservation is withdrawn too
        with pytest.raises(OverloadedError):
            await engine.embed(["f"], [png()] * 5)
    finally:
        embedder.gate.set()
    await waiting
    await busy
    assert embedder.seen_texts[-4:] == ["busy", "a", "b", "c"]


async def test_cancelled_callers_are_skipped_before_inference(
    engine: Engine, embedder: GatedEmbedder
) -> None:
    busy = await occupy(embedder, engine)
    try:
        gone = asyncio.ensure_future(engine.embed(["caller went away"], []))
        kept = asyncio.ensure_future(engine.embed(["caller still here"], []))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.sleep(0.01)
    finally:
        embedder.gate.set()
    await kept
    await busy
    assert "caller went away" not in embedder.seen_texts
    assert "caller still here" in embedder.seen_texts


# --- compose --------------------------------------------------------------------------------


class FakeRemover:
    name = "fake-remover"

    def remove(self, images: Sequence[Image.Image]) -> list[Cutout]:
        return [Cutout(image=image, coverage=0.5) for image in images]


class FakeCaptioner:
    name = "fake-captioner"

    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        return [Caption(text="a red shirt", attributes={"color": "red"}) for _ in images]


@pytest.fixture
async def compose_engine() -> AsyncIterator[Engine]:
    engine = Engine(
        settings(captioner="attributes"),
        embedder=FakeEmbedder(),
        remover=FakeRemover(),
        captioner=FakeCaptioner(),
        load_compose_models=False,
    )
    await engine.start()
    yield engine
    await engine.stop()


async def test_compose_needs_an_image_or_a_text(compose_engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match="nothing to compose"):
        await compose_engine.compose(None, "   ", ComposeOptions())


async def test_compose_with_every_stage_off_and_no_text_is_rejected(compose_engine: Engine) -> None:
    options = ComposeOptions(remove_background=False, caption=False, fuse=False)
    with pytest.raises(InvalidInputError, match="nothing to compose"):
        await compose_engine.compose(png(), "", options)


async def test_compose_names_the_bad_image(compose_engine: Engine) -> None:
    with pytest.raises(InvalidInputError, match=r"^image: not an image"):
        await compose_engine.compose(b"garbage", "in blue", ComposeOptions())


async def test_compose_runs_the_pipeline_over_batched_models(compose_engine: Engine) -> None:
    pytest.importorskip("vectorizer_service.compose.pipeline")
    result = await compose_engine.compose(png(), "in blue", ComposeOptions())
    assert len(result.vector) == 16
    assert abs(float(np.linalg.norm(result.vector)) - 1.0) < 1e-4
