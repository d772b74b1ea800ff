"""Decode and validate images at the edge, before anything is queued.

Accepted: JPEG, PNG, WebP, GIF (first frame) and BMP, as raw bytes or base64 text with an
optional ``data:image/...;base64,`` prefix. Every image comes out as an RGB ``PIL.Image``:
grayscale, palette and CMYK are converted, transparency is composited on white, EXIF
orientation is applied. Sizes are checked from the header before the pixels are decoded, so a
decompression bomb is rejected without allocating it, and so is an image thin enough to make
the model's resize explode (:data:`schemas.images.MAX_IMAGE_ASPECT_RATIO`).

Errors are :class:`~schemas.errors.InvalidInputError`; the functions that take an index name
the offending item (``images[3]: truncated or corrupt image``).
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from schemas.errors import InvalidInputError, item_error
from schemas.images import image_shape_problem

__all__ = [
    "ALLOWED_FORMATS",
    "SERVICE_DRAFT_SIDE",
    "ImageLimits",
    "base64_to_bytes",
    "decode_image",
    "decode_images",
    "to_rgb",
]

ALLOWED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
"""PIL format names the service decodes; anything else is rejected as not an image."""

SERVICE_DRAFT_SIDE = 448
"""The shorter side the service decodes a large JPEG to at least (JPEG decoders scale by 1/2,
1/4 or 1/8 while decoding): twice the 224 px input of the common CLIP models, above the
background remover's 320 and the BLIP captioner's 384, so every model still downsamples. A
6000 x 6000 JPEG then decodes to 750 x 750 (0.56 M pixels instead of 36 M)."""

_DATA_URL = re.compile(r"^data:image/[A-Za-z0-9.+-]+;base64,")
_WHITE = (255, 255, 255)
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})


@dataclass(frozen=True)
class ImageLimits:
    """Per-image limits (``ServiceSettings.max_image_bytes`` / ``max_image_pixels``)."""

    max_bytes: int
    max_pixels: int


def base64_to_bytes(value: str, max_bytes: int) -> bytes:
    """Decode base64 text (optionally a ``data:image/...;base64,`` URL) to bytes.

    Raises :class:`InvalidInputError` for invalid base64, an empty image, or one larger than
    ``max_bytes`` (checked from the text's length before decoding).
    """
    text = _DATA_URL.sub("", value, count=1)
    # 4 base64 characters carry 3 bytes; reject before allocating the decoded copy.
    if len(text) // 4 * 3 > max_bytes + 3:
        raise InvalidInputError(f"image is larger than the limit of {max_bytes} bytes")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"invalid base64 ({exc})") from None
    if not data:
        raise InvalidInputError("empty image")
    if len(data) > max_bytes:
        raise InvalidInputError(f"image is {len(data)} bytes, over the limit of {max_bytes}")
    return data


def _draft(image: Image.Image, shorter_side: int) -> None:
    # Only JPEG decoders scale while decoding; draft() picks the largest 1/2, 1/4 or 1/8 scale
    # whose result still has a shorter side of at least ``shorter_side``.
    shorter = min(image.size)
    if image.format != "JPEG" or shorter <= shorter_side:
        return
    scale = shorter_side / shorter
    image.draft(image.mode, (math.ceil(image.width * scale), math.ceil(image.height * scale)))


class PixelHold(Protocol):
    """Admission of a decode's pixels (see :class:`~vectorizer_service.admission.Admission`)."""

    def admit(self, pixels: int) -> None:
        """Reserve ``pixels`` before they are allocated; raise to refuse the image."""

    def keep(self, pixels: int) -> None:
        """The decoded image holds only ``pixels`` now (after reduction): give back the rest."""


_REDUCIBLE_MODES = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "I", "F", "CMYK", "YCbCr"})


def _shrink(image: Image.Image, shorter_side: int) -> Image.Image:
    # Image.reduce: a box filter over whole blocks, like a JPEG decoder's scaling, and cheap. The
    # model then resizes from at least ``shorter_side``, so it still downsamples as before.
    factor = min(image.size) // shorter_side
    if factor < 2 or image.mode not in _REDUCIBLE_MODES:
        return image
    reduced = image.reduce(factor)
    reduced.info = dict(image.info)  # keep the EXIF orientation and the transparency key
    if "exif" in image.info or image.getexif():
        reduced.getexif().update(image.getexif())
    return reduced


def decode_image(
    data: bytes,
    limits: ImageLimits,
    *,
    draft_side: int | None = None,
    shrink_side: int | None = None,
    hold: PixelHold | None = None,
) -> Image.Image:
    """Decode one encoded image to RGB, enforcing ``limits``; raises :class:`InvalidInputError`.

    ``draft_side``: a caller that will shrink the image anyway (the service, training's working
    copies) lets a large JPEG decode straight to a reduced scale whose shorter side is still at
    least this. ``shrink_side``: any other format is reduced by a whole factor right after
    decoding, keeping its shorter side at least this, so that every later copy (orientation,
    RGB conversion, the composed-query stages) is of the small image. ``hold`` is told the
    pixels the decode will allocate (read from the header, after the JPEG reduction) before any
    is allocated, and may refuse; then the pixels the result keeps (the service's
    :class:`~vectorizer_service.admission.Admission`).
    """
    if not data:
        raise InvalidInputError("empty image")
    if len(data) > limits.max_bytes:
        raise InvalidInputError(f"image is {len(data)} bytes, over the limit of {limits.max_bytes}")
    with warnings.catch_warnings():
        # We enforce our own pixel limit below; PIL's warning would only be noise.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
        except Image.DecompressionBombError as exc:
            raise InvalidInputError(f"image is too large to decode ({exc})") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise InvalidInputError(
                "not an image (cannot identify format; accepted: JPEG, PNG, WebP, GIF, BMP)"
            ) from None
        width, height = image.size
        # From the header only: pixels, and the aspect ratio that bounds the resize (see schemas.images).
        problem = image_shape_problem(width, height, limits.max_pixels)
        if problem is not None:
            raise InvalidInputError(problem)
        try:
            if draft_side is not None:
                _draft(image, draft_side)
            if hold is not None:
                # After draft(), size is what the decoder will allocate (still header data only).
                hold.admit(image.width * image.height)
            image.seek(0)  # animated GIF / WebP: the first frame
            image.load()
            decoded: Image.Image = image if shrink_side is None else _shrink(image, shrink_side)
            rgb = to_rgb(ImageOps.exif_transpose(decoded))
            if hold is not None:
                hold.keep(rgb.width * rgb.height)
        except Image.DecompressionBombError as exc:
            raise InvalidInputError(f"image is too large to decode ({exc})") from None
        except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
            raise InvalidInputError(f"truncated or corrupt image ({exc})") from None
    return rgb


def decode_images(images: Sequence[bytes], limits: ImageLimits, field: str = "images") -> list[Image.Image]:
    """Decode a request's images; the first bad one fails with its index named."""
    decoded: list[Image.Image] = []
    for index, data in enumerate(images):
        try:
            decoded.append(decode_image(data, limits))
        except InvalidInputError as exc:
            raise item_error(field, index, exc.message) from None
    return decoded


def to_rgb(image: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB; transparent pixels become white, not black."""
    if image.mode == "RGB" and "transparency" not in image.info:
        return image
    if image.mode.startswith("I;16"):
        # 16-bit grayscale: keep the high byte, PIL's own conversion would clip to white.
        high = (np.asarray(image, dtype=np.uint16) >> 8).astype(np.uint8)
        return Image.fromarray(high).convert("RGB")
    if image.mode == "P" or (image.mode in ("RGB", "L") and "transparency" in image.info):
        image = image.convert("RGBA") if "transparency" in image.info else image.convert("RGB")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, _WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
