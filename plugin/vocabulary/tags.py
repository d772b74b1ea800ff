"""Auto-tagging that speaks the catalog's vocabulary and abstains where the model is unsure.

The vocabulary is the catalog's own (:func:`~plugin.vocabulary.derive.derive_vocabulary`), so a
tag is always a value the catalog uses, for an attribute it has; each attribute's margin is
calibrated on a seeded part of the catalog's photographed products
(:mod:`plugin.ingest.calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from plugin.encoder.protocol import QueryEncoder
from plugin.ingest.calibration import Calibration, Observation, calibrate, calibration_sample
from plugin.ingest.tagging import DEFAULT_THRESHOLD, AutoTagger
from plugin.vocabulary.check import local_photos
from plugin.vocabulary.derive import derive_vocabulary
from schemas.product import Product

__all__ = ["catalog_tagger"]

_CHUNK = 32


def catalog_tagger(
    encoder: QueryEncoder,
    products: Sequence[Product],
    images: Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    seed: int = 0,
) -> AutoTagger:
    """A tagger with the catalog's vocabulary and margins calibrated on its own products
    (``tagger.calibration`` holds them, per attribute, with the precision they reached)."""
    vocabulary = derive_vocabulary(products).vocabulary
    tagger = AutoTagger(encoder, vocabulary, threshold=threshold)
    photos, _ = local_photos([p for p in products if p.attributes or p.category], images)
    sample = calibration_sample(photos, seed)
    seen: dict[str, list[Observation]] = {}
    for start in range(0, len(sample), _CHUNK):
        chunk = sample[start : start + _CHUNK]
        for name, observations in tagger.observe([p for p, _ in chunk], [b for _, b in chunk]).items():
            seen.setdefault(name, []).extend(observations)
    names = ["category", *(a.name for a in vocabulary.attributes)]
    calibration: dict[str, Calibration] = calibrate({n: seen.get(n, []) for n in names})
    tagger.calibration = calibration
    return tagger
