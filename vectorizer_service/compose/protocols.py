"""Interfaces of the composed-query pipeline's model-backed stages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from vectorizer_service.runtime.protocol import Vectors


@dataclass(frozen=True)
class Cutout:
    """A reference image with its background replaced by a neutral colour."""

    image: Image.Image
    coverage: float
    """Fraction of the image the foreground mask covers, 0..1."""
    box: tuple[int, int, int, int] | None = None
    """The foreground's bounding box (left, top, right, bottom), ``None`` when nothing is."""
    alpha: Image.Image | None = None
    """The remover's foreground probability as an ``L`` image (255 = surely product), when it
    made one: what training compares its stand-in cut-outs with."""


@dataclass(frozen=True)
class Caption:
    text: str
    attributes: dict[str, str] = field(default_factory=dict)
    """Attribute name -> chosen value (attribute captioner only)."""
    left_out: tuple[str, ...] = ()
    """What the captioner was unsure of and did not name, one note each
    (``"category unsure: 0.31 handbag / 0.28 backpack - left out"``). An empty text with
    notes here means nothing was sure: the query is the image and the change."""
    guess: str = ""
    """The most likely reading, sure or not (attribute captioner): what the caption would say
    if every top pick were named. Used only when nothing is sure and there is no change either."""
    sources: dict[str, str] = field(default_factory=dict)
    """Per named attribute, where its probabilities came from (attribute captioner only):
    ``"attribute-head"`` (the model folder's trained head) or ``"zero-shot"`` (prompts)."""
    probabilities: dict[str, float] = field(default_factory=dict)
    """Per named attribute, the probability of its value (attribute captioner only): how sure
    the caption was of each word it says."""


class BackgroundRemover(Protocol):
    """Batch background removal; called from one worker thread."""

    @property
    def name(self) -> str: ...

    def remove(self, images: Sequence[Image.Image]) -> list[Cutout]: ...


class Captioner(Protocol):
    """Batch captioning; called from one worker thread."""

    @property
    def name(self) -> str: ...

    def caption(self, images: Sequence[Image.Image]) -> list[Caption]: ...


@dataclass(frozen=True)
class ComposeDeps:
    """Async entry points the pipeline's stages call. The engine backs each one with a batcher,
    so concurrent queries share model batches; tests back them with plain functions."""

    encode_texts: Callable[[Sequence[str]], Awaitable[Vectors]]
    encode_images: Callable[[Sequence[Image.Image]], Awaitable[Vectors]]
    remove_background: Callable[[Image.Image], Awaitable[Cutout]] | None
    caption: Callable[[Image.Image], Awaitable[Caption]] | None
    encode_pseudo_word: (
        Callable[[Sequence[tuple[npt.NDArray[np.float32], str]]], Awaitable[Vectors]] | None
    ) = None
    """Pic2Word: text vectors of ``(image vector, prompt)`` pairs, the image as the prompt's ``*``."""
    pic2word_problem: str = "no Pic2Word mapper loaded"
    """Why ``encode_pseudo_word`` is None: the error a pic2word request gets."""
