"""Fusion on generated inputs: the text fusion of a caption and a change through any template a
caller can send (``vectorizer_service.compose.fusion``), and the vector fusion methods
(``vector_fusion``) over any finite vectors and any weight and gain the wire accepts.

Properties: :func:`fuse` gives a non-empty text or raises :class:`InvalidInputError` (a
template is the caller's input); the vector methods always give a finite unit vector.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from schemas.errors import InvalidInputError
from schemas.wire import MAX_DIRECTION_GAIN
from tests.support.fuzz import TALLY, property_settings
from vectorizer_service.compose.fusion import DEFAULT_TEMPLATE, fuse, reference_text
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.compose.vector_fusion import direction, image_anchor, slerp
from vectorizer_service.compose.vocab import load_vocabulary

VOCABULARY = load_vocabulary()
_WORDS = [v.name for a in VOCABULARY.attributes for v in a.values][:40] + [
    c.name for c in VOCABULARY.categories
][:20]
_TEXT = st.lists(st.sampled_from(_WORDS) | st.text(max_size=8), max_size=8).map(" ".join)
_PIECES = st.sampled_from(
    ["{caption}", "{modification}", "{", "}", "{{", "}}", "{0}", "{x}", "{caption!r}", "{modification:>9}",
     "a photo of", ", ", "{caption.x}", "{modification[0]}"]
)  # fmt: skip
_TEMPLATE = st.one_of(
    st.just(DEFAULT_TEMPLATE),
    st.lists(_PIECES | st.text(max_size=5), max_size=8).map("".join),
    st.text(max_size=600),
)  # fmt: skip
_ATTRIBUTES = st.dictionaries(
    st.sampled_from([a.name for a in VOCABULARY.attributes]) | st.text(max_size=6), _TEXT, max_size=4
)


@given(
    caption=st.none() | st.builds(Caption, _TEXT, _ATTRIBUTES),
    modification=_TEXT,
    template=_TEMPLATE,
    drop=st.booleans(),
)
@property_settings()
def test_fusion_is_a_text_or_our_input_error(
    caption: Caption | None, modification: str, template: str, drop: bool
) -> None:
    try:
        fused = fuse(caption, modification, template, VOCABULARY, drop_overridden=drop)
    except InvalidInputError as exc:
        assert exc.message
        TALLY.record("fusion (text)", "refused")
        return
    assert fused.text.strip()
    reference_text(caption, modification, template)  # same template, already accepted
    TALLY.record("fusion (text)", "fused")


_FINITE = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False, width=32)
_DIM = 8


def _vector() -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float32, _DIM, elements=_FINITE)


@given(
    text=_vector(),
    image=st.none() | _vector(),
    reference=st.none() | _vector(),
    weight=st.floats(0.0, 1.0),
    gain=st.floats(0.0, MAX_DIRECTION_GAIN),
)
@property_settings()
def test_vector_fusion_is_a_finite_unit_vector(
    text: np.ndarray, image: np.ndarray | None, reference: np.ndarray | None, weight: float, gain: float
) -> None:
    if not np.any(text):
        text = np.eye(_DIM, dtype=np.float32)[0]  # the text encoder never gives the zero vector
    weight = weight if image is not None else 0.0
    for name, vector in (
        ("image_anchor", image_anchor(text, image, weight)),
        ("slerp", slerp(text, image, weight)),
        ("direction", direction(text, reference, image, weight, gain)),
    ):
        assert vector.shape == (_DIM,)
        assert np.all(np.isfinite(vector)), f"{name}: {vector}"
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-3, f"{name}: norm {np.linalg.norm(vector)}"
    TALLY.record("fusion (vectors)", "unit")
