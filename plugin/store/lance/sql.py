"""SQL for the LanceDB store: filters as ``WHERE`` expressions, with every value a quoted literal
(no filter value can end a literal early), and id lists in bounded chunks."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from plugin.store.protocol import ProductFilter
from schemas.collection import ATTRIBUTE_SEPARATOR
from schemas.errors import InvalidInputError

__all__ = ["UUID_COLUMN", "chunks", "filter_sql", "sql_literal", "uuid_in"]

UUID_COLUMN = "uuid"


def sql_literal(value: str | float) -> str:
    """A SQL literal. Strings are single-quoted with quotes doubled (standard SQL; a backslash
    is an ordinary character there), so no filter value can end the literal early."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInputError("filters: a value contains a NUL character")
        return "'" + value.replace("'", "''") + "'"
    number = float(value)
    if not math.isfinite(number):
        raise InvalidInputError(f"filters: {value!r} is not a finite number")
    return repr(number)


def _any_of(column: str, value: str | list[str] | None) -> str | None:
    values = [value] if isinstance(value, str) else list(value or [])
    # An empty list constrains nothing (the same as leaving the field out).
    if not values:
        return None
    if len(values) == 1:
        return f"{column} = {sql_literal(values[0])}"
    return f"{column} IN ({', '.join(sql_literal(v) for v in values)})"


def filter_sql(filters: ProductFilter | None) -> str | None:
    """Translate a :class:`ProductFilter` to a SQL ``WHERE`` expression (``None``: no filter).

    Categories and brands match exactly (any of a list), the price range is inclusive and never
    matches a product without a price, and every attribute must be present as ``key=value``.
    """
    if filters is None:
        return None
    clauses = [c for c in (_any_of("category", filters.category), _any_of("brand", filters.brand)) if c]
    if filters.price_min is not None:
        clauses.append(f"price >= {sql_literal(filters.price_min)}")
    if filters.price_max is not None:
        clauses.append(f"price <= {sql_literal(filters.price_max)}")
    for key, value in sorted(filters.attributes.items()):
        pair = f"{key}{ATTRIBUTE_SEPARATOR}{value}"
        clauses.append(f"array_has(attributes, {sql_literal(pair)})")
    return " AND ".join(f"({c})" for c in clauses) if clauses else None


def chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def uuid_in(uuids: Sequence[str]) -> str:
    return f"{UUID_COLUMN} IN ({', '.join(sql_literal(u) for u in uuids)})"
