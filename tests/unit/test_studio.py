"""The studio-photo detector on synthetic photos (plain or gradient backdrops around a framed
subject; textured, noisy or busy backdrops) and on scikit-image's sample photos."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from vectorizer_service.compose.studio import MIN_PLAIN_BORDER, detect_studio


def product(
    backdrop: Image.Image, span: float = 0.6, colour: tuple[int, int, int] = (200, 30, 40)
) -> Image.Image:
    """``backdrop`` with a product (a dress-like shape) centred on it, ``span`` of the frame tall."""
    image = backdrop.convert("RGB").copy()
    w, h = image.size
    top, bottom = h * (1 - span) / 2, h * (1 + span) / 2
    neck, hem = w * span * 0.13, w * span * 0.3
    draw = ImageDraw.Draw(image)
    draw.polygon(
        [(w / 2 - neck, top), (w / 2 + neck, top), (w / 2 + hem, bottom), (w / 2 - hem, bottom)], fill=colour
    )
    return image


def plain(size: tuple[int, int] = (300, 400), colour: tuple[int, int, int] = (245, 245, 245)) -> Image.Image:
    return Image.new("RGB", size, colour)


def gradient(size: tuple[int, int] = (256, 256)) -> Image.Image:
    """A studio sweep: light grey at the top fading to a darker grey at the floor."""
    w, h = size
    column = np.linspace(235, 200, h, dtype=np.float32)[:, None, None]
    return Image.fromarray(np.broadcast_to(column, (h, w, 3)).astype(np.uint8))


def noise(size: tuple[int, int] = (256, 256), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def mottled(size: tuple[int, int] = (2400, 1800), seed: int = 0) -> Image.Image:
    """Noise at a coarse scale (leaves, gravel, a crowd): still rough after shrinking."""
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 255, (size[1] // 40, size[0] // 40, 3), dtype=np.uint8))
    return coarse.resize(size, Image.Resampling.NEAREST)


def stripes(size: tuple[int, int] = (256, 256), period: int = 12) -> Image.Image:
    w, h = size
    rows = ((np.arange(h) // (period // 2)) % 2 * 160 + 40).astype(np.uint8)
    return Image.fromarray(np.broadcast_to(rows[:, None, None], (h, w, 3)).copy())


def shelf(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A busy scene: many coloured boxes of different sizes, as on a shop shelf."""
    rng = np.random.default_rng(1)
    image = Image.new("RGB", size, (90, 80, 70))
    draw = ImageDraw.Draw(image)
    for _ in range(120):
        x, y = rng.integers(0, size[0]), rng.integers(0, size[1])
        w, h = rng.integers(4, 40, 2)
        draw.rectangle([x, y, x + w, y + h], fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    return image


@pytest.mark.parametrize(
    "image",
    [
        product(plain()),
        product(plain(colour=(20, 20, 25)), colour=(230, 200, 40)),
        product(gradient()),
        product(gradient(), colour=(255, 255, 255)),
    ],
    ids=["white", "black backdrop", "gradient sweep", "white product on a grey sweep"],
)
def test_a_framed_product_on_a_plain_backdrop_is_a_studio_photo(image: Image.Image) -> None:
    verdict = detect_studio(image)
    assert verdict.studio, verdict
    assert verdict.plain_border >= MIN_PLAIN_BORDER
    assert 0.5 <= verdict.subject_span <= 0.7
    assert verdict.note.startswith("studio photo (border ")


@pytest.mark.parametrize(
    "backdrop", [noise(), stripes(), shelf()], ids=["sensor noise", "striped cloth", "busy shelf"]
)
def test_a_product_on_a_textured_or_busy_backdrop_is_not(backdrop: Image.Image) -> None:
    verdict = detect_studio(product(backdrop))
    assert not verdict.studio
    assert verdict.plain_border < MIN_PLAIN_BORDER
    assert verdict.note.startswith("cluttered photo (border ")


def test_a_small_subject_on_a_plain_backdrop_is_cut_out_and_framed() -> None:
    verdict = detect_studio(product(plain(), span=0.2))
    assert not verdict.studio
    assert verdict.plain_border >= MIN_PLAIN_BORDER and verdict.subject_span < 0.3
    assert "small subject" in verdict.note


def test_a_blank_or_tiny_image_is_not_a_studio_photo() -> None:
    assert not detect_studio(plain()).studio  # nothing on the backdrop
    assert not detect_studio(Image.new("RGB", (3, 200), (255, 255, 255))).studio


def test_the_verdict_does_not_depend_on_the_photo_size_or_mode() -> None:
    small = product(gradient((128, 128)))
    large = small.resize((3000, 3000), Image.Resampling.BILINEAR)
    assert detect_studio(small).studio and detect_studio(large).studio
    assert detect_studio(small.convert("RGBA")).studio
    assert not detect_studio(product(mottled())).studio


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_generic_photos_count_as_cluttered(name: str) -> None:
    import skimage.data

    verdict = detect_studio(Image.fromarray(getattr(skimage.data, name)()))
    assert not verdict.studio, verdict
