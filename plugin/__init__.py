"""Grounded's Weaviate side: product stores, ingestion, composed search, the demo and the CLI.

The public names below are imported lazily, so that ``import plugin`` stays cheap and using the
embedded store never loads the Weaviate client (or the reverse). Each capability is a package
whose ``__init__`` is its face (``plugin.encoder``, ``plugin.store``, ``plugin.ingest``,
``plugin.search``, ...); the names here are the SDK's short list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plugin.encoder import LocalEncoder, open_encoder
    from plugin.ingest import IngestReport, ingest_catalog
    from plugin.search import GroundedResult, near_grounded
    from plugin.session import Session, open_session
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
    "Session",
    "ingest_catalog",
    "near_grounded",
    "open_encoder",
    "open_session",
    "open_store",
]


def lazy_exports(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` (PEP 562) that imports each public name from its home module on
    first use: a package face can list heavy names (torch, the Weaviate client) without loading
    them for callers that never touch them."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(home), name)

    return __getattr__


__getattr__ = lazy_exports(
    "plugin",
    {
        "GroundedResult": "plugin.search",
        "IngestReport": "plugin.ingest",
        "LocalEncoder": "plugin.encoder",
        "PluginSettings": "plugin.settings",
        "ProductFilter": "plugin.store",
        "ProductStore": "plugin.store",
        "SearchHit": "plugin.store",
        "Session": "plugin.session",
        "ingest_catalog": "plugin.ingest",
        "near_grounded": "plugin.search",
        "open_encoder": "plugin.encoder",
        "open_session": "plugin.session",
        "open_store": "plugin.store",
    },
)
