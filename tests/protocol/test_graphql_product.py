"""GraphQL ``nearGrounded: {product: "sku-1", text: "in blue"}``: the stored product is read from
Weaviate with the caller's credentials, composed from, and left out of the results."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from plugin.graphql import create_graphql_app
from plugin.settings import PluginSettings
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


STORED = {
    "product_id": "sku-1",
    "title": "Acme wrap dress",
    "attributes_json": json.dumps({"colour": "red"}),
    "image": base64.b64encode(_png()).decode(),
    "_additional": {"id": "00000000-0000-0000-0000-000000000001"},
}


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    if "operator: Equal" in body["query"]:  # the endpoint's product lookup
        found = [STORED] if body.get("variables", {}).get("id") == "sku-1" else []
        return {"data": {"Get": {"Product": found}}}
    return {"data": {"Get": {"Product": [{"title": "blue wrap dress"}]}}}


@pytest.fixture
def fake() -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        server.state.graphql_response = _answer
        yield server


@pytest.fixture
def setup(fake: FakeWeaviate) -> Iterator[tuple[TestClient, FakeEncoder]]:
    encoder = FakeEncoder(dimension=4)
    with TestClient(create_graphql_app(PluginSettings(weaviate_url=fake.url), encoder)) as client:
        yield client, encoder


def _searches(fake: FakeWeaviate) -> list[str]:
    calls = [c for c in fake.state.rest_calls if c.path == "/v1/graphql"]
    return [" ".join(c.body["query"].split()) for c in calls if "nearVector" in c.body["query"]]


def test_a_stored_product_is_the_reference_and_is_left_out(
    setup: tuple[TestClient, FakeEncoder], fake: FakeWeaviate
) -> None:
    client, encoder = setup
    query = '{ Get { Product(limit: 5, nearGrounded: {product: "sku-1", text: "in blue"}) { title } } }'
    res = client.post("/v1/graphql", json={"query": query}, headers={"Authorization": "Bearer k"})
    assert res.status_code == 200 and res.json()["data"]["Get"]["Product"] == [{"title": "blue wrap dress"}]
    lookups = [
        c for c in fake.state.rest_calls if c.path == "/v1/graphql" and "operator: Equal" in c.body["query"]
    ]
    assert lookups and lookups[0].headers["authorization"] == "Bearer k"  # the caller's own credentials
    ((image, text, options),) = encoder.compose_calls
    assert image == _png() and text == "in blue"
    assert options.catalog_caption == "Acme wrap dress" and options.catalog_attributes == {"colour": "red"}
    (search,) = _searches(fake)
    assert 'where: { path: ["product_id"], operator: NotEqual, valueText: "sku-1" }' in search


def test_the_callers_own_where_is_kept_and_combined(
    setup: tuple[TestClient, FakeEncoder], fake: FakeWeaviate
) -> None:
    client, _ = setup
    query = (
        '{ Get { Product(where: {path: ["category"], operator: Equal, valueText: "dress"}, '
        'nearGrounded: {product: "sku-1", text: "in blue"}) { title } } }'
    )
    assert client.post("/v1/graphql", json={"query": query}).status_code == 200
    (search,) = _searches(fake)
    assert "operator: And" in search and '"category"' in search and "NotEqual" in search


def test_include_reference_sends_no_exclusion(
    setup: tuple[TestClient, FakeEncoder], fake: FakeWeaviate
) -> None:
    client, _ = setup
    query = (
        '{ Get { Product(nearGrounded: {product: "sku-1", text: "", includeReference: true}) { title } } }'
    )
    assert client.post("/v1/graphql", json={"query": query}).status_code == 200
    (search,) = _searches(fake)
    assert "NotEqual" not in search


def test_an_unknown_product_is_a_graphql_error(setup: tuple[TestClient, FakeEncoder]) -> None:
    client, _ = setup
    query = '{ Get { Product(nearGrounded: {product: "nope", text: "in blue"}) { title } } }'
    res = client.post("/v1/graphql", json={"query": query})
    assert res.status_code == 200
    assert "product 'nope' is not in collection 'Product'" in res.json()["errors"][0]["message"]
