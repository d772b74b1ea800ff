"""Every product of the world, its catalog record, and the held-out split of attribute combinations.

A product is one (category, cut, sleeve, colour, pattern). Combinations of (category, colour,
pattern) are partitioned, by seed, into ``train``, ``val`` and ``test``: a model trained on the
train products never sees a val or test combination, so composed queries whose targets are val
or test products ask for compositions it has to generalise to.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Literal

import numpy as np

from plugin.world.render import Look
from plugin.world.spec import WorldSpec
from vectorizer_service import with_article

__all__ = ["Split", "WorldProduct", "enumerate_products", "product_rng"]

Split = Literal["train", "val", "test"]
HELD_OUT_FRACTION = 0.15
"""Share of (category, colour, pattern) combinations held out for each of val and test."""


@dataclass(frozen=True)
class WorldProduct:
    """One product: its attributes, the split of its combination and how it looks."""

    id: str
    category: str
    cut: str
    sleeve: str | None
    colour: str
    pattern: str
    split: Split

    @property
    def combination(self) -> tuple[str, str, str]:
        return self.category, self.colour, self.pattern

    @property
    def attributes(self) -> dict[str, str]:
        """Catalog attributes (the category is its own column)."""
        attrs = {"colour": self.colour, "pattern": self.pattern, "cut": self.cut}
        if self.sleeve is not None:
            attrs["sleeve"] = self.sleeve
        return attrs

    def look(self, spec: WorldSpec) -> Look:
        category = spec.category_by_name[self.category]
        return Look(category, self.cut, self.sleeve, spec.colour_by_name[self.colour].rgb, self.pattern)

    def record(self, spec: WorldSpec, image: str) -> dict[str, object]:
        """The product as a ``grounded ingest`` catalog row."""
        rng = product_rng(0, self.id, "record")
        fields = self._fields(spec)
        titles = spec.titles["development"]
        title = titles[int(rng.integers(len(titles)))].format(**fields)
        description = spec.descriptions[int(rng.integers(len(spec.descriptions)))].format(**fields)
        return {
            "id": self.id,
            "title": title[0].upper() + title[1:],
            "description": description[0].upper() + description[1:],
            "category": self.category,
            "brand": spec.brands[int(rng.integers(len(spec.brands)))],
            "price": round(float(rng.uniform(9, 199)), 2),
            "currency": "EUR",
            "attributes": self.attributes,
            "image": image,
        }

    def _fields(self, spec: WorldSpec) -> dict[str, str]:
        category = spec.category_by_name[self.category]
        sleeve = f" with {self.sleeve}s" if self.sleeve else ""
        return {
            "colour": self.colour,
            "Colour": self.colour.capitalize(),
            "pattern": self.pattern,
            "cut": self.cut,
            "Cut": self.cut.capitalize(),
            "category": self.category,
            "a_category": with_article(self.category, plural=category.plural),
            "group_noun": spec.groups[category.group],
            "sleeve_suffix": sleeve,
        }


def product_rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator fixed by the seed and the keys (stable across runs, platforms and Python
    versions, unlike ``hash``)."""
    digest = hashlib.sha256("\x1f".join((str(seed), *keys)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _split_combinations(spec: WorldSpec, seed: int) -> dict[tuple[str, str, str], Split]:
    combos = list(
        itertools.product(
            [c.name for c in spec.categories], [c.name for c in spec.colours], [p.name for p in spec.patterns]
        )
    )
    order = product_rng(seed, "held-out").permutation(len(combos))
    n_held = round(len(combos) * HELD_OUT_FRACTION)
    split: dict[tuple[str, str, str], Split] = {}
    for rank, index in enumerate(order):
        split[combos[index]] = "val" if rank < n_held else "test" if rank < 2 * n_held else "train"
    return split


def enumerate_products(spec: WorldSpec, seed: int) -> list[WorldProduct]:
    """Every product of the world, in a stable order, each tagged with its combination's split."""
    split = _split_combinations(spec, seed)
    products = []
    for category in spec.categories:
        sleeves: list[str | None] = list(category.sleeves) if category.sleeves else [None]
        for cut, sleeve, colour, pattern in itertools.product(
            category.cuts, sleeves, spec.colours, spec.patterns
        ):
            slug = "-".join(
                part.replace(" ", "")
                for part in (category.name, cut, sleeve or "", colour.name, pattern.name)
                if part
            )
            products.append(
                WorldProduct(
                    id=slug,
                    category=category.name,
                    cut=cut,
                    sleeve=sleeve,
                    colour=colour.name,
                    pattern=pattern.name,
                    split=split[(category.name, colour.name, pattern.name)],
                )
            )
    return products
