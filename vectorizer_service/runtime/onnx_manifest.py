"""The manifest of an exported ONNX model: everything needed to serve it without torch.

``grounded models export-onnx`` writes a folder holding the image and text tower graphs, the
tokenizer (a ``tokenizers`` library JSON file) and ``grounded-onnx.json``, the
:class:`OnnxManifest` below. The onnx backend reads only this folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MANIFEST_FILE", "ImagePreprocessSpec", "OnnxManifest", "TextSpec", "read_manifest"]

MANIFEST_FILE = "grounded-onnx.json"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImagePreprocessSpec(_Frozen):
    """The source model's image preprocessing, replayed with PIL and numpy.

    ``resize`` ``shortest`` scales the shorter side to ``size`` (long side truncated, as both
    torchvision and transformers compute it), ``square`` resizes to ``crop`` directly.
    ``crop_rounding`` is torchvision's ``round((h - ch) / 2)`` or transformers' ``(h - ch) // 2``.
    open_clip resizes PIL images with PIL; transformers 5 resizes uint8 tensors with torchvision.
    """

    resize: Literal["shortest", "square"]
    size: int = Field(ge=1)
    crop: tuple[int, int] = Field(description="(height, width) of the model input")
    crop_rounding: Literal["torchvision", "transformers"] = "torchvision"
    interpolation: Literal["bicubic", "bilinear", "nearest", "lanczos"] = "bicubic"
    resampler: Literal["pil", "torchvision_uint8"] = Field(
        default="pil", description="whose resize arithmetic: PIL's, or torchvision's on uint8 tensors"
    )
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


class TextSpec(_Frozen):
    """How texts become the text graph's inputs.

    ``padding`` ``longest`` pads each batch to its longest text (exact for causal towers
    pooled at the end-of-text token, see ``text_trimming``); ``max_length`` pads to the context.
    """

    tokenizer_file: str = "tokenizer.json"
    context_length: int = Field(ge=1)
    pad_id: int
    padding: Literal["longest", "max_length"]
    inputs: tuple[Literal["input_ids", "attention_mask"], ...] = ("input_ids",)
    lowercase: bool = Field(default=False, description="lowercase before tokenizing (the tokenizer may also)")


class OnnxManifest(_Frozen):
    """``grounded-onnx.json``: what the exported model is and how to feed it."""

    format: Literal["grounded-onnx/1"] = "grounded-onnx/1"
    name: str = Field(description="the source model's name (settings.model at export)")
    source_backend: Literal["open_clip", "transformers"]
    pretrained: str = ""
    dimension: int = Field(ge=1)
    image_graph: str = "image.onnx"
    text_graph: str = "text.onnx"
    image: ImagePreprocessSpec
    text: TextSpec
    logit_scale: float | None = Field(
        default=None,
        gt=0,
        description="exp of the source model's learned logit_scale: the attribute captioner reads its "
        "probabilities at this temperature, as it does with the torch model (None: the checkpoint has none)",
    )


def read_manifest(directory: Path) -> OnnxManifest:
    """Parse ``directory/grounded-onnx.json`` (raises ``OSError`` / ``ValidationError``)."""
    return OnnxManifest.model_validate_json((directory / MANIFEST_FILE).read_text(encoding="utf-8"))
