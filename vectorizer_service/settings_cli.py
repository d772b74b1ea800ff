"""Command-line flags generated from pydantic-settings classes: one ``--field-name`` per field.

Every environment variable ``<PREFIX><FIELD>`` thereby has a flag. Flags default to "not given",
so a settings object built with :func:`settings_from_args` takes the flags that were given and
leaves everything else to the environment and the defaults.

A command lists only the settings groups it reads (:class:`GroupedSettings`); the flags of the
other groups still parse, so that a script or a Makefile passing one flag to several commands
keeps working, but ``--help`` leaves them out and ``--help-all`` shows them.
"""

from __future__ import annotations

import argparse
import functools
import types
import typing
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from vectorizer_service.settings import GroupedSettings, SettingsGroup

__all__ = ["HELP_ALL", "add_settings_arguments", "settings_from_args", "settings_from_namespace"]

_S = TypeVar("_S", bound=BaseSettings)

HELP_ALL = "--help-all"


class _HelpAll(argparse.Action):
    """``--help-all``: the help with the hidden settings flags shown, then exit."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, hidden: dict[argparse.Action, str], help: str
    ) -> None:
        # Like argparse's own --help: no value, nothing stored.
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, help=help
        )
        self._hidden = hidden

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        for action, text in self._hidden.items():
            action.help = text
        parser.epilog = None
        parser.print_help()
        parser.exit()


class _UsageWithoutSettings(argparse.HelpFormatter):
    """A usage line of the command's own options: the settings flags, dozens of them, are
    listed below it group by group (and would make the usage line alone 40 lines long)."""

    def __init__(self, prog: str, *, settings: frozenset[argparse.Action], **kwargs: Any) -> None:
        super().__init__(prog, **kwargs)
        self._settings = settings

    def add_usage(
        self,
        usage: str | None,
        actions: typing.Iterable[argparse.Action],
        groups: typing.Iterable[argparse._MutuallyExclusiveGroup],
        prefix: str | None = None,
    ) -> None:
        own = [action for action in actions if action not in self._settings]
        super().add_usage(usage, own, groups, prefix)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if isinstance(action, _SwitchOrChoice):
            first, *negative = action.option_strings
            return ", ".join([f"{first} [{action.metavar}]", *negative])
        return super()._format_action_invocation(action)


def add_settings_arguments(
    parser: argparse.ArgumentParser,
    settings: Sequence[type[GroupedSettings]],
    show: Collection[str] | None = None,
) -> None:
    """Add one option per field of each class in ``settings``, one argument group per settings
    group (:attr:`GroupedSettings.setting_groups`).

    ``--help`` lists the groups named in ``show`` (``None``: all). The others' flags are
    accepted but hidden; then ``--help-all`` lists them too and the help's last line says so.
    Raises ``ValueError`` for a name in ``show`` that no class defines.
    """
    groups = [(name, group, cls) for cls in settings for name, group in cls.setting_groups.items()]
    unknown = set(show or ()) - {name for name, _, _ in groups}
    if unknown:
        raise ValueError(f"unknown settings groups: {', '.join(sorted(unknown))}")
    listed = [show is None or name in show for name, _, _ in groups]
    hidden: dict[argparse.Action, str] = {}
    # Listed groups first: a field in both classes (one env var feeds both) gets its one flag
    # in a listed group whenever one of its two groups is listed.
    order = sorted(zip(groups, listed, strict=True), key=lambda pair: not pair[1])
    added: list[argparse.Action] = []
    for (_, group, cls), visible in order:
        for action in _add_group(parser, cls, group):
            added.append(action)
            if not visible:
                hidden[action] = str(action.help)
                action.help = argparse.SUPPRESS
    parser.formatter_class = functools.partial(_UsageWithoutSettings, settings=frozenset(added))
    if hidden:
        parser.add_argument(
            HELP_ALL, action=_HelpAll, hidden=hidden, help="show help with every settings flag, then exit"
        )
        parser.epilog = (
            f"Also accepted: {len(hidden)} settings flags of other commands ({HELP_ALL} lists them)."
        )


def _add_group(
    parser: argparse.ArgumentParser, settings: type[BaseSettings], group: SettingsGroup
) -> list[argparse.Action]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    arguments = parser.add_argument_group(group.title)
    added = []
    for name in group.fields:
        field = settings.model_fields[name]
        flag = "--" + name.replace("_", "-")
        if flag in parser._option_string_actions:
            # The same field in both settings classes (one env var feeds both): one flag, too.
            continue
        env = f"{prefix}{name.upper()}"
        secret = SecretStr in (field.annotation, *typing.get_args(field.annotation))
        # A default_factory default depends on where the process runs: the description says it.
        computed = field.default_factory is not None
        shown = "" if field.default is None or secret or computed else f", default {field.default}"
        added.append(
            arguments.add_argument(
                flag,
                dest=name,
                default=argparse.SUPPRESS,
                help=f"{field.description or name} [env {env}{shown}]".replace("%", "%%"),
                **_argument_type(field),
            )
        )
    return added


def settings_from_args(settings: type[_S], args: argparse.Namespace) -> _S:
    """``settings`` from the environment, overridden by the flags given on the command line."""
    given = {name: value for name, value in vars(args).items() if name in settings.model_fields}
    return settings(**given)


class _SwitchOrChoice(argparse.Action):
    """A ``bool | Literal[...]`` field: ``--flag`` (true), ``--no-flag`` (false), or
    ``--flag VALUE`` with VALUE true, false or one of the literal's choices (``auto``)."""

    def __init__(
        self, option_strings: Sequence[str], dest: str, *, words: Sequence[str], **kwargs: Any
    ) -> None:
        negative = [f"--no-{flag[2:]}" for flag in option_strings if flag.startswith("--")]
        self._words = tuple(words)
        super().__init__(
            [*option_strings, *negative],
            dest,
            nargs="?",
            metavar="|".join(("true", "false", *words)),
            **kwargs,
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        negative = bool(option_string and option_string.startswith("--no-"))
        if negative and values is not None:
            parser.error(f"{option_string} takes no value")
        word = str(values).strip().lower() if values is not None else ""
        value: bool | str
        if negative:
            value = False
        elif values is None or word in _TRUE_WORDS:
            value = True
        elif word in _FALSE_WORDS:
            value = False
        elif word in self._words:
            value = word
        else:
            parser.error(f"{option_string}: expected true, false or {', '.join(self._words)}, got {values!r}")
        setattr(namespace, self.dest, value)


_TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
_FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def _argument_type(field: FieldInfo) -> dict[str, Any]:
    annotation: Any = field.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    literals = [a for a in args if typing.get_origin(a) is Literal]
    if bool in args and len(args) == 2 and literals:
        return {"action": _SwitchOrChoice, "words": [str(w) for w in typing.get_args(literals[0])]}
    if literals and len(literals) == len(args):  # Literal[...] | Literal["auto"]: every word
        words = [w for literal in literals for w in typing.get_args(literal)]
        return {"choices": words, "type": type(words[0])}
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


settings_from_namespace = settings_from_args
"""The service face's name for :func:`settings_from_args` (``vectorizer_service.settings_from_args``
is the serve command's, for :class:`ServiceSettings` alone)."""
