"""Issue 22: idle and slow HTTP connections were never closed. A client now has
``http_read_timeout_s`` to send a request's headers, and as long again for its body."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn

from tests.support.service import make_engine
from vectorizer_service.serve import _slow_client_protocol
from vectorizer_service.transports.http import create_app

pytestmark = pytest.mark.timeout(60)
TIMEOUT_S = 0.5


@contextlib.asynccontextmanager
async def server() -> AsyncIterator[int]:
    engine = make_engine(http_read_timeout_s=TIMEOUT_S)
    config = uvicorn.Config(
        create_app(engine),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        http=_slow_client_protocol(TIMEOUT_S),
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:
        await asyncio.sleep(0.01)
    port: int = instance.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        instance.should_exit = True
        await task


async def closed_after(reader: asyncio.StreamReader) -> tuple[float, bytes]:
    started = time.perf_counter()
    data = await asyncio.wait_for(reader.read(), 10)
    return time.perf_counter() - started, data


async def test_a_connection_that_sends_nothing_is_closed() -> None:
    async with server() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        elapsed, data = await closed_after(reader)
        writer.close()
    assert data == b"" and TIMEOUT_S * 0.8 < elapsed < TIMEOUT_S * 6


async def test_headers_trickled_byte_by_byte_are_cut_off() -> None:
    async with server() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = b"GET /.well-known/live HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        started = time.perf_counter()
        closed = False
        for byte in request:
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except (ConnectionError, OSError):
                closed = True
                break
            if reader.at_eof():
                closed = True
                break
            await asyncio.sleep(0.05)
            with contextlib.suppress(asyncio.TimeoutError):
                if await asyncio.wait_for(reader.read(1), 0.001) == b"":
                    closed = True
                    break
        elapsed = time.perf_counter() - started
        writer.close()
    assert closed and elapsed < TIMEOUT_S * 6


async def test_a_body_that_does_not_arrive_in_time_is_refused_and_prompt_requests_work() -> None:
    async with server() as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /vectorize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"texts": '
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(4096), 10)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 400") and b"did not arrive within 0.5 s" in answer
        # A prompt client is served, and its kept-alive connection answers a second request.
        with socket.create_connection(("127.0.0.1", port)) as sock:
            for _ in range(2):
                sock.sendall(b"GET /.well-known/live HTTP/1.1\r\nHost: x\r\n\r\n")
                assert (await asyncio.to_thread(sock.recv, 4096)).startswith(b"HTTP/1.1 204")
