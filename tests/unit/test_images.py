"""Image decoding at the edge: formats, modes, prefixes, and every rejection."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from schemas.errors import InvalidInputError
from vectorizer_service.images import ImageLimits, base64_to_bytes, decode_image, decode_images

LIMITS = ImageLimits(max_bytes=1_000_000, max_pixels=1_000_000)


def encode(image: Image.Image, fmt: str, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_accepted_formats_decode_to_rgb(fmt: str) -> None:
    image = decode_image(encode(Image.new("RGB", (20, 10), (200, 30, 30)), fmt), LIMITS)
    assert image.mode == "RGB"
    assert image.size == (20, 10)
    red, green, _ = image.getpixel((5, 5))  # type: ignore[misc]
    assert red > 150 and green < 80


def test_transparent_pixels_become_white_not_black() -> None:
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    image = decode_image(encode(rgba, "PNG"), LIMITS)
    assert image.getpixel((4, 4)) == (255, 255, 255)
    assert image.getpixel((0, 0)) == (0, 0, 255)


def test_palette_with_transparency_and_gray_alpha_are_composited_on_white() -> None:
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.info["transparency"] = 0
    assert decode_image(encode(palette, "PNG", transparency=0), LIMITS).getpixel((1, 1)) == (255, 255, 255)
    gray_alpha = Image.new("LA", (8, 8), (0, 0))
    assert decode_image(encode(gray_alpha, "PNG"), LIMITS).getpixel((1, 1)) == (255, 255, 255)


def test_grayscale_and_cmyk_become_rgb() -> None:
    gray = decode_image(encode(Image.new("L", (8, 8), 128), "PNG"), LIMITS)
    assert gray.mode == "RGB" and gray.getpixel((0, 0)) == (128, 128, 128)
    cmyk = decode_image(encode(Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG"), LIMITS)
    red, green, blue = cmyk.getpixel((4, 4))  # type: ignore[misc]
    assert cmyk.mode == "RGB" and red > 200 and green < 60 and blue < 60


def test_sixteen_bit_grayscale_keeps_its_brightness() -> None:
    mid = Image.fromarray(np.full((8, 8), 32768, dtype=np.uint16))
    assert decode_image(encode(mid, "PNG"), LIMITS).getpixel((0, 0)) == (128, 128, 128)


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (8, 8), (255, 0, 0)), Image.new("RGB", (8, 8), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    red, _, blue = decode_image(data, LIMITS).getpixel((4, 4))  # type: ignore[misc]
    assert red > 200 and blue < 50


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees on display
    data = encode(Image.new("RGB", (20, 10)), "JPEG", exif=exif.tobytes())
    assert decode_image(data, LIMITS).size == (10, 20)


def test_data_url_prefix_is_accepted() -> None:
    raw = encode(Image.new("RGB", (4, 4)), "PNG")
    text = "data:image/png;base64," + base64.b64encode(raw).decode()
    assert base64_to_bytes(text, 10_000) == raw


@pytest.mark.parametrize("text", ["not base64!", "abc", "data:image/png;base64,@@@@"])
def test_invalid_base64_is_rejected(text: str) -> None:
    with pytest.raises(InvalidInputError, match="invalid base64"):
        base64_to_bytes(text, 10_000)


def test_oversized_base64_is_rejected_before_decoding() -> None:
    with pytest.raises(InvalidInputError, match="larger than the limit of 100 bytes"):
        base64_to_bytes("A" * 400, 100)


def test_bytes_that_are_not_an_image_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="not an image"):
        decode_image(b"hello, I am text", LIMITS)


def test_unsupported_format_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="not an image"):
        decode_image(encode(Image.new("RGB", (4, 4)), "TIFF"), LIMITS)


def test_truncated_image_is_rejected() -> None:
    data = encode(Image.effect_noise((64, 64), 50).convert("RGB"), "PNG")
    with pytest.raises(InvalidInputError, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2], LIMITS)


def test_images_over_the_pixel_limit_are_rejected_from_the_header() -> None:
    data = encode(Image.new("RGB", (200, 100)), "PNG")
    with pytest.raises(InvalidInputError, match="200x100 = 20000 pixels, over the limit of 10000"):
        decode_image(data, ImageLimits(max_bytes=1_000_000, max_pixels=10_000))


def test_pil_decompression_bomb_error_becomes_invalid_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    data = encode(Image.new("RGB", (100, 100)), "PNG")  # 10000 > 2 x PIL's limit: PIL raises
    with pytest.raises(InvalidInputError, match="too large to decode"):
        decode_image(data, LIMITS)


def test_images_over_the_byte_limit_are_rejected() -> None:
    data = encode(Image.effect_noise((64, 64), 50).convert("RGB"), "PNG")
    with pytest.raises(InvalidInputError, match="over the limit of 100"):
        decode_image(data, ImageLimits(max_bytes=100, max_pixels=1_000_000))


def test_a_bad_item_is_named_by_its_index() -> None:
    good = encode(Image.new("RGB", (4, 4)), "PNG")
    with pytest.raises(InvalidInputError, match=r"^images\[2\]: not an image"):
        decode_images([good, good, b"garbage", good], LIMITS)
