"""nearGrounded -> nearVector on real Weaviate GraphQL documents."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from graphql import parse, print_ast

from plugin.graphql.rewrite import GraphQLRewriteError, explanation_json, rewrite_query
from schemas.wire import ComposeExplanation, ComposeOptions, ComposeResult

IMG = base64.b64encode(b"\x89PNG fake").decode()


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[bytes | None, str, ComposeOptions]] = []

    def __call__(self, image: bytes | None, text: str, options: ComposeOptions) -> ComposeResult:
        self.calls.append((image, text, options))
        return ComposeResult(
            vector=[0.5, -0.25],
            explanation=ComposeExplanation(caption="red dress", fused_text=f"red dress, {text}"),
        )


def normal(query: str) -> str:
    return print_ast(parse(query))


def test_literal_near_grounded_becomes_near_vector_keeping_other_arguments() -> None:
    compose = Recorder()
    query = f"""
    {{ Get {{ Product(limit: 5, where: {{path: ["category"], operator: Equal, valueText: "dress"}},
                     nearGrounded: {{image: "{IMG}", text: "in blue", targetVectors: ["clip"], distance: 0.7,
                                     caption: false, imageWeight: 0.4}}) {{
        title _additional {{ distance }} }} }} }}"""
    out = rewrite_query(query, None, compose)
    assert out is not None
    assert out.query == normal(
        """{ Get { Product(limit: 5, where: {path: ["category"], operator: Equal, valueText: "dress"},
                           nearVector: {vector: [0.5, -0.25], targetVectors: ["clip"], distance: 0.7}) {
            title _additional { distance } } } }"""
    )
    ((image, text, options),) = compose.calls
    assert image == b"\x89PNG fake" and text == "in blue"
    assert options == ComposeOptions(caption=False, image_weight=0.4)
    assert out.explanations["Product"].caption == "red dress"
    assert out.variables is None


def test_variables_are_resolved_and_unused_ones_dropped() -> None:
    compose = Recorder()
    query = """query Find($img: String!, $txt: String, $lim: Int, $tv: [String]) {
      Get { shop: Product(limit: $lim, nearGrounded: {image: $img, text: $txt, targetVectors: $tv}) {
        title } } }"""
    variables: dict[str, Any] = {
        "img": "data:image/png;base64," + IMG,
        "txt": "with long sleeves",
        "lim": 3,
        "tv": ["clip"],
    }
    out = rewrite_query(query, variables, compose)
    assert out is not None
    assert out.query == normal(
        """query Find($lim: Int, $tv: [String]) {
          Get { shop: Product(limit: $lim, nearVector: {vector: [0.5, -0.25], targetVectors: $tv}) {
            title } } }"""
    )
    assert out.variables == {"lim": 3, "tv": ["clip"]}
    assert compose.calls[0][0] == b"\x89PNG fake"
    assert set(out.explanations) == {"shop"}  # keyed by the alias, like Weaviate's answer


def test_query_without_near_grounded_is_left_alone() -> None:
    assert (
        rewrite_query("{ Get { Product(nearVector: {vector: [1.0]}) { title } } }", None, Recorder()) is None
    )
    assert rewrite_query("{ Get { Product( ", None, Recorder()) is None  # Weaviate reports syntax errors


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ('{targetVectors: ["clip"]}', "needs an image, a text, or both"),
        ('{image: "%%%not-base64"}', "nearGrounded.image: not valid base64"),
        ("{text: 42}", "nearGrounded.text: Input should be a valid string"),
        ('{text: "blue", colour: "red"}', "nearGrounded.colour: unknown option"),
        ('{text: "blue", imageWeight: 3.0}', "nearGrounded.imageWeight"),
        ("{text: $missing}", "variable $missing is not given"),
        ('"just a string"', "nearGrounded must be an object"),
    ],
)
def test_malformed_near_grounded_names_the_problem(argument: str, message: str) -> None:
    compose = Recorder()
    with pytest.raises(GraphQLRewriteError, match=message.replace("$", r"\$")):
        rewrite_query(f"{{ Get {{ Product(nearGrounded: {argument}) {{ title }} }} }}", {}, compose)
    assert compose.calls == []


def test_near_grounded_cannot_be_combined_with_another_search() -> None:
    with pytest.raises(GraphQLRewriteError, match="cannot be combined with nearVector"):
        rewrite_query(
            '{ Get { Product(nearVector: {vector: [1.0]}, nearGrounded: {text: "x"}) { title } } }',
            None,
            Recorder(),
        )


def test_whole_argument_as_variable() -> None:
    out = rewrite_query(
        "query($q: NearGrounded) { Get { Product(nearGrounded: $q) { title } } }",
        {"q": {"text": "in red", "targetVectors": ["clip"]}},
        Recorder(),
    )
    assert out is not None
    assert out.query == normal(
        '{ Get { Product(nearVector: {vector: [0.5, -0.25], targetVectors: ["clip"]}) { title } } }'
    )
    assert out.variables == {}


def test_explanation_json_uses_camel_case() -> None:
    data = explanation_json(ComposeExplanation(caption="c", fused_text="f", image_weight=0.3))
    assert data["fusedText"] == "f" and data["imageWeight"] == 0.3 and "fused_text" not in data


def test_targets_in_a_variable_keep_their_object_and_enum_shape() -> None:
    # Issue 10.2: `targets` came out as a quoted string and crashed the endpoint.
    out = rewrite_query(
        "query($q: NearGrounded) { Get { Product(nearGrounded: $q) { title } } }",
        {
            "q": {
                "text": "in red",
                "targets": {
                    "targetVectors": ["clip", "title"],
                    "combinationMethod": "manualWeights",
                    "weights": {"clip": 0.7, "title": [0.3]},
                },
            }
        },
        Recorder(),
    )
    assert out is not None
    assert out.query == normal(
        "{ Get { Product(nearVector: {vector: [0.5, -0.25], targets: {targetVectors: "
        '["clip", "title"], combinationMethod: manualWeights, weights: {clip: 0.7, title: [0.3]}}}) '
        "{ title } } }"
    )


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"combinationMethod": "sum; drop"}, "combinationMethod: must be one of"),
        ({"weights": {"not a name": 1.0}}, "is not a valid field name"),
        ({"weights": {"clip": float("nan")}}, "is not a number"),
    ],
)
def test_bad_targets_in_a_variable_are_refused(targets: dict[str, Any], message: str) -> None:
    with pytest.raises(GraphQLRewriteError, match=message):
        rewrite_query(
            "query($q: NearGrounded) { Get { Product(nearGrounded: $q) { title } } }",
            {"q": {"text": "x", "targets": targets}},
            Recorder(),
        )


def test_variable_defaults_apply_when_no_value_is_sent() -> None:
    compose = Recorder()
    query = """query($t: String = "in red", $d: Float = 0.4) {
      Get { Product(nearGrounded: {text: $t, distance: $d}) { title } } }"""
    out = rewrite_query(query, {}, compose)
    assert out is not None and compose.calls[0][1] == "in red"
    # The kept variable keeps its default, so Weaviate applies it too.
    assert "$d: Float = 0.4" in out.query and out.variables == {}
    rewrite_query(query, {"t": "in blue"}, compose)
    assert compose.calls[1][1] == "in blue"


def test_explore_gets_the_configured_target_vector() -> None:
    out = rewrite_query(
        '{ Explore(nearGrounded: {text: "red"}) { beacon distance } }',
        None,
        Recorder(),
        default_target="clip",
    )
    assert out is not None
    assert out.query == normal(
        '{ Explore(nearVector: {vector: [0.5, -0.25], targetVectors: ["clip"]}) { beacon distance } }'
    )
    kept = rewrite_query(
        '{ Explore(nearGrounded: {text: "red", targetVectors: ["other"]}) { beacon } }',
        None,
        Recorder(),
        default_target="clip",
    )
    assert kept is not None and '["other"]' in kept.query and '"clip"' not in kept.query
    with pytest.raises(GraphQLRewriteError, match="needs targetVectors"):
        rewrite_query('{ Explore(nearGrounded: {text: "red"}) { beacon } }', None, Recorder())


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            '{ Explore(nearGrounded: {text: "r", targets: {targetVectors: ["clip"]}}) { beacon } }',
            "targets is valid on Get only, not on Explore",
        ),
        (
            '{ Aggregate { Product(nearGrounded: {text: "r"}) { meta { count } } } }',
            "Aggregate with nearGrounded needs objectLimit",
        ),
        (
            '{ Aggregate { Product(objectLimit: 5, nearGrounded: {text: "r", '
            'targets: {targetVectors: ["c"]}}) { meta { count } } } }',
            "not on Aggregate",
        ),
    ],
)
def test_explore_and_aggregate_refuse_what_weaviate_refuses(query: str, message: str) -> None:
    compose = Recorder()
    with pytest.raises(GraphQLRewriteError, match=message):
        rewrite_query(query, None, compose, default_target="clip")
    assert compose.calls == []


def test_aggregate_keeps_the_users_limit() -> None:
    for query in (
        '{ Aggregate { Product(objectLimit: 5, nearGrounded: {text: "r"}) { meta { count } } } }',
        '{ Aggregate { Product(nearGrounded: {text: "r", distance: 0.3}) { meta { count } } } }',
    ):
        out = rewrite_query(query, None, Recorder(), default_target="clip")
        assert out is not None and "nearVector" in out.query and "targetVectors" not in out.query


def test_near_grounded_count_is_capped_before_any_model_work() -> None:
    compose = Recorder()
    fields = " ".join(f'p{i}: Product(nearGrounded: {{text: "t{i}"}}) {{ title }}' for i in range(5))
    with pytest.raises(GraphQLRewriteError, match="at most 4 nearGrounded fields"):
        rewrite_query(f"{{ Get {{ {fields} }} }}", None, compose, max_fields=4)
    assert compose.calls == []
