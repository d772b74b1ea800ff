"""Fixtures of the protocol tier: ``target``, the Weaviate a fidelity case runs against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.weaviate_target import TARGETS, WeaviateTarget, open_target


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WeaviateTarget]:
    """The in-process fake Weaviate, and a real one (marked integration) when ``WEAVIATE_URL`` is set."""
    yield from open_target(request.param, monkeypatch)
