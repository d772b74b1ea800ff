"""Shopper scenes made from catalog photos: what serving shows the model, shown in training.

A catalog photo is a product alone on a plain backdrop. A shopper's photo is the same product at
another scale and angle, in other light, among clutter; at query time the service cuts it out
(rembg), frames it on the subject and only then embeds it, so the model reads a product that is
small, upscaled, rotated, unevenly lit, with ragged edges and sometimes a piece of the clutter
left on. A model trained on studio photos alone reads those badly. This module makes such
inputs from any catalog, with no knowledge of the catalog's products:

1. **Cut the product out** of its catalog photo (:func:`product_mask`): a plane of colour is
   fitted to the photo's border (a flat backdrop or a studio sweep; a transparent PNG was
   composited on white when decoded, so it reads the same way) and the pixels that differ from
   it, holes filled, are the product.
2. **Place it in a scene** (:class:`SceneMaker`): on a generated background (value-noise
   texture, random clutter shapes, a gradient, or an enlarged crop of another catalog photo, so
   real products appear as distractors), at 30-80 % of the frame, rotated up to 30 degrees,
   maybe mirrored, under other light (brightness, contrast, an illumination gradient), with a
   little blur and sensor noise. Light changes brightness only: hue and saturation are never
   touched, because colour is what shoppers ask for.
3. **Serve it the query's way** (:func:`query_view`): a cheap stand-in for the query path (the
   remover costs about 0.3 s per image on a 2-core CPU): the known mask, roughened the way a
   real remover's is (edges grown or eaten by a pixel or two and softened; now and then a blob
   of the background kept), composited on the service's neutral background and framed with
   the service's own :func:`frame_subject`. How close the stand-in is to the real path is
   measured on a sample of scenes at the start of every run (:func:`compare_with_remover`) and
   recorded in the card.

Every draw comes from a ``numpy`` generator seeded by ``(seed, row, variant)``, so the scenes of
a run are a pure function of its seed: a resumed run sees the same ones.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter
from scipy import ndimage

from vectorizer_service import NEUTRAL_BACKGROUND, frame_subject

__all__ = [
    "MIN_PRODUCT_SHARE",
    "Scene",
    "SceneMaker",
    "StandInCheck",
    "compare_with_remover",
    "product_mask",
    "query_view",
]

Mask = npt.NDArray[np.bool_]

_BACKDROP_CONTRAST = 12.0
"""A product pixel differs from the fitted backdrop by more than this (0-255, largest channel)
and by more than four times the border's own deviation from the plane."""
MIN_PRODUCT_SHARE = 0.02
"""A mask smaller than this share of the photo is not a product (a blank or a backdrop-only
photo): such a row gets no scenes and trains on its catalog photo alone."""


def _backdrop_plane(pixels: npt.NDArray[np.float32], band: int) -> tuple[npt.NDArray[np.float32], float]:
    """The plane of colour fitted (least squares, per channel) to the outer ``band`` pixels,
    evaluated over the whole photo, and the border's mean deviation from it."""
    height, width, _ = pixels.shape
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    border = np.ones((height, width), dtype=bool)
    border[band:-band, band:-band] = False
    design = np.stack([np.ones(border.sum(), np.float32), xx[border], yy[border]], axis=1)
    coef, *_ = np.linalg.lstsq(design, pixels[border], rcond=None)
    full = np.stack([np.ones_like(xx), xx, yy], axis=-1) @ coef
    deviation = float(np.abs(pixels[border] - full[border]).max(axis=1).mean())
    return full.astype(np.float32), deviation


def product_mask(image: Image.Image) -> Mask:
    """Where the product is in a catalog photo (``True``): pixels unlike the backdrop plane
    fitted to the border, the largest region kept and its holes filled. All ``False`` when the
    photo has no product-sized region."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    band = max(2, round(0.04 * min(pixels.shape[:2])))
    plane, deviation = _backdrop_plane(pixels, band)
    differs = np.abs(pixels - plane).max(axis=2) > max(_BACKDROP_CONTRAST, 4.0 * deviation)
    differs = ndimage.binary_opening(differs, iterations=1)
    labels, count = ndimage.label(differs)
    if count == 0:
        return np.zeros(differs.shape, dtype=bool)
    sizes = ndimage.sum_labels(differs, labels, index=range(1, count + 1))
    largest = labels == (1 + int(np.argmax(sizes)))
    filled: Mask = ndimage.binary_fill_holes(largest)
    if filled.mean() < MIN_PRODUCT_SHARE:
        return np.zeros(differs.shape, dtype=bool)
    return filled


def _random_colour(rng: np.random.Generator) -> tuple[int, int, int]:
    return (int(rng.integers(0, 256)), int(rng.integers(0, 256)), int(rng.integers(0, 256)))


def _noise_texture(side: int, rng: np.random.Generator) -> Image.Image:
    # Value noise: random grids of a few sizes, each enlarged smoothly, summed, then mapped
    # between two random colours - stone, fabric, foliage, carpet at a glance.
    total = np.zeros((side, side), dtype=np.float32)
    for cells, weight in ((3, 1.0), (9, 0.5), (27, 0.25), (81, 0.125)):
        grid = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8), mode="L")
        total += weight * np.asarray(grid.resize((side, side), Image.Resampling.BICUBIC), np.float32)
    span = total.max() - total.min()
    t = ((total - total.min()) / (span if span > 0 else 1.0))[..., None]
    low, high = np.array(_random_colour(rng), np.float32), np.array(_random_colour(rng), np.float32)
    return Image.fromarray((low + t * (high - low)).astype(np.uint8), mode="RGB")


def _gradient(side: int, rng: np.random.Generator) -> Image.Image:
    t = np.linspace(0.0, 1.0, side, dtype=np.float32)
    angle = float(rng.uniform(0, 2 * math.pi))
    ramp = (np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None])[..., None]
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    low, high = np.array(_random_colour(rng), np.float32), np.array(_random_colour(rng), np.float32)
    return Image.fromarray((low + ramp * (high - low)).astype(np.uint8), mode="RGB")


def _clutter(side: int, rng: np.random.Generator) -> Image.Image:
    canvas = (
        _gradient(side, rng) if rng.random() < 0.5 else Image.new("RGB", (side, side), _random_colour(rng))
    )
    draw = ImageDraw.Draw(canvas)
    for _ in range(int(rng.integers(3, 13))):
        x0, y0 = (float(v) for v in rng.uniform(-0.2, 1.0, 2) * side)
        w, h = (float(v) for v in rng.uniform(0.1, 0.6, 2) * side)
        shape = [(x0, y0), (x0 + w, y0 + h)]
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(shape, fill=_random_colour(rng))
    return canvas.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, 2.0))))


def _catalog_crop(side: int, others: Sequence[Image.Image], rng: np.random.Generator) -> Image.Image:
    # Another product's photo, enlarged 1.5-3x and cropped: real products as distractors.
    other = others[int(rng.integers(0, len(others)))].convert("RGB")
    zoom = float(rng.uniform(1.5, 3.0))
    big = other.resize((max(side, round(other.width * zoom)), max(side, round(other.height * zoom))))
    left = int(rng.integers(0, big.width - side + 1))
    top = int(rng.integers(0, big.height - side + 1))
    return big.crop((left, top, left + side, top + side))


@dataclass(frozen=True)
class Scene:
    """A product placed in a generated scene, and where it is (``mask``, same size)."""

    image: Image.Image
    mask: Mask


@dataclass(frozen=True)
class SceneMaker:
    """The ranges of every random choice of :meth:`make` (see the module docstring)."""

    scale: tuple[float, float] = (0.3, 0.8)
    """The product's longer side, as a share of the scene's side."""
    max_rotation_deg: float = 30.0
    brightness: tuple[float, float] = (0.7, 1.25)
    contrast: tuple[float, float] = (0.75, 1.15)
    light_gradient: float = 0.2
    """Illumination falls across the scene by up to this share (one side darker)."""
    max_blur: float = 1.0
    max_noise: float = 6.0
    """Sensor noise, standard deviation in grey levels (the same on all channels: no tint)."""

    def make(
        self, image: Image.Image, mask: Mask, others: Sequence[Image.Image], rng: np.random.Generator
    ) -> Scene:
        """``image``'s product (``mask``) in a new square scene the size of ``image``'s longer side."""
        side = max(image.size)
        background = self._background(side, others, rng)
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        product = image.convert("RGB").crop(box)
        alpha = Image.fromarray(mask[box[1] : box[3], box[0] : box[2]].astype(np.uint8) * 255, mode="L")
        target = float(rng.uniform(*self.scale)) * side
        factor = target / max(product.size)
        size = (max(2, round(product.width * factor)), max(2, round(product.height * factor)))
        product = product.resize(size, Image.Resampling.BICUBIC)
        alpha = alpha.resize(size, Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            product, alpha = (
                product.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                alpha.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
            )
        angle = float(rng.uniform(-self.max_rotation_deg, self.max_rotation_deg))
        product = product.rotate(angle, Image.Resampling.BICUBIC, expand=True)
        alpha = alpha.rotate(angle, Image.Resampling.BILINEAR, expand=True)
        # Anywhere in the frame, mostly inside it (a shopper centres roughly, not exactly).
        slack_x, slack_y = side - product.width, side - product.height
        x = int(rng.integers(min(0, slack_x), max(0, slack_x) + 1))
        y = int(rng.integers(min(0, slack_y), max(0, slack_y) + 1))
        scene = background.copy()
        scene.paste(product, (x, y), alpha)
        placed = Image.new("L", (side, side), 0)
        placed.paste(alpha, (x, y))
        return Scene(self._light(scene, rng), np.asarray(placed) >= 128)

    def _background(self, side: int, others: Sequence[Image.Image], rng: np.random.Generator) -> Image.Image:
        kind = int(rng.integers(0, 4 if others else 3))
        if kind == 0:
            return _noise_texture(side, rng)
        if kind == 1:
            return _clutter(side, rng)
        if kind == 2:
            return _gradient(side, rng)
        return _catalog_crop(side, others, rng)

    def _light(self, scene: Image.Image, rng: np.random.Generator) -> Image.Image:
        scene = ImageEnhance.Brightness(scene).enhance(float(rng.uniform(*self.brightness)))
        scene = ImageEnhance.Contrast(scene).enhance(float(rng.uniform(*self.contrast)))
        pixels = np.asarray(scene, dtype=np.float32)
        side = pixels.shape[0]
        t = np.linspace(-1.0, 1.0, side, dtype=np.float32)
        angle = float(rng.uniform(0, 2 * math.pi))
        shade = 1.0 + self.light_gradient * float(rng.random()) * (
            np.cos(angle) * t[None, :] + np.sin(angle) * t[:, None]
        )
        pixels = pixels * shade[..., None]
        pixels = pixels + rng.normal(0.0, float(rng.uniform(0, self.max_noise)), pixels.shape[:2])[..., None]
        lit = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
        return lit.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.0, self.max_blur))))


def _roughen(mask: Mask, rng: np.random.Generator) -> Mask:
    """A remover's mask rather than the true one: edges grown or eaten by up to two pixels,
    and in a third of the scenes a blob of the surroundings kept beside the product."""
    grow = int(rng.integers(-2, 3))
    if grow > 0:
        mask = ndimage.binary_dilation(mask, iterations=grow)
    elif grow < 0:
        eroded = ndimage.binary_erosion(mask, iterations=-grow)
        mask = eroded if eroded.any() else mask
    if rng.random() < 1 / 3:
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        cy, cx = float(rng.choice([rows[0], rows[-1]])), float(rng.choice([cols[0], cols[-1]]))
        radius = float(rng.uniform(0.1, 0.3)) * max(rows[-1] - rows[0], cols[-1] - cols[0], 1)
        yy, xx = np.ogrid[0 : mask.shape[0], 0 : mask.shape[1]]
        mask = mask | ((yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2)
    return mask


def query_view(scene: Scene, rng: np.random.Generator) -> Image.Image:
    """The stand-in for the query path: the scene cut out with a roughened mask, on the
    service's neutral background, framed on the subject by the service's own framing."""
    mask = _roughen(scene.mask, rng)
    alpha = Image.fromarray(mask.astype(np.uint8) * 255, mode="L").filter(ImageFilter.GaussianBlur(0.8))
    cut = Image.composite(scene.image, Image.new("RGB", scene.image.size, NEUTRAL_BACKGROUND), alpha)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    return frame_subject(cut, box, NEUTRAL_BACKGROUND)


@dataclass(frozen=True)
class StandInCheck:
    """How the stand-in's cut-outs compare with the real remover's on the same scenes."""

    scenes: int
    mask_iou: float
    """Mean intersection over union of the stand-in's mask and the remover's (foreground >= 0.5)."""
    remover_kept_original: int
    """Scenes where the real path kept the whole photo (mask empty or everywhere)."""
    seconds: float

    def as_json(self) -> dict[str, float | int]:
        return {
            "scenes": self.scenes,
            "mask_iou": round(self.mask_iou, 4),
            "remover_kept_original": self.remover_kept_original,
            "seconds": round(self.seconds, 2),
        }


def compare_with_remover(scenes: Sequence[Scene], remover: Any, rng: np.random.Generator) -> StandInCheck:
    """Run the real background remover (the service's, ``remove(images) -> cutouts``) on
    ``scenes`` and compare its masks with the stand-in's roughened ones."""
    from vectorizer_service import MAX_MASK_COVERAGE, MIN_MASK_COVERAGE

    started = time.perf_counter()
    cutouts = remover.remove([s.image for s in scenes])
    ious, kept = [], 0
    for scene, cutout in zip(scenes, cutouts, strict=True):
        if not MIN_MASK_COVERAGE <= cutout.coverage <= MAX_MASK_COVERAGE:
            kept += 1
        if cutout.alpha is None:
            raise ValueError(f"background remover {remover.name} reports no mask to compare with")
        real = np.asarray(cutout.alpha) >= 128
        stand_in = _roughen(scene.mask, rng)
        union = np.logical_or(real, stand_in).sum()
        ious.append(float(np.logical_and(real, stand_in).sum() / union) if union else 1.0)
    return StandInCheck(
        len(scenes), float(np.mean(ious)) if ious else 0.0, kept, time.perf_counter() - started
    )
