"""``grounded demo``: a sample catalog from bundled photos, ingested and queried end to end."""

from __future__ import annotations

from plugin.demo.catalog import DEMO_QUERIES, PHOTOS, DemoQuery, Photo, SampleCatalog, build_sample_catalog
from plugin.demo.page import QueryOutcome, render_page
from plugin.demo.run import DEMO_COLLECTION, DemoResult, run_demo, zero_shot_check

__all__ = [
    "DEMO_COLLECTION",
    "DEMO_QUERIES",
    "PHOTOS",
    "DemoQuery",
    "DemoResult",
    "Photo",
    "QueryOutcome",
    "SampleCatalog",
    "build_sample_catalog",
    "render_page",
    "run_demo",
    "zero_shot_check",
]
