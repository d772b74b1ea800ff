"""How sure auto-tagging must be, per attribute, calibrated on the catalog itself.

A tag a shopper filters on is catalog data: a wrong one hides a product. So a zero-shot value is
written only when it leads its runner-up by a margin chosen on the catalog's own products that
have the attribute (their values are the truth). Per attribute the smallest margin is chosen at
which both hold:

- the precision of the tags it writes is *surely* at least :data:`TARGET_PRECISION`: its
  one-sided Clopper-Pearson lower bound at :data:`CONFIDENCE` reaches it, not just the share
  seen. Picking the smallest margin whose sample precision touches 95 % is optimistic (the
  sample's luck is picked along with the margin), and the bound also makes a small catalog
  abstain: 59 products at least must pass, all right, before 95 % is sure;
- the tags *at* the margin are right at least that often, not only their average with the surer
  ones above it: the precision by margin, fitted non-increasing (isotonic), reaches the target.
  Products the catalog's model was not trained on (new ones, the ones auto-tagging fills) sit at
  lower margins than the calibration products it was; an average over the sure ones would hide
  that, a precision that holds at every margin passed does not.

Where no margin qualifies, the attribute abstains everywhere.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

__all__ = [
    "CALIBRATION_FRACTION",
    "CONFIDENCE",
    "MAX_CALIBRATION_PRODUCTS",
    "TARGET_PRECISION",
    "UNSCORED",
    "Calibration",
    "Observation",
    "calibrate",
    "calibration_sample",
    "precision_lower_bound",
]

TARGET_PRECISION = 0.95
"""Share of written tags that must be right."""
CONFIDENCE = 0.95
"""How sure the calibration must be that the precision reaches :data:`TARGET_PRECISION`."""
CALIBRATION_FRACTION = 0.5
"""Seeded share of the catalog's photographed products the margins are chosen on."""
MAX_CALIBRATION_PRODUCTS = 500
"""At most this many products are scored for calibration (it embeds each photo once more)."""
UNSCORED = -1.0
"""The margin of a product the captioner did not score the attribute on: no threshold passes."""

_BISECTIONS = 60
"""Halvings of [0, 1] when solving for the bound: far below any precision printed."""

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
    lower_bound: float = 0.0
    """The precision's one-sided lower confidence bound (at :data:`CONFIDENCE`)."""


def precision_lower_bound(right: int, named: int, confidence: float = CONFIDENCE) -> float:
    """The one-sided Clopper-Pearson lower bound of a precision of ``right`` in ``named``: the
    precision p at which ``right`` or more right tags would happen with chance ``1 - confidence``."""
    if not 0 <= right <= named:
        raise ValueError(f"right must be within 0..{named}, got {right}")
    if right == 0:
        return 0.0
    if right == named:  # the tail is p**n alone: solved exactly
        return float((1.0 - confidence) ** (1.0 / named))
    low, high = 0.0, right / named
    for _ in range(_BISECTIONS):
        p = (low + high) / 2
        if _at_least(right, named, p) < 1.0 - confidence:
            low = p
        else:
            high = p
    return low


def _at_least(right: int, named: int, p: float) -> float:
    """P(X >= right) for X ~ Binomial(named, p), 0 < p < 1, summed over the few wrong counts."""
    log_p, log_q = math.log(p), math.log1p(-p)
    return sum(
        math.exp(
            math.lgamma(named + 1)
            - math.lgamma(j + 1)
            - math.lgamma(named - j + 1)
            + j * log_p
            + (named - j) * log_q
        )
        for j in range(right, named + 1)
    )


def _local_precision(groups: Sequence[tuple[int, int]]) -> list[float]:
    """Per margin (surest first; ``(right, named)`` each), the precision fitted non-increasing
    towards lower margins (pool-adjacent-violators): how often a tag at that margin is right."""
    blocks: list[list[int]] = []  # [right, named, margins pooled]
    for right, named in groups:
        blocks.append([right, named, 1])
        while len(blocks) > 1 and blocks[-2][0] * blocks[-1][1] < blocks[-1][0] * blocks[-2][1]:
            r, n, k = blocks.pop()
            blocks[-1][0] += r
            blocks[-1][1] += n
            blocks[-1][2] += k
    return [r / n for r, n, k in blocks for _ in range(k)]


def calibrate(
    observations: Mapping[str, Sequence[Observation]],
    *,
    target: float = TARGET_PRECISION,
    confidence: float = CONFIDENCE,
) -> dict[str, Calibration]:
    """Per attribute, the smallest margin whose tags surely reach ``target`` precision, on average
    (the lower bound) and at the margin itself (the fitted precision); None where none does."""
    result: dict[str, Calibration] = {}
    for name, seen in observations.items():
        # A threshold passes every product with that margin: tied margins are judged together.
        by_margin: dict[float, list[int]] = {}
        for o in seen:
            if o.margin > UNSCORED:
                tally = by_margin.setdefault(o.margin, [0, 0])
                tally[0] += o.correct
                tally[1] += 1
        margins = sorted(by_margin, reverse=True)
        groups = [(by_margin[m][0], by_margin[m][1]) for m in margins]
        best = Calibration(None, 0.0, 0.0, len(seen))
        right = named = 0
        for margin, (r, n), local in zip(margins, groups, _local_precision(groups), strict=True):
            if local < target:
                break  # fitted non-increasing: no lower margin is sure enough either
            right, named = right + r, named + n
            bound = precision_lower_bound(right, named, confidence)
            if bound >= target:
                best = Calibration(margin, right / named, named / len(seen), len(seen), bound)
        result[name] = best
    return result


def calibration_sample(items: Sequence[_T], seed: int, fraction: float = CALIBRATION_FRACTION) -> list[_T]:
    """The seeded part of ``items`` calibration runs on (at most :data:`MAX_CALIBRATION_PRODUCTS`)."""
    count = min(MAX_CALIBRATION_PRODUCTS, max(1, round(len(items) * fraction))) if items else 0
    chosen = sorted(random.Random(seed).sample(range(len(items)), count))
    return [items[i] for i in chosen]
