"""The embedded store: one LanceDB table on local disk (the default; no server).

``store`` is the :class:`~plugin.store.ProductStore` implementation; ``index`` its ANN and
scalar indexes, ``sql`` the filter translation, ``upkeep`` compaction, migrations and the model
recorded with the table.
"""

from plugin.store.lance.index import IndexPolicy, IndexStatus, IndexType
from plugin.store.lance.store import LanceStore

__all__ = ["IndexPolicy", "IndexStatus", "IndexType", "LanceStore"]
