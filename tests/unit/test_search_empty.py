"""Issue 24 item 5: an empty answer says which filter emptied it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, cast

import numpy as np

from plugin.search.empty import explain_empty
from plugin.store import ProductFilter, ProductStore
from plugin.store.protocol import VectorBatch

PRODUCTS = [
    {"category": "dresses", "brand": "Acme", "price": 30.0, "attributes": ["colour=red"]},
    {"category": "dresses", "brand": "Bolt", "price": 80.0, "attributes": ["colour=blue"]},
    {"category": "shoes", "brand": "Acme", "price": 120.0, "attributes": ["colour=red"]},
    {"category": "shirts", "brand": "Acme", "price": None, "attributes": []},
]


class _Scan:
    """The one store method the explanation reads: the properties scan, in batches of two."""

    def __init__(self, products: list[dict[str, Any]]) -> None:
        self.products = products

    def iter_vectors(
        self, *, batch_size: int = 4096, properties: Sequence[str] = (), vectors: bool = True
    ) -> Iterator[VectorBatch]:
        assert not vectors  # the explanation never reads vectors
        for start in range(0, len(self.products), 2):
            rows = self.products[start : start + 2]
            yield VectorBatch(
                uuids=[str(start + i) for i in range(len(rows))],
                vectors=np.zeros((len(rows), 0), np.float32),
                properties={p: [r[p] for r in rows] for p in properties},
            )


def _explain(filters: ProductFilter, products: list[dict[str, Any]] = PRODUCTS) -> list[str]:
    return explain_empty(cast(ProductStore, _Scan(products)), filters).lines()


def test_a_category_the_catalog_lacks_is_named_with_the_closest() -> None:
    lines = _explain(ProductFilter(category="dress", price_max=100))
    assert lines[0] == "--category dress: 0 of 4 products (no product has 'dress'; closest: dresses)"
    assert lines[1] == "--price-max 100: 2 of 4 products"


def test_filters_that_each_match_but_not_together() -> None:
    lines = _explain(ProductFilter(category="shoes", price_max=50))
    assert lines == [
        "--category shoes: 1 of 4 products",
        "--price-max 50: 1 of 4 products",
        "each filter matches alone; together they match 0",
    ]


def test_a_price_range_above_every_product_and_an_unknown_attribute() -> None:
    lines = _explain(ProductFilter(price_min=500, attributes={"colour": "gren"}))
    assert "--price-min 500: 0 of 4 products" in lines
    assert (
        "--attr colour=gren: 0 of 4 products (no product has 'colour=gren'; closest: colour=red" in lines[1]
    )


def test_one_of_several_categories_missing_is_named() -> None:
    (line,) = _explain(ProductFilter(category=["hats", "shoes"], brand=None))
    assert (
        line == "--category hats --category shoes: 1 of 4 products (no product has 'hats'; closest: shirts)"
    )


def test_an_empty_store_says_so() -> None:
    assert _explain(ProductFilter(category="shoes"), []) == [
        "the store holds no products: ingest a catalog first (grounded ingest)"
    ]
