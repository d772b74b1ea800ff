"""The GraphQL endpoint (``grounded graphql``), fuzzed two ways, in process, in front of the fake
Weaviate, with the service's engine (fake embedder) composing the queries:

- schemathesis on :data:`~tests.support.fuzz.WEAVIATE_SDL` (Weaviate's ``Get`` / ``Aggregate`` /
  ``Explore`` with ``nearGrounded``): queries valid and invalid by that schema;
- hypothesis on raw bodies: any JSON (or not JSON) sent to ``/v1/graphql`` and its batch path,
  with ``nearGrounded`` somewhere in it, so the rewrite is always attempted.

The properties: never a 5xx, and every query the endpoint forwards to Weaviate parses.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from graphql import GraphQLError, parse
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from starlette.testclient import TestClient

from plugin.encoder.local import LocalEncoder
from plugin.graphql import create_graphql_app
from plugin.settings import PluginSettings
from tests.support.fake_weaviate import FakeWeaviate
from tests.support.fuzz import TALLY, WEAVIATE_SDL, FreshApp, property_settings, surface_settings
from tests.support.service import make_engine, service_settings

_FORWARDED_UNPARSABLE: list[str] = []
_STORED_ID = "red-dress"


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 0, 0)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


_STORED = {"product_id": _STORED_ID, "title": "red dress", "attributes_json": '{"colour": "red"}',
           "image": _png(), "_additional": {"id": "3b1b7e0e-0000-4000-8000-000000000000"}}  # fmt: skip


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """Weaviate's answer, after checking that what the endpoint forwarded is GraphQL. The
    endpoint's own product lookup (``nearGrounded.product``) finds one stored product."""
    query = body.get("query") or ""
    if "valueText: $id" in query:
        wanted = (body.get("variables") or {}).get("id")
        return {"data": {"Get": {"Product": [_STORED] if wanted == _STORED_ID else []}}}
    try:
        parse(query)
    except GraphQLError as exc:
        if "nearVector" in query:  # rewritten by us: it must parse
            _FORWARDED_UNPARSABLE.append(f"{exc.message}: {query[:300]}")
        return {"errors": [{"message": exc.message}]}
    return {"data": {"Get": {"Product": [{"title": "blue dress"}]}}}


class _Endpoint:
    """The fake Weaviate, the engine and the endpoint, started once for the module."""

    def __init__(self) -> None:
        self.weaviate = FakeWeaviate().__enter__()
        self.weaviate.state.graphql_response = _answer
        self.encoder = LocalEncoder(service_settings(), engine=make_engine(max_text_chars=200))
        settings = PluginSettings(weaviate_url=self.weaviate.url, graphql_max_body_bytes=256_000)
        self.build = lambda: create_graphql_app(settings, self.encoder)

    def close(self) -> None:
        self.encoder.close()
        self.weaviate.__exit__(None, None, None)


_ENDPOINT = _Endpoint()
schema = schemathesis.graphql.from_file(WEAVIATE_SDL)
schema.app = FreshApp(_ENDPOINT.build)


@pytest.fixture(scope="module", autouse=True)
def _close_endpoint() -> Iterator[None]:
    yield
    _ENDPOINT.close()


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(_ENDPOINT.build()) as client:
        yield client


def _check(status: int, text: str) -> None:
    assert status < 500, f"{status}: {text[:300]}"
    assert not _FORWARDED_UNPARSABLE, _FORWARDED_UNPARSABLE[0]


@schema.parametrize()
# Get, Aggregate and Explore: one test each.
@surface_settings(operations=3)
def test_schema_generated_queries_are_never_a_5xx(case: schemathesis.Case) -> None:
    response = case.call(base_url="http://testserver/v1/graphql")
    TALLY.record("GraphQL endpoint (schema)", response.status_code)
    _check(response.status_code, response.text)


_JSON = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_FRAGMENTS = st.sampled_from(
    ["nearGrounded", "{", "}", "(", ")", ":", "$v", '"x"', "[", "]", "Get", "Product", "Explore",
     "Aggregate", "query", "text", "image", "product", "targets", "...", "@skip", "#", "\\", ","]
)  # fmt: skip
_QUERIES = st.one_of(
    st.lists(_FRAGMENTS | st.text(max_size=6), max_size=30).map(" ".join),
    st.builds(
        lambda args, sel: "{ Get { Product(nearGrounded: {" + args + "}) { " + sel + " } } }",
        st.text(max_size=60),
        st.text(max_size=20),
    ),
)
_REQUEST = st.fixed_dictionaries(
    {"query": _QUERIES}, optional={"variables": _JSON, "operationName": st.text(max_size=8) | st.none()}
)


@given(
    body=st.one_of(
        _REQUEST.map(json.dumps),
        st.lists(_REQUEST, max_size=4).map(json.dumps),
        _JSON.map(lambda v: json.dumps(v) + " nearGrounded"),
        st.binary(max_size=200).map(lambda b: b"nearGrounded" + b),
    ),
    batch=st.booleans(),
)
@property_settings(ci_examples=120)
def test_raw_bodies_are_never_a_5xx(client: TestClient, body: str | bytes, batch: bool) -> None:
    path = "/v1/graphql/batch" if batch else "/v1/graphql"
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    TALLY.record("GraphQL endpoint (raw bodies)", response.status_code)
    _check(response.status_code, response.text)
