"""The remover's optional largest-region cut-out (``remover_one_region``): what is kept, what
is zeroed, and the box and coverage it reports."""

from __future__ import annotations

import numpy as np
from PIL import Image

from vectorizer_service.compose.remover import FOREGROUND_THRESHOLD, _cut_out, largest_region


def _mask() -> np.ndarray:
    mask = np.zeros((40, 60), dtype=np.float32)
    mask[5:25, 5:25] = 0.9  # the product: 400 pixels
    mask[30:35, 45:55] = 0.8  # a stray region: 50 pixels
    mask[4, 5:25] = 0.3  # the product's soft edge, below the threshold
    return mask


def test_only_the_largest_region_keeps_its_probabilities() -> None:
    kept = largest_region(_mask())
    assert (kept[5:25, 5:25] == np.float32(0.9)).all()
    assert (kept[30:35, 45:55] == 0).all()
    assert (kept[4, 5:25] == np.float32(0.3)).all()  # the soft edge stays: a smooth composite
    assert int((kept >= FOREGROUND_THRESHOLD).sum()) == 400


def test_regions_touching_at_a_corner_are_one_region() -> None:
    mask = np.zeros((10, 10), dtype=np.float32)
    mask[0:3, 0:3] = 0.9
    mask[3:6, 3:6] = 0.9  # meets the first diagonally: 8-connected
    mask[8, 8] = 0.9
    kept = largest_region(mask)
    assert int((kept >= FOREGROUND_THRESHOLD).sum()) == 18


def test_a_single_region_or_an_empty_mask_is_unchanged() -> None:
    one = np.zeros((8, 8), dtype=np.float32)
    one[2:5, 2:5] = 0.7
    assert largest_region(one) is one
    empty = np.zeros((8, 8), dtype=np.float32)
    assert largest_region(empty) is empty


def test_the_cut_out_frames_and_measures_only_the_kept_region() -> None:
    rgb = Image.new("RGB", (60, 40), (200, 10, 10))
    both = _cut_out(rgb, _mask())
    one = _cut_out(rgb, _mask(), one_region=True)
    assert both.box == (5, 5, 55, 35)
    assert one.box == (5, 5, 25, 25)
    assert one.coverage == 400 / (40 * 60) < both.coverage
    # The stray region's pixels became background in the image too.
    assert one.image.getpixel((50, 32)) != rgb.getpixel((50, 32))
    assert both.image.getpixel((50, 32)) != one.image.getpixel((50, 32))
