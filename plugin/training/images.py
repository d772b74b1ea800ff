"""Decoding a catalog photo for training the way serving decodes it, into a small working copy.

A trained model is served by the vectorizer service, which decodes every image with
:func:`vectorizer_service.images.decode_image`: EXIF orientation applied, transparency
composited on white, 16-bit grayscale kept by its high byte, JPEG/PNG/WebP/GIF/BMP only.
Training on other pixels (a photo lying on its side, a cut-out PNG on black) would teach the
model images it never sees at query time, so the same conversion (:func:`to_rgb`) and the same
shape limits ingestion enforces (:func:`schemas.images.image_shape_problem`) apply here.

What is kept in memory is a working copy whose shorter side is at most ``working_side``. A large
JPEG is decoded straight to a reduced scale (libjpeg's DCT scaling, ``Image.draft``) that still
leaves its shorter side at least ``working_side``: a 3000x2000 photo is decoded at 750x500 rather
than as an 18 MB bitmap, about ten times faster, before the final resize.
"""

from __future__ import annotations

from PIL import Image

from schemas.errors import InvalidInputError
from vectorizer_service import ImageLimits, decode_image

__all__ = ["WORKING_SIDE", "decode_for_training", "working_copy"]

WORKING_SIDE = 256
"""Images are kept at most this many pixels on their shorter side: enough for a random crop to a
224-pixel model input. Memory: 3 x 256 x 256 x (longer / shorter side) bytes per row."""


def working_copy(image: Image.Image, working_side: int = WORKING_SIDE) -> Image.Image:
    """``image`` (RGB) shrunk so that its shorter side is at most ``working_side``."""
    shorter = min(image.size)
    if shorter <= working_side:
        return image
    scale = working_side / shorter
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BICUBIC)


def decode_for_training(data: bytes, *, max_pixels: int, working_side: int = WORKING_SIDE) -> Image.Image:
    """The RGB working copy of one encoded image; :class:`InvalidInputError` says why not
    (empty, not an image of an accepted format, too many pixels or too thin, truncated)."""
    if not data:
        raise InvalidInputError("empty file")
    # The file's size was bounded when it was read (the ingest download limit): not again here.
    limits = ImageLimits(max_bytes=len(data), max_pixels=max_pixels)
    return working_copy(decode_image(data, limits, draft_side=working_side), working_side)
