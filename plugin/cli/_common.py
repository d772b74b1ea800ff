"""What every command module shares: exit codes, settings flags, the subcommand factory."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from plugin.settings import PluginSettings
from vectorizer_service import ServiceSettings, add_settings_arguments, settings_from_namespace

__all__ = [
    "EXIT_ERROR",
    "EXIT_NO_MATCH",
    "EXIT_OK",
    "EXIT_ROWS_FAILED",
    "EXIT_USAGE",
    "MODELS",
    "STORE",
    "AddCommand",
    "Commands",
    "attr_pair",
    "plugin_settings",
    "service_settings",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ROWS_FAILED = 0, 1, 2, 3
EXIT_NO_MATCH = 4
"""A search that found nothing (stderr says which filter emptied it): scripts can tell an empty
answer from a list of products without parsing the output, as ``grep`` does with its 1 (taken
here by errors)."""

Run = Callable[[argparse.Namespace], int]

# Settings groups (PluginSettings.setting_groups, ServiceSettings.setting_groups) that many
# commands read together.
STORE = ("store-backend", "store", "data", "weaviate", "lance")
"""Opening the product store: which one, its URL and collection, its folder, the Weaviate
connection, LanceDB's indexes."""
MODELS = ("service", "model", "batching", "limits")
"""Embedding: over gRPC with ``--service-address``, else the engine in this process."""


class AddCommand(Protocol):
    """Adds one subcommand with the settings groups it reads; returns its parser."""

    def __call__(
        self, name: str, help_text: str, *, settings: Sequence[str] = ()
    ) -> argparse.ArgumentParser: ...


class Commands:
    """The ``grounded`` subcommands; command modules register theirs through :meth:`add`."""

    def __init__(self, subparsers: argparse._SubParsersAction[Any]) -> None:
        self.subparsers = subparsers
        self._groups: dict[str, Commands] = {}

    def group(self, name: str, help_text: str) -> Commands:
        """A command group (``grounded models ...``), created on first use; several modules may
        add commands to the same group."""
        if name not in self._groups:
            parser = self.subparsers.add_parser(name, help=help_text, allow_abbrev=False)
            dest = f"{name.replace('-', '_')}_command"
            nested = parser.add_subparsers(dest=dest, required=True, metavar=dest.upper())
            self._groups[name] = Commands(nested)
        return self._groups[name]

    def add(self, name: str, help_text: str, *, settings: Sequence[str] = ()) -> argparse.ArgumentParser:
        """A subcommand whose ``--help`` lists the settings groups in ``settings``.

        It accepts every flag of each settings class that one of those groups belongs to (so
        a flag meant for another command parses, unlisted); with no groups, no settings flags.
        """
        sub: argparse.ArgumentParser = self.subparsers.add_parser(
            name, help=help_text, description=help_text, allow_abbrev=False
        )
        classes = [c for c in (PluginSettings, ServiceSettings) if set(settings) & set(c.setting_groups)]
        if settings and not classes:
            raise ValueError(f"{name}: unknown settings groups {', '.join(settings)}")
        if classes:
            add_settings_arguments(sub, classes, show=settings)
        # plugin.cli._checks.check_model_files looks for the model's files before the command
        # runs, for the commands that load one.
        sub.set_defaults(reads_model_settings="model" in settings)
        return sub


def plugin_settings(args: argparse.Namespace) -> PluginSettings:
    return settings_from_namespace(PluginSettings, args)


def service_settings(args: argparse.Namespace) -> ServiceSettings:
    return settings_from_namespace(ServiceSettings, args)


def attr_pair(value: str) -> tuple[str, str]:
    """``key=value`` for repeatable ``--attr`` options."""
    key, sep, val = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {value!r}")
    return key.strip(), val.strip()
