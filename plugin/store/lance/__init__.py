"""The embedded store: one LanceDB table on local disk (the default; no server).

``store`` is the :class:`~plugin.store.ProductStore` implementation; ``index`` its ANN and
scalar indexes, ``sql`` the filter translation, ``upkeep`` compaction, migrations and the model
recorded with the table.
"""

from plugin.store.lance._deferred import NAMESPACE_CLIENT, defer_package_body

# Before anything imports lancedb: its namespace REST client's body costs ~0.8 s (_deferred).
defer_package_body(NAMESPACE_CLIENT)

from plugin.store.lance.index import IndexPolicy, IndexStatus, IndexType  # noqa: E402
from plugin.store.lance.store import LanceStore  # noqa: E402

__all__ = ["IndexPolicy", "IndexStatus", "IndexType", "LanceStore"]
