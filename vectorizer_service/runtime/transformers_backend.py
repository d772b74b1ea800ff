"""The transformers backend: ``CLIPModel`` or ``SiglipModel`` with its own processor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from vectorizer_service.runtime._normalize import learned_logit_scale, to_unit_float32
from vectorizer_service.runtime.protocol import ModelInfo, Vectors

__all__ = ["SUPPORTED_MODEL_TYPES", "TransformersEmbedder"]

SUPPORTED_MODEL_TYPES = ("clip", "siglip")
"""``config.model_type`` values this backend serves (``CLIPModel``, ``SiglipModel``)."""

# Why padding differs by family:
# - CLIP's text tower is causal and pools the first end-of-text token, so padding each batch only
#   to its longest text ("longest") gives exactly the vectors of padding to the full context.
# - SigLIP was trained on texts padded to max_length, attends bidirectionally and pools the
#   last position, so it must always see the full padded sequence: no trimming.
_TRIMMABLE_MODEL_TYPES = frozenset({"clip"})


def _features(output: Any) -> torch.Tensor:
    # transformers 5 returns a ModelOutput whose pooler_output holds the projected features;
    # older releases returned the tensor itself.
    if isinstance(output, torch.Tensor):
        return output
    return output.pooler_output  # type: ignore[no-any-return]


class TransformersEmbedder:
    """An :class:`~vectorizer_service.runtime.protocol.Embedder` over a transformers model.

    Built by :func:`vectorizer_service.runtime.loader.load_embedder`; the model must already be
    in eval mode on ``device`` with ``dtype``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        processor: Any,
        *,
        name: str,
        device: torch.device,
        dtype: torch.dtype,
        trim_text: bool,
    ) -> None:
        self._model: Any = model
        self._processor = processor
        self._device = device
        self._dtype = dtype
        config: Any = self._model.config
        self._model_type: str = config.model_type
        self._context_length = int(config.text_config.max_position_embeddings)
        self._trim = trim_text and self._model_type in _TRIMMABLE_MODEL_TYPES
        dimension = getattr(config, "projection_dim", None) or config.text_config.hidden_size
        self._info = ModelInfo(
            name=name,
            backend="transformers",
            pretrained="",
            dimension=int(dimension),
            device=str(device),
            dtype=str(dtype).removeprefix("torch."),
            context_length=self._context_length,
            text_trimming=self._trim,
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
        """The model's own image processing of one image (thread-safe, CPU)."""
        pixels: torch.Tensor = self._processor(images=[image.convert("RGB")], return_tensors="pt")[
            "pixel_values"
        ][0]
        return pixels

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """One unit vector per image, in order, using the model's own image processor."""
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_prepared(self, images: Sequence[torch.Tensor]) -> Vectors:
        """One unit vector per image prepared by :meth:`prepare_image`, in order."""
        if not images:
            return np.zeros((0, self._info.dimension), np.float32)
        pixels = torch.stack(list(images))
        with torch.inference_mode():
            output = self._model.get_image_features(pixel_values=pixels.to(self._device, self._dtype))
        return to_unit_float32(_features(output))

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text, in order; texts longer than the context are truncated."""
        if not texts:
            return np.zeros((0, self._info.dimension), np.float32)
        encoded = self._processor.tokenizer(
            list(texts),
            padding="longest" if self._trim else "max_length",
            truncation=True,
            max_length=self._context_length,
            return_tensors="pt",
        )
        # SigLIP was trained on max_length-padded ids without an attention mask (the padding is
        # part of what it saw), so it gets input_ids only; CLIP gets its mask.
        keep = ("input_ids",) if self._model_type == "siglip" else ("input_ids", "attention_mask")
        inputs = {key: value.to(self._device) for key, value in encoded.items() if key in keep}
        with torch.inference_mode():
            output = self._model.get_text_features(**inputs)
        return to_unit_float32(_features(output))
