"""Found by tests/fuzz: ``nearGrounded.product`` trusted the shape of Weaviate's answer, so an
object without ``_additional`` (or an answer that is a list, or errors that are a string) was a
``KeyError`` / ``AttributeError`` and the endpoint answered 500. Now it is Weaviate's failure,
reported as one (a GraphQL error naming the product)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from plugin.graphql.reference import weaviate_reference_lookup
from schemas.errors import NotFoundError, UpstreamError
from tests.support.fake_weaviate import FakeWeaviate


@pytest.fixture
def fake() -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        yield server


@pytest.mark.parametrize(
    "answer",
    [
        {"data": {"Get": {"Product": [{"title": "no _additional"}]}}},
        {"data": {"Get": {"Product": [{"title": "x", "_additional": None}]}}},
        {"data": {"Get": {"Product": ["not an object"]}}},
        {"data": {"Get": {"Product": {"not": "a list"}}}},
        {"data": ["not", "an", "object"]},
        {"errors": "a string, not a list"},
        ["a", "list"],
    ],
)
def test_an_answer_of_another_shape_is_an_upstream_error(fake: FakeWeaviate, answer: Any) -> None:
    fake.state.graphql_response = lambda body: answer
    with pytest.raises(UpstreamError, match="cannot read product 'sku-1'"):
        weaviate_reference_lookup(fake.url, {})("Product", "sku-1")


def test_no_object_is_still_not_found(fake: FakeWeaviate) -> None:
    fake.state.graphql_response = lambda body: {"data": {"Get": {"Product": []}}}
    with pytest.raises(NotFoundError, match="product 'sku-1' is not in collection 'Product'"):
        weaviate_reference_lookup(fake.url, {})("Product", "sku-1")


def test_a_well_formed_answer_is_the_product(fake: FakeWeaviate) -> None:
    obj = {"product_id": "sku-1", "title": "red dress", "attributes_json": {"colour": "red"},
           "image": "aGk=", "_additional": {"id": "3b1b7e0e-0000-4000-8000-000000000000"}}  # fmt: skip
    fake.state.graphql_response = lambda body: {"data": {"Get": {"Product": [obj]}}}
    stored = weaviate_reference_lookup(fake.url, {})("Product", "sku-1")
    assert stored.uuid == obj["_additional"]["id"]
    assert stored.properties["attributes_json"] == '{"colour": "red"}'
