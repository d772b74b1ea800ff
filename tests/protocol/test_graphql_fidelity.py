"""The GraphQL endpoint in front of Weaviate (issue 10.2-10.6), against the fake Weaviate and,
when ``WEAVIATE_URL`` is set, a real one with the same assertions: Weaviate must accept what the
endpoint forwards, and clients must get Weaviate's own answer shapes."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from plugin.graphql import create_graphql_app
from plugin.store.protocol import ProductRow
from plugin.store.weaviate import weaviate_store
from schemas.product import product_uuid
from tests.support.weaviate_target import WeaviateTarget

COLOURS = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220)}


def png_b64(rgb: tuple[int, int, int]) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (24, 24), rgb).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


@pytest.fixture
def stack(target: WeaviateTarget) -> Iterator[tuple[TestClient, str, WeaviateTarget]]:
    """Three products embedded by Weaviate (default mode) and the endpoint in front of it."""
    name = target.collection_name("Gql")
    settings = target.settings(collection=name)
    store = weaviate_store(settings)
    try:
        store.create_collection()
        rows = [
            ProductRow(
                str(product_uuid(colour)),
                {"product_id": colour, "title": f"{colour} dress", "image": png_b64(rgb)},
            )
            for colour, rgb in COLOURS.items()
        ]
        assert store.upsert(rows) == []
    finally:
        store.close()
    with TestClient(create_graphql_app(settings, target.encoder), headers=target.headers()) as client:
        yield client, name, target


def ok(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert "errors" not in body, body["errors"]
    return body


def test_targets_in_a_variable_are_accepted_by_weaviate(
    stack: tuple[TestClient, str, WeaviateTarget],
) -> None:
    client, name, _ = stack
    query = f"query($q: NearGrounded) {{ Get {{ {name}(limit: 2, nearGrounded: $q) {{ product_id }} }} }}"
    variables = {"q": {"text": "a dress", "targets": {"targetVectors": ["clip"], "combinationMethod": "sum"}}}
    body = ok(client.post("/v1/graphql", json={"query": query, "variables": variables}))
    assert len(body["data"]["Get"][name]) == 2


def test_variable_defaults_apply(stack: tuple[TestClient, str, WeaviateTarget]) -> None:
    client, name, _ = stack
    query = (
        f'query($t: String = "a long dress", $n: Int = 1) {{ Get {{ {name}(limit: $n, '
        "nearGrounded: {text: $t}) { product_id } } }"
    )
    body = ok(client.post("/v1/graphql", json={"query": query}))
    assert len(body["data"]["Get"][name]) == 1  # Weaviate applied $n's default too
    assert body["extensions"]["grounded"][name]["modification"] == "a long dress"


def test_explore_gets_the_configured_target_vector(stack: tuple[TestClient, str, WeaviateTarget]) -> None:
    client, name, _ = stack
    query = '{ Explore(limit: 5, nearGrounded: {text: "a dress"}) { beacon className distance } }'
    body = ok(client.post("/v1/graphql", json={"query": query}))
    assert {hit["className"] for hit in body["data"]["Explore"]} >= {name}


def test_explore_without_a_target_fails_in_weaviate_as_the_endpoint_says(target: WeaviateTarget) -> None:
    # Why the endpoint supplies targetVectors: the same search sent straight to Weaviate fails.
    name = target.collection_name("Gql")
    store = weaviate_store(target.settings(collection=name, vectorization="plugin"))
    try:
        store.create_collection()
        assert store.upsert([ProductRow(str(product_uuid("a")), {"product_id": "a"}, [1.0, 0.0])]) == []
    finally:
        store.close()
    query = "{ Explore(nearVector: {vector: [1.0, 0.0]}) { beacon } }"
    answer = target.rest("POST", "/v1/graphql", json={"query": query})
    assert answer.status_code == 200
    assert 'index for target vector "" not found' in answer.json()["errors"][0]["message"]


def test_aggregate_keeps_the_users_object_limit(stack: tuple[TestClient, str, WeaviateTarget]) -> None:
    client, name, _ = stack
    search = 'objectLimit: 2, nearGrounded: {text: "a dress"}'
    query = f"{{ Aggregate {{ {name}({search}) {{ meta {{ count }} }} }} }}"
    body = ok(client.post("/v1/graphql", json={"query": query}))
    assert body["data"]["Aggregate"][name] == [{"meta": {"count": 2}}]


def test_batch_rewrites_every_query(stack: tuple[TestClient, str, WeaviateTarget]) -> None:
    client, name, _ = stack
    batch = [
        {"query": f'{{ Get {{ {name}(limit: 1, nearGrounded: {{text: "a dress"}}) {{ product_id }} }} }}'},
        {"query": f"{{ Get {{ {name}(limit: 3) {{ product_id }} }} }}"},
        {
            "query": f"query($img: String) {{ Get {{ {name}(limit: 1, nearGrounded: {{image: $img}}) "
            "{ product_id } } }",
            "variables": {"img": png_b64(COLOURS["red"])},
        },
    ]
    answer = client.post("/v1/graphql/batch", json=batch)
    assert answer.status_code == 200, answer.text
    first, second, third = answer.json()
    assert not any("errors" in part for part in (first, second, third)), answer.text
    assert len(first["data"]["Get"][name]) == 1 and len(third["data"]["Get"][name]) == 1
    assert sorted(hit["product_id"] for hit in second["data"]["Get"][name]) == sorted(COLOURS)


@pytest.mark.parametrize(
    "body",
    [{"query": ""}, {"query": "{ Get { NoSuchCollection { title } } }"}],
    ids=["empty-query", "unknown-collection"],
)
def test_errors_reach_clients_as_weaviate_shapes_them(
    stack: tuple[TestClient, str, WeaviateTarget], body: dict[str, Any]
) -> None:
    client, _, target = stack
    direct = target.rest("POST", "/v1/graphql", json=body)
    through = client.post("/v1/graphql", json=body)
    assert through.status_code == direct.status_code
    assert through.headers["content-type"].startswith("application/json")
    assert through.json().keys() == direct.json().keys()
    key = "error" if direct.status_code == 422 else "errors"
    assert through.json()[key][0]["message"] == direct.json()[key][0]["message"]


def test_bad_near_grounded_is_a_graphql_error_like_weaviates(
    stack: tuple[TestClient, str, WeaviateTarget],
) -> None:
    client, name, target = stack
    ours = client.post(
        "/v1/graphql",
        json={"query": f'{{ Get {{ {name}(nearGrounded: {{image: "@@@"}}) {{ product_id }} }} }}'},
    )
    theirs = target.rest(
        "POST",
        "/v1/graphql",
        json={"query": f"{{ Get {{ {name}(nearVector: {{vector: [1.0]}}) {{ product_id }} }} }}"},
    )
    assert ours.status_code == theirs.status_code == 200
    assert isinstance(ours.json()["errors"][0]["message"], str)
    assert isinstance(theirs.json()["errors"][0]["message"], str)
