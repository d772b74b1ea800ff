"""The open_clip backend: an open_clip model with its own preprocessing and tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from vectorizer_service.runtime._normalize import learned_logit_scale, to_unit_float32
from vectorizer_service.runtime.protocol import ModelInfo, Vectors
from vectorizer_service.runtime.text_trimming import TrimmableTextTower, find_trimmable_text_tower

__all__ = ["OpenClipEmbedder"]


class OpenClipEmbedder:
    """An :class:`~vectorizer_service.runtime.protocol.Embedder` over a loaded open_clip model.

    Built by :func:`vectorizer_service.runtime.loader.load_embedder`; the model must already be
    in eval mode on ``device`` with ``dtype``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        preprocess: Callable[[Image.Image], torch.Tensor],
        tokenizer: Callable[[list[str]], torch.Tensor],
        *,
        name: str,
        pretrained: str,
        device: torch.device,
        dtype: torch.dtype,
        trim_text: bool,
    ) -> None:
        self._model: Any = model
        self._preprocess = preprocess
        self._tokenizer = tokenizer
        self._device = device
        self._dtype = dtype
        self._tower: TrimmableTextTower | None = find_trimmable_text_tower(model) if trim_text else None
        context_length = int(getattr(tokenizer, "context_length", 0) or getattr(model, "context_length", 77))
        self._info = ModelInfo(
            name=name,
            backend="open_clip",
            pretrained=pretrained,
            dimension=self._output_dimension(),
            device=str(device),
            dtype=str(dtype).removeprefix("torch."),
            context_length=context_length,
            text_trimming=self._tower is not None,
        )

    @property
    def logit_scale(self) -> float | None:
        """The softmax temperature the model was trained with (``exp`` of its learned
        ``logit_scale``), or None when the checkpoint has none. The attribute captioner reads
        its probabilities at this temperature, so its confidence thresholds mean the same
        for every model."""
        return learned_logit_scale(self._model)

    @property
    def info(self) -> ModelInfo:
        """Name, dimension, device, precision, context length and whether trimming is on."""
        return self._info

    def prepare_image(self, image: Image.Image) -> torch.Tensor:
        """The model's own preprocessing of one image (thread-safe, CPU)."""
        return self._preprocess(image.convert("RGB"))

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """One unit vector per image, in order, using the model's own preprocessing."""
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_prepared(self, images: Sequence[torch.Tensor]) -> Vectors:
        """One unit vector per image prepared by :meth:`prepare_image`, in order."""
        if not images:
            return np.zeros((0, self._info.dimension), np.float32)
        pixels = torch.stack(list(images))
        with torch.inference_mode():
            features = self._model.encode_image(pixels.to(self._device, self._dtype))
        return to_unit_float32(features)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text, in order. Texts longer than the context are truncated by
        the tokenizer; batches are trimmed to their longest real sequence where that is exact."""
        if not texts:
            return np.zeros((0, self._info.dimension), np.float32)
        tokens = self._tokenizer(list(texts)).to(self._device)
        with torch.inference_mode():
            if self._tower is not None:
                features = self._tower.encode(tokens)
            else:
                features = self._model.encode_text(tokens)
        return to_unit_float32(features)

    def _output_dimension(self) -> int:
        # Read the size from a real forward pass: configs name it differently across towers.
        tokens = self._tokenizer(["a"]).to(self._device)
        with torch.inference_mode():
            return int(self._model.encode_text(tokens).shape[-1])
