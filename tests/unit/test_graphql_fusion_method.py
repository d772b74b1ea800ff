"""nearGrounded's fusionMethod and directionGain reach the compose options, and bad ones are named."""

from __future__ import annotations

import pytest

from plugin.graphql.rewrite import GraphQLRewriteError, explanation_json, rewrite_query
from schemas.wire import ComposeExplanation, ComposeOptions, ComposeResult


class Recorder:
    def __init__(self) -> None:
        self.options: list[ComposeOptions] = []

    def __call__(self, image: bytes | None, text: str, options: ComposeOptions) -> ComposeResult:
        self.options.append(options)
        return ComposeResult(vector=[1.0, 0.0], explanation=ComposeExplanation())


def compose_options(
    argument: str, variables: dict[str, object] | None = None, header: str = ""
) -> ComposeOptions:
    recorder = Recorder()
    out = rewrite_query(
        f"{header}{{ Get {{ Product(nearGrounded: {argument}) {{ title }} }} }}", variables, recorder
    )
    assert out is not None
    (options,) = recorder.options
    return options


def test_fusion_method_and_gain_as_literals() -> None:
    options = compose_options(
        '{text: "in blue", fusionMethod: "direction", directionGain: 1.3, imageWeight: 1}'
    )
    assert options == ComposeOptions(fusion_method="direction", direction_gain=1.3, image_weight=1.0)


def test_fusion_method_as_an_enum_value_or_a_variable() -> None:
    assert compose_options('{text: "in blue", fusionMethod: slerp}').fusion_method == "slerp"
    options = compose_options(
        '{text: "in blue", fusionMethod: $m}', {"m": "direction"}, header="query Q($m: String) "
    )
    assert options.fusion_method == "direction"


def test_left_out_they_are_the_servers_defaults() -> None:
    options = compose_options('{text: "in blue"}')
    assert options.fusion_method is None and options.direction_gain is None


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ('{text: "blue", fusionMethod: "average"}', "nearGrounded.fusionMethod"),
        ('{text: "blue", directionGain: 9.0}', "nearGrounded.directionGain"),
        ('{text: "blue", directionGain: -0.5}', "nearGrounded.directionGain"),
    ],
)
def test_a_bad_method_or_gain_names_the_field(argument: str, message: str) -> None:
    with pytest.raises(GraphQLRewriteError, match=message):
        rewrite_query(f"{{ Get {{ Product(nearGrounded: {argument}) {{ title }} }} }}", None, Recorder())


def test_the_explanation_names_the_method_in_camel_case() -> None:
    data = explanation_json(ComposeExplanation(fusion_method="direction", direction_gain=1.2))
    assert data["fusionMethod"] == "direction" and data["directionGain"] == 1.2
