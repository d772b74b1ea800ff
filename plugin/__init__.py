"""Grounded's Weaviate side: product stores, ingestion, composed search, the demo and the CLI.

The public names below are imported lazily, so that ``import plugin`` stays cheap and using the
embedded store never loads the Weaviate client (or the reverse).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plugin.ingest import IngestReport, ingest_catalog
    from plugin.local_encoder import LocalEncoder, open_encoder
    from plugin.search import GroundedResult, near_grounded
    from plugin.settings import PluginSettings
    from plugin.store import ProductFilter, ProductStore, SearchHit, open_store

__all__ = [
    "GroundedResult",
    "IngestReport",
    "LocalEncoder",
    "PluginSettings",
    "ProductFilter",
    "ProductStore",
    "SearchHit",
    "ingest_catalog",
    "near_grounded",
    "open_encoder",
    "open_store",
]

_HOME = {
    "GroundedResult": "plugin.search",
    "IngestReport": "plugin.ingest",
    "LocalEncoder": "plugin.local_encoder",
    "PluginSettings": "plugin.settings",
    "ProductFilter": "plugin.store",
    "ProductStore": "plugin.store",
    "SearchHit": "plugin.store",
    "ingest_catalog": "plugin.ingest",
    "near_grounded": "plugin.search",
    "open_encoder": "plugin.local_encoder",
    "open_store": "plugin.store",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'plugin' has no attribute {name!r}")
    return getattr(import_module(_HOME[name]), name)
