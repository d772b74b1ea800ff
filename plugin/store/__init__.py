"""Product stores: Weaviate (production) and an embedded LanceDB table (the default).

Both implement :class:`ProductStore` with the same semantics; :func:`open_store` opens the one
the settings select (:meth:`PluginSettings.store_backend`: the ``store`` setting, else Weaviate
when ``weaviate_url`` is set). Store modules are imported lazily so that using one never loads
the other's client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin.settings import PluginSettings
from plugin.store.protocol import (
    SCAN_BATCH,
    ProductFilter,
    ProductRow,
    ProductStore,
    RowError,
    SearchHit,
    StoredProduct,
    VectorBatch,
)
from schemas.errors import InvalidInputError

if TYPE_CHECKING:
    from plugin.store.lance.index import IndexPolicy
    from plugin.store.lance.store import LanceStore

__all__ = [
    "SCAN_BATCH",
    "ProductFilter",
    "ProductRow",
    "ProductStore",
    "RowError",
    "SearchHit",
    "StoredProduct",
    "VectorBatch",
    "open_embedded_store",
    "open_store",
    "store_description",
]


def open_store(
    settings: PluginSettings,
    *,
    dimension: int | None = None,
    model: str | None = None,
    weights_sha256: str | None = None,
) -> ProductStore:
    """The configured store (:meth:`PluginSettings.store_backend`): Weaviate at
    ``settings.weaviate_url``, or the embedded LanceDB table in ``settings.data_dir``.

    ``dimension`` (the model's vector size) is required by the embedded store, which builds its
    vector column from it; Weaviate learns it from the first object and ignores it. ``model``
    (:func:`plugin.store.fingerprint.model_identity`) lets either store record the model with
    the table or collection and refuse one another model built; ``weights_sha256``
    (:attr:`schemas.model_info.ModelInfo.weights_sha256`) lets it refuse one the same model
    folder built with other weights. Weaviate records and compares them only where the plugin
    computes the vectors (``vectorization`` 'plugin').
    """
    if settings.store_backend() == "weaviate":
        from plugin.store.weaviate.connect import weaviate_store

        return weaviate_store(settings, model=model, weights_sha256=weights_sha256)
    if dimension is None:
        raise InvalidInputError("the embedded store needs the model's vector dimension")
    from plugin.store.lance.store import LanceStore

    return LanceStore(
        settings.data_dir,
        dimension=dimension,
        collection=settings.collection,
        index_policy=_policy(settings),
        model=model,
        weights_sha256=weights_sha256,
    )


def open_embedded_store(settings: PluginSettings) -> LanceStore:
    """The existing embedded table, with the vector dimension it was built with (no model is
    loaded: for index management). A missing table is a clear :class:`NotFoundError`."""
    from plugin.store.lance.store import LanceStore

    return LanceStore.open_existing(
        settings.data_dir, collection=settings.collection, index_policy=_policy(settings)
    )


def _policy(settings: PluginSettings) -> IndexPolicy:
    from plugin.store.lance.index import IndexPolicy

    return IndexPolicy(
        index_type=settings.lance_index_type,
        auto_rows=settings.lance_index_rows,
        nprobes=settings.lance_nprobes,
        refine_factor=settings.lance_refine_factor,
        sketch_rows=settings.lance_filter_sketch_rows,
    )


def store_description(settings: PluginSettings) -> str:
    """One line naming the store ``settings`` select, for CLI output."""
    if settings.store_backend() == "weaviate":
        return f"Weaviate at {settings.weaviate_url}, collection {settings.collection!r}"
    return f"embedded LanceDB in {settings.data_dir}, collection {settings.collection!r}"
