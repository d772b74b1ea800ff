"""The one small interface every embedding backend implements.

A backend describes itself with the one model record, :class:`schemas.model_info.ModelInfo`
(re-exported here, its old home).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from PIL import Image

from schemas.model_info import ModelInfo

__all__ = ["Embedder", "ModelInfo", "PreparedImage", "PseudoWordEmbedder", "Vectors"]

Vectors = npt.NDArray[np.float32]
"""A ``(n, dimension)`` float32 array whose rows have unit L2 norm."""

PreparedImage = Any
"""One image turned into the backend's model input (e.g. a CPU tensor) by ``prepare_image``."""


@runtime_checkable
class Embedder(Protocol):
    """A loaded CLIP-like model with its own preprocessing and tokenizer.

    The ``encode_*`` methods take a whole batch and return one L2-normalised float32 row per
    input, in input order. They are called from a single inference thread, never concurrently.
    ``prepare_image`` is the image preprocessing alone (resize, crop, normalise): it is
    thread-safe, so the service runs it in its decode threads before an image is queued, and
    the inference thread spends its time on the model only.
    """

    @property
    def info(self) -> ModelInfo: ...

    def prepare_image(self, image: Image.Image) -> PreparedImage: ...

    def encode_prepared(self, images: Sequence[PreparedImage]) -> Vectors: ...

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """``encode_prepared`` of ``prepare_image`` of each image."""
        ...

    def encode_texts(self, texts: Sequence[str]) -> Vectors: ...


@runtime_checkable
class PseudoWordEmbedder(Protocol):
    """An embedder that can also serve Pic2Word (:mod:`vectorizer_service.runtime.pic2word`):
    text vectors of prompts whose ``*`` is read from an image vector through a trained mapper."""

    @property
    def pic2word_problem(self) -> str | None:
        """Why Pic2Word cannot be served (no mapper in the model folder, ...), None when it can."""
        ...

    def encode_pseudo_word_prompts(self, items: Sequence[tuple[npt.NDArray[np.float32], str]]) -> Vectors:
        """One unit text vector per ``(image vector, prompt)``, the image as the prompt's ``*``."""
        ...
