"""The fusion methods of the embedding stage: pure functions of CLIP vectors.

Notation (docs/composed-queries.md): ``t`` the fused query text's vector, ``r`` the reference
text's vector (the caption in the template without the change), ``v`` the reference image's
vector, ``w`` the image weight (the image side's share, 0..1), ``g`` the direction gain;
``norm()`` scales to unit length. Every function returns a unit float32 vector and never
divides by zero: a side that vanishes is dropped, and the text vector is the last resort.

* ``image_anchor``: ``norm((1 - w) t + w v)`` (the sum baseline; SDR-CIR's image anchor).
* ``direction`` (PDV, Tursun et al., WACV 2026, arXiv 2502.07215): ``D = t - r``;
  ``norm(w norm(v + g D) + (1 - w) norm(r + g D))``. At ``w = 1``: ``norm(v + g D)``, the
  change applied to the image; at ``g = 1`` the text side is ``t`` itself.
* ``slerp`` (Jang et al., ECCV 2024, arXiv 2405.00571): the point a share ``w`` of the way
  from ``t`` to ``v`` along the great circle, ``[sin(w th) v + sin((1 - w) th) t] / sin th``
  with ``th = arccos(v . t)``; linear where ``|v . t|`` exceeds :data:`SLERP_LINEAR_ABOVE`.
* ``ensemble``: ``norm(sum_i s_i norm(x_i))``, a weighted sum of unit vectors; the method sums
  Pic2Word's vector ``p`` (when a mapper is loaded), the fused caption text ``t`` and the change's
  vector ``m`` at :data:`ENSEMBLE_SHARES` (chosen on the product world's val splits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "ENSEMBLE_SHARES",
    "SLERP_LINEAR_ABOVE",
    "Vector",
    "cosine",
    "direction",
    "ensemble",
    "image_anchor",
    "slerp",
]

Vector = npt.NDArray[np.float32]

SLERP_LINEAR_ABOVE = 0.9995
"""Above this ``|cos|`` between image and text, ``sin th`` is too small to divide by: slerp
falls back to the linear mix (as Jang et al.'s implementation does), which is the same point
to within rounding there."""


ENSEMBLE_SHARES: dict[str, float] = {"pic2word": 1.0, "caption": 0.5, "change": 0.25}
"""``ensemble``'s shares of Pic2Word's vector, the fused caption text's and the change's:
the best mean R@10 of the product world's two val splits (shopper and catalog references) on a
grid fixed before the run (``benchmarks/query_blend.py``; the table is in
docs/composed-queries.md). The reference image's own vector had share 0 there: it enters as
Pic2Word's word. A model without a mapper sums the other two at the same shares (val: 68.8 / 87.6
R@10 against 58.0 / 82.0 for the image + text sum)."""

_FLOAT32_NORMS = (1e-15, 1e15)
"""Norms float32 computes exactly enough: outside them the squares underflow (entries of 1e-19
square to float32's subnormals, 1e-30 to 0) or overflow, and the vector is normalised in float64."""


def _unit(vector: npt.NDArray[np.floating], fallback: Vector) -> Vector:
    norm = float(np.linalg.norm(vector))
    if _FLOAT32_NORMS[0] < norm < _FLOAT32_NORMS[1]:
        # Ordinary vectors: float32 arithmetic, the same to the bit as before there were methods.
        return (np.asarray(vector, dtype=np.float32) / norm).astype(np.float32)
    # Tiny or huge entries (found by tests/fuzz: 1e-30 each gave a norm of 0, so inf / NaN; 1e-19
    # each a norm 14 % off).
    wide = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(wide))
    if norm == 0.0 or not math.isfinite(norm):
        wide = np.asarray(fallback, dtype=np.float64)
        norm = float(np.linalg.norm(wide))
    return (wide / norm).astype(np.float32)


def _check(weight: float, image: Vector | None) -> None:
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"image weight {weight} is outside [0, 1]")
    if image is None and weight != 0.0:
        raise ValueError("an image weight above 0 needs the image vector")


def cosine(a: Vector, b: Vector) -> float:
    """The cosine of the angle between ``a`` and ``b`` (0 when either is the zero vector)."""
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    norms = float(np.linalg.norm(a64) * np.linalg.norm(b64))
    return float(np.clip(np.dot(a64, b64) / norms, -1.0, 1.0)) if norms > 0.0 else 0.0


def image_anchor(text: Vector, image: Vector | None, weight: float) -> Vector:
    """``norm((1 - w) t + w v)``; ``v`` may be ``None`` at ``w = 0``. When the two cancel
    (opposite vectors at ``w = 0.5``) the text vector stands."""
    _check(weight, image)
    if image is None or weight == 0.0:
        return _unit(text, text)
    return _unit((1.0 - weight) * text + weight * image, text)


def slerp(text: Vector, image: Vector | None, weight: float) -> Vector:
    """Spherical interpolation from ``t`` (``w = 0``) to ``v`` (``w = 1``) over unit vectors."""
    _check(weight, image)
    t = _unit(text, text)
    if image is None or weight == 0.0:
        return t
    v = _unit(image, t)
    cos = cosine(t, v)
    if abs(cos) > SLERP_LINEAR_ABOVE:
        return image_anchor(t, v, weight)
    theta = math.acos(cos)
    mixed = math.sin(weight * theta) * v.astype(np.float64) + math.sin((1.0 - weight) * theta) * t
    return _unit(mixed / math.sin(theta), t)


def direction(
    text: Vector, reference: Vector | None, image: Vector | None, weight: float, gain: float
) -> Vector:
    """``D = t - r``; ``norm(w norm(v + g D) + (1 - w) norm(r + g D))``.

    ``reference`` ``None`` (no caption to start from) counts as the zero vector: ``D = t`` and
    the query is ``norm(w norm(v + g t) + (1 - w) t)``, Pic2Word's ``v + t`` mixture at
    ``w = 1, g = 1``. Each side is normalised before the mix so ``w`` weighs the two cosine
    similarities, whatever length ``v + g D`` has. A side of zero length is left out.
    """
    _check(weight, image)
    if gain < 0.0 or not math.isfinite(gain):
        raise ValueError(f"direction gain {gain} must be a finite number >= 0")
    t = text.astype(np.float64)
    r = np.zeros_like(t) if reference is None else reference.astype(np.float64)
    delta = t - r
    sides: list[tuple[float, npt.NDArray[np.float64]]] = [(1.0 - weight, r + gain * delta)]
    if image is not None and weight > 0.0:
        sides.append((weight, image.astype(np.float64) + gain * delta))
    mixed = np.zeros_like(t)
    for share, side in sides:
        norm = float(np.linalg.norm(side))
        if share > 0.0 and norm > 0.0:
            mixed += share * side / norm
    return _unit(mixed, _unit(text, text))


def ensemble(parts: Sequence[tuple[float, Vector | None]]) -> Vector:
    """``norm(sum_i s_i norm(x_i))`` over the parts ``(s_i, x_i)``: each vector counts by its
    share, whatever its length. A part that is ``None``, of zero length or of share 0 is left out;
    at least one part must remain."""
    kept = [(share, vector) for share, vector in parts if vector is not None and share != 0.0]
    for share, _ in kept:
        if share < 0.0 or not math.isfinite(share):
            raise ValueError(f"ensemble share {share} must be a finite number >= 0")
    mixed: npt.NDArray[np.float64] | None = None
    first: Vector | None = None
    for share, vector in kept:
        wide = vector.astype(np.float64)
        norm = float(np.linalg.norm(wide))
        if norm == 0.0 or not math.isfinite(norm):
            continue
        first = vector if first is None else first
        mixed = share * wide / norm if mixed is None else mixed + share * wide / norm
    if mixed is None or first is None:
        raise ValueError("an ensemble needs at least one non-zero vector with a share above 0")
    return _unit(mixed, _unit(first, first))
