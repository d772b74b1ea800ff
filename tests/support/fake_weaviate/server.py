"""The fake Weaviate's two servers, started and stopped together."""

from __future__ import annotations

import threading
from concurrent import futures
from http.server import ThreadingHTTPServer

import grpc
from grpc_health.v1 import health_pb2_grpc
from weaviate.proto.v1 import weaviate_pb2_grpc

from .grpc_api import _Health, _Servicer
from .rest import _handler
from .state import FakeWeaviateState, StoredObject

# Weaviate's default GRPC_MAX_MESSAGE_SIZE (usecases/config/environment.go).
GRPC_MAX_MESSAGE_SIZE = 104858000


class FakeWeaviate:
    """Start with ``with FakeWeaviate() as fake:``; ``fake.http_port`` / ``fake.grpc_port``."""

    def __init__(self, *, grpc_max_message_bytes: int = GRPC_MAX_MESSAGE_SIZE) -> None:
        self.state = FakeWeaviateState()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self._grpc = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4),
            options=[("grpc.max_receive_message_length", grpc_max_message_bytes)],
        )
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self.state), self._grpc)  # type: ignore[no-untyped-call]
        health_pb2_grpc.add_HealthServicer_to_server(_Health(), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        self.http_port = self._http.server_address[1]
        self._thread = threading.Thread(
            # A short poll interval: shutdown() waits for it, once per test.
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def __enter__(self) -> FakeWeaviate:
        self._grpc.start()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._grpc.stop(grace=None)

    def objects(self, collection: str) -> dict[str, StoredObject]:
        with self.state.lock:
            return dict(self.state.objects.get(collection, {}))
