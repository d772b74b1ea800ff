"""Vocabularies on generated inputs: the service's loader (``vectorizer_service.compose.vocab``)
on any file text, valid-looking or not, and the plugin's deriver (``plugin.vocabulary``) on any
catalog of products.

Properties: loading gives a :class:`Vocabulary` or raises :class:`ModelUnavailableError`
naming the file (the service cannot start with it); a derived vocabulary is refused with
:class:`InvalidInputError`, or written, and what is written always loads again.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from plugin.vocabulary import VOCABULARY_FILE, derive_vocabulary, write_model_vocabulary
from schemas.errors import InvalidInputError, ModelUnavailableError
from schemas.product import Product
from schemas.vocabulary import vocabulary_document
from tests.support.fuzz import TALLY, property_settings
from vectorizer_service.compose.vocab import load_vocabulary

BUNDLED = vocabulary_document(load_vocabulary())
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """The bundled vocabulary with a few values replaced, removed or added, anywhere in it."""
    doc: Any = copy.deepcopy(BUNDLED)
    for _ in range(draw(st.integers(1, 4))):
        node, path = doc, []
        while isinstance(node, (dict, list)) and node and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
            path.append((node, key))
            node = node[key]
        if not path:
            continue
        parent, key = path[-1]
        action = draw(st.sampled_from(["replace", "remove", "duplicate"]))
        if action == "replace":
            parent[key] = draw(_JSON)
        elif action == "remove":
            del parent[key]
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return json.dumps(doc)


@given(st.one_of(_mutated(), _JSON.map(json.dumps), st.text(max_size=300)))
@property_settings(ci_examples=100)
def test_loading_a_vocabulary_is_one_or_our_error_naming_the_file(text: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "vocab.json"
        path.write_text(text, encoding="utf-8")
        try:
            load_vocabulary(path)
        except ModelUnavailableError as exc:
            assert str(path) in exc.message, exc.message
            TALLY.record("vocabulary loader", "refused")
            return
    TALLY.record("vocabulary loader", "loaded")


_NAMES = st.sampled_from(
    ["dress", "shirt", "Dress", " shoe ", "bag", "", "colour", "category", "é"]
) | st.text(max_size=6)


def _product(i: int, title: str, category: str, attributes: dict[str, str]) -> Product | None:
    try:
        return Product(id=str(i), title=title, category=category, attributes=attributes)
    except ValidationError:  # not a product a catalog can hold (a blank title): not an input here
        return None


_PRODUCTS = st.lists(
    st.builds(
        _product,
        st.integers(0, 10**6),
        st.text(max_size=20),
        _NAMES,
        st.dictionaries(_NAMES, _NAMES, max_size=3),
    ).filter(lambda p: p is not None),
    max_size=40,
)


@given(_PRODUCTS)
@property_settings(ci_examples=100)
def test_a_derived_vocabulary_is_refused_or_loads_again(products: list[Product]) -> None:
    try:
        derive_vocabulary(products)
    except InvalidInputError as exc:
        assert exc.message
        TALLY.record("vocabulary deriver", "refused")
        return
    with tempfile.TemporaryDirectory() as folder:
        line = write_model_vocabulary(Path(folder), products)
        assert line.startswith("vocabulary: wrote"), line
        load_vocabulary(Path(folder) / VOCABULARY_FILE)
    TALLY.record("vocabulary deriver", "written and loaded")
