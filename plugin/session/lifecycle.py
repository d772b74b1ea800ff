"""One lifecycle for the commands that embed and search: open the encoder, read its model once,
open the store for that model, and close both in reverse order whatever happens."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, overload

from plugin.encoder.protocol import QueryEncoder
from plugin.settings import PluginSettings
from plugin.store import ProductStore, open_embedded_store, open_store
from plugin.store.fingerprint import model_identity
from schemas.wire import ModelMeta
from vectorizer_service import ServiceSettings

__all__ = ["Session", "StoreSession", "open_session"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Session:
    """An open encoder, the model it runs (read once) and the store opened for that model."""

    encoder: QueryEncoder
    store: ProductStore
    model: ModelMeta

    @property
    def dimension(self) -> int:
        """The model's vector size, which the store's vectors share."""
        return self.model.dimension


@dataclass(frozen=True)
class StoreSession:
    """A store opened without a model (``open_session(..., load_model=False)``): Weaviate as it
    is, or the existing embedded table at the vector size it was built with."""

    store: ProductStore
    stored_dimension: int | None
    """The embedded table's vector size; ``None`` for Weaviate, which does not say it."""
    encoder: None = None
    model: None = None

    @property
    def dimension(self) -> int:
        """The stored vectors' size; only the embedded table knows it without a model."""
        if self.stored_dimension is None:
            raise RuntimeError("this store does not record its vector size: open the session with the model")
        return self.stored_dimension


@overload
def open_session(
    plugin: PluginSettings,
    service: ServiceSettings,
    *,
    load_model: Literal[True] = True,
    compose_models: bool = True,
    encoder: QueryEncoder | None = None,
) -> AbstractContextManager[Session]: ...


@overload
def open_session(
    plugin: PluginSettings, service: ServiceSettings, *, load_model: Literal[False]
) -> AbstractContextManager[StoreSession]: ...


@overload
def open_session(
    plugin: PluginSettings, service: ServiceSettings, *, load_model: bool, compose_models: bool = True
) -> AbstractContextManager[Session | StoreSession]: ...


def open_session(
    plugin: PluginSettings,
    service: ServiceSettings,
    *,
    load_model: bool = True,
    compose_models: bool = True,
    encoder: QueryEncoder | None = None,
) -> AbstractContextManager[Session | StoreSession]:
    """``with open_session(plugin, service) as session:`` the encoder, its model and the store.

    The store backend is resolved first (:meth:`PluginSettings.store_backend`), so a store setting
    that cannot work fails before a model loads. Then the encoder opens
    (:func:`plugin.encoder.open_encoder`; without the background remover and captioner when
    ``compose_models`` is false), its model info is read once, and the store opens with that
    model's dimension, identity (:func:`plugin.store.fingerprint.model_identity`) and weights hash,
    so either store refuses a table or collection another model (or other weights) built. On
    leaving, the store closes, then the encoder, also when opening the store failed; the original
    exception is never replaced.

    ``encoder``: an encoder the caller opened (``grounded ui`` and ``grounded demo`` fall back to
    another model when the configured one cannot load): the session takes it over and closes it
    like its own (check the store setting before opening it: :func:`plugin.store.store_description`
    does). ``load_model=False``: no model at all; the session is a :class:`StoreSession`
    with Weaviate, or with the existing embedded table (a missing one is a ``NotFoundError``).
    """
    if not load_model:
        if encoder is not None:
            raise ValueError("an encoder was given to a session without a model")
        return _store_session(plugin)
    return _session(plugin, service, compose_models=compose_models, encoder=encoder)


@contextlib.contextmanager
def _session(
    plugin: PluginSettings, service: ServiceSettings, *, compose_models: bool, encoder: QueryEncoder | None
) -> Iterator[Session]:
    if encoder is None:
        plugin.store_backend()  # a store setting that cannot work fails before the model loads
        from plugin.encoder import open_encoder

        encoder = open_encoder(plugin, service, compose_models=compose_models)
    with _closed_after(encoder.close):
        meta = encoder.model_info()
        store = open_store(
            plugin, dimension=meta.dimension, model=model_identity(meta), weights_sha256=meta.weights_sha256
        )
        with _closed_after(store.close):
            yield Session(encoder, store, meta)


@contextlib.contextmanager
def _store_session(plugin: PluginSettings) -> Iterator[StoreSession]:
    if plugin.store_backend() == "weaviate":
        store, dimension = open_store(plugin), None
    else:
        embedded = open_embedded_store(plugin)
        store, dimension = embedded, embedded.dimension
    with _closed_after(store.close):
        yield StoreSession(store, dimension)


@contextlib.contextmanager
def _closed_after(close: Callable[[], None]) -> Iterator[None]:
    """Call ``close`` on leaving. When the block failed, a failure to close is logged and the
    block's exception goes on: the reason a command stopped is never replaced by a cleanup's."""
    try:
        yield
    except BaseException:
        try:
            close()
        except Exception:
            log.warning("closing after an error failed too", exc_info=True)
        raise
    close()
