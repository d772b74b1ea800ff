"""Issue 14, point 10 (the service's part): loopback by default outside containers, and an
optional API key on /compose, /metrics and gRPC that leaves Weaviate's endpoints open."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest

from schemas import grounded_pb2 as pb
from schemas import grounded_pb2_grpc as pb_grpc
from tests.support.reliability import png
from vectorizer_service import settings as settings_module
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.grpc import GrpcTransport
from vectorizer_service.transports.http import create_app

pytestmark = pytest.mark.timeout(60)

KEY = "s3cret-key"


def _engine(**overrides: object) -> Engine:
    settings = ServiceSettings(captioner="none", remove_background=False, max_wait_ms=1.0, **overrides)  # type: ignore[arg-type]
    return Engine(settings, embedder=FakeEmbedder(), load_compose_models=False)


def test_binds_to_loopback_outside_a_container(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(settings_module, "_CONTAINER_MARKERS", (tmp_path / "no-dockerenv",))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("container", raising=False)
    monkeypatch.delenv("GROUNDED_HOST", raising=False)
    assert ServiceSettings().host == "127.0.0.1"  # type: ignore[call-arg]
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert ServiceSettings().host == "0.0.0.0"  # type: ignore[call-arg]
    (tmp_path / "dockerenv").touch()
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    monkeypatch.setattr(settings_module, "_CONTAINER_MARKERS", (tmp_path / "dockerenv",))
    assert ServiceSettings().host == "0.0.0.0"  # type: ignore[call-arg]
    monkeypatch.setenv("GROUNDED_HOST", "192.0.2.7")
    assert ServiceSettings().host == "192.0.2.7"  # type: ignore[call-arg]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(_engine(api_key=KEY))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client,
    ):
        yield client


async def test_compose_and_metrics_need_the_key(client: httpx.AsyncClient) -> None:
    body = {"text": "in blue"}
    missing = await client.post("/compose", json=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert "API key" in missing.json()["error"]
    wrong = await client.post("/compose", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "wrong API key"
    assert (await client.get("/metrics")).status_code == 401
    ok = await client.post("/compose", json=body, headers={"Authorization": f"Bearer {KEY}"})
    assert ok.status_code == 200 and len(ok.json()["vector"]) == 16
    assert (await client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"})).status_code == 200


async def test_weaviate_endpoints_stay_open(client: httpx.AsyncClient) -> None:
    image = base64.b64encode(png((1, 2, 3))).decode()
    assert (await client.post("/vectorize", json={"texts": ["a"], "images": [image]})).status_code == 200
    assert (await client.get("/meta")).status_code == 200
    assert (await client.get("/.well-known/ready")).status_code == 204


async def test_grpc_needs_the_key_in_metadata_health_stays_open() -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    engine = _engine(api_key=KEY)
    await engine.start()
    transport = GrpcTransport(engine, "127.0.0.1:0")
    await transport.start()
    await transport.update_health()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{transport.port}") as channel:
            stub = pb_grpc.VectorizerStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Embed(pb.EmbedRequest(texts=["a"]), timeout=10)
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.GetModelInfo(
                    pb.ModelInfoRequest(), metadata=(("authorization", "Bearer nope"),), timeout=10
                )
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
            answer = await stub.Embed(
                pb.EmbedRequest(texts=["a"]), metadata=(("authorization", f"Bearer {KEY}"),), timeout=10
            )
            assert len(answer.text_vectors) == 1
            health = health_pb2_grpc.HealthStub(channel)
            status = await health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
            assert status.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        await transport.stop(grace=None)
        await engine.stop()


async def test_grpc_refuses_a_caller_without_the_key_before_reading_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Issue 22: a 60 MiB message was read (+389 MB) before the key was checked. The key is in
    # the call's metadata; the refusal's handler never asks grpc for the message.
    import vectorizer_service.transports.grpc as transport_module

    received: list[int] = []
    original = transport_module._Encoded

    class CountingEncoded(original):  # type: ignore[misc,valid-type]  # a test double of the message holder
        def __init__(self, data: bytes) -> None:
            received.append(len(data))
            super().__init__(data)

    monkeypatch.setattr(transport_module, "_Encoded", CountingEncoded)
    engine = _engine(api_key=KEY, max_request_bytes=80 * 1024 * 1024)
    await engine.start()
    transport = GrpcTransport(engine, "127.0.0.1:0")
    await transport.start()
    big = pb.EmbedRequest(images=[b"\0" * (20 * 1024 * 1024)])
    options = [("grpc.max_send_message_length", 100 * 1024 * 1024)]
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{transport.port}", options=options) as channel:
            stub = pb_grpc.VectorizerStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.Embed(big, timeout=30)
            assert caught.value.code() is grpc.StatusCode.UNAUTHENTICATED
            assert received == []
            small = pb.EmbedRequest(texts=["a"])
            await stub.Embed(small, metadata=(("authorization", f"Bearer {KEY}"),), timeout=10)
            assert received == [small.ByteSize()]
    finally:
        await transport.stop(grace=None)
        await engine.stop()
    metrics = engine.metrics.render().decode()
    assert (
        'grounded_requests_total{outcome="unauthenticated",route="/grounded.v1.Vectorizer/Embed"} 1.0'
        in metrics
    )
