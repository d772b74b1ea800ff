"""The fusion methods as pure functions, on vectors small enough to compute by hand."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from vectorizer_service.compose.vector_fusion import (
    SLERP_LINEAR_ABOVE,
    Vector,
    cosine,
    direction,
    ensemble,
    image_anchor,
    slerp,
)


def vec(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float32)


T, V = vec(1, 0), vec(0, 1)
"""A text and an image vector at right angles."""


def close(actual: np.ndarray, *expected: float) -> None:
    np.testing.assert_allclose(actual, expected, atol=1e-6)
    assert actual.dtype == np.float32
    assert float(np.linalg.norm(actual)) == pytest.approx(1.0, abs=1e-6)


# --- image anchor: norm((1 - w) t + w v) -------------------------------------------------------


def test_image_anchor_mixes_linearly() -> None:
    close(image_anchor(T, V, 0.5), 1 / math.sqrt(2), 1 / math.sqrt(2))
    # (0.75, 0.25) / sqrt(0.625)
    close(image_anchor(T, V, 0.25), 0.75 / math.sqrt(0.625), 0.25 / math.sqrt(0.625))
    close(image_anchor(T, V, 0.0), 1, 0)
    close(image_anchor(T, V, 1.0), 0, 1)


def test_image_anchor_without_an_image_is_the_text() -> None:
    close(image_anchor(vec(3, 4), None, 0.0), 0.6, 0.8)


def test_image_anchor_keeps_the_text_when_the_two_cancel() -> None:
    close(image_anchor(T, vec(-1, 0), 0.5), 1, 0)


def test_image_anchor_is_todays_arithmetic_to_the_bit() -> None:
    rng = np.random.default_rng(3)
    t, v = (rng.standard_normal(512).astype(np.float32) for _ in range(2))
    t, v = t / np.linalg.norm(t), v / np.linalg.norm(v)
    # the embedding stage's formula before there were methods
    mixed = 0.8 * t + 0.2 * v
    before = (np.asarray(mixed, dtype=np.float32) / float(np.linalg.norm(mixed))).astype(np.float32)
    assert np.array_equal(image_anchor(t, v, 0.2), before)
    assert np.array_equal(image_anchor(t, None, 0.0), (t / float(np.linalg.norm(t))).astype(np.float32))


# --- slerp: the point w of the way from t to v on the circle ----------------------------------


def test_slerp_moves_by_angle_not_by_chord() -> None:
    # a third of the way from 0 to 90 degrees is 30 degrees
    close(slerp(T, V, 1 / 3), math.cos(math.pi / 6), math.sin(math.pi / 6))
    close(slerp(T, V, 0.5), 1 / math.sqrt(2), 1 / math.sqrt(2))
    # the linear mix at the same weight stops short of 30 degrees: (2/3, 1/3) normalised
    linear = image_anchor(T, V, 1 / 3)
    assert math.degrees(math.atan2(linear[1], linear[0])) == pytest.approx(26.565, abs=1e-3)


def test_slerp_between_vectors_sixty_degrees_apart() -> None:
    sixty = vec(0.5, math.sqrt(3) / 2)
    close(slerp(T, sixty, 0.5), math.sqrt(3) / 2, 0.5)  # halfway: 30 degrees
    close(slerp(T, sixty, 0.8), math.cos(math.radians(48)), math.sin(math.radians(48)))


def test_slerp_ends_are_the_text_and_the_image() -> None:
    close(slerp(T, V, 0.0), 1, 0)
    close(slerp(T, V, 1.0), 0, 1)
    close(slerp(vec(2, 0), None, 0.0), 1, 0)


def test_slerp_normalises_its_inputs() -> None:
    close(slerp(vec(2, 0), vec(0, 3), 1 / 3), math.cos(math.pi / 6), math.sin(math.pi / 6))


def test_slerp_is_linear_where_the_vectors_are_almost_parallel() -> None:
    near = vec(math.cos(0.01), math.sin(0.01))
    assert cosine(T, near) > SLERP_LINEAR_ABOVE
    np.testing.assert_allclose(slerp(T, near, 0.5), image_anchor(T, near, 0.5), atol=1e-7)
    # opposite vectors: no great circle is defined; the linear mix cancels and the text stands
    close(slerp(T, vec(-1, 0), 0.5), 1, 0)


# --- direction: D = t - r; norm(w norm(v + g D) + (1 - w) norm(r + g D)) ----------------------

R3, T3, V3 = vec(1, 0, 0), vec(0, 1, 0), vec(0, 0, 1)
"""Reference text, fused text and image, at right angles: D = (-1, 1, 0)."""


def test_direction_applies_the_change_to_the_image() -> None:
    s = 1 / math.sqrt(3)
    close(direction(T3, R3, V3, 1.0, 1.0), -s, s, s)  # v + D = (-1, 1, 1)
    # gain 0.5: (-0.5, 0.5, 1) / sqrt(1.5)
    h = math.sqrt(1.5)
    close(direction(T3, R3, V3, 1.0, 0.5), -0.5 / h, 0.5 / h, 1 / h)
    close(direction(T3, R3, V3, 1.0, 0.0), 0, 0, 1)  # no gain: the image itself


def test_direction_text_side_is_the_fused_text_at_gain_one() -> None:
    close(direction(T3, R3, V3, 0.0, 1.0), 0, 1, 0)  # r + D = t
    close(direction(T3, R3, None, 0.0, 1.0), 0, 1, 0)
    f = math.sqrt(5)
    close(direction(T3, R3, None, 0.0, 2.0), -1 / f, 2 / f, 0)  # r + 2D = (-1, 2, 0)


def test_direction_mixes_the_two_normalised_sides() -> None:
    s = 1 / math.sqrt(3)
    image_side, text_side = np.array([-s, s, s]), np.array([0.0, 1.0, 0.0])
    mixed = 0.5 * image_side + 0.5 * text_side  # (-0.2887, 0.7887, 0.2887)
    close(direction(T3, R3, V3, 0.5, 1.0), *(mixed / np.linalg.norm(mixed)))


def test_direction_without_a_reference_adds_the_text_to_the_image() -> None:
    # r = 0: D = t, and at w = 1, g = 1 the query is Pic2Word's norm(v + t)
    close(direction(T3, None, V3, 1.0, 1.0), 0, 1 / math.sqrt(2), 1 / math.sqrt(2))
    close(direction(T3, None, None, 0.0, 1.0), 0, 1, 0)


def test_direction_never_returns_a_zero_vector() -> None:
    # v + D = 0: the image side vanishes, and the text stands
    close(direction(T3, R3, vec(1, -1, 0), 1.0, 1.0), 0, 1, 0)
    # no reference and no gain: the text side vanishes too
    close(direction(T3, None, None, 0.0, 0.0), 0, 1, 0)
    close(direction(T3, None, V3, 0.5, 0.0), 0, 0, 1)


@pytest.mark.parametrize("method", [image_anchor, slerp])
def test_weights_outside_the_range_or_without_an_image_are_refused(
    method: Callable[[Vector, Vector | None, float], Vector],
) -> None:
    with pytest.raises(ValueError, match="outside"):
        method(T, V, 1.5)
    with pytest.raises(ValueError, match="needs the image"):
        method(T, None, 0.3)


def test_direction_refuses_a_negative_gain() -> None:
    with pytest.raises(ValueError, match="gain"):
        direction(T3, R3, V3, 1.0, -1.0)


def test_a_vector_of_tiny_entries_is_still_a_finite_unit_vector() -> None:
    # Found by tests/fuzz: 1e-30 squares to 0 in float32, so the norm was 0 and the result inf / NaN;
    # 1e-19 squares to a subnormal, and the norm was 14 % off.
    for scale in (1e-30, 1e-19):
        _check_unit(np.full(8, scale, dtype=np.float32))


def _check_unit(tiny: Vector) -> None:
    image = np.eye(8, dtype=np.float32)[1]
    for vector in (
        image_anchor(tiny, None, 0.0),
        slerp(tiny, image, 0.5),
        direction(tiny, None, image, 0.5, 1.0),
    ):
        assert np.all(np.isfinite(vector))
        assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5
    assert np.allclose(image_anchor(tiny, None, 0.0), np.full(8, 8**-0.5), atol=1e-6)


# --- ensemble: norm(sum_i s_i norm(x_i)) --------------------------------------------------------


def test_ensemble_sums_unit_vectors_by_their_shares() -> None:
    # p = (1, 0), t = (0, 3) counts as (0, 1), m = (0, -2) as (0, -1): 1 * p + 0.5 * t + 0.25 * m
    # = (1, 0.25), norm sqrt(1.0625).
    p, t, m = vec(1, 0), vec(0, 3), vec(0, -2)
    close(ensemble([(1.0, p), (0.5, t), (0.25, m)]), 1 / math.sqrt(1.0625), 0.25 / math.sqrt(1.0625))


def test_ensemble_leaves_out_missing_zero_and_unshared_parts() -> None:
    p = vec(3, 4)
    close(ensemble([(1.0, p), (0.5, None), (0.25, vec(0, 0)), (0.0, vec(-1, 0))]), 0.6, 0.8)


def test_ensemble_of_three_equal_shares_at_right_angles_is_the_diagonal() -> None:
    out = ensemble([(1.0, vec(1, 0, 0)), (1.0, vec(0, 2, 0)), (1.0, vec(0, 0, 5))])
    close(out, *([1 / math.sqrt(3)] * 3))


def test_ensemble_refuses_negative_shares_and_nothing_to_sum() -> None:
    with pytest.raises(ValueError, match="share"):
        ensemble([(1.0, T), (-0.5, V)])
    with pytest.raises(ValueError, match="at least one"):
        ensemble([(1.0, None), (0.5, vec(0, 0))])
