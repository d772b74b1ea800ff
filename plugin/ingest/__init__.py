"""Ingestion: a catalog file (CSV / JSONL) read and validated row by row, images fetched
(local paths or public URLs), auto-tagged, embedded and written to a store, with a report that
names every row that failed.

Modules: ``catalog`` (reading: ``records`` the row and its limits, ``lines`` bounded reading,
``csv_rows`` the CSV format), ``image_fetch``, ``tagging``, ``report``, ``pipeline``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from plugin import lazy_exports

if TYPE_CHECKING:
    from plugin.ingest.catalog import CatalogRow, count_rows, read_catalog
    from plugin.ingest.image_fetch import ImageFetcher
    from plugin.ingest.pipeline import ingest_catalog
    from plugin.ingest.report import IngestReport, RowFailure, write_report
    from plugin.ingest.tagging import AutoTagger

__all__ = [
    "AutoTagger",
    "CatalogRow",
    "ImageFetcher",
    "IngestReport",
    "RowFailure",
    "count_rows",
    "ingest_catalog",
    "read_catalog",
    "write_report",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "AutoTagger": "plugin.ingest.tagging",
        "CatalogRow": "plugin.ingest.catalog",
        "ImageFetcher": "plugin.ingest.image_fetch",
        "IngestReport": "plugin.ingest.report",
        "RowFailure": "plugin.ingest.report",
        "count_rows": "plugin.ingest.catalog",
        "ingest_catalog": "plugin.ingest.pipeline",
        "read_catalog": "plugin.ingest.catalog",
        "write_report": "plugin.ingest.report",
    },
)
