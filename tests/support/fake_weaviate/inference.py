"""The Grounded service's real HTTP app on a real socket, for the fake Weaviate to call.

Weaviate's multi2vec-clip module calls ``inferenceUrl + "/vectorize"`` at every insert; with
this running, the fake does the same over the service's actual HTTP contract (FakeEmbedder
behind it, so vectors are deterministic and cheap).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.http import create_app

__all__ = ["InferenceService"]


class InferenceService:
    """``with InferenceService(dimension=8) as svc:`` serves ``svc.url`` until the block ends."""

    def __init__(self, dimension: int = 8, **settings: Any) -> None:
        self.embedder = FakeEmbedder(dimension=dimension)
        engine = Engine(
            ServiceSettings(
                **{"max_wait_ms": 2.0, "captioner": "none", "remove_background": False, **settings}
            ),
            embedder=self.embedder,
            load_compose_models=False,
        )
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        config = uvicorn.Config(create_app(engine), log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> InferenceService:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the inference service did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()
