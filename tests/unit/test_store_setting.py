"""The ``store`` setting (``GROUNDED_STORE``, ``--store``) names the product store; unset, Weaviate
is used when a Weaviate URL is set and the embedded table otherwise, as before it existed."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

import plugin.encoder
from plugin.cli import EXIT_OK, EXIT_USAGE, build_parser, main
from plugin.settings import PluginSettings
from plugin.store import open_store, store_description
from plugin.store.lance.store import LanceStore
from schemas.errors import InvalidInputError

# Nothing listens here: a command that tried Weaviate would fail to connect.
UNUSED_URL = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def _no_store_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("GROUNDED_STORE", "GROUNDED_WEAVIATE_URL"):
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a model fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        pytest.fail("a model was loaded")

    monkeypatch.setattr(plugin.encoder, "open_encoder", refuse)


def test_unset_keeps_the_old_default(tmp_path: Path) -> None:
    assert PluginSettings(data_dir=tmp_path).store_backend() == "embedded"
    with_url = PluginSettings(data_dir=tmp_path, weaviate_url=UNUSED_URL)
    assert with_url.store_backend() == "weaviate"
    assert store_description(with_url).startswith(f"Weaviate at {UNUSED_URL}")


def test_embedded_wins_over_a_weaviate_url(tmp_path: Path) -> None:
    settings = PluginSettings(data_dir=tmp_path, weaviate_url=UNUSED_URL, store="embedded")
    assert settings.store_backend() == "embedded"
    assert store_description(settings).startswith("embedded LanceDB in")
    store = open_store(settings, dimension=8)
    try:
        assert isinstance(store, LanceStore)
    finally:
        store.close()


def test_the_environment_names_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GROUNDED_WEAVIATE_URL", UNUSED_URL)
    monkeypatch.setenv("GROUNDED_STORE", "embedded")
    assert PluginSettings(data_dir=tmp_path).store_backend() == "embedded"
    monkeypatch.setenv("GROUNDED_STORE", "lance")
    with pytest.raises(ValidationError, match="store"):
        PluginSettings(data_dir=tmp_path)


def test_weaviate_without_a_url_is_refused_naming_the_settings(tmp_path: Path) -> None:
    settings = PluginSettings(data_dir=tmp_path, store="weaviate")
    for use in (settings.store_backend, lambda: store_description(settings), lambda: open_store(settings)):
        with pytest.raises(InvalidInputError, match=r"GROUNDED_STORE.*GROUNDED_WEAVIATE_URL"):
            use()


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "--text", "a red dress"],
        ["duplicates"],
        ["ui"],
        ["demo", "--no-progress"],
        ["index", "status"],
    ],
    ids=lambda argv: argv[0],
)
def test_commands_refuse_weaviate_without_a_url_before_a_model_loads(
    argv: list[str], tmp_path: Path, no_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main([*argv, "--store", "weaviate", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert "GROUNDED_STORE" in err and "weaviate_url is not set" in err
    assert not (tmp_path / "demo").exists()  # the demo stopped before building its catalog


def test_ingest_refuses_weaviate_without_a_url_before_a_model_loads(
    tmp_path: Path, no_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text('{"id": "p1", "title": "a shirt", "image": "p1.png"}\n', encoding="utf-8")
    code = main(["ingest", str(catalog), "--store", "weaviate", "--data-dir", str(tmp_path)])
    assert code == EXIT_USAGE
    assert "GROUNDED_STORE" in capsys.readouterr().err


def test_an_explicit_embedded_store_ignores_the_weaviate_url(
    tmp_path: Path, no_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Commands that need no model (duplicates and index on the embedded table) run on it,
    # although a Weaviate URL is set where nothing listens.
    table = LanceStore(tmp_path, dimension=8, collection="Products")
    table.create_collection()
    table.close()
    common = ["--data-dir", str(tmp_path), "--collection", "Products", "--weaviate-url", UNUSED_URL]
    assert main(["duplicates", "--store", "embedded", *common]) == EXIT_OK
    assert "products: 0, groups: 0" in capsys.readouterr().out
    assert main(["index", "status", "--store", "embedded", *common]) == EXIT_OK
    assert "rows: 0" in capsys.readouterr().out
    # Without --store, the URL selects Weaviate: the index commands refuse it, as before.
    assert main(["index", "status", *common]) == EXIT_USAGE
    assert "Weaviate builds its own indexes" in capsys.readouterr().err


def _listed(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings}


def _parser(*command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    for name in command:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


@pytest.mark.parametrize(
    "command", [("search",), ("ingest",), ("ui",), ("demo",), ("duplicates",), ("index", "build")]
)
def test_store_commands_list_the_flag(command: tuple[str, ...]) -> None:
    assert "--store" in _listed(_parser(*command))


@pytest.mark.parametrize("command", [("graphql",), ("serve",), ("eval",)])
def test_commands_that_do_not_choose_a_store_do_not_list_it(command: tuple[str, ...]) -> None:
    # The GraphQL endpoint always serves Weaviate; serve and eval use no product store.
    assert "--store" not in _listed(_parser(*command))
