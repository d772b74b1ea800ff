"""The Grounded vectorizer service: CLIP embeddings over HTTP (Weaviate's multi2vec-clip
contract) and gRPC, with dynamic batching and composed queries.

The core (``Engine``) imports neither FastAPI nor grpc; names are loaded on first use so that
``import vectorizer_service.settings`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from vectorizer_service.settings import ServiceSettings

if TYPE_CHECKING:
    from vectorizer_service.engine import EmbedResult, Engine
    from vectorizer_service.serve import add_serve_arguments, serve, settings_from_args

__all__ = ["EmbedResult", "Engine", "ServiceSettings", "add_serve_arguments", "serve", "settings_from_args"]

_LAZY = {
    "EmbedResult": "vectorizer_service.engine",
    "Engine": "vectorizer_service.engine",
    "add_serve_arguments": "vectorizer_service.serve",
    "serve": "vectorizer_service.serve",
    "settings_from_args": "vectorizer_service.serve",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
