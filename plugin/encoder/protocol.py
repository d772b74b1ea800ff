"""How the plugin reaches the models: in-process (embedded default) or the running service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from schemas.model_info import ModelInfo
from schemas.wire import ComposeOptions, ComposeResult
from vectorizer_service import Vectors


class QueryEncoder(Protocol):
    """Embeds catalog items and composes queries. ``GrpcEncoder`` talks to the service,
    ``LocalEncoder`` runs the service's engine in this process. Images are encoded files."""

    def model_info(self) -> ModelInfo: ...

    def embed_images(self, images: Sequence[bytes]) -> Vectors: ...

    def embed_texts(self, texts: Sequence[str]) -> Vectors: ...

    def compose(
        self, image: bytes | None, text: str, options: ComposeOptions | None = None
    ) -> ComposeResult: ...

    def close(self) -> None: ...
