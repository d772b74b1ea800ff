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

__all__ = ["Embedder", "ModelInfo", "PreparedImage", "Vectors"]

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
