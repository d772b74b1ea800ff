"""An ASGI app on a real loopback socket for the length of a ``with`` block: for clients that
speak HTTP themselves (the fake Weaviate's multi2vec-clip calls, ``grounded search --search-url``)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, TypeVar

import uvicorn

__all__ = ["LiveApp"]

_Live = TypeVar("_Live", bound="LiveApp")


class LiveApp:
    """``with LiveApp(app) as live:`` serves ``app`` at ``live.url`` until the block ends."""

    def __init__(self, app: Any) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self: _Live) -> _Live:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the app did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
