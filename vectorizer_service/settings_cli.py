"""Command-line flags generated from a pydantic-settings class: one ``--field-name`` per field.

Every environment variable ``<PREFIX><FIELD>`` thereby has a flag. Flags default to "not given",
so a settings object built with :func:`settings_from_args` takes the flags that were given and
leaves everything else to the environment and the defaults.
"""

from __future__ import annotations

import argparse
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

__all__ = ["add_settings_arguments", "settings_from_args"]

_S = TypeVar("_S", bound=BaseSettings)


def add_settings_arguments(parser: argparse.ArgumentParser, settings: type[BaseSettings], title: str) -> None:
    """Add one option per field of ``settings`` to ``parser``, in a group named ``title``."""
    prefix = str(settings.model_config.get("env_prefix", ""))
    group = parser.add_argument_group(f"{title} (each also read from {prefix}<NAME>)")
    for name, field in settings.model_fields.items():
        flag = "--" + name.replace("_", "-")
        if flag in parser._option_string_actions:
            # The same field in both settings classes (one env var feeds both): one flag, too.
            continue
        env = f"{prefix}{name.upper()}"
        secret = SecretStr in (field.annotation, *typing.get_args(field.annotation))
        # A default_factory default depends on where the process runs: the description says it.
        computed = field.default_factory is not None
        shown = "" if field.default is None or secret or computed else f", default {field.default}"
        group.add_argument(
            flag,
            dest=name,
            default=argparse.SUPPRESS,
            help=f"{field.description or name} [env {env}{shown}]".replace("%", "%%"),
            **_argument_type(field),
        )


def settings_from_args(settings: type[_S], args: argparse.Namespace) -> _S:
    """``settings`` from the environment, overridden by the flags given on the command line."""
    given = {name: value for name, value in vars(args).items() if name in settings.model_fields}
    return settings(**given)


def _argument_type(field: FieldInfo) -> dict[str, Any]:
    annotation: Any = field.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        annotation = args[0]  # T | None: the flag takes a T
        args = list(typing.get_args(annotation))
    if annotation is bool:
        return {"action": argparse.BooleanOptionalAction}
    if typing.get_origin(annotation) is Literal:
        return {"choices": args, "type": type(args[0])}
    if annotation in (int, float, Path):
        return {"type": annotation}
    return {"type": str}  # str, and SecretStr (pydantic wraps the string)
