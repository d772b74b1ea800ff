"""WeaviateStore through the real weaviate-client against the in-process fake Weaviate: the exact
schema, batch and search requests we send, and the behaviour they give."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import numpy as np
import pytest
import weaviate.connect.v4

from plugin.settings import PluginSettings
from plugin.store.protocol import ProductFilter, ProductRow
from plugin.store.weaviate import WeaviateStore, connect_weaviate, weaviate_store
from schemas.collection import VectorSpec, product_collection
from schemas.errors import InvalidInputError
from schemas.product import product_uuid
from tests.support.fake_weaviate import FakeWeaviate


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        # The client's best-effort "newer version on PyPI" check must not leave the machine.
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{server.url}/pypi")
        yield server


def settings_for(fake: FakeWeaviate, **kwargs: object) -> PluginSettings:
    return PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port, **kwargs)  # type: ignore[arg-type]


def unit(seed: int, dim: int = 8) -> list[float]:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return [float(x) for x in v / np.linalg.norm(v)]


def row(pid: str, seed: int, **props: object) -> ProductRow:
    properties = {"product_id": pid, "title": f"title {pid}", "category": "dress", "attributes": [], **props}
    return ProductRow(uuid=str(product_uuid(pid)), properties=properties, vector=unit(seed))


def test_connect_reads_meta_then_reports_ready(fake: FakeWeaviate) -> None:
    client = connect_weaviate(settings_for(fake))
    try:
        paths = [c.path for c in fake.state.rest_calls]
        assert "/v1/meta" in paths  # the client learns the server version (gRPC features) first
        assert client.is_ready()
        assert fake.state.rest_calls[-1].path == "/v1/.well-known/ready"
    finally:
        client.close()


def test_api_key_is_sent_as_bearer_token(fake: FakeWeaviate) -> None:
    store = weaviate_store(settings_for(fake, weaviate_api_key="s3cret"))
    try:
        store.create_collection()
        assert fake.state.rest_calls[-1].headers["authorization"] == "Bearer s3cret"
    finally:
        store.close()


def test_connect_rejects_a_non_http_url() -> None:
    with pytest.raises(InvalidInputError, match="http"):
        connect_weaviate(PluginSettings(weaviate_url="localhost:8080"))


def test_server_side_schema_uses_multi2vec_clip_with_weights(fake: FakeWeaviate) -> None:
    store = weaviate_store(settings_for(fake, collection="Shop", clip_inference_url="http://vec:8000"))
    try:
        store.create_collection()
        store.create_collection()  # idempotent: an existing collection is kept
    finally:
        store.close()
    creates = [c for c in fake.state.rest_calls if c.method == "POST" and c.path == "/v1/schema"]
    assert len(creates) == 1
    body = creates[0].body
    assert body["class"] == "Shop"
    clip = body["vectorConfig"]["clip"]
    assert clip["vectorizer"] == {
        "multi2vec-clip": {
            "imageFields": ["image"],
            "textFields": ["title"],
            "weights": {"imageFields": [0.9], "textFields": [0.1]},
            "inferenceUrl": "http://vec:8000",
        }
    }
    assert clip["vectorIndexType"] == "hnsw"
    assert clip["vectorIndexConfig"]["distance"] == "cosine"
    props = {p["name"]: p for p in body["properties"]}
    assert props["image"]["dataType"] == ["blob"]
    assert props["category"]["tokenization"] == "field"
    assert props["attributes"]["dataType"] == ["text[]"]
    assert props["attributes"]["tokenization"] == "field"
    assert props["title"]["tokenization"] == "word"
    assert props["price"]["dataType"] == ["number"]
    assert props["price"]["indexRangeFilters"] is True


def test_plugin_vectorization_schema_is_self_provided(fake: FakeWeaviate) -> None:
    store = weaviate_store(settings_for(fake, vectorization="plugin"))
    try:
        assert store.computes_vectors is False
        store.create_collection()
    finally:
        store.close()
    body = fake.state.schema["Product"]
    assert body["vectorConfig"]["clip"]["vectorizer"] == {"none": {}}
    assert body["vectorConfig"]["clip"]["vectorIndexConfig"]["distance"] == "cosine"


@pytest.fixture
def store(fake: FakeWeaviate) -> Iterator[WeaviateStore]:
    spec = product_collection(vector=VectorSpec(server_side=False))
    s = WeaviateStore(connect_weaviate(settings_for(fake)), spec)
    s.create_collection()
    yield s
    s.close()


def test_upsert_sends_uuid_properties_and_named_vector(fake: FakeWeaviate, store: WeaviateStore) -> None:
    errors = store.upsert([row("a", 1, price=10.0, attributes=["colour=red"])])
    assert errors == []
    (request,) = fake.state.batch_requests
    (obj,) = request.objects
    assert obj.collection == "Product"
    assert obj.uuid == str(product_uuid("a"))
    (vec,) = obj.vectors
    assert vec.name == "clip"
    assert np.allclose(np.frombuffer(vec.vector_bytes, "<f4"), unit(1))
    stored = fake.objects("Product")[str(product_uuid("a"))]
    assert stored.properties["price"] == 10.0
    assert stored.properties["attributes"] == ["colour=red"]


def test_upsert_twice_replaces_instead_of_duplicating(store: WeaviateStore) -> None:
    store.upsert([row("a", 1), row("b", 2)])
    store.upsert([row("a", 3, title="new title")])
    assert store.count() == 2
    hit = store.search(unit(3), limit=1, return_properties=["title"])[0]
    assert hit.properties["title"] == "new title"


def test_rejected_rows_are_reported_not_dropped(fake: FakeWeaviate, store: WeaviateStore) -> None:
    fake.state.reject = lambda props: "price must be a number" if props["product_id"] == "bad" else None
    errors = store.upsert([row("ok", 1), row("bad", 2)])
    assert [(e.uuid, e.message) for e in errors] == [(str(product_uuid("bad")), "price must be a number")]
    assert store.count() == 1


def test_existing_asks_for_ids_and_returns_the_stored_ones(fake: FakeWeaviate, store: WeaviateStore) -> None:
    store.upsert([row("a", 1)])
    wanted = [str(product_uuid("a")), str(product_uuid("zzz"))]
    assert store.existing(wanted) == {str(product_uuid("a"))}
    request = fake.state.search_requests[-1]
    assert request.filters.target.property == "_id"
    assert list(request.filters.value_text_array.values) == wanted


def test_search_translates_filters_and_ranks_by_cosine(fake: FakeWeaviate, store: WeaviateStore) -> None:
    store.upsert(
        [
            row("red", 1, price=20.0, brand="acme", attributes=["colour=red", "sleeve=long"]),
            row("blue", 2, price=30.0, brand="acme", attributes=["colour=blue"]),
            row("cheap", 3, price=5.0, brand="other", attributes=["colour=red", "sleeve=long"]),
        ]
    )
    filters = ProductFilter(
        category="dress", brand=["acme", "zeta"], price_min=10, price_max=25, attributes={"colour": "red"}
    )
    hits = store.search(
        np.asarray([unit(3)], np.float32), filters=filters, limit=5, return_properties=["title"]
    )
    assert [h.properties["title"] for h in hits] == ["title red"]
    assert hits[0].uuid == str(product_uuid("red"))
    request = fake.state.search_requests[-1]
    assert request.limit == 5
    assert list(request.near_vector.targets.target_vectors) == ["clip"]
    assert request.metadata.distance is True
    operands = {(f.target.property, f.operator) for f in request.filters.filters}
    assert operands == {
        ("category", 1),  # OPERATOR_EQUAL
        ("brand", 12),  # OPERATOR_CONTAINS_ANY
        ("price", 4),  # GREATER_THAN_EQUAL
        ("price", 6),  # LESS_THAN_EQUAL
        ("attributes", 13),  # CONTAINS_ALL
    }

    unfiltered = store.search(unit(3), limit=3)
    assert unfiltered[0].uuid == str(product_uuid("cheap"))
    assert unfiltered[0].distance == pytest.approx(0.0, abs=1e-5)
    assert [h.distance for h in unfiltered] == sorted(h.distance for h in unfiltered)


def test_delete_and_drop(fake: FakeWeaviate, store: WeaviateStore) -> None:
    store.upsert([row("a", 1), row("b", 2)])
    assert store.delete([str(product_uuid("a")), str(uuid.uuid4())]) == 1
    assert store.count() == 1
    store.drop()
    assert "Product" not in fake.state.schema
