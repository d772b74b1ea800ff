"""Dynamic batching seen through the transports: coalescing, overload, callers who leave."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import httpx
import pytest

from schemas import grounded_pb2 as pb
from tests.support.service import grpc_stub, http_client, make_engine
from vectorizer_service.runtime.fake import FakeEmbedder, GatedEmbedder
from vectorizer_service.transports.http import create_app


async def occupy_model(client: httpx.AsyncClient, embedder: GatedEmbedder) -> asyncio.Task[httpx.Response]:
    embedder.hold()
    busy = asyncio.ensure_future(client.post("/vectorize", json={"texts": ["busy"]}))
    assert await asyncio.to_thread(embedder.entered.wait, 5)
    return busy


async def test_one_text_per_request_is_coalesced_into_batches() -> None:
    fake = FakeEmbedder()
    async with http_client(make_engine(fake, max_wait_ms=20, max_batch_size=8)) as client:
        fake.text_batches.clear()
        responses = await asyncio.gather(
            *(client.post("/vectorize", json={"texts": [f"t{i}"]}) for i in range(16))
        )
    assert all(r.status_code == 200 for r in responses)
    assert sum(fake.text_batches) == 16
    assert max(fake.text_batches) == 8  # full batches, not 16 calls of one


async def test_full_queue_is_429_over_http_and_resource_exhausted_over_grpc() -> None:
    embedder = GatedEmbedder()
    engine = make_engine(embedder, max_queue=2)
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        busy = await occupy_model(client, embedder)
        try:
            queued = asyncio.ensure_future(client.post("/vectorize", json={"texts": ["a", "b"]}))
            await asyncio.sleep(0.05)
            overloaded = await client.post("/vectorize", json={"texts": ["c"]})
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Embed(pb.EmbedRequest(texts=["d"]))
        finally:
            embedder.gate.set()
        assert (await queued).status_code == 200
        assert (await busy).status_code == 200
        assert overloaded.status_code == 429
        assert "queue is full" in overloaded.json()["error"]
        assert caught.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        # once the queue drains, everyone is served again
        assert (await client.post("/vectorize", json={"texts": ["e"]})).status_code == 200
    assert "c" not in embedder.seen_texts and "d" not in embedder.seen_texts


async def test_work_of_a_disconnected_http_client_is_skipped() -> None:
    """Drive the ASGI app directly, so the client can hang up while its text waits in the queue."""
    embedder = GatedEmbedder()
    engine = make_engine(embedder)
    app = create_app(engine)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vectorizer") as client,
    ):
        busy = await occupy_model(client, embedder)
        hang_up = asyncio.Event()
        sent: list[dict[str, Any]] = []
        body = json.dumps({"texts": ["nobody is waiting for me"]}).encode()
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await hang_up.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/vectorize",
            "raw_path": b"/vectorize",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1234),
            "server": ("127.0.0.1", 80),
        }
        leaving = asyncio.ensure_future(app(scope, receive, send))
        await asyncio.sleep(0.05)
        hang_up.set()
        await asyncio.wait_for(leaving, 5)
        embedder.gate.set()
        assert (await busy).status_code == 200
        assert (await client.post("/vectorize", json={"texts": ["after"]})).status_code == 200
        metrics = (await client.get("/metrics")).text
    assert "nobody is waiting for me" not in embedder.seen_texts
    assert embedder.seen_texts[-2:] == ["busy", "after"]
    assert 'grounded_requests_total{outcome="cancelled",route="/vectorize"} 1.0' in metrics


async def test_cancelled_grpc_call_is_skipped() -> None:
    embedder = GatedEmbedder()
    engine = make_engine(embedder)
    await engine.start()
    async with grpc_stub(engine) as (stub, _, _):
        embedder.hold()
        busy = stub.Embed(pb.EmbedRequest(texts=["busy"]))
        assert await asyncio.to_thread(embedder.entered.wait, 5)
        leaving = stub.Embed(pb.EmbedRequest(texts=["gone"]))
        await asyncio.sleep(0.05)
        leaving.cancel()
        await asyncio.sleep(0.05)
        embedder.gate.set()
        await busy
        await stub.Embed(pb.EmbedRequest(texts=["after"]))
    await engine.stop()
    assert "gone" not in embedder.seen_texts
    assert embedder.seen_texts[-2:] == ["busy", "after"]
