"""``grounded demo``: a product-world catalog, ingested and queried end to end."""

from __future__ import annotations

from plugin.demo.catalog import DemoQuery, SampleCatalog, build_sample_catalog
from plugin.demo.page import QueryOutcome, render_page
from plugin.demo.run import DEMO_COLLECTION, DemoResult, run_demo, zero_shot_check

__all__ = [
    "DEMO_COLLECTION",
    "DemoQuery",
    "DemoResult",
    "QueryOutcome",
    "SampleCatalog",
    "build_sample_catalog",
    "render_page",
    "run_demo",
    "zero_shot_check",
]
