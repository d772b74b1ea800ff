"""Fixtures of the service tier: a started FakeEmbedder engine and an HTTP client over it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.support.service import http_client, make_engine
from vectorizer_service.engine import Engine


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    engine = make_engine()
    await engine.start()
    yield engine
    await engine.stop()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with http_client(make_engine()) as client:
        yield client
