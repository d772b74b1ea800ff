"""Search over a store: ``near_grounded`` (text, image or composed queries, one vector search)
and ``find_duplicates`` (near-duplicate product groups). The CLI, the search page, the GraphQL
endpoint and the evaluation all call these; none has a search path of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin import lazy_exports

if TYPE_CHECKING:
    from plugin.search.duplicates import DuplicateGroup, DuplicateReport, find_duplicates
    from plugin.search.query import (
        GroundedResult,
        GroundedWeaviateResult,
        near_grounded,
        near_grounded_collection,
        reference_image,
    )

__all__ = [
    "DuplicateGroup",
    "DuplicateReport",
    "GroundedResult",
    "GroundedWeaviateResult",
    "find_duplicates",
    "near_grounded",
    "near_grounded_collection",
    "reference_image",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "DuplicateGroup": "plugin.search.duplicates",
        "DuplicateReport": "plugin.search.duplicates",
        "find_duplicates": "plugin.search.duplicates",
        "GroundedResult": "plugin.search.query",
        "GroundedWeaviateResult": "plugin.search.query",
        "near_grounded": "plugin.search.query",
        "near_grounded_collection": "plugin.search.query",
        "reference_image": "plugin.search.query",
    },
)
