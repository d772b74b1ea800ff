"""The attribute captioner's vocabulary for the world, a :class:`schemas.vocabulary.Vocabulary`
(``docs/composed-queries.md``), generated from the same spec the renderer draws from."""

from __future__ import annotations

from plugin.world.spec import WorldSpec
from schemas.vocabulary import (
    VOCABULARY_FORMAT,
    AttributeSpec,
    CategorySpec,
    GroupSpec,
    ValueSpec,
    Vocabulary,
)

__all__ = ["make_vocabulary"]


def make_vocabulary(spec: WorldSpec) -> Vocabulary:
    """The world's vocabulary: categories, colour, pattern, cut and sleeve.

    Cuts are per category ("a-line" applies to dresses and skirts), so the captioner only
    chooses between the cuts of the category it picked. Write it with
    :func:`schemas.vocabulary.write_vocabulary`."""
    sleeved = tuple(c.name for c in spec.categories if c.sleeves)
    cuts: dict[str, list[str]] = {}
    for category in spec.categories:
        for cut in category.cuts:
            cuts.setdefault(cut, []).append(category.name)
    # A modification says "long-sleeved" or "long sleeved" as often as "long sleeve".
    sleeve_values = tuple(
        ValueSpec(name=value, aliases=(value.replace(" ", "-") + "d", value + "d"))
        for value in spec.sleeve_values
    )
    attributes = [
        AttributeSpec(
            name="colour", values=tuple(ValueSpec(name=c.name, aliases=c.aliases) for c in spec.colours)
        ),
        AttributeSpec(
            name="pattern", values=tuple(ValueSpec(name=p.name, aliases=p.aliases) for p in spec.patterns)
        ),
        AttributeSpec(
            name="cut",
            applies_to=tuple(c.name for c in spec.categories),
            values=tuple(ValueSpec(name=cut, applies_to=tuple(names)) for cut, names in cuts.items()),
        ),
    ]
    if sleeved and len(sleeve_values) >= 2:
        attributes.append(
            AttributeSpec(
                name="sleeve",
                position="after",
                phrase="with {value}s",
                prompt="{noun} with {value}s",
                applies_to=sleeved,
                values=sleeve_values,
            )
        )
    return Vocabulary(
        format=VOCABULARY_FORMAT,
        prompt="a photo of {}",
        logit_scale=100.0,
        fallback_noun="product",
        groups={name: GroupSpec(noun=noun) for name, noun in spec.groups.items()},
        category_min_probability=0.25,
        category_min_margin=0.05,
        categories=tuple(
            CategorySpec(name=c.name, group=c.group, plural=c.plural, aliases=c.aliases)
            for c in spec.categories
        ),
        attributes=tuple(attributes),
    )
