"""Every setting belongs to exactly one topic group: a command's ``--help`` lists the groups it
reads, so a setting left out of every group would be hidden from every command."""

from __future__ import annotations

import argparse
from collections import Counter

import pytest

from plugin.settings import PluginSettings
from vectorizer_service.settings import GroupedSettings, ServiceSettings
from vectorizer_service.settings_cli import HELP_ALL, add_settings_arguments

CLASSES: tuple[type[GroupedSettings], ...] = (PluginSettings, ServiceSettings)


@pytest.mark.parametrize("settings", CLASSES, ids=lambda c: c.__name__)
def test_every_field_is_in_exactly_one_group(settings: type[GroupedSettings]) -> None:
    placed = Counter(name for group in settings.setting_groups.values() for name in group.fields)
    assert sorted(n for n, count in placed.items() if count > 1) == [], "in several groups"
    assert sorted(set(settings.model_fields) - set(placed)) == [], "in no group"
    assert sorted(set(placed) - set(settings.model_fields)) == [], "not a field"


def test_group_names_are_unique_across_the_classes() -> None:
    # A command names its groups from both classes in one list.
    names = [name for cls in CLASSES for name in cls.setting_groups]
    assert len(names) == len(set(names))


def _parser(show: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="p")
    add_settings_arguments(parser, list(CLASSES), show=show)
    return parser


def test_a_hidden_group_parses_but_is_not_listed() -> None:
    parser = _parser(["ui"])
    help_text = parser.format_help()
    assert "--ui-port" in help_text and "--graphql-port" not in help_text
    assert HELP_ALL in help_text.strip().split("\n\n")[-1]  # the last paragraph says how to see them
    assert parser.parse_args(["--graphql-port", "1"]).graphql_port == 1


def test_a_field_of_both_classes_is_listed_when_either_group_is() -> None:
    # max_image_pixels: PluginSettings' image-fetch group and ServiceSettings' limits group.
    assert "--max-image-pixels" in _parser(["limits"]).format_help()
    assert "--max-image-pixels" in _parser(["image-fetch"]).format_help()
    assert "--max-image-pixels" not in _parser(["ui"]).format_help()


def test_help_all_lists_every_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        _parser(["ui"]).parse_args([HELP_ALL])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    flags = {"--" + name.replace("_", "-") for cls in CLASSES for name in cls.model_fields}
    assert sorted(f for f in flags if f not in out) == []


def test_an_unknown_group_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="ui-prot"):
        _parser(["ui-prot"])
