"""What shape of image Grounded accepts, shared by the service's decoder and catalog ingestion.

CLIP-style preprocessing resizes an image so that its *short* side matches the model's input
size before cropping the centre. For a very thin image that resize is enormous: a 20 x 2,000,000
PNG (100 KB, 40 M pixels, within the pixel limit) becomes 224 x 22,400,000 and took the service
from 2.8 to 9.3 GB. Bounding the aspect ratio bounds the resized image to at most
``input_size**2 * MAX_IMAGE_ASPECT_RATIO`` pixels (about 1 M for 224 px), whatever the input.
Both checks read only the image header, so a refused image is never decoded.
"""

from __future__ import annotations

__all__ = ["MAX_IMAGE_ASPECT_RATIO", "image_shape_problem"]

MAX_IMAGE_ASPECT_RATIO = 20
"""Longest side / shortest side. Product photos, banners and panoramas stay well within it."""


def image_shape_problem(width: int, height: int, max_pixels: int) -> str | None:
    """Why a ``width`` x ``height`` image is refused (no pixels, too many, too thin), or ``None``."""
    if width <= 0 or height <= 0:
        return "image has no pixels"
    if width * height > max_pixels:
        return f"image is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}"
    if max(width, height) > MAX_IMAGE_ASPECT_RATIO * min(width, height):
        return (
            f"image is {width}x{height}, more than {MAX_IMAGE_ASPECT_RATIO} times longer than it is wide; "
            "crop or pad it"
        )
    return None
