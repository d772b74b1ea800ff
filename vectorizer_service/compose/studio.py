"""Tell a studio photo from a cluttered one, from its border, before any model runs.

A studio (catalog) photo shows the product on a plain backdrop, already framed: the picture's
border is smooth (a flat colour or a gentle gradient) and the subject fills a good part of the
frame. Cutting such a photo out gains nothing and can lose the product's edges; a shopper's
photo (a product on a table, a street, a patterned cloth) needs the cut-out. The background
stage's ``auto`` mode asks :func:`detect_studio` and runs the remover only when the answer is no,
so studio photos also skip the remover's cost.

The test is two numbers on a small thumbnail (so the cost is the same for any photo size, and
sensor noise and JPEG blocks average out):

* **plain border**: the share of pixels in the outer band whose colour steps to the right and
  down stay under :data:`SMOOTH_STEP` grey levels;
* **subject span**: the largest side of the box around pixels that differ from the backdrop
  (a plane of colour fitted to the border: a flat colour or a studio sweep), as a share of the
  frame's side.

Studio when the border is at least :data:`MIN_PLAIN_BORDER` plain and the subject spans at
least :data:`MIN_SUBJECT_SPAN`. The thresholds were chosen on the product world's val split
(``benchmarks/studio_bench.py``): every catalog photo there has a border at least 97 % plain,
every shopper photo at most 94 %.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

__all__ = [
    "BORDER_BAND",
    "MIN_PLAIN_BORDER",
    "MIN_SUBJECT_SPAN",
    "SMOOTH_STEP",
    "THUMBNAIL_SIDE",
    "StudioVerdict",
    "detect_studio",
]

THUMBNAIL_SIDE = 64
"""The longer side of the thumbnail the test runs on, in pixels."""
BORDER_BAND = 0.08
"""Width of the border band, as a share of the thumbnail's shorter side (at least 2 pixels)."""
SMOOTH_STEP = 8.0
"""Largest colour step between neighbouring pixels (0-255, largest channel) that is still smooth."""
MIN_PLAIN_BORDER = 0.95
"""Share of the border that must be smooth: the midpoint between the val split's plainest
shopper photo (0.936) and its least plain catalog photo (0.972)."""
MIN_SUBJECT_SPAN = 0.4
"""Share of the frame the subject must span: a smaller subject on a plain backdrop is better
cut out and framed on (val catalog photos: 0.47 to 0.81)."""
_MIN_SUBJECT_CONTRAST = 16.0
"""A subject pixel differs from the backdrop (a plane of colour fitted to the border) by more
than this (0-255), and by more than three times the border's own deviation from that plane."""

_REDUCIBLE = frozenset({"RGB", "RGBA", "L", "LA"})

Pixels = npt.NDArray[np.float32]


@dataclass(frozen=True)
class StudioVerdict:
    """The decision and the evidence for it."""

    studio: bool
    plain_border: float
    """Share of the border band that is smooth, 0..1."""
    subject_span: float
    """The subject's box, its larger side as a share of the frame's, 0..1 (0: none found)."""

    @property
    def note(self) -> str:
        """The evidence in words, e.g. ``"studio photo (border 99% plain, subject spans 69%
        of the frame)"``."""
        border = f"border {self.plain_border:.0%} plain"
        span = f"subject spans {self.subject_span:.0%} of the frame"
        if self.studio:
            return f"studio photo ({border}, {span})"
        if self.plain_border < MIN_PLAIN_BORDER:
            return f"cluttered photo ({border})"
        return f"plain backdrop but a small subject ({border}, {span})"


def _thumbnail(image: Image.Image) -> Pixels:
    # Integer reduction first: a phone photo shrinks in tens of milliseconds, not hundreds.
    factor = max(image.size) // (2 * THUMBNAIL_SIDE)
    small = image.reduce(factor) if factor > 1 and image.mode in _REDUCIBLE else image
    small = small.convert("RGB")
    small.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32)


def _border_mask(height: int, width: int) -> npt.NDArray[np.bool_]:
    band = max(2, round(BORDER_BAND * min(height, width)))
    mask = np.zeros((height, width), dtype=bool)
    mask[:band] = mask[-band:] = True
    mask[:, :band] = mask[:, -band:] = True
    return mask


def _steps(pixels: Pixels) -> Pixels:
    """Per pixel, the largest colour step to its right or lower neighbour (largest channel)."""
    steps = np.zeros(pixels.shape[:2], dtype=np.float32)
    steps[:, :-1] = np.abs(np.diff(pixels, axis=1)).max(axis=2)
    steps[:-1] = np.maximum(steps[:-1], np.abs(np.diff(pixels, axis=0)).max(axis=2))
    return steps


def _subject_span(pixels: Pixels, border: npt.NDArray[np.bool_]) -> float:
    # The backdrop as a plane of colour fitted to the border (a flat colour, or a studio sweep
    # that darkens towards the floor), so a white product on light grey still stands out.
    height, width = border.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    design = np.stack([xs, ys, np.ones_like(xs)], axis=-1)
    coefficients = np.linalg.lstsq(design[border], pixels[border], rcond=None)[0]
    residual = np.abs(pixels - design @ coefficients).max(axis=2)
    spread = float(np.percentile(residual[border], 95))
    subject = residual > max(_MIN_SUBJECT_CONTRAST, 3 * spread)
    rows, cols = np.flatnonzero(subject.any(axis=1)), np.flatnonzero(subject.any(axis=0))
    if not rows.size:
        return 0.0
    return float(max((rows[-1] - rows[0] + 1) / height, (cols[-1] - cols[0] + 1) / width))


def detect_studio(image: Image.Image) -> StudioVerdict:
    """Whether ``image`` is a studio photo (plain border, subject framed), with the evidence.

    Pure and cheap: a 64-pixel thumbnail and a few array operations (a few milliseconds)."""
    pixels = _thumbnail(image)
    height, width = pixels.shape[:2]
    if min(height, width) < 8:
        return StudioVerdict(False, 0.0, 0.0)  # too thin to have a border and a subject
    border = _border_mask(height, width)
    plain = float((_steps(pixels)[border] < SMOOTH_STEP).mean())
    span = _subject_span(pixels, border) if plain >= MIN_PLAIN_BORDER else 0.0
    return StudioVerdict(bool(plain >= MIN_PLAIN_BORDER and span >= MIN_SUBJECT_SPAN), plain, span)
