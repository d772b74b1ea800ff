"""What a result card shows, from a stored product's properties (no business logic: display only)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from plugin.search.query import GroundedResult
from plugin.store.protocol import SearchHit
from schemas.collection import ATTRIBUTE_SEPARATOR

__all__ = ["Card", "ExplanationView", "cards", "explanation_view"]

INFERRED_PROPERTY = "attributes_inferred"
"""Where auto-tagging records the attributes it filled in (see :mod:`plugin.ingest.tagging`)."""


@dataclass
class Card:
    rank: int
    product_id: str
    title: str
    category: str
    price: str
    similarity: str
    attributes: list[tuple[str, str, str]] = field(default_factory=list)
    """(key, value, note): the note says ``inferred 0.87`` for a value auto-tagging filled in."""


@dataclass
class ExplanationView:
    caption: str
    attributes: list[tuple[str, str, str]]
    """(name, value, how sure): ``"0.93"``, the probability of a value the captioner named, or
    ``"catalog"`` for the reference product's own value (data, not a guess)."""
    caption_confidence: str
    """How sure the captioner was: what it named and, with their probabilities, what it left
    out (the caption stage's own note), or why no caption was made."""
    modification: str
    fused_text: str
    image_weight: str
    fusion: str
    """The fusion method that combined image and text, with the direction gain where it applies."""
    background: str
    timings: list[tuple[str, str]]
    cutout_data_url: str | None


def _inferred(props: dict[str, Any]) -> dict[str, float]:
    raw = props.get(INFERRED_PROPERTY)
    try:
        parsed = json.loads(raw) if isinstance(raw, str) and raw else {}
    except json.JSONDecodeError:
        return {}
    return {
        str(k): float(v.get("confidence", 0.0))
        for k, v in parsed.items()
        if isinstance(v, dict) and isinstance(v.get("confidence"), int | float)
    }


def _card(rank: int, hit: SearchHit) -> Card:
    props = hit.properties
    price = props.get("price")
    currency = str(props.get("currency") or "")
    inferred = _inferred(props)
    attributes = []
    for pair in props.get("attributes") or []:
        key, _, value = str(pair).partition(ATTRIBUTE_SEPARATOR)
        note = f"inferred {inferred[key]:.2f}" if key in inferred else ""
        attributes.append((key, value, note))
    return Card(
        rank=rank,
        product_id=str(props.get("product_id") or hit.uuid),
        title=str(props.get("title") or ""),
        category=str(props.get("category") or ""),
        price=f"{price:.2f} {currency}".strip() if isinstance(price, int | float) else "",
        similarity=f"{1 - hit.distance:.3f}",
        attributes=attributes,
    )


def cards(result: GroundedResult) -> list[Card]:
    return [_card(rank, hit) for rank, hit in enumerate(result.hits, 1)]


def _fusion(method: str | None, gain: float | None) -> str:
    if method is None:
        return "-"  # a service that does not report it
    return f"{method} (gain {gain:g})" if gain is not None else method


def _how_sure(name: str, probabilities: dict[str, float], sources: dict[str, str]) -> str:
    if name in probabilities:
        return f"{probabilities[name]:.2f}"
    return sources.get(name, "")  # "catalog"; empty from a service that reports neither


def explanation_view(result: GroundedResult) -> ExplanationView:
    ex = result.explanation
    if ex.background_removed:
        background = (
            f"removed (mask covers {ex.mask_coverage:.0%})" if ex.mask_coverage is not None else "removed"
        )
    else:
        background = ex.background_note or "kept"
    cutout = (
        "data:image/png;base64," + base64.b64encode(ex.cutout_png).decode("ascii") if ex.cutout_png else None
    )
    caption_timing = next((t for t in ex.timings if t.stage == "caption"), None)
    confidence = caption_timing.note if caption_timing is not None else ""
    if caption_timing is not None and caption_timing.skipped:
        confidence = f"no caption: {confidence}" if confidence else "no caption"
    return ExplanationView(
        caption=ex.caption or "",
        attributes=[
            (k, v, _how_sure(k, ex.attribute_probabilities, ex.attribute_sources))
            for k, v in sorted(ex.attributes.items())
        ],
        caption_confidence=confidence,
        modification=ex.modification,
        fused_text=ex.fused_text or "",
        image_weight=f"{ex.image_weight:.2f}",
        fusion=_fusion(ex.fusion_method, ex.direction_gain),
        background=background,
        timings=[(t.stage, "skipped" if t.skipped else f"{t.ms:.1f} ms") for t in ex.timings],
        cutout_data_url=cutout,
    )
