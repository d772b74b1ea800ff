"""A zero-shot attribute captioner: CLIP scores the image against a product vocabulary.

It reuses the service's loaded CLIP (the :class:`Embedder`), so it needs no extra weights and
costs one image encoding plus a few small matrix products per image. Every prompt vector is
computed once at load (and kept on disk between processes, see ``prompt_cache``). The caption
is rendered from the sure picks only, e.g. ``"a red floral cotton dress"``; what it was unsure of
is left out and said (:attr:`Caption.left_out`), and when nothing is sure the caption is empty.

A pick is sure when its softmax probability and its lead over the runner-up reach the
vocabulary's thresholds, each raised to the service's floor (:class:`ConfidenceFloor`, settings
``caption_min_probability`` / ``caption_min_margin``): one rule over probabilities that applies
to any vocabulary, chosen on the product world's val split (``benchmarks/caption_thresholds.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from schemas.vocabulary import CATEGORY, AttributeSpec, ValueSpec, Vocabulary
from vectorizer_service.compose.attribute_head import AttributeHead
from vectorizer_service.compose.prompt_cache import cached_text_vectors
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.compose.vocab import render_caption, with_article
from vectorizer_service.runtime.protocol import Embedder

_ENCODE_CHUNK = 64
"""Prompts per text batch at load: bounds memory without many small model calls."""

Matrix = npt.NDArray[np.float32]


GROUP = "group"
"""Name of the group's pick in the left-out notes (the category's family: bag, garment...)."""
HEAD, ZERO_SHOT = "attribute-head", "zero-shot"
"""Where a pick's probabilities came from (:attr:`Caption.sources`): the model folder's trained
attribute head, or the zero-shot prompts."""


@dataclass(frozen=True)
class ConfidenceFloor:
    """Service-wide minimums raised over every threshold of a vocabulary: a category or value is
    named only if its probability reaches ``max(vocabulary's min_probability, min_probability)``
    and its lead over the runner-up ``max(vocabulary's min_margin, min_margin)``."""

    min_probability: float = 0.0
    min_margin: float = 0.0


@dataclass(frozen=True)
class AttributeGuess:
    """The most probable value of one attribute (or of the category) for one image."""

    name: str
    value: str
    probability: float
    confident: bool
    """Whether the probability and margin gates pass (the caption uses only these)."""
    margin: float = 0.0
    """The probability's lead over the runner-up's."""
    runner_up: str | None = None
    runner_up_probability: float = 0.0

    def unsure_note(self) -> str:
        """Why the caption leaves this out: ``"category unsure: 0.31 handbag / 0.28 backpack -
        left out"``."""
        second = f" / {self.runner_up_probability:.2f} {self.runner_up}" if self.runner_up else ""
        return f"{self.name} unsure: {self.probability:.2f} {self.value}{second} - left out"


@dataclass(frozen=True)
class _Choices:
    """Candidate values and their prompt vectors (one unit row per value)."""

    values: tuple[ValueSpec, ...]
    vectors: Matrix


def _softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    shifted = np.exp(logits - logits.max())
    result: npt.NDArray[np.float32] = (shifted / shifted.sum()).astype(np.float32)
    return result


def _guess(
    name: str, names: Sequence[str], probs: npt.NDArray[np.float32], min_probability: float, min_margin: float
) -> AttributeGuess:
    """The top value with its runner-up; confident if probable enough and clearly ahead."""
    order = np.argsort(probs)[::-1]
    top = float(probs[order[0]])
    second = float(probs[order[1]]) if len(order) > 1 else 0.0
    return AttributeGuess(
        name,
        names[int(order[0])],
        top,
        top >= min_probability and top - second >= min_margin,
        margin=top - second,
        runner_up=names[int(order[1])] if len(order) > 1 else None,
        runner_up_probability=second,
    )


@dataclass(frozen=True)
class _Reading:
    """Everything the captioner concluded about one image."""

    group: str
    """The most probable group (decides which attribute prompts were scored)."""
    group_guess: AttributeGuess
    guesses: list[AttributeGuess]
    """The category first, then each attribute that was scored."""
    sources: dict[str, str]
    """Per guess name: :data:`HEAD` or :data:`ZERO_SHOT`."""


class AttributeCaptioner:
    """A :class:`Captioner` that picks a category and confident attribute values.

    Attribute prompts use the category's group noun (``"a product photo of a red bag"``)
    rather than every category, so the prompt count grows with groups, not with categories.
    """

    def __init__(
        self,
        embedder: Embedder,
        vocabulary: Vocabulary,
        *,
        cache_dir: Path | None = None,
        floor: ConfidenceFloor | None = None,
        logit_scale: float | None = None,
        head: AttributeHead | None = None,
    ) -> None:
        """``cache_dir``: keep the prompt vectors there between processes
        (:mod:`~vectorizer_service.compose.prompt_cache`); None computes them every time.
        ``floor``: minimums over the vocabulary's thresholds (default: the vocabulary's alone).
        ``logit_scale``: the softmax temperature (default: the vocabulary's ``logit_scale``).
        ``head``: a trained attribute head for this vocabulary; its calibrated probabilities
        replace the zero-shot ones for the category and each attribute it has a probe for."""
        if head is not None and not head.matches(vocabulary):
            raise ValueError("the attribute head was trained for another vocabulary")
        self._head = head
        self._embedder = embedder
        self._vocabulary = vocabulary
        self._floor = floor or ConfidenceFloor()
        self._scale = logit_scale if logit_scale is not None else vocabulary.logit_scale
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
    def head(self) -> AttributeHead | None:
        """The trained attribute head in use, or None (zero-shot)."""
        return self._head

    @property
    def vocabulary(self) -> Vocabulary:
        return self._vocabulary

    @property
    def logit_scale(self) -> float:
        """The softmax temperature its probabilities are read at."""
        return self._scale

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

    def _gates(self, min_probability: float, min_margin: float, *, head: bool = False) -> tuple[float, float]:
        floor = self._floor.min_probability
        if head and self._head is not None and self._head.min_probability is not None:
            # The service floor was chosen for zero-shot prompts; a head carries its own.
            floor = self._head.min_probability
        return max(min_probability, floor), max(min_margin, self._floor.min_margin)

    def _score(self, image_vector: Matrix) -> _Reading:
        """The category, its group and the top value of each applicable attribute, each with
        its probability, runner-up and whether it is sure."""
        vocabulary = self._vocabulary
        scale = self._scale
        sources: dict[str, str] = {}
        probs = self._head_probabilities(CATEGORY, [c.name for c in self._categories], image_vector)
        sources[CATEGORY] = sources[GROUP] = HEAD if probs is not None else ZERO_SHOT
        if probs is None:
            probs = _softmax(scale * (self._category_vectors @ image_vector))
        category_gates = self._gates(
            vocabulary.category_min_probability,
            vocabulary.category_min_margin,
            head=sources[CATEGORY] == HEAD,
        )
        category_guess = _guess(CATEGORY, [c.name for c in self._categories], probs, *category_gates)
        category = vocabulary.category(category_guess.value) if category_guess.confident else None
        group_probs = np.bincount(self._category_group, weights=probs, minlength=len(self._groups))
        group_guess = _guess(GROUP, self._groups, group_probs.astype(np.float32), *category_gates)
        if category is not None:
            group, group_sure = category.group, True
        else:
            # No sure category: the most probable group still decides which prompts are scored.
            group, group_sure = group_guess.value, group_guess.confident
        guesses = [category_guess]
        for spec in vocabulary.attributes:
            choices = self._choices.get((spec.name, group))
            if choices is None or not Vocabulary.applies(spec.applies_to, category, group):
                continue
            allowed = [
                i for i, v in enumerate(choices.values) if Vocabulary.applies(v.applies_to, category, group)
            ]
            if not group_sure:
                # Without a sure group only what applies to every group can be named.
                allowed = [i for i in allowed if choices.values[i].applies_to is None]
                if spec.applies_to is not None:
                    continue
            if len(allowed) < 2:
                continue
            names = [choices.values[i].name for i in allowed]
            value_probs = self._head_probabilities(spec.name, names, image_vector)
            sources[spec.name] = HEAD if value_probs is not None else ZERO_SHOT
            if value_probs is None:
                value_probs = _softmax(scale * (choices.vectors[allowed] @ image_vector))
            guesses.append(
                _guess(
                    spec.name,
                    names,
                    value_probs,
                    *self._gates(spec.min_probability, spec.min_margin, head=sources[spec.name] == HEAD),
                )
            )
        return _Reading(group, group_guess, guesses, sources)

    def _head_probabilities(self, name: str, names: Sequence[str], image_vector: Matrix) -> Matrix | None:
        """The head's probabilities of ``names`` (renormalised over them: the values that apply
        to this group), or None when there is no head or no probe for ``name``."""
        probe = self._head.probe(name) if self._head is not None else None
        if probe is None:
            return None
        full = probe.probabilities(image_vector)
        index = {value: i for i, value in enumerate(probe.values)}
        picked = np.array([full[index[n]] if n in index else 0.0 for n in names], dtype=np.float32)
        total = float(picked.sum())
        if total <= 0.0:
            return np.full(len(names), 1.0 / len(names), dtype=np.float32)
        result: Matrix = picked / total
        return result

    def guesses(self, image_vectors: Matrix) -> list[list[AttributeGuess]]:
        """Per image vector (rows of unit vectors from the same model): the most probable
        category and value of each applicable attribute, confident or not, with its
        probability. Auto-tagging at ingestion applies its own threshold to these."""
        return [self._score(row.astype(np.float32)).guesses for row in np.atleast_2d(image_vectors)]

    def with_floor(self, floor: ConfidenceFloor, *, logit_scale: float | None = None) -> AttributeCaptioner:
        """The same captioner (sharing its prompt vectors) with another confidence floor, and
        another temperature when ``logit_scale`` is given."""
        twin = copy.copy(self)
        twin._floor = floor
        if logit_scale is not None:
            twin._scale = logit_scale
        return twin

    def captions_from_vectors(self, image_vectors: Matrix) -> list[Caption]:
        """One caption per image vector (rows of unit vectors from the same model)."""
        return [self._describe(row.astype(np.float32)) for row in np.atleast_2d(image_vectors)]

    def _describe(self, image_vector: Matrix) -> Caption:
        reading = self._score(image_vector)
        attributes = {g.name: g.value for g in reading.guesses if g.confident}
        sources = {name: reading.sources[name] for name in attributes}
        probabilities = {g.name: g.probability for g in reading.guesses if g.confident}
        left_out = [g.unsure_note() for g in reading.guesses if not g.confident]
        guess = render_caption(
            self._vocabulary, {g.name: g.value for g in reading.guesses}, group=reading.group
        )
        category_sure = CATEGORY in attributes
        if not category_sure and not reading.group_guess.confident:
            left_out.insert(1, reading.group_guess.unsure_note())
            if not attributes:
                return Caption(text="", attributes={}, left_out=tuple(left_out), guess=guess, sources={})
        group = reading.group if category_sure or reading.group_guess.confident else None
        text = render_caption(self._vocabulary, attributes, group=group)
        return Caption(
            text=text,
            attributes=attributes,
            left_out=tuple(left_out),
            guess=guess,
            sources=sources,
            probabilities=probabilities,
        )

    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        """One caption per image, from a single batched image encoding."""
        if not images:
            return []
        return self.captions_from_vectors(self._embedder.encode_images(images))
