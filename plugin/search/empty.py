"""Why a filtered search found nothing: each filter alone, counted over the catalog.

A search whose filters match no product answers an empty list, which tells the shopper nothing:
was the category misspelt, the price range too narrow, or do two filters that each match
exclude each other? :func:`explain_empty` reads the filtered properties of every product (the
store's scan, :meth:`ProductStore.iter_vectors` without vectors; it runs only after an empty
answer), counts the products each filter matches alone and all of them together, and names a
category, brand or attribute value the catalog does not have, with the closest ones it has.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from plugin.store.protocol import SCAN_BATCH, ProductFilter, ProductStore
from schemas.collection import ATTRIBUTE_SEPARATOR

__all__ = ["EmptyResult", "FilterCount", "explain_empty"]

_PROPERTIES = ("category", "brand", "price", "attributes")
_CLOSE = 3
_CUTOFF = 0.5
"""difflib ratio for "did you mean" among the catalog's values: loose, a catalog has few."""


@dataclass(frozen=True)
class FilterCount:
    """One filter of the query and the products it matches on its own."""

    flag: str
    """The filter as given on the command line (``--category shoes``)."""
    matches: int
    missing: tuple[str, ...] = ()
    """Values no product in the catalog has (a misspelt category, rather than one the other
    filters leave nothing of)."""
    close: tuple[str, ...] = ()
    """The catalog's values closest to a missing one."""


@dataclass(frozen=True)
class EmptyResult:
    """The catalog's size, each filter alone, and all of them together."""

    products: int
    filters: list[FilterCount] = field(default_factory=list)
    together: int = 0

    def lines(self) -> list[str]:
        """The explanation, one line per filter, the culprit first."""
        if self.products == 0:
            return ["the store holds no products: ingest a catalog first (grounded ingest)"]
        out = []
        for f in sorted(self.filters, key=lambda f: f.matches):
            line = f"{f.flag}: {f.matches} of {self.products} products"
            if f.missing:
                line += f" (no product has {', '.join(repr(m) for m in f.missing)}"
                line += f"; closest: {', '.join(f.close)})" if f.close else ")"
            out.append(line)
        if len(self.filters) > 1 and all(f.matches for f in self.filters):
            out.append(f"each filter matches alone; together they match {self.together}")
        return out

    def report(self) -> list[str]:
        """:meth:`lines` under a heading when they go filter by filter (what the CLI prints)."""
        return (["each filter alone:"] if self.filters and self.products else []) + self.lines()


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _tests(filters: ProductFilter) -> list[tuple[str, str, list[str], Any]]:
    """(flag, property, wanted values, predicate over one product's properties)."""
    tests: list[tuple[str, str, list[str], Any]] = []
    for prop in ("category", "brand"):
        wanted = _as_list(getattr(filters, prop))
        if wanted:
            flag = " ".join(f"--{prop} {w}" for w in wanted)
            tests.append((flag, prop, wanted, lambda p, prop=prop, wanted=wanted: p[prop] in wanted))
    if filters.price_min is not None or filters.price_max is not None:
        low, high = filters.price_min, filters.price_max
        parts = [f"--price-min {low:g}"] if low is not None else []
        parts += [f"--price-max {high:g}"] if high is not None else []

        def in_range(p: dict[str, Any]) -> bool:
            price = p["price"]
            if not isinstance(price, int | float):
                return False
            return (low is None or price >= low) and (high is None or price <= high)

        tests.append((" ".join(parts), "price", [], in_range))
    for key, value in filters.attributes.items():
        pair = f"{key}{ATTRIBUTE_SEPARATOR}{value}"
        tests.append(
            (f"--attr {pair}", "attributes", [pair], lambda p, pair=pair: pair in (p["attributes"] or []))
        )
    return tests


def explain_empty(store: ProductStore, filters: ProductFilter) -> EmptyResult:
    """Count, over every stored product, the matches of each filter alone and of all together;
    for category, brand and attribute filters, note values no product has and the closest ones."""
    tests = _tests(filters)
    alone = [0] * len(tests)
    together = products = 0
    seen: dict[str, Counter[str]] = {prop: Counter() for prop in ("category", "brand", "attributes")}
    for batch in store.iter_vectors(batch_size=SCAN_BATCH, properties=list(_PROPERTIES), vectors=False):
        for i in range(len(batch)):
            product = {prop: batch.properties[prop][i] for prop in _PROPERTIES}
            products += 1
            for prop in ("category", "brand"):
                if product[prop]:
                    seen[prop][str(product[prop])] += 1
            seen["attributes"].update(str(a) for a in product["attributes"] or [])
            hits = [bool(test(product)) for _, _, _, test in tests]
            for j, hit in enumerate(hits):
                alone[j] += hit
            together += all(hits)
    counts = []
    for (flag, prop, wanted, _), matches in zip(tests, alone, strict=True):
        known: Sequence[str] = list(seen.get(prop, {}))
        missing = [w for w in wanted if w not in known]
        close = [c for w in missing for c in difflib.get_close_matches(w, known, n=_CLOSE, cutoff=_CUTOFF)]
        counts.append(FilterCount(flag, matches, tuple(missing), tuple(dict.fromkeys(close))))
    return EmptyResult(products, counts, together)
