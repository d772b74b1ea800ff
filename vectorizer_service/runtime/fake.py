"""A deterministic embedder for unit tests: no torch, no weights, stable vectors."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np
from PIL import Image

from vectorizer_service.runtime.protocol import ModelInfo, Vectors


def _unit_vector(seed: bytes, dimension: int) -> np.ndarray:
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(seed).digest()[:8], "little"))
    vec = rng.standard_normal(dimension).astype(np.float32)
    return vec / np.linalg.norm(vec)


class FakeEmbedder:
    """Hashes its input to a unit vector: equal inputs give equal vectors, different inputs
    (almost surely) different ones. Counts its calls so tests can observe batching."""

    def __init__(self, dimension: int = 16, context_length: int = 77) -> None:
        self._info = ModelInfo(
            name="fake",
            backend="fake",
            pretrained="",
            dimension=dimension,
            device="cpu",
            dtype="float32",
            context_length=context_length,
            text_trimming=False,
        )
        self.image_batches: list[int] = []
        self.text_batches: list[int] = []

    @property
    def info(self) -> ModelInfo:
        return self._info

    def prepare_image(self, image: Image.Image) -> bytes:
        return image.convert("RGB").resize((8, 8)).tobytes()

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_prepared(self, images: Sequence[bytes]) -> Vectors:
        self.image_batches.append(len(images))
        rows = [_unit_vector(b"img:" + pixels, self._info.dimension) for pixels in images]
        return np.stack(rows) if rows else np.zeros((0, self._info.dimension), np.float32)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        self.text_batches.append(len(texts))
        rows = [_unit_vector(b"txt:" + t.encode(), self._info.dimension) for t in texts]
        return np.stack(rows) if rows else np.zeros((0, self._info.dimension), np.float32)


class GatedEmbedder(FakeEmbedder):
    """A FakeEmbedder that records the texts it embeds and can hold the inference thread:
    clear ``gate`` to block the next ``encode_texts`` (``entered`` is set once it is inside),
    set it to let the call finish. Tests use it to fill queues and observe batching."""

    def __init__(self) -> None:
        super().__init__()
        self.seen_texts: list[str] = []
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()

    def hold(self) -> None:
        """Block the next ``encode_texts`` until ``gate`` is set again."""
        self.gate.clear()
        self.entered.clear()

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        self.entered.set()
        assert self.gate.wait(5), "test forgot to release the gate"
        self.seen_texts.extend(texts)
        return super().encode_texts(texts)
