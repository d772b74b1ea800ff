"""The argument parser of every ``grounded`` command: argparse's, plus "did you mean" for a
mistyped flag (``--txt`` -> ``--text``), subcommand (``serch`` -> ``search``) or choice."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Sequence
from typing import Any

from schemas.errors import InvalidInputError

__all__ = ["ArgumentValueError", "SuggestingParser", "close_matches"]

_CUTOFF = 0.6
"""difflib's similarity ratio a suggestion needs (``--txt``/``--text``: 0.91; unrelated: < 0.5)."""
_MAX_SUGGESTIONS = 3


_NEAR_BEST = 0.1
"""Suggestions within this ratio of the best one are shown with it (``serch``: search; ``sever``:
serve or server); a distant second guess only adds noise."""


def close_matches(word: str, candidates: Iterable[str]) -> list[str]:
    """The candidates closest to ``word``, best first (at most three, all about as close)."""
    matches = difflib.get_close_matches(word, list(candidates), n=_MAX_SUGGESTIONS, cutoff=_CUTOFF)
    ratios = [difflib.SequenceMatcher(None, word, m).ratio() for m in matches]
    return [m for m, r in zip(matches, ratios, strict=True) if r >= ratios[0] - _NEAR_BEST]


def _did_you_mean(matches: Sequence[str]) -> str:
    return f"; did you mean {' or '.join(matches)}?" if matches else ""


class ArgumentValueError(InvalidInputError):
    """A value a check of :mod:`plugin.cli._checks` refused while parsing, with the flag named:
    ``grounded`` prints it as one line (no usage block) and exits with its usage code."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog


class SuggestingParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors name the closest valid flag, subcommand or choice.

    Subparsers are of the same class (argparse makes them with the parent's class), so a leaf
    command reports its own unknown flags, matched against its own option strings, with its own
    usage line: the top-level parser only knows that something was left over.
    """

    def parse_known_args(  # type: ignore[override]  # typeshed overloads it; one signature here
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and not self._has_subcommands():
            flags = [e.partition("=")[0] for e in extras if e.startswith("-")]
            suggestions = [m for flag in flags for m in close_matches(flag, self._option_string_actions)]
            if flags:
                hint = _did_you_mean(list(dict.fromkeys(suggestions)))
                self.error(f"unrecognized arguments: {' '.join(extras)}{hint}")
        return parsed, extras

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        try:
            super()._check_value(action, value)
        except argparse.ArgumentError as exc:
            if action.choices is None or not isinstance(value, str):
                raise
            matches = close_matches(value, [str(c) for c in action.choices])
            raise argparse.ArgumentError(action, f"{exc.message}{_did_you_mean(matches)}") from None

    def _get_value(self, action: argparse.Action, arg_string: str) -> Any:
        try:
            return super()._get_value(action, arg_string)
        except InvalidInputError as exc:
            flag = "/".join(action.option_strings) or action.dest
            raise ArgumentValueError(self.prog, f"{flag}: {exc.message}") from None

    def _has_subcommands(self) -> bool:
        return any(isinstance(a, argparse._SubParsersAction) for a in self._actions)
