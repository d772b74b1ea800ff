"""Replication, shards and tenants on Weaviate: validated as Weaviate validates them (the fake
reports its nodes through /v1/nodes and enforces the same rules), and tenant isolation."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import weaviate.connect.v4

from plugin.settings import PluginSettings
from plugin.store import ProductRow
from plugin.store.weaviate import WeaviateStore, connect_weaviate, weaviate_store
from schemas.cluster import ClusterSpec
from schemas.collection import VectorSpec, product_collection, product_properties
from schemas.errors import InvalidInputError
from schemas.product import Product, product_uuid
from tests.support.fake_weaviate import FakeWeaviate


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{server.url}/pypi")
        yield server


def _settings(fake: FakeWeaviate, **kwargs: Any) -> PluginSettings:
    return PluginSettings(
        weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port, vectorization="plugin", **kwargs
    )


def _schema(fake: FakeWeaviate) -> dict[str, Any]:
    return dict(httpx.get(f"{fake.url}/v1/schema/Product").json())


@pytest.mark.parametrize(
    ("spec", "nodes", "message"),
    [
        (ClusterSpec(replication_factor=0), None, "at least 1"),
        (ClusterSpec(replication_factor=3), 1, "1 available, 3 requested"),
        (ClusterSpec(shards=0), None, "shard count must be between"),
        (ClusterSpec(multi_tenancy=True, shards=3), None, "one shard per tenant"),
    ],
)
def test_cluster_choices_weaviate_refuses_are_refused(
    spec: ClusterSpec, nodes: int | None, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        spec.validate(nodes=nodes)


def test_replication_beyond_the_node_count_is_refused_before_creating(fake: FakeWeaviate) -> None:
    store = weaviate_store(_settings(fake, weaviate_replication_factor=3))
    try:
        with pytest.raises(InvalidInputError, match="1 available, 3 requested"):
            store.create_collection()
    finally:
        store.close()
    assert httpx.get(f"{fake.url}/v1/schema/Product").status_code == 404


def test_the_fake_refuses_it_too() -> None:
    with FakeWeaviate() as fake:
        body = {"class": "Raw", "properties": [], "replicationConfig": {"factor": 2}}
        response = httpx.post(f"{fake.url}/v1/schema", json=body)
    assert response.status_code == 422 and "1 available, 2 requested" in response.text


def test_a_three_node_cluster_takes_replication_3_shards_and_async_repair(fake: FakeWeaviate) -> None:
    fake.state.node_count = 3
    settings = _settings(
        fake,
        weaviate_replication_factor=3,
        weaviate_async_replication=True,
        weaviate_shards=6,
        weaviate_consistency_level="QUORUM",
    )
    store = weaviate_store(settings)
    try:
        store.create_collection()
    finally:
        store.close()
    cls = _schema(fake)
    assert cls["replicationConfig"]["factor"] == 3 and cls["replicationConfig"]["asyncEnabled"] is True
    assert cls["shardingConfig"]["desiredCount"] == 6


def _rows(merchant: str) -> list[ProductRow]:
    rows = []
    for i, vector in enumerate(([1.0, 0.0, 0.0, 0.0], [0.9, 0.1, 0.0, 0.0])):
        product = Product(id=f"{merchant}-{i}", title=f"{merchant} dress {i}", category="dress")
        rows.append(ProductRow(str(product_uuid(product.id)), product_properties(product, None), vector))
    return rows


def _tenant_store(fake: FakeWeaviate, tenant: str | None) -> WeaviateStore:
    spec = dataclasses.replace(
        product_collection(), vector=VectorSpec(server_side=False), cluster=ClusterSpec(multi_tenancy=True)
    )
    return WeaviateStore(connect_weaviate(_settings(fake)), spec, tenant=tenant, consistency_level="ONE")


def test_a_search_in_one_tenant_never_returns_another_tenants_products(fake: FakeWeaviate) -> None:
    acme, globex = _tenant_store(fake, "acme"), _tenant_store(fake, "globex")
    try:
        acme.create_collection()
        assert _schema(fake)["multiTenancyConfig"]["enabled"] is True
        assert acme.upsert(_rows("acme")) == [] and globex.upsert(_rows("globex")) == []
        for store, merchant in ((acme, "acme"), (globex, "globex")):
            hits = store.search([1.0, 0.0, 0.0, 0.0], limit=10)
            assert {h.properties["product_id"] for h in hits} == {f"{merchant}-0", f"{merchant}-1"}
            assert store.count() == 2
        assert acme.product("globex-0") is None and acme.product("acme-0") is not None
    finally:
        acme.close()
        globex.close()


def test_a_tenant_is_required_exactly_when_the_collection_is_multi_tenant(fake: FakeWeaviate) -> None:
    with pytest.raises(InvalidInputError, match="multi-tenancy enabled, but request was without tenant"):
        _tenant_store(fake, None)
    with pytest.raises(InvalidInputError, match="multi-tenancy disabled, but request was with tenant"):
        weaviate_store(_settings(fake, weaviate_tenant="acme"))
