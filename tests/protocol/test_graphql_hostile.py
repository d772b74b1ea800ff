"""Issue 22, failures 7 to 10: the GraphQL endpoint answered 500 to deeply nested variables and
bodies, ran 800 composes for one batch, let any body through to Weaviate, and refused its probes
once an API key was set (so the pod never became ready). HEAD answered 405."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.testclient import TestClient
from starlette.types import Message

from plugin.graphql import create_graphql_app
from plugin.graphql.guard import MAX_JSON_DEPTH
from plugin.settings import PluginSettings
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate

QUERY = 'query($v: String) { Get { Product(nearGrounded: {text: "in blue"}) { title } } }'


@pytest.fixture
def fake() -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        server.state.graphql_response = lambda body: {"data": {"Get": {"Product": [{"title": "blue dress"}]}}}
        yield server


def client_for(fake: FakeWeaviate, encoder: FakeEncoder | None = None, **settings: Any) -> TestClient:
    app = create_graphql_app(
        PluginSettings(weaviate_url=fake.url, **settings), encoder or FakeEncoder(dimension=4)
    )
    return TestClient(app)


def nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_variables_nested_900_deep_are_a_400(fake: FakeWeaviate) -> None:
    with client_for(fake) as client:
        answer = client.post("/v1/graphql", json={"query": QUERY, "variables": {"v": nested(900)}})
        within = client.post(
            "/v1/graphql", json={"query": QUERY, "variables": {"v": nested(MAX_JSON_DEPTH - 2)}}
        )
    assert answer.status_code == 400
    assert (
        answer.json()["error"][0]["message"]
        == f"the JSON body is nested more than {MAX_JSON_DEPTH} levels deep"
    )
    assert within.status_code == 200


def test_a_body_nested_100000_deep_is_a_400(fake: FakeWeaviate) -> None:
    body = '{"query": "{ Get { Product(nearGrounded: {text: \\"x\\"}) { title } } }", "variables": '
    body += "[" * 100_000 + "]" * 100_000 + "}"
    with client_for(fake) as client:
        answer = client.post("/v1/graphql", content=body, headers={"content-type": "application/json"})
        batch = client.post(
            "/v1/graphql/batch", content="[" + body + "]", headers={"content-type": "application/json"}
        )
    assert answer.status_code == 400 and "nested more than" in answer.json()["error"][0]["message"]
    assert batch.status_code == 400


def test_a_deeply_nested_query_is_never_a_500(fake: FakeWeaviate) -> None:
    deep = 'query { Get { Product(nearGrounded: {text: "x"}) ' + "{ a " * 50_000 + "}" * 50_000 + " } }"
    with client_for(fake) as client:
        answer = client.post("/v1/graphql", json={"query": deep})
    assert answer.status_code < 500, answer.text


def test_a_batch_counts_near_grounded_across_its_queries(fake: FakeWeaviate) -> None:
    encoder = FakeEncoder(dimension=4)
    item = {"query": QUERY}
    with client_for(fake, encoder, graphql_max_near_grounded=8, graphql_max_batch_items=64) as client:
        too_many = client.post("/v1/graphql/batch", json=[item] * 9)
        too_long = client.post("/v1/graphql/batch", json=[{"query": "{ Get { P { t } } }"}] * 64 + [item])
        fine = client.post("/v1/graphql/batch", json=[item] * 8)
    assert too_many.status_code == 400
    assert too_many.json()["error"][0]["message"].startswith("at most 8 nearGrounded fields per request")
    assert too_long.status_code == 400
    assert (
        too_long.json()["error"][0]["message"]
        == "a batch using nearGrounded holds at most 64 queries, got 65"
    )
    # Refused before any compose ran; the batch within both limits ran its 8.
    assert fine.status_code == 200 and len(encoder.compose_calls) == 8


def test_pass_through_paths_have_a_body_limit(fake: FakeWeaviate) -> None:
    with client_for(fake, graphql_max_body_bytes=1000) as client:
        big = client.post("/v1/objects", content=b"x" * 5000)
        small = client.post("/v1/objects", content=b"{}")
    assert big.status_code == 413 and "1000-byte limit" in big.json()["error"][0]["message"]
    assert small.status_code != 413
    # Only the small one reached Weaviate.
    assert [c.path for c in fake.state.rest_calls].count("/v1/objects") == 1


def test_probes_answer_without_the_key_everything_else_needs_it(fake: FakeWeaviate) -> None:
    with client_for(fake, graphql_api_key=SecretStr("k")) as client:
        ready = client.get("/v1/.well-known/ready")
        live = client.get("/v1/.well-known/live")
        meta = client.get("/v1/meta")
        meta_with_key = client.get("/v1/meta", headers={"X-Grounded-Api-Key": "k"})
    assert ready.status_code != 401 and live.status_code != 401
    assert meta.status_code == 401 and meta_with_key.status_code != 401


def test_head_answers_like_get_without_a_body(fake: FakeWeaviate) -> None:
    with client_for(fake, graphql_api_key=SecretStr("k")) as client:
        got = client.get("/v1/meta", headers={"X-Grounded-Api-Key": "k"})
        head = client.head("/v1/meta", headers={"X-Grounded-Api-Key": "k"})
        ready = client.head("/v1/.well-known/ready")
    assert head.status_code == got.status_code == 200 and head.content == b""
    assert ready.status_code == 200 and ready.content == b""


def test_a_client_that_disconnects_mid_body_is_not_an_error(
    fake: FakeWeaviate, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_graphql_app(PluginSettings(weaviate_url=fake.url), FakeEncoder(dimension=4))
    parts: list[Message] = [{"type": "http.request", "body": b'{"query": "{', "more_body": True}]
    sent: list[Message] = []

    async def receive() -> Message:
        return parts.pop(0) if parts else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/v1/graphql", "raw_path": b"/v1/graphql", "query_string": b"",
        "root_path": "", "headers": [(b"content-length", b"1000")], "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8085),
    }  # fmt: skip
    caplog.set_level(logging.INFO)
    asyncio.run(app(scope, receive, send))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert any("closed the connection" in r.getMessage() for r in caplog.records)
