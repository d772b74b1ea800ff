"""Auto-tagging at ingestion (``grounded ingest --auto-tag``): the attribute captioner's
zero-shot scores fill the attributes a catalog row does not have.

For each product the captioner's most probable category and value of every attribute the
vocabulary defines come with a probability (:meth:`AttributeCaptioner.guesses`); a value at or
above ``threshold`` fills an attribute the merchant left out (and the category, when the row has
none). The merchant's own values are never overwritten. Filled values are stored like the
merchant's (``attributes`` ``key=value`` pairs, so filters use them) and are listed, with their
confidence, in the ``attributes_inferred`` property.

The prompts and images are embedded through the same :class:`QueryEncoder` as ingestion (the
models in this process or the running service), so the scores come from the catalog's model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from plugin.encoder.protocol import QueryEncoder
from schemas.errors import InvalidInputError
from schemas.product import Product
from vectorizer_service import CATEGORY, AttributeCaptioner, ModelInfo, PreparedImage, Vectors, Vocabulary

__all__ = [
    "DEFAULT_THRESHOLD",
    "INFERRED_PROPERTY",
    "AutoTagger",
    "PromptEmbedder",
    "Tagged",
    "inferred_json",
    "learned_logit_scale",
]

DEFAULT_THRESHOLD = 0.5
"""Probability at and above which a zero-shot value fills a missing attribute."""

INFERRED_PROPERTY = "attributes_inferred"


@dataclass(frozen=True)
class Inferred:
    value: str
    confidence: float


@dataclass
class Tagged:
    """A product with the attributes auto-tagging filled in (``product`` already carries them)."""

    product: Product
    inferred: dict[str, Inferred] = field(default_factory=dict)


def inferred_json(inferred: dict[str, Inferred]) -> str:
    """The ``attributes_inferred`` property: ``{"colour": {"value": "red", "confidence": 0.93}}``."""
    return json.dumps(
        {k: {"value": v.value, "confidence": round(v.confidence, 4)} for k, v in sorted(inferred.items())},
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
    """Fills missing attributes of a batch of products from their images."""

    def __init__(
        self, encoder: QueryEncoder, vocabulary: Vocabulary, *, threshold: float = DEFAULT_THRESHOLD
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise InvalidInputError(f"auto-tag threshold must be in (0, 1], got {threshold}")
        self.threshold = threshold
        self._encoder = encoder
        self._captioner = AttributeCaptioner(PromptEmbedder(encoder), vocabulary)

    @property
    def identity(self) -> str:
        """What the tags depend on besides the image and the model (part of the fingerprint)."""
        return f"auto-tag:{self.threshold}"

    def tag(self, products: Sequence[Product], images: Sequence[bytes]) -> list[Tagged]:
        """Each product with its missing attributes filled at or above the threshold."""
        if not products:
            return []
        vectors = self._encoder.embed_images(list(images))
        return [
            self._fill(product, guesses)
            for product, guesses in zip(products, self._captioner.guesses(vectors), strict=True)
        ]

    def _fill(self, product: Product, guesses: Any) -> Tagged:
        have = {k.casefold() for k in product.attributes}
        attributes = dict(product.attributes)
        inferred: dict[str, Inferred] = {}
        category = product.category
        for guess in guesses:
            if guess.probability < self.threshold:
                continue
            if guess.name == CATEGORY:
                if not category:
                    category = guess.value
                    inferred[CATEGORY] = Inferred(guess.value, guess.probability)
                continue
            if guess.name.casefold() in have:
                continue
            attributes[guess.name] = guess.value
            inferred[guess.name] = Inferred(guess.value, guess.probability)
        if not inferred:
            return Tagged(product)
        filled = product.model_copy(update={"attributes": attributes, "category": category})
        return Tagged(filled, inferred)
