"""The GraphQL rewriter (``plugin.graphql.rewrite``) on generated queries and variables: queries
valid for Weaviate's schema with ``nearGrounded`` (hypothesis-graphql), the same with tokens
dropped or repeated, and any variables.

The property: :func:`rewrite_query` gives ``None`` (nothing to rewrite: forwarded as sent), a
rewrite whose query parses and holds no ``nearGrounded`` argument, or raises
:class:`InvalidInputError` (or the product lookup's :class:`NotFoundError`) with a message;
never another exception.
"""

from __future__ import annotations

from typing import Any

import hypothesis_graphql
from graphql import parse
from graphql.language import ArgumentNode, Visitor, visit
from hypothesis import given
from hypothesis import strategies as st

from plugin.graphql.rewrite import ARGUMENT, rewrite_query
from plugin.store.protocol import StoredProduct
from schemas.errors import GroundedError, NotFoundError
from schemas.wire import ComposeExplanation, ComposeOptions, ComposeResult
from tests.support.fuzz import TALLY, WEAVIATE_SDL, property_settings

_QUERIES = hypothesis_graphql.from_schema(WEAVIATE_SDL).map(str)
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
_NEAR = st.fixed_dictionaries(
    {"text": st.text(min_size=1, max_size=12)},
    optional={
        "image": st.sampled_from(["aGVsbG8=", "data:image/png;base64,aGk=", "!!"]),
        "product": st.sampled_from(["p1", "p2", ""]),
        "imageWeight": st.floats(0, 1),
        "fusionMethod": st.sampled_from(["slerp", "direction", "nope"]),
        "targetVectors": st.lists(st.text(max_size=4), max_size=2),
        "targets": _JSON,
        "distance": st.floats(),
    },
) | st.dictionaries(st.sampled_from(["text", "image", "product", "fuse", "targets"]), _JSON, max_size=3)


@st.composite
def _mangled(draw: st.DrawFn) -> str:
    tokens = draw(_QUERIES).split()
    for _ in range(draw(st.integers(1, 3))):
        if tokens:
            i = draw(st.integers(0, len(tokens) - 1))
            if draw(st.booleans()):
                del tokens[i]
            else:
                tokens.insert(i, tokens[i])
    return " ".join(tokens)


_WITH_VARIABLE = st.sampled_from(
    [
        "query($g: NearGroundedInpObj) { Get { Product(nearGrounded: $g) { title } } }",
        "query($t: String, $w: Float) "
        "{ Get { Product(nearGrounded: {text: $t, imageWeight: $w}) { title } } }",
        "query($g: NearGroundedInpObj) { Explore(nearGrounded: $g) { beacon } }",
        "query($g: NearGroundedInpObj) "
        "{ Aggregate { Product(nearGrounded: $g, objectLimit: 3) { meta { count } } } }",
    ]
)


def _compose(image: bytes | None, text: str, options: ComposeOptions) -> ComposeResult:
    return ComposeResult(vector=[1.0, 0.0], explanation=ComposeExplanation(modification=text))


def _reference(collection: str, product_id: str) -> StoredProduct:
    if product_id != "p1":
        raise NotFoundError(f"product {product_id!r} is not in collection {collection!r}")
    return StoredProduct(uuid="u", properties={"image": "aGk=", "title": "t"}, vector=None)


def _arguments(query: str) -> list[str]:
    names: list[str] = []

    class _Names(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            names.append(node.name.value)

    visit(parse(query), _Names())
    return names


_VARIABLES = st.none() | st.dictionaries(st.sampled_from(["g", "t", "w", "x"]), _NEAR | _JSON, max_size=3)
_CASES = st.one_of(
    st.tuples(_QUERIES | _mangled(), _VARIABLES),
    st.tuples(
        _WITH_VARIABLE,
        st.fixed_dictionaries({"g": _NEAR, "t": st.text(max_size=8) | _JSON, "w": st.floats(0, 1) | _JSON}),
    ),
)


@given(case=_CASES, max_fields=st.none() | st.integers(1, 3))
@property_settings(ci_examples=100)
def test_the_rewrite_is_none_a_query_or_our_input_error(
    case: tuple[str, dict[str, Any] | None], max_fields: int | None
) -> None:
    query, variables = case
    try:
        rewrite = rewrite_query(
            query, variables, _compose, default_target="clip", max_fields=max_fields, reference=_reference
        )
    except GroundedError as exc:  # an input error, or the lookup's "no such product"
        assert exc.message
        TALLY.record("GraphQL rewriter", "refused")
        return
    if rewrite is None:
        TALLY.record("GraphQL rewriter", "untouched")
        return
    assert ARGUMENT not in _arguments(rewrite.query)
    assert rewrite.explanations
    TALLY.record("GraphQL rewriter", "rewritten")
