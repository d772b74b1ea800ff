"""The filter choices the page offers, read from the store: categories, attribute values and
the price range of the catalog.

The store protocol has no "distinct values" query, so the facets come from the store's scan
(:meth:`ProductStore.iter_vectors` with three properties and no vectors): every product, however
large the catalog; they are read once, on the page's first request.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.store.protocol import SCAN_BATCH, ProductStore
from schemas.collection import ATTRIBUTE_SEPARATOR

__all__ = ["Facets", "read_facets"]

_MAX_VALUES = 50
"""Values listed per attribute; a free-text attribute (a size chart) is left out past it."""
SAMPLE_PRODUCTS = 6
"""Product ids kept for the page: the id field's placeholder and the products offered as examples
when there are no example photos (so both name products that exist)."""


@dataclass
class Facets:
    categories: list[str] = field(default_factory=list)
    attributes: dict[str, list[str]] = field(default_factory=dict)
    price_min: float | None = None
    price_max: float | None = None
    products: int = 0
    sample_ids: list[str] = field(default_factory=list)
    """A few product ids of the catalog, spread over its categories."""


def read_facets(store: ProductStore) -> Facets:
    """Categories, attribute values (``key=value`` pairs split) and the price range of every
    product."""
    categories: set[str] = set()
    values: dict[str, set[str]] = {}
    low: float | None = None
    high: float | None = None
    products = 0
    first_of_category: dict[str, str] = {}
    scan = store.iter_vectors(
        batch_size=SCAN_BATCH, properties=["product_id", "category", "price", "attributes"], vectors=False
    )
    for batch in scan:
        products += len(batch)
        for product_id, category, price, attributes in zip(
            batch.properties["product_id"],
            batch.properties["category"],
            batch.properties["price"],
            batch.properties["attributes"],
            strict=True,
        ):
            if category:
                categories.add(str(category))
            if product_id:
                # The smallest id per category: the same sample on every start, whatever the scan order.
                key = str(category or "")
                pid = str(product_id)
                if key not in first_of_category or pid < first_of_category[key]:
                    first_of_category[key] = pid
            if isinstance(price, int | float):
                low = price if low is None else min(low, price)
                high = price if high is None else max(high, price)
            for pair in attributes or []:
                key, sep, value = str(pair).partition(ATTRIBUTE_SEPARATOR)
                if sep and key and value:
                    values.setdefault(key, set()).add(value)
    return Facets(
        categories=sorted(categories),
        attributes={k: sorted(v) for k, v in sorted(values.items()) if len(v) <= _MAX_VALUES},
        price_min=float(low) if low is not None else None,
        price_max=float(high) if high is not None else None,
        products=products,
        sample_ids=[first_of_category[c] for c in sorted(first_of_category)][:SAMPLE_PRODUCTS],
    )
