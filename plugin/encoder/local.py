"""The in-process pipeline: the service's :class:`Engine` running inside this process.

The embedded default needs no server: ``LocalEncoder`` owns a private event loop in a daemon
thread, starts the engine there (its batchers belong to that loop) and exposes the synchronous
:class:`~plugin.encoder.protocol.QueryEncoder` methods by submitting coroutines to it. With
``service_address`` configured, :func:`plugin.encoder.open_encoder` returns the gRPC client instead.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from types import TracebackType
from typing import Any, TypeVar

import numpy as np

from schemas.model_info import ModelInfo
from schemas.wire import ComposeOptions, ComposeResult
from vectorizer_service import Engine, ServiceSettings, Vectors

__all__ = ["LocalEncoder"]

_T = TypeVar("_T")


class LocalEncoder:
    """A :class:`QueryEncoder` over an :class:`Engine` in this process.

    Construction loads the models (``ModelUnavailableError`` when that fails) and returns once
    the engine is ready. Pass ``engine`` to wrap one built with explicit components (tests).
    Call :meth:`close` (or use ``with``) to stop the engine and its thread.
    ``compose_models=False`` loads the embedding model alone (no background remover or
    captioner): enough for text queries, and seconds faster to start.
    """

    def __init__(
        self, settings: ServiceSettings, *, engine: Engine | None = None, compose_models: bool = True
    ) -> None:
        self._settings = settings
        self._engine = engine if engine is not None else Engine(settings, load_compose_models=compose_models)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="grounded-engine", daemon=True)
        self._thread.start()
        self._closed = False
        try:
            self._call(self._engine.start())
        except BaseException:
            self.close()
            raise

    @property
    def engine(self) -> Engine:
        return self._engine

    def model_info(self) -> ModelInfo:
        return self._engine.info

    def embed_images(self, images: Sequence[bytes]) -> Vectors:
        """Embed encoded image files, in chunks within the engine's per-request limit."""
        return self._chunked(list(images), lambda chunk: self._engine.embed([], chunk), "image_vectors")

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        return self._chunked(list(texts), lambda chunk: self._engine.embed(chunk, []), "text_vectors")

    def compose(self, image: bytes | None, text: str, options: ComposeOptions | None = None) -> ComposeResult:
        return self._call(self._engine.compose(image, text, options or ComposeOptions()))

    def close(self) -> None:
        """Stop the engine, then the loop thread. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._loop.is_running():
                asyncio.run_coroutine_threadsafe(self._engine.stop(), self._loop).result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> LocalEncoder:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._closed:
            coroutine.close()
            raise RuntimeError("the encoder is closed")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def _chunked(self, items: list[Any], embed: Any, field: str) -> Vectors:
        size = self._settings.max_items_per_request
        parts = [getattr(self._call(embed(items[i : i + size])), field) for i in range(0, len(items), size)]
        if not parts:
            return np.zeros((0, self._engine.info.dimension), dtype=np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)
