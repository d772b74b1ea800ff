"""grounded train on catalogs as users bring them: photos in every format and mode decode as
serving decodes them, large photos are shrunk before they are held, and unusable rows (broken
files, repeated ids) are refused or, with ``skip_bad_rows``, left out and listed."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from plugin.training.dataset import load_catalog_examples
from plugin.training.images import WORKING_SIDE, decode_for_training
from schemas.errors import InvalidInputError
from tests.support.training_catalog import COLOURS, SHAPES, write_catalog
from vectorizer_service.images import ImageLimits, decode_image

_LIMITS = ImageLimits(max_bytes=50_000_000, max_pixels=40_000_000)


def _scene(size: tuple[int, int] = (60, 40)) -> Image.Image:
    """Asymmetric on purpose: a rotation or a flip changes the pixels."""
    image = Image.new("RGB", size, (240, 240, 240))
    pen = ImageDraw.Draw(image)
    pen.rectangle((2, 2, size[0] // 3, size[1] // 2), fill=(200, 30, 30))
    pen.ellipse((size[0] // 2, size[1] // 3, size[0] - 3, size[1] - 3), fill=(30, 40, 200))
    return image


def _encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def _exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the stored pixels lie on their side
    return _encode(_scene(), "JPEG", quality=95, exif=exif.tobytes())


def _cut_out_png() -> bytes:
    rgba = np.asarray(_scene().convert("RGBA")).copy()
    rgba[:, :20, 3] = 0  # a transparent band, as a background-removed product shot has
    return _encode(Image.fromarray(rgba), "PNG")


def _palette_png_with_transparency() -> bytes:
    palette = _scene().convert("P", palette=Image.Palette.ADAPTIVE, colors=8)
    return _encode(palette, "PNG", transparency=0)


def _sixteen_bit_png() -> bytes:
    grey = np.asarray(_scene().convert("L"), dtype=np.uint16) * 257
    return _encode(Image.fromarray(grey), "PNG")


def _cmyk_jpeg() -> bytes:
    return _encode(_scene().convert("CMYK"), "JPEG", quality=95)


@pytest.mark.parametrize(
    "make",
    [_exif_rotated_jpeg, _cut_out_png, _palette_png_with_transparency, _sixteen_bit_png, _cmyk_jpeg],
)
def test_every_photo_is_decoded_as_serving_decodes_it(make: Any) -> None:
    data = make()
    trained_on = decode_for_training(data, max_pixels=_LIMITS.max_pixels)
    served = decode_image(data, _LIMITS)
    assert trained_on.mode == "RGB" and trained_on.size == served.size
    assert np.array_equal(np.asarray(trained_on), np.asarray(served))


def test_a_large_photo_is_held_at_the_working_size(tmp_path: Path) -> None:
    photo = _scene((3000, 2000))
    data = _encode(photo, "JPEG", quality=90)
    held = decode_for_training(data, max_pixels=_LIMITS.max_pixels)
    assert held.size == (384, WORKING_SIDE)
    # Decoded at a reduced scale, still the same picture as a full decode shrunk.
    full = decode_image(data, _LIMITS).resize(held.size, Image.Resampling.BICUBIC)
    assert np.abs(np.asarray(held, dtype=float) - np.asarray(full, dtype=float)).mean() < 2.0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty file"),
        (b"<html>not found</html>", r"not an image \(cannot identify format; accepted: JPEG, PNG"),
        (_encode(Image.new("RGB", (64, 64)), "TIFF"), "not an image"),
        (_encode(Image.new("RGB", (210, 10)), "PNG"), "more than 20 times longer than it is wide"),
        (_encode(_scene((3000, 2000)), "JPEG")[:4000], "truncated or corrupt image"),
    ],
    ids=["empty", "html", "tiff", "thin", "truncated"],
)
def test_an_unusable_file_says_why(data: bytes, expected: str) -> None:
    with pytest.raises(InvalidInputError, match=expected):
        decode_for_training(data, max_pixels=_LIMITS.max_pixels)


def test_the_ingest_pixel_limit_applies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _scene((100, 80)).save(tmp_path / "big.png")
    catalog = write_catalog(tmp_path, copies=1, extra=[{"id": "p-big", "title": "t", "image": "big.png"}])
    monkeypatch.setenv("GROUNDED_MAX_IMAGE_PIXELS", "5000")
    with pytest.raises(
        InvalidInputError, match=r"\(p-big\): image 'big.png' cannot be decoded: image is 100x80"
    ):
        load_catalog_examples(catalog)


def test_a_repeated_product_id_is_unusable_as_in_ingest(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path, copies=1)
    first = json.loads(catalog.read_text().splitlines()[0])
    with catalog.open("a") as fh:
        fh.write(json.dumps({**first, "title": "the same product again"}) + "\n")
    rows = len(COLOURS) * len(SHAPES)
    with pytest.raises(
        InvalidInputError, match=rf"row {rows + 1} \(red-square-0\): duplicate product id \(first on row 1\)"
    ):
        load_catalog_examples(catalog)


def _catalog_with_bad_rows(folder: Path) -> Path:
    (folder / "cut.jpg").write_bytes(_encode(_scene((300, 200)), "JPEG")[:300])
    (folder / "nested" / "deeper").mkdir(parents=True)
    _scene().save(folder / "nested" / "deeper" / "photo with spaces.webp", format="WEBP")
    extra = [
        {"id": 9001, "title": "gone", "image": "missing.png"},
        {"id": 9002, "title": "cut", "image": "cut.jpg"},
        {"id": 9003, "title": "fine", "image": "nested/deeper/photo with spaces.webp"},
    ]
    catalog: Path = write_catalog(folder, copies=1, extra=extra)
    with catalog.open("a") as fh:
        fh.write('{"id": 9004, "title": \n')
    return catalog


def test_unusable_rows_stop_the_load_and_the_error_offers_skipping(tmp_path: Path) -> None:
    catalog = _catalog_with_bad_rows(tmp_path)
    with pytest.raises(InvalidInputError) as err:
        load_catalog_examples(catalog)
    usable = len(COLOURS) * len(SHAPES) + 1
    assert "3 unusable row(s)" in err.value.message
    assert f"pass --skip-bad-rows to train on the {usable} usable rows" in err.value.message


def test_skipping_bad_rows_lists_each_with_its_reason(tmp_path: Path) -> None:
    catalog = _catalog_with_bad_rows(tmp_path)
    data = load_catalog_examples(catalog, skip_bad_rows=True)
    good = len(COLOURS) * len(SHAPES)
    assert len(data.examples) == good + 1 and data.examples[-1].product_id == "9003"
    assert [(s.row, s.product_id) for s in data.skipped] == [
        (good + 1, "9001"),
        (good + 2, "9002"),
        (good + 4, None),
    ]
    reasons = [s.reason for s in data.skipped]
    assert "image file not found: missing.png" in reasons[0]
    assert "image 'cut.jpg' cannot be decoded" in reasons[1]
    assert reasons[2].startswith("bad JSON")


def test_skipping_still_refuses_a_catalog_with_no_usable_row(tmp_path: Path) -> None:
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text('{"id": 1, "title": "a", "image": "no.png"}\n{"id": 2, "title": "b"}\n')
    with pytest.raises(InvalidInputError, match="all 2 rows are unusable"):
        load_catalog_examples(catalog, skip_bad_rows=True)
