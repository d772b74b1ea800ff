"""How sure auto-tagging must be, per attribute, calibrated on the catalog itself.

A tag a shopper filters on is catalog data: a wrong one hides a product. So a zero-shot value is
written only when it leads its runner-up by a margin that, on the catalog's own products that
have the attribute (their values are the truth), picked the right value at least
:data:`TARGET_PRECISION` of the time. Per attribute the smallest such margin is chosen (the most
tags at that precision); where none reaches it on at least :data:`MIN_NAMED` products, the
attribute abstains everywhere.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "CALIBRATION_FRACTION",
    "MAX_CALIBRATION_PRODUCTS",
    "MIN_NAMED",
    "TARGET_PRECISION",
    "UNSCORED",
    "Calibration",
    "Observation",
    "calibrate",
    "calibration_sample",
]

TARGET_PRECISION = 0.95
"""Share of written tags that must be right on the calibration products."""
MIN_NAMED = 5
"""A margin is trusted only if at least this many calibration products pass it."""
CALIBRATION_FRACTION = 0.5
"""Seeded share of the catalog's photographed products the margins are chosen on."""
MAX_CALIBRATION_PRODUCTS = 500
"""At most this many products are scored for calibration (it embeds each photo once more)."""
UNSCORED = -1.0
"""The margin of a product the captioner did not score the attribute on: no threshold passes."""

_T = TypeVar("_T")


@dataclass(frozen=True)
class Observation:
    """The captioner's pick for one product that has the attribute: its lead, and if it is right."""

    margin: float
    correct: bool


@dataclass(frozen=True)
class Calibration:
    """One attribute's margin (None: abstain everywhere) and what it gave on the calibration set."""

    threshold: float | None
    precision: float
    coverage: float
    """Share of the calibration products that have the attribute which a tag would be written for."""
    products: int


def calibrate(
    observations: Mapping[str, Sequence[Observation]],
    *,
    target: float = TARGET_PRECISION,
    min_named: int = MIN_NAMED,
) -> dict[str, Calibration]:
    """Per attribute, the smallest margin whose tags reach ``target`` precision."""
    result: dict[str, Calibration] = {}
    for name, seen in observations.items():
        ranked = sorted((o for o in seen if o.margin > UNSCORED), key=lambda o: -o.margin)
        best: Calibration | None = None
        correct = 0
        for i, observation in enumerate(ranked):
            correct += observation.correct
            named = i + 1
            # Ties: a threshold passes every product with that margin, so judge after the last.
            if named < len(ranked) and ranked[named].margin == observation.margin:
                continue
            if named >= min_named and correct / named >= target:
                best = Calibration(observation.margin, correct / named, named / len(seen), len(seen))
        result[name] = best or Calibration(None, 0.0, 0.0, len(seen))
    return result


def calibration_sample(items: Sequence[_T], seed: int, fraction: float = CALIBRATION_FRACTION) -> list[_T]:
    """The seeded part of ``items`` calibration runs on (at most :data:`MAX_CALIBRATION_PRODUCTS`)."""
    count = min(MAX_CALIBRATION_PRODUCTS, max(1, round(len(items) * fraction))) if items else 0
    chosen = sorted(random.Random(seed).sample(range(len(items)), count))
    return [items[i] for i in chosen]
