"""Model runtime: the Embedder protocol, the open_clip and transformers backends, the loader.

``load_embedder`` and the random-weights helpers import torch; they are loaded on first use so
that code needing only the protocol or the fake (unit tests, transports) stays light, and so
are the protocol and the fake (numpy): a caller of a small submodule (``random_marker``, the
CLI's error hints) pays for none of them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vectorizer_service.runtime._open_clip_sources import OpenClipSource, resolve_open_clip_source
    from vectorizer_service.runtime.fake import FakeEmbedder
    from vectorizer_service.runtime.loader import load_embedder
    from vectorizer_service.runtime.protocol import Embedder, ModelInfo, Vectors
    from vectorizer_service.runtime.random_weights import (
        TINY_OPEN_CLIP_CONFIG,
        save_random_hf_clip,
        save_random_hf_siglip,
        save_random_open_clip,
    )

__all__ = [
    "TINY_OPEN_CLIP_CONFIG",
    "Embedder",
    "FakeEmbedder",
    "ModelInfo",
    "OpenClipSource",
    "Vectors",
    "load_embedder",
    "resolve_open_clip_source",
    "save_random_hf_clip",
    "save_random_hf_siglip",
    "save_random_open_clip",
]

_LAZY = {
    "FakeEmbedder": "vectorizer_service.runtime.fake",
    "Embedder": "vectorizer_service.runtime.protocol",
    "ModelInfo": "vectorizer_service.runtime.protocol",
    "Vectors": "vectorizer_service.runtime.protocol",
    "OpenClipSource": "vectorizer_service.runtime._open_clip_sources",
    "resolve_open_clip_source": "vectorizer_service.runtime._open_clip_sources",
    "load_embedder": "vectorizer_service.runtime.loader",
    "TINY_OPEN_CLIP_CONFIG": "vectorizer_service.runtime.random_weights",
    "save_random_hf_clip": "vectorizer_service.runtime.random_weights",
    "save_random_hf_siglip": "vectorizer_service.runtime.random_weights",
    "save_random_open_clip": "vectorizer_service.runtime.random_weights",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
