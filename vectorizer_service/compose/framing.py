"""Frame a cut-out on its subject: a square around the foreground's box, with a margin.

A shopper photo shows the product small and anywhere in the frame; a catalog photo shows it
centred and filling the picture. Cropping the cut-out to its subject compares like with like,
and gives CLIP's low input resolution to the product instead of to empty background.
"""

from __future__ import annotations

from PIL import Image

__all__ = ["FRAME_MARGIN", "NEUTRAL_BACKGROUND", "frame_subject"]

NEUTRAL_BACKGROUND = (255, 255, 255)
"""What the background becomes: catalog photos are shot on white, so like is compared with like."""

FRAME_MARGIN = 0.08
"""Space left around the subject, as a share of its longer side."""


def frame_subject(
    image: Image.Image, box: tuple[int, int, int, int], background: tuple[int, int, int]
) -> Image.Image:
    """The square crop of ``image`` centred on ``box``, padded with ``background`` where the
    square reaches past the image's edge."""
    left, top, right, bottom = box
    side = max(right - left, bottom - top)
    side = max(1, round(side * (1 + 2 * FRAME_MARGIN)))
    cx, cy = (left + right) / 2, (top + bottom) / 2
    x0, y0 = round(cx - side / 2), round(cy - side / 2)
    framed = Image.new("RGB", (side, side), background)
    framed.paste(image.convert("RGB").crop((x0, y0, x0 + side, y0 + side)), (0, 0))
    # crop() fills outside the image with black: repaint those parts with the background.
    inside = (max(0, -x0), max(0, -y0), min(side, image.width - x0), min(side, image.height - y0))
    result = Image.new("RGB", (side, side), background)
    result.paste(framed.crop(inside), inside[:2])
    return result
