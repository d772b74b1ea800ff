"""How well a model tells a vocabulary's values apart on the catalog's own photos.

A seeded share of the catalog's products with a local photo is held out
(:func:`held_out`); the attribute captioner scores each photo zero-shot at the model's learned
temperature, and each attribute's top pick is compared with what the catalog says. Per attribute:
accuracy over the held-out products that have it, and the pairs of values the model mixes up
most (:data:`CONFUSION_MIN_SHARE` of both values' products or more) - the values a shopper's
filter or a caption would get wrong.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plugin.encoder.protocol import QueryEncoder
from plugin.ingest.tagging import PromptEmbedder, learned_logit_scale
from schemas.product import Product
from schemas.vocabulary import CATEGORY, Vocabulary
from vectorizer_service import AttributeCaptioner

__all__ = [
    "CHECK_FRACTION",
    "CONFUSION_MIN_SHARE",
    "AttributeCheck",
    "CheckReport",
    "check_vocabulary",
    "held_out",
    "local_photos",
]

CHECK_FRACTION = 0.2
"""Share of the catalog's photographed products the check holds out and scores."""
CONFUSION_MIN_SHARE = 0.2
"""A pair of values is "cannot tell apart" when mix-ups between them reach this share of the
held-out products that have either value."""
_EMBED_CHUNK = 32


@dataclass
class AttributeCheck:
    """One attribute (or the category) on the held-out products that have it."""

    total: int = 0
    correct: int = 0
    unscored: int = 0
    """Products the captioner did not score this attribute on (it was unsure of the category
    the attribute applies to): counted as wrong."""
    per_value: Counter[str] = field(default_factory=Counter)
    mixups: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(catalog's value, model's pick) -> products."""

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def confusions(self) -> list[tuple[str, str, int, float]]:
        """Pairs of values the model cannot tell apart: (a, b, mix-ups both ways, share)."""
        pairs: Counter[tuple[str, str]] = Counter()
        for (truth, picked), n in self.mixups.items():
            pairs[(min(truth, picked), max(truth, picked))] += n
        found = []
        for (a, b), n in pairs.items():
            share = n / max(self.per_value[a] + self.per_value[b], 1)
            if share >= CONFUSION_MIN_SHARE:
                found.append((a, b, n, share))
        return sorted(found, key=lambda f: (-f[3], -f[2], f[0], f[1]))


@dataclass
class CheckReport:
    products: int
    """Held-out products scored."""
    logit_scale: float
    attributes: dict[str, AttributeCheck]


def local_photos(products: Sequence[Product], images: Path) -> tuple[list[tuple[Product, bytes]], int]:
    """Each product with the bytes of its photo, when that is a readable local file (relative
    paths under ``images``); and how many products have none."""
    found: list[tuple[Product, bytes]] = []
    for product in products:
        image = product.image
        if isinstance(image, bytes):
            found.append((product, image))
            continue
        if not image or image.startswith(("http://", "https://")):
            continue
        path = Path(image) if Path(image).is_absolute() else images / image
        try:
            found.append((product, path.read_bytes()))
        except OSError:
            continue
    return found, len(products) - len(found)


def held_out(
    items: Sequence[tuple[Product, bytes]], fraction: float, seed: int
) -> list[tuple[Product, bytes]]:
    """A seeded ``fraction`` of ``items`` (at least one), in catalog order."""
    count = max(1, round(len(items) * fraction)) if items else 0
    chosen = set(random.Random(seed).sample(range(len(items)), count))
    return [item for i, item in enumerate(items) if i in chosen]


def _truth(product: Product, vocabulary: Vocabulary) -> dict[str, str]:
    """What the catalog says, under the vocabulary's spelling (names match case-insensitively)."""
    truth: dict[str, str] = {}
    if product.category:
        truth[CATEGORY] = product.category.casefold()
    names = {a.name.casefold() for a in vocabulary.attributes}
    for key, value in product.attributes.items():
        if key.casefold() in names:
            truth[key.casefold()] = value.casefold()
    return truth


def check_vocabulary(
    encoder: QueryEncoder, vocabulary: Vocabulary, samples: Sequence[tuple[Product, bytes]]
) -> CheckReport:
    """Score the captioner's top picks on ``samples`` against the catalog's values."""
    scale = learned_logit_scale(encoder)
    captioner = AttributeCaptioner(PromptEmbedder(encoder), vocabulary, logit_scale=scale)
    known = {CATEGORY} | {a.name.casefold() for a in vocabulary.attributes}
    checks = {CATEGORY: AttributeCheck(), **{a.name: AttributeCheck() for a in vocabulary.attributes}}
    by_key = {name.casefold(): check for name, check in checks.items()}
    for start in range(0, len(samples), _EMBED_CHUNK):
        chunk = samples[start : start + _EMBED_CHUNK]
        vectors = encoder.embed_images([image for _, image in chunk])
        for (product, _), guesses in zip(chunk, captioner.guesses(vectors), strict=True):
            picked = {g.name.casefold(): g.value.casefold() for g in guesses}
            for key, value in _truth(product, vocabulary).items():
                if key not in known:
                    continue
                check = by_key[key]
                check.total += 1
                check.per_value[value] += 1
                if picked.get(key) == value:
                    check.correct += 1
                elif key in picked:
                    check.mixups[(value, picked[key])] += 1
                else:
                    check.unscored += 1
    return CheckReport(
        len(samples),
        captioner.logit_scale,
        {name: check for name, check in checks.items() if check.total},
    )
