"""Integration tier: a real Weaviate (and Grounded service) from `docker compose up -d --wait`.

Runs only when ``WEAVIATE_URL`` is set (e.g. ``WEAVIATE_URL=http://localhost:8080``); otherwise
every test here is skipped with that reason. Optional: ``WEAVIATE_GRPC_PORT`` (50051),
``GROUNDED_SERVICE_ADDRESS`` (localhost:50052), ``GROUNDED_GRAPHQL_URL`` (http://localhost:8085),
``GROUNDED_CLIP_INFERENCE_URL`` (http://vectorizer:8000, as Weaviate sees the service).
"""

from __future__ import annotations

import os

import pytest

REASON = "integration tests need a real Weaviate: set WEAVIATE_URL (see docker-compose.yml, `make up`)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("WEAVIATE_URL"):
        return
    skip = pytest.mark.skip(reason=REASON)
    for item in items:
        if "tests/integration" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)
