"""Helpers for service tests: in-process HTTP (httpx + ASGITransport, with the app's
lifespan) and gRPC (grpc.aio on port 0) over an engine, by default with a FakeEmbedder."""

from __future__ import annotations

import base64
import contextlib
import io
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
from PIL import Image

from schemas import grounded_pb2_grpc as pb_grpc
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Embedder
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.grpc import GrpcTransport
from vectorizer_service.transports.http import create_app


def service_settings(**overrides: Any) -> ServiceSettings:
    """Small limits where tests probe them; no compose models unless a test passes them."""
    return ServiceSettings(
        **{"max_wait_ms": 2.0, "captioner": "none", "remove_background": False, **overrides}
    )


def make_engine(embedder: Embedder | None = None, **overrides: Any) -> Engine:
    return Engine(
        service_settings(**overrides), embedder=embedder or FakeEmbedder(), load_compose_models=False
    )


@contextlib.asynccontextmanager
async def http_client(engine: Engine, *, manage_engine: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """A client over the app; the app's lifespan starts and stops ``engine``."""
    app = create_app(engine, manage_engine=manage_engine)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://vectorizer") as client,
    ):
        yield client


@contextlib.asynccontextmanager
async def grpc_stub(
    engine: Engine,
) -> AsyncIterator[tuple[pb_grpc.VectorizerStub, grpc.aio.Channel, GrpcTransport]]:
    """Our service on 127.0.0.1:<free port>, and a channel to it."""
    transport = GrpcTransport(engine, "127.0.0.1:0")
    await transport.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{transport.port}") as channel:
            yield pb_grpc.VectorizerStub(channel), channel, transport
    finally:
        await transport.stop(grace=None)


def image_bytes(
    color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (16, 16), fmt: str = "PNG"
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
