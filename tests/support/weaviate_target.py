"""The Weaviate a fidelity test runs against: the in-process fake always, a real one when
``WEAVIATE_URL`` is set (issue 10: "the integration suite covers the same cases").

A test asks for the ``target`` fixture and talks to Weaviate only through what both offer: REST,
gRPC through weaviate-client, and the Grounded service that Weaviate's multi2vec-clip calls. So
one assertion checks our code *and* checks that the fake answers as Weaviate does; a test that
also inspects the fake's records does so only when ``target.fake`` is set.

Real runs read: ``WEAVIATE_URL``, ``WEAVIATE_GRPC_PORT`` (50051), ``WEAVIATE_API_KEY``,
``GROUNDED_SERVICE_ADDRESS`` (the service's gRPC, localhost:50052), ``GROUNDED_CLIP_INFERENCE_URL``
(the service as Weaviate reaches it, http://vectorizer:8000), and Weaviate's own
``GRPC_MAX_MESSAGE_SIZE`` and ``QUERY_MAXIMUM_RESULTS`` when the server was started with others.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pytest
import weaviate.connect.v4

from plugin.settings import PluginSettings
from plugin.store.weaviate import connect_weaviate
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate, InferenceService

__all__ = ["TARGETS", "WeaviateTarget", "open_target"]

TARGETS = ["fake", pytest.param("weaviate", marks=pytest.mark.integration)]
"""``@pytest.fixture(params=TARGETS)``: the real run carries the integration marker."""

FAKE_GRPC_MAX_MESSAGE_BYTES = 400_000
"""The fake's gRPC limit: small, so that splitting batches by size is cheap to exercise."""
FAKE_QUERY_MAXIMUM_RESULTS = 3


@dataclass
class WeaviateTarget:
    kind: str
    url: str
    grpc_port: int
    inference_url: str
    """The Grounded service's HTTP root as *Weaviate* reaches it (multi2vec-clip's inferenceUrl)."""
    encoder: Any
    """Plugin-side encoder over the same model as ``inference_url``."""
    grpc_max_message_bytes: int
    query_maximum_results: int
    api_key: str | None = None
    fake: FakeWeaviate | None = None
    _collections: list[str] = field(default_factory=list)

    def collection_name(self, prefix: str = "Fidelity") -> str:
        """A fresh collection, dropped after the test (a real Weaviate is shared)."""
        name = f"{prefix}{uuid.uuid4().hex[:10]}"
        self._collections.append(name)
        return name

    def settings(self, **kwargs: Any) -> PluginSettings:
        defaults: dict[str, Any] = {
            "weaviate_url": self.url,
            "weaviate_grpc_port": self.grpc_port,
            "clip_inference_url": self.inference_url,
        }
        if self.api_key:
            defaults["weaviate_api_key"] = self.api_key
        return PluginSettings(**{**defaults, **kwargs})

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, self.url + path, headers=self.headers(), timeout=60, **kwargs)

    def schema(self, name: str) -> dict[str, Any]:
        res = self.rest("GET", f"/v1/schema/{name}")
        assert res.status_code == 200, res.text
        body: dict[str, Any] = res.json()
        return body

    def stored_vectors(self, name: str, vector: str = "clip") -> dict[str, np.ndarray]:
        """Every object's stored vector, read back through weaviate-client."""
        client = connect_weaviate(self.settings(collection=name))
        try:
            objects = client.collections.get(name).query.fetch_objects(limit=1000, include_vector=True)
            return {
                str(o.uuid): np.asarray(o.vector[vector], np.float32)
                for o in objects.objects
                if vector in o.vector
            }
        finally:
            client.close()

    def cleanup(self) -> None:
        for name in self._collections:
            self.rest("DELETE", f"/v1/schema/{name}")


def _real() -> Iterator[WeaviateTarget]:
    url = os.environ.get("WEAVIATE_URL")
    if not url:
        pytest.skip("WEAVIATE_URL is not set: the real-Weaviate run of the fidelity cases needs one")
    from plugin.encoder.grpc import GrpcEncoder

    encoder = GrpcEncoder(os.environ.get("GROUNDED_SERVICE_ADDRESS", "localhost:50052"))
    target = WeaviateTarget(
        kind="weaviate",
        url=url.rstrip("/"),
        grpc_port=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")),
        inference_url=os.environ.get("GROUNDED_CLIP_INFERENCE_URL", "http://vectorizer:8000").rstrip("/"),
        encoder=encoder,
        grpc_max_message_bytes=int(os.environ.get("GRPC_MAX_MESSAGE_SIZE", "104858000")),
        query_maximum_results=int(os.environ.get("QUERY_MAXIMUM_RESULTS", "10000")),
        api_key=os.environ.get("WEAVIATE_API_KEY") or None,
    )
    try:
        yield target
    finally:
        target.cleanup()
        encoder.close()


def _fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[WeaviateTarget]:
    with (
        FakeWeaviate(grpc_max_message_bytes=FAKE_GRPC_MAX_MESSAGE_BYTES) as fake,
        InferenceService(dimension=8) as service,
    ):
        # The client's best-effort "newer version on PyPI" check must not leave the machine.
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        fake.state.query_maximum_results = FAKE_QUERY_MAXIMUM_RESULTS
        yield WeaviateTarget(
            kind="fake",
            url=fake.url,
            grpc_port=fake.grpc_port,
            inference_url=service.url,
            encoder=FakeEncoder(dimension=8),
            grpc_max_message_bytes=FAKE_GRPC_MAX_MESSAGE_BYTES,
            query_maximum_results=FAKE_QUERY_MAXIMUM_RESULTS,
            fake=fake,
        )


def open_target(kind: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[WeaviateTarget]:
    """The generator behind a ``target`` fixture."""
    return _real() if kind == "weaviate" else _fake(monkeypatch)
