"""Draw world products: a silhouette from data, filled with a pattern in the product's colour.

Two kinds of photo come out. A *catalog photo* is the product alone, centred on a studio
gradient, as a shop would list it. A *shopper photo* is the same product at another scale,
angle and light, pasted on a crop of a real photo or texture that ships inside scikit-image,
so background removal has real clutter to remove. Everything is drawn supersampled and reduced,
and every random choice comes from the generator passed in, so a seed fixes every pixel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from plugin.world.backgrounds import BACKGROUNDS, load_photo
from plugin.world.spec import CategoryDef, Part

__all__ = ["CATALOG_SIDE", "SHOPPER_SIDE", "Look", "catalog_photo", "product_cutout", "shopper_photo"]

CATALOG_SIDE = 128
"""Catalog photos are this square size: enough for small CLIPs and for u2netp's 320 px input."""
SHOPPER_SIDE = 160
_DRAW_SIDE = 256
"""Products are drawn at this size and reduced, which anti-aliases edges and patterns."""


@dataclass(frozen=True)
class Look:
    """What a product looks like: shape (category, cut, sleeve) and surface (colour, pattern)."""

    category: CategoryDef
    cut: str
    sleeve: str | None
    rgb: tuple[int, int, int]
    pattern: str


def _box(coords: tuple[float, ...], side: int) -> list[float]:
    return [c * side / 100.0 for c in coords]


def _mask(parts: tuple[Part, ...], side: int) -> Image.Image:
    mask = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(mask)
    for part in parts:
        fill = 0 if part.cut else 255
        if part.poly is not None:
            draw.polygon([(x * side / 100.0, y * side / 100.0) for x, y in part.poly], fill=fill)
        elif part.ellipse is not None:
            draw.ellipse(_box(part.ellipse, side), fill=fill)
        elif part.rect is not None:
            draw.rectangle(_box(part.rect, side), fill=fill)
    return mask


def _accent(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    # Patterns use a darker or lighter tone of the same hue, so the product keeps its colour name.
    luminance = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    target = 0.0 if luminance > 110 else 255.0
    mix = 0.45 if luminance > 110 else 0.55
    r, g, b = (int(c + (target - c) * mix) for c in rgb)
    return r, g, b


def _texture(pattern: str, rgb: tuple[int, int, int], side: int, rng: np.random.Generator) -> Image.Image:
    base = Image.new("RGB", (side, side), rgb)
    if pattern == "solid":
        return base
    accent = _accent(rgb)
    draw = ImageDraw.Draw(base)
    step = side // 9
    phase = int(rng.integers(0, step))
    if pattern == "striped":
        for y in range(-step + phase, side, step):
            draw.rectangle([0, y, side, y + step // 2 - 1], fill=accent)
    elif pattern == "dotted":
        r = step // 4
        for row, y in enumerate(range(phase, side + step, step)):
            offset = step // 2 if row % 2 else 0
            for x in range(offset + phase, side + step, step):
                draw.ellipse([x - r, y - r, x + r, y + r], fill=accent)
    elif pattern == "checked":
        for i, y in enumerate(range(-step + phase, side, step)):
            for j, x in enumerate(range(-step + phase, side, step)):
                if (i + j) % 2 == 0:
                    draw.rectangle([x, y, x + step - 1, y + step - 1], fill=accent)
    elif pattern == "floral":
        petal = step // 5
        for _ in range(int(side * side / (step * step) * 0.9)):
            cx, cy = (float(v) for v in rng.uniform(0, side, size=2))
            turn = float(rng.uniform(0, math.tau))
            for k in range(5):
                a = turn + k * math.tau / 5
                px, py = cx + math.cos(a) * petal * 1.3, cy + math.sin(a) * petal * 1.3
                draw.ellipse([px - petal, py - petal, px + petal, py + petal], fill=accent)
            draw.ellipse([cx - petal * 0.7, cy - petal * 0.7, cx + petal * 0.7, cy + petal * 0.7], fill=rgb)
    else:
        raise ValueError(f"unknown pattern {pattern!r}")
    return base


def product_cutout(look: Look, rng: np.random.Generator) -> Image.Image:
    """The product alone as RGBA at the drawing size (transparent around it)."""
    parts = look.category.cuts[look.cut]
    if look.sleeve is not None and look.category.sleeves:
        parts = parts + look.category.sleeves[look.sleeve]
    mask = _mask(parts, _DRAW_SIDE)
    surface = np.asarray(_texture(look.pattern, look.rgb, _DRAW_SIDE, rng), dtype=np.float32)
    # Soft light from the top left: the object reads as a thing, not a flat sticker.
    yy, xx = np.mgrid[0:_DRAW_SIDE, 0:_DRAW_SIDE] / _DRAW_SIDE
    shade = 1.08 - 0.16 * yy - 0.06 * xx
    surface = np.clip(surface * shade[..., None], 0, 255)
    edge = np.asarray(mask.filter(ImageFilter.MaxFilter(5)), dtype=np.float32) - np.asarray(
        mask.filter(ImageFilter.MinFilter(5)), dtype=np.float32
    )
    outline = (edge > 0)[..., None]
    surface = np.where(outline, surface * 0.55, surface)
    rgba = np.dstack([surface.astype(np.uint8), np.asarray(mask)])
    return Image.fromarray(rgba, "RGBA")


def catalog_photo(look: Look, rng: np.random.Generator) -> Image.Image:
    """The product centred on a light studio gradient with a soft floor shadow."""
    side = _DRAW_SIDE
    top, bottom = 232, 206
    column = np.linspace(top, bottom, side, dtype=np.float32)
    studio = np.repeat(column[:, None], side, axis=1)
    canvas = Image.fromarray(np.dstack([studio, studio, studio * 1.01]).clip(0, 255).astype(np.uint8))
    shadow = Image.new("L", (side, side), 0)
    ImageDraw.Draw(shadow).ellipse([side * 0.2, side * 0.86, side * 0.8, side * 0.97], fill=70)
    canvas.paste((150, 150, 150), (0, 0), shadow.filter(ImageFilter.GaussianBlur(side / 40)))
    product = product_cutout(look, rng).resize((int(side * 0.86),) * 2, Image.Resampling.LANCZOS)
    offset = ((side - product.width) // 2, (side - product.height) // 2 - side // 40)
    canvas.paste(product, offset, product)
    return canvas.resize((CATALOG_SIDE, CATALOG_SIDE), Image.Resampling.LANCZOS)


def _clutter(rng: np.random.Generator, side: int) -> Image.Image:
    names = sorted(BACKGROUNDS)
    source = load_photo(names[int(rng.integers(len(names)))])
    crop = int(min(source.size) * float(rng.uniform(0.35, 0.9)))
    x = int(rng.integers(0, source.width - crop + 1))
    y = int(rng.integers(0, source.height - crop + 1))
    patch = source.crop((x, y, x + crop, y + crop)).resize((side, side), Image.Resampling.BILINEAR)
    return patch.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 1.5))))


def shopper_photo(look: Look, rng: np.random.Generator) -> Image.Image:
    """The product at another scale, angle, position and light, on a cluttered real background."""
    side = _DRAW_SIDE
    canvas = _clutter(rng, side)
    product = product_cutout(look, rng)
    product = product.rotate(float(rng.uniform(-25, 25)), resample=Image.Resampling.BICUBIC, expand=True)
    scale = float(rng.uniform(0.5, 0.85))
    size = int(side * scale)
    product = product.resize((size, size), Image.Resampling.LANCZOS)
    if rng.random() < 0.5:
        product = product.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    x = int(rng.integers(0, side - size + 1))
    y = int(rng.integers(0, side - size + 1))
    canvas.paste(product, (x, y), product)
    canvas = ImageEnhance.Brightness(canvas).enhance(float(rng.uniform(0.75, 1.2)))
    canvas = ImageEnhance.Contrast(canvas).enhance(float(rng.uniform(0.8, 1.15)))
    noisy = np.asarray(canvas, dtype=np.float32) + rng.normal(0, 4.0, size=(side, side, 3))
    canvas = Image.fromarray(noisy.clip(0, 255).astype(np.uint8))
    return canvas.resize((SHOPPER_SIDE, SHOPPER_SIDE), Image.Resampling.LANCZOS)
