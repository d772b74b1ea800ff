"""ProductFilter -> SQL WHERE for the embedded store: quoting and semantics, no database."""

from __future__ import annotations

import pytest

from plugin.store.lance.sql import filter_sql, sql_literal
from plugin.store.protocol import ProductFilter
from schemas.errors import InvalidInputError


@pytest.mark.parametrize(
    ("filters", "sql"),
    [
        (None, None),
        (ProductFilter(), None),
        (ProductFilter(category=[]), None),
        (ProductFilter(category="dress"), "(category = 'dress')"),
        (ProductFilter(category=["a", "b"]), "(category IN ('a', 'b'))"),
        (ProductFilter(brand="O'Brien"), "(brand = 'O''Brien')"),
        (ProductFilter(price_min=1, price_max=2.5), "(price >= 1.0) AND (price <= 2.5)"),
        (
            ProductFilter(attributes={"size": "M", "colour": "red"}),
            "(array_has(attributes, 'colour=red')) AND (array_has(attributes, 'size=M'))",
        ),
    ],
)
def test_filters_translate_to_sql(filters: ProductFilter | None, sql: str | None) -> None:
    assert filter_sql(filters) == sql


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", "'plain'"),
        ("it's", "'it''s'"),
        ("x' OR '1'='1", "'x'' OR ''1''=''1'"),
        ("back\\slash", "'back\\slash'"),
        ("100%_", "'100%_'"),
        (3, "3.0"),
    ],
)
def test_literals_cannot_escape_their_quotes(value: str | float, literal: str) -> None:
    assert sql_literal(value) == literal


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "nul\x00byte"])
def test_unrepresentable_values_are_invalid_input(value: str | float) -> None:
    with pytest.raises(InvalidInputError):
        sql_literal(value)


def test_non_finite_price_bound_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError, match="finite"):
        filter_sql(ProductFilter(price_max=float("inf")))
