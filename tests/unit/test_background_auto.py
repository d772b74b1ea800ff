"""Background removal that decides for itself: the ``auto`` server default, how a request's
true / false / None resolves against it, the flag and variable that set it, and the stage's
decision with its evidence."""

from __future__ import annotations

import argparse

import numpy as np
import pytest
from PIL import Image, ImageDraw

from schemas.wire import ComposeOptions
from tests.unit.test_pipeline import Rig
from vectorizer_service.compose.context import ResolvedOptions
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.settings_cli import add_settings_arguments, settings_from_args


def studio_photo() -> Image.Image:
    """A red product centred on a light studio sweep."""
    column = np.linspace(240, 210, 160, dtype=np.float32)[:, None, None]
    image = Image.fromarray(np.broadcast_to(column, (160, 128, 3)).astype(np.uint8))
    ImageDraw.Draw(image).rectangle([34, 30, 94, 130], fill=(200, 30, 40))
    return image


def street_photo() -> Image.Image:
    """The same product on a coarse, busy texture."""
    rng = np.random.default_rng(3)
    coarse = Image.fromarray(rng.integers(0, 255, (20, 16, 3), dtype=np.uint8))
    image = coarse.resize((128, 160), Image.Resampling.NEAREST)
    ImageDraw.Draw(image).rectangle([34, 30, 94, 130], fill=(200, 30, 40))
    return image


def test_the_shipped_default_is_auto() -> None:
    assert ServiceSettings().remove_background == "auto"


@pytest.mark.parametrize(
    ("server", "request_value", "resolved"),
    [
        ("auto", None, "auto"),
        ("auto", True, True),
        ("auto", False, False),
        (True, None, True),
        (True, False, False),
        (False, None, False),
        (False, True, True),
    ],
)
def test_a_request_forces_and_none_means_the_server_default(
    server: bool | str, request_value: bool | None, resolved: bool | str
) -> None:
    settings = ServiceSettings(remove_background=server)
    options = ResolvedOptions.resolve(ComposeOptions(remove_background=request_value), settings)
    assert options.remove_background == resolved


@pytest.mark.parametrize(
    ("value", "parsed"), [("true", True), ("false", False), ("1", True), ("0", False), ("auto", "auto")]
)
def test_the_environment_variable_keeps_true_and_false(
    monkeypatch: pytest.MonkeyPatch, value: str, parsed: bool | str
) -> None:
    monkeypatch.setenv("GROUNDED_REMOVE_BACKGROUND", value)
    assert ServiceSettings().remove_background == parsed


@pytest.mark.parametrize(
    ("argv", "parsed"),
    [
        (["--remove-background"], True),
        (["--no-remove-background"], False),
        (["--remove-background", "auto"], "auto"),
        (["--remove-background=false"], False),
        (["--remove-background", "--device", "cpu"], True),
    ],
)
def test_the_flag_takes_a_switch_or_auto(argv: list[str], parsed: bool | str) -> None:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, [ServiceSettings])
    assert settings_from_args(ServiceSettings, parser.parse_args(argv)).remove_background == parsed


def test_the_flag_refuses_other_words(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, [ServiceSettings])
    with pytest.raises(SystemExit):
        parser.parse_args(["--remove-background", "maybe"])
    assert "expected true, false or auto" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "parsed"), [([], "auto"), (["--fusion-method", "auto"], "auto"),
                                              (["--fusion-method", "pic2word"], "pic2word")])  # fmt: skip
def test_the_fusion_method_flag_takes_every_method_and_auto(argv: list[str], parsed: str) -> None:
    parser = argparse.ArgumentParser()
    add_settings_arguments(parser, [ServiceSettings])
    assert settings_from_args(ServiceSettings, parser.parse_args(argv)).fusion_method == parsed


async def test_auto_keeps_a_studio_photo_and_skips_the_remover() -> None:
    rig = Rig(settings={"remove_background": "auto"})
    result = await rig.run(studio_photo(), "in blue")
    ex = result.explanation
    assert rig.remover is not None and rig.remover.batches == []
    assert ex.background_removed is False and ex.mask_coverage is None
    assert ex.background_note.startswith("auto: studio photo (border ")
    assert ex.background_note.endswith(": kept the original image")
    assert rig.captioner is not None and rig.captioner.seen[0].tobytes() == studio_photo().tobytes()


async def test_auto_cuts_a_cluttered_photo_out() -> None:
    rig = Rig(settings={"remove_background": "auto"})
    ex = (await rig.run(street_photo(), "in blue")).explanation
    assert rig.remover is not None and rig.remover.batches == [1]
    assert ex.background_removed is True
    assert ex.background_note.startswith("auto: cluttered photo (border ")
    assert "background removed (50.0% of the image kept" in ex.background_note


@pytest.mark.parametrize(("forced", "removed"), [(True, True), (False, False)])
async def test_a_request_overrides_auto_for_a_studio_photo(forced: bool, removed: bool) -> None:
    rig = Rig(settings={"remove_background": "auto"})
    ex = (await rig.run(studio_photo(), "in blue", remove_background=forced)).explanation
    assert ex.background_removed is removed
    assert not ex.background_note.startswith("auto")
    assert rig.remover is not None and rig.remover.batches == ([1] if forced else [])


async def test_true_as_the_server_default_still_cuts_every_photo() -> None:
    rig = Rig(settings={"remove_background": True})
    ex = (await rig.run(studio_photo(), "in blue")).explanation
    assert ex.background_removed is True
    assert ex.background_note.startswith("background removed")


# --- every caller can ask for true, false or auto per request ----------------------------------


@pytest.mark.parametrize(
    ("flags", "asked"),
    [([], None), (["--remove-background", "auto"], "auto"), (["--no-remove-background"], False),
     (["--remove-background"], True)],
)  # fmt: skip
def test_search_passes_the_background_flag_to_the_request(flags: list[str], asked: bool | str | None) -> None:
    from plugin.cli import build_parser
    from plugin.cli.search import compose_options

    args = build_parser().parse_args(["search", "--text", "in blue", *flags])
    assert compose_options(args).remove_background == asked


@pytest.mark.parametrize(
    ("argument", "asked"),
    [
        ("removeBackground: auto", "auto"),
        ('removeBackground: "auto"', "auto"),
        ("removeBackground: false", False),
    ],
)
def test_near_grounded_takes_auto_as_an_enum_value_or_a_string(argument: str, asked: bool | str) -> None:
    from tests.unit.test_graphql_fusion_method import compose_options

    assert compose_options(f'{{text: "in blue", {argument}}}').remove_background == asked


def test_near_grounded_names_a_background_word_it_does_not_know() -> None:
    from plugin.graphql.rewrite import GraphQLRewriteError
    from tests.unit.test_graphql_fusion_method import compose_options

    with pytest.raises(GraphQLRewriteError, match="removeBackground"):
        compose_options('{text: "in blue", removeBackground: "maybe"}')


@pytest.mark.parametrize("value", ["auto", True, None])
def test_the_page_form_takes_auto(value: bool | str | None) -> None:
    import json

    from plugin.ui.query import parse_form

    assert (
        parse_form(json.dumps({"text": "in blue", "remove_background": value}).encode()).remove_background
        == value
    )
