"""Torch-free preprocessing for the onnx backend: images with PIL and numpy, texts with the
``tokenizers`` library. Both replay what the source model's own preprocessing does, so the
exported graphs see the same inputs as the torch backends (see ``docs/onnx.md``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image

from vectorizer_service.runtime._torch_resize import resize_uint8
from vectorizer_service.runtime.onnx_manifest import ImagePreprocessSpec, TextSpec

__all__ = ["ImagePreprocessor", "TextEncoder", "TokenBatch"]

_RESAMPLE = {
    "bicubic": Image.Resampling.BICUBIC,
    "bilinear": Image.Resampling.BILINEAR,
    "nearest": Image.Resampling.NEAREST,
    "lanczos": Image.Resampling.LANCZOS,
}

Pixels = npt.NDArray[np.float32]
TokenBatch = dict[str, npt.NDArray[np.int64]]


class ImagePreprocessor:
    """One RGB image -> a ``(3, height, width)`` float32 array, normalised. Thread-safe."""

    def __init__(self, spec: ImagePreprocessSpec) -> None:
        self._spec = spec
        self._resample = _RESAMPLE[spec.interpolation]
        self._mean = np.asarray(spec.mean, np.float32).reshape(3, 1, 1)
        self._std = np.asarray(spec.std, np.float32).reshape(3, 1, 1)

    def __call__(self, image: Image.Image) -> Pixels:
        spec = self._spec
        rgb = image.convert("RGB")
        crop_h, crop_w = spec.crop
        if spec.resize == "square":
            width, height = crop_w, crop_h
        else:
            width, height = _shortest_side_size(rgb.size, spec.size)
        if spec.resampler == "torchvision_uint8":
            rgb = Image.fromarray(resize_uint8(np.asarray(rgb), (height, width), spec.interpolation))
        else:
            rgb = rgb.resize((width, height), self._resample)
        if spec.resize == "shortest":
            rgb = _center_crop(rgb, spec.crop, spec.crop_rounding)
        pixels = np.asarray(rgb, dtype=np.float32).transpose(2, 0, 1) / np.float32(255.0)
        result: Pixels = ((pixels - self._mean) / self._std).astype(np.float32, copy=False)
        return result


def _shortest_side_size(size: tuple[int, int], target: int) -> tuple[int, int]:
    width, height = size
    short, long = (width, height) if width <= height else (height, width)
    if short == target:
        return size
    new_long = int(target * long / short)
    return (target, new_long) if width <= height else (new_long, target)


def _center_crop(image: Image.Image, crop: tuple[int, int], rounding: str) -> Image.Image:
    crop_h, crop_w = crop
    width, height = image.size
    # A smaller image is padded with zeros by both sources; PIL's crop does the same.
    if rounding == "torchvision":
        top, left = round((height - crop_h) / 2.0), round((width - crop_w) / 2.0)
    else:
        top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return image.crop((left, top, left + crop_w, top + crop_h))


class TextEncoder:
    """Texts -> the text graph's integer inputs, truncated to the context and padded per
    :class:`TextSpec`. The end-of-text token is kept when a text is truncated."""

    def __init__(self, directory: Path, spec: TextSpec) -> None:
        from tokenizers import Tokenizer

        self._spec = spec
        self._tokenizer = Tokenizer.from_file(str(directory / spec.tokenizer_file))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=spec.context_length)

    def __call__(self, texts: Sequence[str]) -> TokenBatch:
        spec = self._spec
        batch = [t.lower() for t in texts] if spec.lowercase else list(texts)
        rows = [encoding.ids for encoding in self._tokenizer.encode_batch(batch)]
        width = spec.context_length if spec.padding == "max_length" else max(len(r) for r in rows)
        ids = np.full((len(rows), width), spec.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        inputs = {"input_ids": ids, "attention_mask": mask}
        return {name: inputs[name] for name in spec.inputs}
