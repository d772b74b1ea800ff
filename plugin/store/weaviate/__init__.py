"""The Weaviate store: a collection reached with weaviate-client (v4), vectors computed by the
plugin or by Weaviate's multi2vec-clip module calling our service.

``store`` is the :class:`~plugin.store.ProductStore` implementation, ``connect`` opens it from
settings; ``schema`` the collection definition and filters, ``index`` the vector index and
quantizer, ``cluster`` replication and sharding, ``drift`` checks of an existing collection
against ours, ``identity`` the model recorded in its description, ``batches`` request sizing,
``multi2vec`` how Weaviate's module combines an object's fields (mirrored for server-side mode).
"""

from plugin.store.weaviate.connect import connect_weaviate, weaviate_store
from plugin.store.weaviate.store import WeaviateStore

__all__ = ["WeaviateStore", "connect_weaviate", "weaviate_store"]
