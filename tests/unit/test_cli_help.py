"""Issue 14, point 11: each command's ``--help`` lists the settings it reads, not all 80.

The flags of the other settings groups still parse (scripts pass one set of flags to several
commands), and ``--help-all`` lists them; the documentation only shows a command with flags
that its own ``--help`` lists.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from plugin.cli import build_parser, main
from plugin.cli._common import plugin_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every leaf command ("ingest", "index build", ...) and its parser."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, path: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, [*path, name])
                return
        found[" ".join(path)] = parser

    walk(build_parser(), [])
    return found


COMMANDS = _commands()


def _listed(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions if a.help != argparse.SUPPRESS for o in a.option_strings}


def _help(command: str, capsys: pytest.CaptureFixture[str], flag: str = "--help") -> str:
    with pytest.raises(SystemExit) as stopped:
        main([*command.split(), flag])
    assert stopped.value.code == 0
    return capsys.readouterr().out


def test_ingest_help_leaves_out_the_servers_flags(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("ingest", capsys)
    for flag in ("--graphql-port", "--ui-port", "--http-port", "--fusion-template"):
        assert flag not in text
    for flag in (
        "--weaviate-url",
        "--data-dir",
        "--model",
        "--weaviate-quantizer",
        "--allow-private-image-urls",
    ):
        assert flag in text
    assert "--help-all lists them" in text


@pytest.mark.parametrize(("command", "flag"), [("graphql", "--graphql-port"), ("ui", "--ui-port")])
def test_a_server_command_lists_its_own_port(
    command: str, flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert flag in _help(command, capsys)


def test_search_help_leaves_out_import_and_index_creation_flags(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("search", capsys)
    assert "--weaviate-quantizer" not in text and "--image-fetch-timeout-s" not in text
    assert "--lance-nprobes" in text and "--weaviate-tenant" in text and "--image-weight" in text


def test_a_hidden_flag_still_parses_and_reaches_the_settings(tmp_path: Path) -> None:
    catalog = tmp_path / "c.jsonl"  # the catalog is checked while parsing: it must be there
    catalog.touch()
    args = build_parser().parse_args(["ingest", str(catalog), "--ui-port", "1", "--graphql-port", "2"])
    settings = plugin_settings(args)
    assert (settings.ui_port, settings.graphql_port) == (1, 2)


def test_help_all_lists_what_help_leaves_out(capsys: pytest.CaptureFixture[str]) -> None:
    text = _help("ingest", capsys, "--help-all")
    assert "--graphql-port" in text and "--ui-port" in text and "GraphQL endpoint settings" in text


SERVER_FLAGS = {
    "serve": {"--http-port", "--grpc-port", "--api-key", "--log-level"},
    "graphql": {"--graphql-port", "--graphql-host", "--graphql-api-key"},
    "ui": {"--ui-port", "--ui-host"},
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_only_a_server_command_lists_its_servers_flags(command: str) -> None:
    # Before the groups every command with settings listed all of them, 80 flags.
    listed = _listed(COMMANDS[command])
    for server, flags in SERVER_FLAGS.items():
        if server == command:
            assert flags <= listed
        else:
            assert not flags & listed, server


def test_every_settings_command_offers_help_all() -> None:
    for name, parser in COMMANDS.items():
        hides = any(a.help == argparse.SUPPRESS for a in parser._actions)
        assert hides == ("--help-all" in _listed(parser)), name


def _documented_uses() -> list[tuple[str, str, str]]:
    """(where, command, flag) for each flag passed to a ``grounded`` command in the docs."""
    files = [REPO_ROOT / "README.md", REPO_ROOT / "Makefile", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    names = sorted(COMMANDS, key=len, reverse=True)  # "index build" before "index"
    uses = []
    for path in files:
        text = re.sub(r"\\\n\s*", " ", path.read_text(encoding="utf-8"))  # join continued lines
        for number, line in enumerate(text.splitlines(), 1):
            for match in re.finditer(r"grounded\s+([a-z][a-z0-9-]*(?:\s+[a-z][a-z0-9-]*)?)", line):
                command = next((n for n in names if f"{match.group(1)} ".startswith(f"{n} ")), None)
                if command is None:
                    continue
                rest = re.split(r"grounded\s|\||;|&&|`", line[match.end() :])[0]
                where = f"{path.relative_to(REPO_ROOT)}:{number}"
                uses += [(where, command, f) for f in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", rest)]
    return uses


def test_the_docs_pass_each_command_only_flags_its_help_lists() -> None:
    uses = _documented_uses()
    assert len(uses) > 20, "the docs' grounded command lines were not found"
    assert [u for u in uses if u[2] not in _listed(COMMANDS[u[1]])] == []
