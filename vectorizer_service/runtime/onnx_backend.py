"""The onnx backend: exported CLIP towers on ONNX Runtime, with no torch on the import path.

The folder comes from ``grounded models export-onnx`` (:mod:`~vectorizer_service.runtime.onnx_export`):
two graphs, a ``tokenizers`` JSON file and ``grounded-onnx.json``. Vectors equal the torch
backend's to float tolerance (``tests/model/test_runtime_onnx.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import ValidationError

from schemas.errors import ModelUnavailableError
from vectorizer_service.runtime.onnx_manifest import MANIFEST_FILE, OnnxManifest, read_manifest
from vectorizer_service.runtime.onnx_preprocess import ImagePreprocessor, Pixels, TextEncoder
from vectorizer_service.runtime.protocol import ModelInfo, Vectors
from vectorizer_service.settings import ServiceSettings

__all__ = ["OnnxEmbedder", "load_onnx_embedder"]

log = logging.getLogger(__name__)

_HOW_TO_EXPORT = (
    "Export one with `grounded models export-onnx --model <model> --out <dir>` (needs the torch "
    "extra) and serve it with --backend onnx --model <dir>."
)


def _unit_rows(features: Any) -> Vectors:
    rows = np.asarray(features, dtype=np.float32)
    norms = np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), np.float32(1e-12))
    result: Vectors = (rows / norms).astype(np.float32, copy=False)
    return result


class OnnxEmbedder:
    """An :class:`~vectorizer_service.runtime.protocol.Embedder` over two ONNX Runtime sessions."""

    def __init__(
        self, directory: Path, manifest: OnnxManifest, image_session: Any, text_session: Any
    ) -> None:
        self._manifest = manifest
        self._image = image_session
        self._text = text_session
        self._preprocess = ImagePreprocessor(manifest.image)
        self._tokenize = TextEncoder(directory, manifest.text)
        self._image_input = image_session.get_inputs()[0].name
        self._info = ModelInfo(
            name=manifest.name,
            backend="onnx",
            pretrained=manifest.pretrained,
            dimension=manifest.dimension,
            device="cpu",
            dtype="float32",
            context_length=manifest.text.context_length,
            text_trimming=manifest.text.padding == "longest",
            source_backend=manifest.source_backend,
        )

    @property
    def info(self) -> ModelInfo:
        """Name, dimension, context length and whether batches are trimmed to their longest text."""
        return self._info

    @property
    def logit_scale(self) -> float | None:
        """The source model's learned temperature, carried by the export (None from an export
        that predates it, or a checkpoint without one)."""
        return self._manifest.logit_scale

    def prepare_image(self, image: Image.Image) -> Pixels:
        """The source model's preprocessing of one image, in numpy (thread-safe)."""
        return self._preprocess(image)

    def encode_images(self, images: Sequence[Image.Image]) -> Vectors:
        """One unit vector per image, in order."""
        return self.encode_prepared([self.prepare_image(image) for image in images])

    def encode_prepared(self, images: Sequence[Pixels]) -> Vectors:
        """One unit vector per image prepared by :meth:`prepare_image`, in order."""
        if not images:
            return np.zeros((0, self._info.dimension), np.float32)
        pixels = np.ascontiguousarray(np.stack(list(images)), dtype=np.float32)
        return _unit_rows(self._image.run(None, {self._image_input: pixels})[0])

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        """One unit vector per text, in order; texts longer than the context are truncated."""
        if not texts:
            return np.zeros((0, self._info.dimension), np.float32)
        return _unit_rows(self._text.run(None, self._tokenize(texts))[0])


def session_options(threads: int | None) -> Any:
    """ONNX Runtime options: ``threads`` intra-op threads (default: ONNX Runtime's), one
    inter-op thread, and no spinning so idle threads leave the cores to the rest."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def load_onnx_embedder(settings: ServiceSettings) -> OnnxEmbedder:
    """Load the exported folder ``settings.model`` on the CPU.

    Raises :class:`~schemas.errors.ModelUnavailableError` naming the folder when it is missing,
    has no valid manifest, or a graph cannot be loaded.
    """
    directory = Path(settings.model).expanduser()
    if not (directory / MANIFEST_FILE).is_file():
        raise ModelUnavailableError(
            f"onnx model {settings.model!r}: no {MANIFEST_FILE} in that folder. {_HOW_TO_EXPORT}"
        )
    if settings.device not in ("auto", "cpu"):
        raise ModelUnavailableError(f"the onnx backend runs on the CPU; got --device {settings.device!r}")
    try:
        manifest = read_manifest(directory)
    except (OSError, ValidationError) as exc:
        raise ModelUnavailableError(f"onnx model {settings.model!r}: bad {MANIFEST_FILE}: {exc}") from exc
    import onnxruntime as ort

    options = session_options(settings.torch_threads)
    providers = ["CPUExecutionProvider"]
    try:
        image = ort.InferenceSession(str(directory / manifest.image_graph), options, providers=providers)
        text = ort.InferenceSession(str(directory / manifest.text_graph), options, providers=providers)
        embedder = OnnxEmbedder(directory, manifest, image, text)
    except Exception as exc:  # onnxruntime and tokenizers raise their own exception types
        raise ModelUnavailableError(f"onnx model {settings.model!r} cannot be loaded: {exc}") from exc
    log.info(
        "onnx model %s (%s, %d-d) from %s",
        manifest.name,
        manifest.source_backend,
        manifest.dimension,
        directory,
    )
    return embedder
