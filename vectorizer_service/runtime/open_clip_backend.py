"""The open_clip backend: an open_clip model with its own preprocessing and tokenizer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from schemas.errors import ModelUnavailableError
from vectorizer_service.runtime._normalize import learned_logit_scale, to_unit_float32
from vectorizer_service.runtime.pic2word import Pic2WordMapper, PseudoWordText
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
        mapper: Pic2WordMapper | None = None,
        no_mapper: str = "no Pic2Word mapper loaded",
        weights_sha256: str = "",
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
            weights_sha256=weights_sha256,
        )
        self._mapper: Pic2WordMapper | None = None
        self._pseudo: PseudoWordText | None = None
        self._pic2word_problem: str | None = no_mapper
        if mapper is not None:
            self._attach_mapper(mapper)

    def _attach_mapper(self, mapper: Pic2WordMapper) -> None:
        try:
            pseudo = PseudoWordText(self._model, self._tokenizer)
        except ModelUnavailableError as exc:
            self._pic2word_problem = exc.message
            return
        if mapper.embed_dim != self._info.dimension or mapper.token_width != pseudo.token_width:
            self._pic2word_problem = (
                f"the Pic2Word mapper maps {mapper.embed_dim}-d vectors to {mapper.token_width}-wide tokens; "
                f"this model has {self._info.dimension}-d vectors and {pseudo.token_width}-wide tokens "
                "(the mapper was trained for another model: train it again)"
            )
            return
        self._mapper = mapper.to(self._device, self._dtype).eval()
        self._pseudo, self._pic2word_problem = pseudo, None

    @property
    def pic2word_problem(self) -> str | None:
        """Why ``pic2word`` queries cannot be served, or None when a mapper is loaded."""
        return self._pic2word_problem

    def encode_pseudo_word_prompts(self, items: Sequence[tuple[np.ndarray, str]]) -> Vectors:
        """One unit vector per (image vector, prompt): the prompt's ``*`` is the mapper's token."""
        if self._mapper is None or self._pseudo is None:
            raise RuntimeError(self._pic2word_problem or "no Pic2Word mapper")
        if not items:
            return np.zeros((0, self._info.dimension), np.float32)
        vectors = torch.from_numpy(np.stack([v for v, _ in items]).astype(np.float32))
        with torch.inference_mode():
            words = self._mapper(vectors.to(self._device, self._dtype))
            features = self._pseudo.encode([p for _, p in items], words)
        return to_unit_float32(features)

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
