"""Composed queries of the world: a reference product, a change of one or two attributes in words,
and the products that satisfy it.

The target is drawn from one held-out split; the reference is the target with the changed
attributes set to other values, so the query text names the target's values. Wordings come from
the spec's ``development`` set for ``val`` and from its ``test`` set (never used while
developing) for ``test``, each split from its own seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from plugin.world.products import Split, WorldProduct, product_rng
from plugin.world.spec import Attribute, WorldSpec
from vectorizer_service import with_article

__all__ = ["CompositionQuery", "make_queries"]

_DISTRACTORS = 4
"""Besides reference and target, a CIRR-style image set holds this many near misses."""


@dataclass(frozen=True)
class CompositionQuery:
    """One composed query: ``reference`` + ``text`` should find ``target`` (and ``relevant``)."""

    pair_id: int
    reference: WorldProduct
    target: WorldProduct
    changed: tuple[Attribute, ...]
    text: str
    relevant: tuple[str, ...]
    """Every product id that satisfies the query (the target first)."""
    members: tuple[str, ...]
    """CIRR-style image set: reference, target and near misses."""


def _wording_set(split: Split) -> str:
    return "test" if split == "test" else "development"


def _phrase(
    spec: WorldSpec, attribute: Attribute, target: WorldProduct, rng: np.random.Generator, split: Split
) -> str:
    wordings = spec.modifications[_wording_set(split)]  # type: ignore[index]  # literal keys
    options: Sequence[str] = getattr(wordings, attribute)
    template = options[int(rng.integers(len(options)))]
    value = {"colour": target.colour, "pattern": target.pattern, "category": target.category}.get(
        attribute, target.sleeve or ""
    )
    plural = spec.category_by_name[target.category].plural if attribute == "category" else False
    return template.format(value=value, a_value=with_article(value, plural=plural))


def _changeable(target: WorldProduct) -> list[Attribute]:
    found: list[Attribute] = ["colour", "pattern", "category"]
    if target.sleeve is not None:
        found.append("sleeve")
    return found


def _reference_for(
    spec: WorldSpec,
    target: WorldProduct,
    changed: Sequence[Attribute],
    rng: np.random.Generator,
    by_key: dict[tuple[str, str, str | None, str, str], WorldProduct],
) -> WorldProduct:
    category, cut, sleeve = target.category, target.cut, target.sleeve
    colour, pattern = target.colour, target.pattern

    def other(values: Sequence[str], current: str) -> str:
        choices = [v for v in values if v != current]
        return choices[int(rng.integers(len(choices)))]

    if "colour" in changed:
        colour = other([c.name for c in spec.colours], colour)
    if "pattern" in changed:
        pattern = other([p.name for p in spec.patterns], pattern)
    if "sleeve" in changed and sleeve is not None:
        sleeve = other(list(spec.category_by_name[category].sleeves or {}), sleeve)
    if "category" in changed:
        category = other([c.name for c in spec.categories], category)
        new = spec.category_by_name[category]
        cut = list(new.cuts)[int(rng.integers(len(new.cuts)))]
        if new.sleeves:
            sleeve = (
                sleeve if sleeve in new.sleeves else list(new.sleeves)[int(rng.integers(len(new.sleeves)))]
            )
        else:
            sleeve = None
    return by_key[(category, cut, sleeve, colour, pattern)]


def _relevant(
    products: Sequence[WorldProduct],
    target: WorldProduct,
    reference: WorldProduct,
    changed: Sequence[Attribute],
) -> tuple[str, ...]:
    # A changed category leaves the cut open; the sleeve carries over only when the reference had one.
    category_changed = "category" in changed
    sleeve_known = target.sleeve is None or reference.sleeve is not None or "sleeve" in changed
    matches = [
        p.id
        for p in products
        if p.category == target.category
        and p.colour == target.colour
        and p.pattern == target.pattern
        and (category_changed or p.cut == target.cut)
        and (not sleeve_known or p.sleeve == target.sleeve)
    ]
    return (target.id, *sorted(m for m in matches if m != target.id))


def _near_misses(
    products: Sequence[WorldProduct], target: WorldProduct, exclude: set[str], rng: np.random.Generator
) -> list[str]:
    # Products one attribute away from the target: the hard negatives of a CIRR image set.
    def distance(p: WorldProduct) -> int:
        return sum(
            a != b
            for a, b in (
                (p.category, target.category),
                (p.colour, target.colour),
                (p.pattern, target.pattern),
                (p.cut, target.cut),
                (p.sleeve, target.sleeve),
            )
        )

    close = [p.id for p in products if distance(p) == 1 and p.id not in exclude]
    picks = rng.choice(len(close), size=min(_DISTRACTORS, len(close)), replace=False)
    return [close[int(i)] for i in picks]


def make_queries(
    spec: WorldSpec, products: Sequence[WorldProduct], split: Split, count: int, seed: int
) -> list[CompositionQuery]:
    """``count`` composed queries whose targets belong to ``split`` (``val`` or ``test``)."""
    if split == "train":
        raise ValueError("composed queries are made for the held-out splits (val, test)")
    rng = product_rng(seed, "queries", split)
    by_key = {(p.category, p.cut, p.sleeve, p.colour, p.pattern): p for p in products}
    targets = [p for p in products if p.split == split]
    queries = []
    for pair_id in range(count):
        target = targets[int(rng.integers(len(targets)))]
        options = _changeable(target)
        n_changes = 1 if rng.random() < 0.6 else 2
        picked = sorted(rng.choice(len(options), size=n_changes, replace=False))
        changed = tuple(options[int(i)] for i in picked)
        reference = _reference_for(spec, target, changed, rng, by_key)
        wordings = spec.modifications[_wording_set(split)]  # type: ignore[index]  # literal keys
        joiner = wordings.join[int(rng.integers(len(wordings.join)))]
        text = joiner.join(_phrase(spec, a, target, rng, split) for a in changed)
        members = [reference.id, target.id]
        members += _near_misses(products, target, set(members), rng)
        queries.append(
            CompositionQuery(
                pair_id=pair_id,
                reference=reference,
                target=target,
                changed=changed,
                text=text,
                relevant=_relevant(products, target, reference, changed),
                members=tuple(members),
            )
        )
    return queries
