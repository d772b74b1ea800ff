"""A zero-shot attribute captioner: CLIP scores the image against a product vocabulary.

It reuses the service's loaded CLIP (the :class:`Embedder`), so it needs no extra weights and
costs one image encoding plus a few small matrix products per image. Every prompt vector is
computed once at load (and kept on disk between processes, see ``prompt_cache``). The caption
is rendered from the confident picks only, e.g. ``"a red floral cotton dress"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from schemas.vocabulary import CATEGORY, AttributeSpec, CategorySpec, ValueSpec, Vocabulary
from vectorizer_service.compose.prompt_cache import cached_text_vectors
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.compose.vocab import render_caption, with_article
from vectorizer_service.runtime.protocol import Embedder

_ENCODE_CHUNK = 64
"""Prompts per text batch at load: bounds memory without many small model calls."""

Matrix = npt.NDArray[np.float32]


@dataclass(frozen=True)
class AttributeGuess:
    """The most probable value of one attribute (or of the category) for one image."""

    name: str
    value: str
    probability: float
    confident: bool
    """Whether the vocabulary's own probability and margin gates pass (the caption uses it)."""


@dataclass(frozen=True)
class _Choices:
    """Candidate values and their prompt vectors (one unit row per value)."""

    values: tuple[ValueSpec, ...]
    vectors: Matrix


def _softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = np.exp(logits - logits.max())
    result: npt.NDArray[np.float32] = (shifted / shifted.sum()).astype(np.float32)
    return result


def _confident(probs: npt.NDArray[np.float32], min_probability: float, min_margin: float) -> int | None:
    """Index of the top value if it is probable enough and clearly ahead of the runner-up."""
    order = np.argsort(probs)[::-1]
    top = float(probs[order[0]])
    second = float(probs[order[1]]) if len(order) > 1 else 0.0
    return int(order[0]) if top >= min_probability and top - second >= min_margin else None


class AttributeCaptioner:
    """A :class:`Captioner` that picks a category and confident attribute values.

    Attribute prompts use the category's group noun (``"a product photo of a red bag"``)
    rather than every category, so the prompt count grows with groups, not with categories.
    """

    def __init__(self, embedder: Embedder, vocabulary: Vocabulary, *, cache_dir: Path | None = None) -> None:
        """``cache_dir``: keep the prompt vectors there between processes
        (:mod:`~vectorizer_service.compose.prompt_cache`); None computes them every time."""
        self._embedder = embedder
        self._vocabulary = vocabulary
        self._categories = vocabulary.categories
        self._groups = sorted(vocabulary.groups)
        self._category_group = np.array([self._groups.index(c.group) for c in self._categories])
        prompts: list[str] = [with_article(c.name, plural=c.plural) for c in self._categories]
        # (attribute, group) -> slice of prompt rows; values filtered by applies_to per group.
        plan: list[tuple[str, str, tuple[ValueSpec, ...], slice]] = []
        for spec in vocabulary.attributes:
            for group in self._groups:
                values = tuple(
                    v
                    for v in spec.values
                    if Vocabulary.applies(v.applies_to, None, group) or self._applies_to_some(v, group)
                )
                if len(values) < 2 or not self._attribute_in_group(spec, group):
                    continue
                start = len(prompts)
                prompts += [self._value_prompt(spec, v, group) for v in values]
                plan.append((spec.name, group, values, slice(start, len(prompts))))
        texts = [vocabulary.prompt.format(p) for p in prompts]
        if cache_dir is None:
            vectors = self._encode(texts)
        else:
            vectors = cached_text_vectors(embedder, texts, cache_dir, self._encode)
        self._category_vectors = vectors[: len(self._categories)]
        self._choices = {(name, group): _Choices(values, vectors[rows]) for name, group, values, rows in plan}

    @property
    def name(self) -> str:
        return "attributes"

    @property
    def prompt_count(self) -> int:
        """How many prompt vectors were cached at load."""
        return len(self._category_vectors) + sum(len(c.values) for c in self._choices.values())

    def _applies_to_some(self, value: ValueSpec, group: str) -> bool:
        # A value restricted to categories ("leather" -> "sofa") is scored in their group.
        return any(
            c.group == group and Vocabulary.applies(value.applies_to, c, None) for c in self._categories
        )

    def _attribute_in_group(self, spec: AttributeSpec, group: str) -> bool:
        return Vocabulary.applies(spec.applies_to, None, group) or any(
            c.group == group and Vocabulary.applies(spec.applies_to, c, None) for c in self._categories
        )

    def _value_prompt(self, spec: AttributeSpec, value: ValueSpec, group: str) -> str:
        noun_spec = self._vocabulary.groups[group]
        template = value.prompt or spec.prompt
        phrase = template.format(value=value.name, noun=noun_spec.noun)
        return with_article(phrase, plural=noun_spec.plural and phrase.endswith(noun_spec.noun))

    def _encode(self, texts: list[str]) -> Matrix:
        chunks = [
            self._embedder.encode_texts(texts[i : i + _ENCODE_CHUNK])
            for i in range(0, len(texts), _ENCODE_CHUNK)
        ]
        return np.concatenate(chunks).astype(np.float32)

    def _score(self, image_vector: Matrix) -> tuple[str, list[AttributeGuess]]:
        """The group that decides which attributes apply, and the top value of the category and
        of each applicable attribute with its probability."""
        scale = self._vocabulary.logit_scale
        probs = _softmax(scale * (self._category_vectors @ image_vector))
        picked = _confident(
            probs, self._vocabulary.category_min_probability, self._vocabulary.category_min_margin
        )
        top = int(np.argmax(probs))
        guesses = [
            AttributeGuess(CATEGORY, self._categories[top].name, float(probs[top]), picked is not None)
        ]
        category: CategorySpec | None = self._categories[picked] if picked is not None else None
        if category is not None:
            group = category.group
        else:
            # No confident category: the most probable group still decides which attributes apply.
            group_probs = np.bincount(self._category_group, weights=probs, minlength=len(self._groups))
            group = self._groups[int(np.argmax(group_probs))]
        for spec in self._vocabulary.attributes:
            choices = self._choices.get((spec.name, group))
            if choices is None or not Vocabulary.applies(spec.applies_to, category, group):
                continue
            allowed = [
                i for i, v in enumerate(choices.values) if Vocabulary.applies(v.applies_to, category, group)
            ]
            if len(allowed) < 2:
                continue
            value_probs = _softmax(scale * (choices.vectors[allowed] @ image_vector))
            best = int(np.argmax(value_probs))
            confident = _confident(value_probs, spec.min_probability, spec.min_margin) is not None
            guesses.append(
                AttributeGuess(
                    spec.name, choices.values[allowed[best]].name, float(value_probs[best]), confident
                )
            )
        return group, guesses

    def guesses(self, image_vectors: Matrix) -> list[list[AttributeGuess]]:
        """Per image vector (rows of unit vectors from the same model): the most probable
        category and value of each applicable attribute, confident or not, with its
        probability. Auto-tagging at ingestion applies its own threshold to these."""
        return [self._score(row.astype(np.float32))[1] for row in np.atleast_2d(image_vectors)]

    def _describe(self, image_vector: Matrix) -> Caption:
        group, guesses = self._score(image_vector)
        attributes = {g.name: g.value for g in guesses if g.confident}
        return Caption(text=render_caption(self._vocabulary, attributes, group=group), attributes=attributes)

    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        """One caption per image, from a single batched image encoding."""
        if not images:
            return []
        vectors = self._embedder.encode_images(images)
        return [self._describe(row.astype(np.float32)) for row in vectors]
