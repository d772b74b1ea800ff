"""The GraphQL endpoint in front of a fake Weaviate: what Weaviate receives, what clients get."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from plugin.graphql import create_graphql_app
from plugin.settings import PluginSettings
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate


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
    assert meta.json()["version"].startswith("1.38")
    assert fake.state.rest_calls[-1].headers["authorization"] == "Bearer k"
    assert client.get("/v1/schema/Nope").status_code == 404  # Weaviate's status, not ours


def test_malformed_near_grounded_gets_a_graphql_error_and_reaches_nobody(
    client: TestClient, fake: FakeWeaviate, encoder: FakeEncoder
) -> None:
    res = client.post(
        "/v1/graphql", json={"query": '{ Get { Product(nearGrounded: {image: "@@@"}) { title } } }'}
    )
    # Weaviate answers a query it cannot run with 200 and GraphQL errors (handlers_graphql.go).
    assert res.status_code == 200 and res.headers["content-type"] == "application/json"
    (error,) = res.json()["errors"]
    assert "nearGrounded.image: not valid base64" in error["message"]
    assert graphql_calls(fake) == [] and encoder.compose_calls == []


def test_unreachable_weaviate_is_a_graphql_error(encoder: FakeEncoder) -> None:
    app = create_graphql_app(PluginSettings(weaviate_url="http://127.0.0.1:1"), encoder)
    with TestClient(app) as c:
        res = c.post("/v1/graphql", json={"query": "{ Get { Product { title } } }"})
    assert res.status_code == 502
    assert "Weaviate is unreachable" in res.json()["error"][0]["message"]


def app_client(fake: FakeWeaviate, encoder: FakeEncoder, **settings: Any) -> TestClient:
    return TestClient(create_graphql_app(PluginSettings(weaviate_url=fake.url, **settings), encoder))


def test_targets_variable_reaches_weaviate_as_an_object_with_an_enum(
    client: TestClient, fake: FakeWeaviate
) -> None:
    # Issue 10.2: this answered 500 text/plain.
    body = {
        "query": "query($q: NearGrounded) { Get { Product(nearGrounded: $q) { title } } }",
        "variables": {
            "q": {"text": "red", "targets": {"targetVectors": ["clip"], "combinationMethod": "sum"}}
        },
    }
    res = client.post("/v1/graphql", json=body)
    assert res.status_code == 200 and "errors" not in res.json()
    (call,) = graphql_calls(fake)
    assert 'targets: { targetVectors: ["clip"], combinationMethod: sum }' in call.body["query"]


@pytest.mark.parametrize(
    "body",
    [
        b"nearGrounded {not json",
        b'{"query": "", "nearGrounded": 1}',
        b'{"query": "{ x }", "variables": [1], "v": "nearGrounded"}',
    ],
)
def test_malformed_requests_get_weaviates_422_shape(
    client: TestClient, fake: FakeWeaviate, body: bytes
) -> None:
    res = client.post("/v1/graphql", content=body, headers={"Content-Type": "application/json"})
    assert res.status_code == 422
    assert isinstance(res.json()["error"][0]["message"], str)
    assert graphql_calls(fake) == []


def test_unexpected_failure_is_still_a_json_answer(fake: FakeWeaviate, encoder: FakeEncoder) -> None:
    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")

    encoder.compose = broken  # type: ignore[method-assign]
    with app_client(fake, encoder) as c:
        res = c.post(
            "/v1/graphql", json={"query": '{ Get { Product(nearGrounded: {text: "x"}) { title } } }'}
        )
    assert res.status_code == 500 and "boom" not in res.text
    assert res.json()["error"][0]["message"].startswith("internal error")


def test_batch_rewrites_every_query_and_keeps_each_error_in_its_slot(
    client: TestClient, fake: FakeWeaviate, encoder: FakeEncoder
) -> None:
    batch = [
        {"query": '{ Get { Product(nearGrounded: {text: "in blue"}) { title } } }'},
        {"query": '{ Get { Product(nearGrounded: {image: "@@@"}) { title } } }'},
        {"query": "{ Get { Product(limit: 1) { title } } }"},
    ]
    res = client.post("/v1/graphql/batch", json=batch)
    assert res.status_code == 200
    first, second, third = res.json()
    assert first["data"]["Get"]["Product"][0]["title"] == "blue dress"
    assert first["extensions"]["grounded"]["Product"]["modification"] == "in blue"
    assert "not valid base64" in second["errors"][0]["message"]
    assert third["data"]["Get"]["Product"][0]["title"] == "blue dress"
    (call,) = [c for c in fake.state.rest_calls if c.path == "/v1/graphql/batch"]
    assert len(call.body) == 2 and all("nearGrounded" not in q["query"] for q in call.body)
    assert "nearVector" in call.body[0]["query"] and len(encoder.compose_calls) == 1


def test_request_size_and_near_grounded_count_are_capped(fake: FakeWeaviate, encoder: FakeEncoder) -> None:
    with app_client(fake, encoder, graphql_max_body_bytes=1000, graphql_max_near_grounded=2) as c:
        big = c.post("/v1/graphql", json={"query": "{ Get { Product { title } } }", "pad": "x" * 2000})
        assert big.status_code == 413 and "limit" in big.json()["error"][0]["message"]
        fields = " ".join(f'p{i}: Product(nearGrounded: {{text: "t"}}) {{ title }}' for i in range(3))
        many = c.post("/v1/graphql", json={"query": f"{{ Get {{ {fields} }} }}"})
    assert "at most 2 nearGrounded" in many.json()["errors"][0]["message"]
    assert encoder.compose_calls == [] and graphql_calls(fake) == []


def test_wrong_credentials_are_refused_by_weaviate_before_any_model_work(
    fake: FakeWeaviate, encoder: FakeEncoder
) -> None:
    fake.state.api_key = "good"
    query = {"query": '{ Get { Product(nearGrounded: {text: "x"}) { title } } }'}
    with app_client(fake, encoder) as c:
        bad = c.post("/v1/graphql", json=query, headers={"Authorization": "Bearer wrong"})
        assert bad.status_code == 401 and encoder.compose_calls == []
        for _ in range(2):
            assert (
                c.post("/v1/graphql", json=query, headers={"Authorization": "Bearer good"}).status_code == 200
            )
    assert len(encoder.compose_calls) == 2
    meta = [call for call in fake.state.rest_calls if call.path == "/v1/meta"]
    assert len(meta) == 2  # one per distinct credential: the answer is cached


def test_proxied_paths_stay_under_v1(client: TestClient, fake: FakeWeaviate) -> None:
    for path in ("/v1/%2e%2e/admin", "/v1/./../admin", "/v1/schema/%2e%2e/%2e%2e/admin"):
        assert client.get(path).status_code == 404
    assert not [c for c in fake.state.rest_calls if not c.path.startswith("/v1/")]


def test_optional_api_key(fake: FakeWeaviate, encoder: FakeEncoder) -> None:
    query = {"query": "{ Get { Product { title } } }"}
    with app_client(fake, encoder, graphql_api_key="s3cret") as c:
        assert c.post("/v1/graphql", json=query).status_code == 401
        assert c.post("/v1/graphql", json=query, headers={"X-Grounded-Api-Key": "nope"}).status_code == 401
        ok = c.post(
            "/v1/graphql", json=query, headers={"X-Grounded-Api-Key": "s3cret", "Authorization": "Bearer w"}
        )
        assert ok.status_code == 200
        assert c.get("/v1/meta", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    sent = [call.headers for call in fake.state.rest_calls]
    assert sent[0]["authorization"] == "Bearer w" and "x-grounded-api-key" not in sent[0]
    assert "authorization" not in sent[1]  # the bearer was the endpoint's key, not Weaviate's


def test_graphql_binds_loopback_by_default_outside_containers(monkeypatch: pytest.MonkeyPatch) -> None:
    from plugin import settings as settings_module

    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("GROUNDED_GRAPHQL_HOST", raising=False)
    monkeypatch.setattr(settings_module.Path, "exists", lambda self: False)
    assert PluginSettings().graphql_bind_host() == "127.0.0.1"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert PluginSettings().graphql_bind_host() == "0.0.0.0"
    assert PluginSettings(graphql_host="10.1.2.3").graphql_bind_host() == "10.1.2.3"
