"""Weaviate index and compression settings: validated as Weaviate validates them, refused the
same way by the fake Weaviate, and sent through the v4 client's Configure.Vectors."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import weaviate.connect.v4

from plugin.settings import PluginSettings
from plugin.store.weaviate import WeaviateStore, connect_weaviate, weaviate_store
from schemas.collection import VectorSpec, product_collection
from schemas.errors import InvalidInputError
from schemas.vector_index import VectorIndexSpec, memory_bytes_per_vector, optimal_pq_segments
from tests.support.fake_weaviate import FakeWeaviate


@pytest.mark.parametrize(
    ("spec", "kwargs", "message"),
    [
        (VectorIndexSpec(quantizer="pq", pq_segments=100), {"dimension": 512}, "does not divide 512"),
        (VectorIndexSpec(index_type="flat", quantizer="pq"), {}, "PQ is not currently supported for flat"),
        (VectorIndexSpec(index_type="flat", quantizer="sq"), {}, "SQ is not currently supported for flat"),
        (VectorIndexSpec(index_type="dynamic", quantizer="rq"), {}, "only be created when async indexing"),
        (VectorIndexSpec(index_type="dynamic", quantizer="pq"), {"async_indexing": True}, "flat stage"),
        (VectorIndexSpec(quantizer="rq", rq_bits=4), {}, "RQ bits must be either 1 or 8"),
        (VectorIndexSpec(max_connections=2), {}, "maxConnections must be between"),
    ],
)
def test_what_weaviate_refuses_is_refused_first(
    spec: VectorIndexSpec, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        spec.validate(**kwargs)


def test_valid_choices_pass() -> None:
    for spec in (
        VectorIndexSpec(quantizer="pq", pq_segments=128),
        VectorIndexSpec(index_type="flat", quantizer="bq"),
        VectorIndexSpec(index_type="dynamic", quantizer="rq", rq_bits=1),
    ):
        spec.validate(dimension=512, async_indexing=True)


def test_memory_per_vector_follows_weaviates_sizing() -> None:
    assert memory_bytes_per_vector(VectorIndexSpec(), 512) == 4 * 512 + 320
    assert memory_bytes_per_vector(VectorIndexSpec(quantizer="rq", rq_bits=1), 512) == 64 + 320
    assert memory_bytes_per_vector(VectorIndexSpec(index_type="flat", quantizer="bq"), 512) == 64
    assert memory_bytes_per_vector(VectorIndexSpec(index_type="flat"), 512) == 0  # scanned from disk
    assert optimal_pq_segments(512) == 128 and optimal_pq_segments(768) == 128


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{server.url}/pypi")
        yield server


def _class(index_type: str, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "class": "Raw",
        "vectorConfig": {
            "clip": {"vectorizer": {"none": {}}, "vectorIndexType": index_type, "vectorIndexConfig": config}
        },
        "properties": [],
    }


@pytest.mark.parametrize(
    ("index_type", "config", "message"),
    [
        ("flat", {"pq": {"enabled": True}}, "PQ is not currently supported for flat indices"),
        ("hnsw", {"rq": {"enabled": True, "bits": 4}}, "RQ bits must be either 1 or 8"),
        ("hnsw", {"pq": {"enabled": True}, "bq": {"enabled": True}}, "more than a single compression"),
        ("dynamic", {}, "only be created when async indexing is enabled"),
    ],
)
def test_the_fake_refuses_the_same_configs(
    fake: FakeWeaviate, index_type: str, config: dict[str, Any], message: str
) -> None:
    response = httpx.post(f"{fake.url}/v1/schema", json=_class(index_type, config))
    assert response.status_code == 422
    assert message in response.text


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"weaviate_quantizer": "rq", "weaviate_rq_bits": 1}, ("hnsw", "rq", {"bits": 1})),
        ({"weaviate_quantizer": "pq", "weaviate_pq_segments": 64}, ("hnsw", "pq", {"segments": 64})),
        ({"weaviate_index_type": "flat", "weaviate_quantizer": "bq"}, ("flat", "bq", {})),
    ],
)
def test_the_store_creates_the_collection_with_them(
    fake: FakeWeaviate, settings: dict[str, Any], expected: tuple[str, str, dict[str, Any]]
) -> None:
    plugin = PluginSettings(
        weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port, vectorization="plugin", **settings
    )
    store = weaviate_store(plugin)
    try:
        store.create_collection()
        stored = httpx.get(f"{fake.url}/v1/schema/{store.spec.name}").json()["vectorConfig"]["clip"]
    finally:
        store.close()
    index_type, quantizer, fields = expected
    assert stored["vectorIndexType"] == index_type
    cfg = stored["vectorIndexConfig"]
    assert cfg["distance"] == "cosine" and cfg[quantizer]["enabled"] is True
    assert all(cfg[quantizer][k] == v for k, v in fields.items())


def test_settings_weaviate_refuses_never_reach_it(fake: FakeWeaviate) -> None:
    plugin = PluginSettings(
        weaviate_url=fake.url, weaviate_index_type="flat", weaviate_quantizer="sq", vectorization="plugin"
    )
    with pytest.raises(InvalidInputError, match="SQ is not currently supported"):
        weaviate_store(plugin)
    assert httpx.get(f"{fake.url}/v1/schema/Product").status_code == 404  # nothing was created


def test_a_spec_built_in_code_goes_through_the_same_path(fake: FakeWeaviate) -> None:
    settings = PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port)
    vector = VectorSpec(server_side=False, index=VectorIndexSpec(quantizer="sq", rescore_limit=50))
    store = WeaviateStore(
        connect_weaviate(settings), dataclasses.replace(product_collection(), vector=vector)
    )
    try:
        store.create_collection()
        cfg = httpx.get(f"{fake.url}/v1/schema/Product").json()["vectorConfig"]["clip"]["vectorIndexConfig"]
    finally:
        store.close()
    assert cfg["sq"] == {"enabled": True, "rescoreLimit": 50}
