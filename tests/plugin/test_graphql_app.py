"""The GraphQL endpoint in front of a fake Weaviate: what Weaviate receives, what clients get."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fake_weaviate import FakeEncoder, FakeWeaviate
from PIL import Image
from starlette.testclient import TestClient

from plugin.graphql import create_graphql_app
from plugin.settings import PluginSettings

pytestmark = pytest.mark.plugin


def png_b64() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def fake() -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        server.state.graphql_response = lambda body: {"data": {"Get": {"Product": [{"title": "blue dress"}]}}}
        yield server


@pytest.fixture
def encoder() -> FakeEncoder:
    return FakeEncoder(dimension=4)


@pytest.fixture
def client(fake: FakeWeaviate, encoder: FakeEncoder) -> Iterator[TestClient]:
    app = create_graphql_app(PluginSettings(weaviate_url=fake.url), encoder)
    with TestClient(app) as c:
        yield c


def graphql_calls(fake: FakeWeaviate) -> list[Any]:
    return [c for c in fake.state.rest_calls if c.path == "/v1/graphql"]


def test_near_grounded_is_forwarded_as_near_vector_with_explanation(
    client: TestClient, fake: FakeWeaviate, encoder: FakeEncoder
) -> None:
    body = {
        "query": "query($img: String) { Get { Product(limit: 2, "
        'nearGrounded: {image: $img, text: "in blue"}) { title } } }',
        "variables": {"img": png_b64()},
    }
    res = client.post("/v1/graphql", json=body, headers={"Authorization": "Bearer k"})
    assert res.status_code == 200
    answer = res.json()
    assert answer["data"] == {"Get": {"Product": [{"title": "blue dress"}]}}
    assert answer["extensions"]["grounded"]["Product"]["fusedText"] == "a red dress, in blue"
    (call,) = graphql_calls(fake)
    forwarded = " ".join(call.body["query"].split())
    assert "nearGrounded" not in forwarded and "nearVector: { vector: [" in forwarded
    assert "$img" not in call.body["query"] and call.body["variables"] == {}
    assert call.headers["authorization"] == "Bearer k"
    ((image, text, _),) = encoder.compose_calls
    assert image == base64.b64decode(png_b64()) and text == "in blue"


def test_plain_queries_and_other_paths_pass_through_unchanged(client: TestClient, fake: FakeWeaviate) -> None:
    raw = b'{"query": "{ Get { Product(limit: 1) { title } } }"}'
    res = client.post(
        "/v1/graphql",
        content=raw,
        headers={"Authorization": "Bearer k", "X-Custom": "1", "Content-Type": "application/json"},
    )
    assert res.json()["data"]["Get"]["Product"][0]["title"] == "blue dress"
    (call,) = graphql_calls(fake)
    assert call.body == {"query": "{ Get { Product(limit: 1) { title } } }"}
    assert (call.headers["authorization"], call.headers["x-custom"]) == ("Bearer k", "1")
    meta = client.get("/v1/meta", headers={"Authorization": "Bearer k"})
    assert meta.json()["version"].startswith("1.32")
    assert fake.state.rest_calls[-1].headers["authorization"] == "Bearer k"
    assert client.get("/v1/schema/Nope").status_code == 404  # Weaviate's status, not ours


def test_malformed_near_grounded_gets_a_graphql_error_and_reaches_nobody(
    client: TestClient, fake: FakeWeaviate, encoder: FakeEncoder
) -> None:
    res = client.post(
        "/v1/graphql", json={"query": '{ Get { Product(nearGrounded: {image: "@@@"}) { title } } }'}
    )
    assert res.status_code == 400
    (error,) = res.json()["errors"]
    assert "nearGrounded.image: not valid base64" in error["message"]
    assert graphql_calls(fake) == [] and encoder.compose_calls == []


def test_unreachable_weaviate_is_a_graphql_error(encoder: FakeEncoder) -> None:
    app = create_graphql_app(PluginSettings(weaviate_url="http://127.0.0.1:1"), encoder)
    with TestClient(app) as c:
        res = c.post("/v1/graphql", json={"query": "{ Get { Product { title } } }"})
    assert res.status_code == 502
    assert "Weaviate is unreachable" in res.json()["errors"][0]["message"]
