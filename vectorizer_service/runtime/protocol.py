"""The one small interface every embedding backend implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from PIL import Image

Vectors = npt.NDArray[np.float32]
"""A ``(n, dimension)`` float32 array whose rows have unit L2 norm."""


@dataclass(frozen=True)
class ModelInfo:
    """What a loaded model is; served at ``GET /meta`` and by gRPC ``GetModelInfo``."""

    name: str
    backend: str
    pretrained: str
    dimension: int
    device: str
    dtype: str
    context_length: int
    text_trimming: bool


@runtime_checkable
class Embedder(Protocol):
    """A loaded CLIP-like model with its own preprocessing and tokenizer.

    Both methods take a whole batch and return one L2-normalised float32 row per input, in
    input order. They are called from a single inference thread, never concurrently.
    """

    @property
    def info(self) -> ModelInfo: ...

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors: ...

    def encode_texts(self, texts: Sequence[str]) -> Vectors: ...
