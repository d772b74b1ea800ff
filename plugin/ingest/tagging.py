"""Auto-tagging at ingestion (``grounded ingest --auto-tag``): the attribute captioner's
zero-shot scores fill the attributes a catalog row does not have.

For each product the captioner's most probable category and value of every attribute the
vocabulary defines come with a probability and a lead over the runner-up
(:meth:`AttributeCaptioner.guesses`), read at the model's learned temperature. ``grounded
ingest`` tags with the catalog's own vocabulary (derived from its rows: never a value for an
attribute the catalog does not have) and margins calibrated on the catalog's own products
(:mod:`plugin.ingest.calibration`): a value fills an attribute the merchant left out (and the
category, when the row has none) only when it is that sure; otherwise the tag abstains. The
merchant's own values are never overwritten. Filled values are stored like the merchant's
(``attributes`` ``key=value`` pairs, so filters use them) and are listed, with their confidence,
margin and source, in the ``attributes_inferred`` property.

The prompts and images are embedded through the same :class:`QueryEncoder` as ingestion (the
models in this process or the running service), so the scores come from the catalog's model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from plugin.encoder.protocol import QueryEncoder
from plugin.ingest.calibration import UNSCORED, Calibration, Observation
from schemas.errors import InvalidInputError
from schemas.product import Product
from vectorizer_service import CATEGORY, AttributeCaptioner, ModelInfo, PreparedImage, Vectors, Vocabulary

__all__ = [
    "DEFAULT_THRESHOLD",
    "INFERRED_PROPERTY",
    "TAG_SOURCE",
    "AutoTagger",
    "PromptEmbedder",
    "Tagged",
    "inferred_json",
    "learned_logit_scale",
]

DEFAULT_THRESHOLD = 0.5
"""Probability at and above which a zero-shot value fills a missing attribute."""

INFERRED_PROPERTY = "attributes_inferred"
TAG_SOURCE = "zero-shot"
"""The ``source`` of an auto-tag in ``attributes_inferred`` (a merchant's value has none)."""


@dataclass(frozen=True)
class Inferred:
    """One written tag: the value, its probability and its lead over the runner-up."""

    value: str
    confidence: float
    margin: float = 0.0


@dataclass
class Tagged:
    """A product with the attributes auto-tagging filled in (``product`` already carries them)."""

    product: Product
    inferred: dict[str, Inferred] = field(default_factory=dict)
    abstained: int = 0
    """Missing attributes the model was not sure enough of to fill."""


def inferred_json(inferred: dict[str, Inferred]) -> str:
    """The ``attributes_inferred`` property: ``{"colour": {"value": "red", "confidence": 0.93,
    "margin": 0.9, "source": "zero-shot"}}`` (the source: the catalog's model, zero-shot)."""
    return json.dumps(
        {
            k: {
                "value": v.value,
                "confidence": round(v.confidence, 4),
                "margin": round(v.margin, 4),
                "source": TAG_SOURCE,
            }
            for k, v in sorted(inferred.items())
        },
        sort_keys=True,
    )


def learned_logit_scale(encoder: QueryEncoder) -> float | None:
    """The temperature the encoder's model learned, when it runs in this process and has one
    (a remote service's is not known here: None, and the vocabulary's ``logit_scale`` applies)."""
    engine = getattr(encoder, "engine", None)
    scale = getattr(engine, "logit_scale", None)
    return float(scale) if scale is not None else None


class PromptEmbedder:
    """The :class:`Embedder` face the captioner needs for its prompts, over a QueryEncoder.

    The captioner embeds only texts through it here: images are embedded by ingestion's encoder
    and handed to :meth:`AttributeCaptioner.guesses` as vectors."""

    def __init__(self, encoder: QueryEncoder) -> None:
        self._encoder = encoder
        self._info = encoder.model_info()

    @property
    def info(self) -> ModelInfo:
        return self._info

    def prepare_image(self, image: Image.Image) -> PreparedImage:
        raise NotImplementedError("auto-tagging embeds images through the encoder, as files")

    def encode_prepared(self, images: Sequence[PreparedImage]) -> Vectors:
        raise NotImplementedError("auto-tagging embeds images through the encoder, as files")

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        raise NotImplementedError("auto-tagging embeds images through the encoder, as files")

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        return self._encoder.embed_texts(list(texts))


class AutoTagger:
    """Fills missing attributes of a batch of products from their images.

    Probabilities are read at the model's learned temperature (:func:`learned_logit_scale`).
    With ``calibration`` (:meth:`calibrate`), a value is written only for an attribute calibrated
    on the catalog, and only when it leads its runner-up by that attribute's margin; everything
    else abstains (counted in :attr:`Tagged.abstained`). ``threshold`` is a probability floor
    over both."""

    def __init__(
        self,
        encoder: QueryEncoder,
        vocabulary: Vocabulary,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        calibration: Mapping[str, Calibration] | None = None,
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InvalidInputError(f"auto-tag threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self.calibration = dict(calibration) if calibration is not None else None
        self._encoder = encoder
        self._captioner = AttributeCaptioner(
            PromptEmbedder(encoder), vocabulary, logit_scale=learned_logit_scale(encoder)
        )

    @property
    def identity(self) -> str:
        """What the tags depend on besides the image and the model (part of the fingerprint)."""
        if self.calibration is None:
            return f"auto-tag:{self.threshold}"
        margins = ",".join(
            f"{k}={'-' if c.threshold is None else round(c.threshold, 4)}"
            for k, c in sorted(self.calibration.items())
        )
        return f"auto-tag:{self.threshold}:{margins}"

    def observe(self, products: Sequence[Product], images: Sequence[bytes]) -> dict[str, list[Observation]]:
        """Per attribute (and the category), each product's pick against its own value: what
        :func:`~plugin.ingest.calibration.calibrate` chooses margins from."""
        seen: dict[str, list[Observation]] = {}
        names = {
            CATEGORY: CATEGORY,
            **{a.name.casefold(): a.name for a in self._captioner.vocabulary.attributes},
        }
        vectors = self._encoder.embed_images(list(images))
        for product, guesses in zip(products, self._captioner.guesses(vectors), strict=True):
            truth = {k.casefold(): v.casefold() for k, v in product.attributes.items()}
            if product.category:
                truth[CATEGORY] = product.category.casefold()
            picks = {g.name.casefold(): g for g in guesses}
            for key, value in truth.items():
                if key not in names:
                    continue
                guess = picks.get(key)
                observation = (
                    Observation(guess.margin, guess.value.casefold() == value)
                    if guess is not None
                    else Observation(UNSCORED, False)
                )
                seen.setdefault(names[key], []).append(observation)
        return seen

    def tag(self, products: Sequence[Product], images: Sequence[bytes]) -> list[Tagged]:
        """Each product with its missing attributes filled where the model is sure enough."""
        if not products:
            return []
        vectors = self._encoder.embed_images(list(images))
        return [
            self._fill(product, guesses)
            for product, guesses in zip(products, self._captioner.guesses(vectors), strict=True)
        ]

    def _sure(self, guess: Any) -> bool:
        if guess.probability < self.threshold:
            return False
        if self.calibration is None:
            return True
        calibrated = self.calibration.get(guess.name)
        return (
            calibrated is not None
            and calibrated.threshold is not None
            and guess.margin >= calibrated.threshold
        )

    def _fill(self, product: Product, guesses: Any) -> Tagged:
        have = {k.casefold() for k in product.attributes}
        attributes = dict(product.attributes)
        inferred: dict[str, Inferred] = {}
        category = product.category
        abstained = 0
        for guess in guesses:
            missing = not category if guess.name == CATEGORY else guess.name.casefold() not in have
            if not missing:
                continue
            if not self._sure(guess):
                abstained += 1
                continue
            if guess.name == CATEGORY:
                category = guess.value
            else:
                attributes[guess.name] = guess.value
            inferred[guess.name] = Inferred(guess.value, guess.probability, guess.margin)
        if not inferred:
            return Tagged(product, abstained=abstained)
        filled = product.model_copy(update={"attributes": attributes, "category": category})
        return Tagged(filled, inferred, abstained)
