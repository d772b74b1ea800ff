"""``grounded demo`` opens its store through the commands' session: the demo collection records
the model like every command's store, and the demo runs again on the same data folder, with the
same model or another one."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import plugin.demo.run as demo_run
from plugin.demo import DEMO_COLLECTION, run_demo
from plugin.session import open_session
from plugin.settings import PluginSettings
from schemas.errors import InvalidInputError
from tests.support.fake_weaviate import FakeEncoder
from vectorizer_service import ServiceSettings


class NamedEncoder(FakeEncoder):
    """The fake encoder under another model name (same vectors, another identity)."""

    def __init__(self, name: str) -> None:
        super().__init__(dimension=16)
        self.name = name

    def model_info(self) -> Any:
        return super().model_info().model_copy(update={"name": self.name})


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The model each demo run gets, in order (the fake encoder under that name)."""
    names: list[str] = []
    monkeypatch.setattr(
        demo_run,
        "_open",
        lambda plugin, service, random_weights, console: (NamedEncoder(names.pop(0)), "configured"),
    )
    monkeypatch.delenv("GROUNDED_STORE", raising=False)
    monkeypatch.delenv("GROUNDED_WEAVIATE_URL", raising=False)
    yield names


def _demo(data_dir: Path) -> demo_run.DemoResult:
    return run_demo(
        PluginSettings(data_dir=data_dir),
        ServiceSettings(),
        progress=False,
        console=Console(file=io.StringIO()),
    )


def test_the_demo_runs_twice_and_its_store_records_the_model(tmp_path: Path, models: list[str]) -> None:
    models.extend(["model-a", "model-a", "model-b"])
    first = _demo(tmp_path)
    products = len(first.catalog.products)
    for again in (_demo(tmp_path), _demo(tmp_path)):  # the same model, then another one
        assert again.ingest.ok and again.ingest.store_count == products
    demo_settings = PluginSettings(data_dir=tmp_path, collection=DEMO_COLLECTION)
    with (
        open_session(demo_settings, ServiceSettings(), encoder=NamedEncoder("model-a")) as session,
        pytest.raises(InvalidInputError, match="was built with the model"),
    ):
        session.store.count()
    with open_session(demo_settings, ServiceSettings(), encoder=NamedEncoder("model-b")) as session:
        assert session.store.count() == products
