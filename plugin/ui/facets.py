"""The filter choices the page offers, read from the store: categories, attribute values and
the price range of the catalog.

The store protocol has no "distinct values" query, so the facets come from one vector search
that returns up to :data:`FACET_SAMPLE` products (every product of a catalog that size or
smaller) without their images; they are read once, when the page's app starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.encoder.protocol import QueryEncoder
from plugin.store.protocol import ProductStore
from schemas.collection import ATTRIBUTE_SEPARATOR

__all__ = ["FACET_SAMPLE", "Facets", "read_facets"]

FACET_SAMPLE = 10_000
"""Products read for the facets (the stores' largest search limit)."""

_PROBE = "a product photo"
_MAX_VALUES = 50
"""Values listed per attribute; a free-text attribute (a size chart) is left out past it."""


@dataclass
class Facets:
    categories: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    price_min: float | None = None
    price_max: float | None = None
    products: int = 0


def read_facets(store: ProductStore, encoder: QueryEncoder) -> Facets:
    """Categories, attribute values (``key=value`` pairs split) and the price range."""
    if store.count() == 0:
        return Facets()
    probe = encoder.embed_texts([_PROBE])[0]
    hits = store.search(probe, limit=FACET_SAMPLE, return_properties=["category", "price", "attributes"])
    categories: set[str] = set()
    values: dict[str, set[str]] = {}
    prices: list[float] = []
    for hit in hits:
        props = hit.properties
        if props.get("category"):
            categories.add(str(props["category"]))
        if isinstance(props.get("price"), int | float):
            prices.append(float(props["price"]))
        for pair in props.get("attributes") or []:
            key, sep, value = str(pair).partition(ATTRIBUTE_SEPARATOR)
            if sep and key and value:
                values.setdefault(key, set()).add(value)
    return Facets(
        categories=sorted(categories),
        attributes={k: sorted(v) for k, v in sorted(values.items()) if len(v) <= _MAX_VALUES},
        price_min=min(prices) if prices else None,
        price_max=max(prices) if prices else None,
        products=len(hits),
    )
