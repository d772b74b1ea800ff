"""Issue 22, failure 11 and the HEAD finding: a client that disconnects mid-body is a client
abort (logged without a traceback, counted ``client_closed``), not an internal error; HEAD
answers where GET does."""

from __future__ import annotations

import logging

import pytest
from starlette.types import Message

from tests.support.service import http_client, make_engine
from vectorizer_service.transports.http import create_app


async def test_a_client_that_disconnects_mid_body_is_a_client_abort(caplog: pytest.LogCaptureFixture) -> None:
    engine = make_engine()
    app = create_app(engine)
    sent: list[Message] = []
    parts: list[Message] = [
        {"type": "http.request", "body": b'{"texts": ["a red', "more_body": True},
        {"type": "http.disconnect"},
    ]

    async def receive() -> Message:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
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
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }
    caplog.set_level(logging.INFO)
    async with app.router.lifespan_context(app):
        await app(scope, receive, send)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("closed the connection" in r.getMessage() for r in caplog.records)
    metrics = engine.metrics.render().decode()
    assert 'grounded_requests_total{outcome="client_closed",route="/vectorize"} 1.0' in metrics
    assert 'outcome="internal"' not in metrics


@pytest.mark.parametrize(
    ("path", "status"), [("/meta", 200), ("/.well-known/ready", 204), ("/.well-known/live", 204)]
)
async def test_head_answers_where_get_does(path: str, status: int) -> None:
    async with http_client(make_engine()) as client:
        head = await client.head(path)
        get = await client.get(path)
    assert head.status_code == get.status_code == status
