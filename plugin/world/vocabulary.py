"""The attribute captioner's vocabulary for the world, in its documented file format
(``docs/composed-queries.md``), generated from the same spec the renderer draws from."""

from __future__ import annotations

from typing import Any

from plugin.world.spec import WorldSpec

__all__ = ["world_vocabulary"]


def world_vocabulary(spec: WorldSpec) -> dict[str, Any]:
    """A ``grounded-vocabulary/1`` document: categories, colour, pattern, cut and sleeve.

    Cuts are per category ("a-line" applies to dresses and skirts), so the captioner only
    chooses between the cuts of the category it picked."""
    sleeved = [c.name for c in spec.categories if c.sleeves]
    cuts: dict[str, list[str]] = {}
    for category in spec.categories:
        for cut in category.cuts:
            cuts.setdefault(cut, []).append(category.name)
    sleeve_values = [
        {"name": value, "aliases": [value.replace(" ", "-") + "d", value + "d"]}
        for value in spec.sleeve_values
    ]
    attributes: list[dict[str, Any]] = [
        {"name": "colour", "values": [{"name": c.name, "aliases": list(c.aliases)} for c in spec.colours]},
        {"name": "pattern", "values": [{"name": p.name, "aliases": list(p.aliases)} for p in spec.patterns]},
        {
            "name": "cut",
            "applies_to": [c.name for c in spec.categories],
            "values": [{"name": cut, "applies_to": names} for cut, names in cuts.items()],
        },
    ]
    if sleeved and len(sleeve_values) >= 2:
        attributes.append(
            {
                "name": "sleeve",
                "position": "after",
                "phrase": "with {value}s",
                "prompt": "{noun} with {value}s",
                "applies_to": sleeved,
                "values": sleeve_values,
            }
        )
    return {
        "format": "grounded-vocabulary/1",
        "prompt": "a photo of {}",
        "logit_scale": 100.0,
        "fallback_noun": "product",
        "groups": {name: {"noun": noun} for name, noun in spec.groups.items()},
        "category_min_probability": 0.25,
        "category_min_margin": 0.05,
        "categories": [
            {"name": c.name, "group": c.group, "plural": c.plural, "aliases": list(c.aliases)}
            for c in spec.categories
        ],
        "attributes": attributes,
    }
