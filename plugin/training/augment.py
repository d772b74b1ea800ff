"""Train-time image augmentation that keeps colour, with every random draw from one generator.

Colour is what shoppers search by ("the same, but red"), so nothing here changes hue or
saturation: a random resized crop, a small rotation, a horizontal flip and mild brightness.
Parameters come from a ``numpy`` generator passed in (not torch's global one), so a batch's
augmentation is a pure function of the run's seed and step: a resumed run sees the same images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torchvision.transforms.functional as TF
from PIL import Image

__all__ = ["Augmentation", "to_normalized_tensor"]


@dataclass(frozen=True)
class Augmentation:
    """The ranges of each random change; ``size`` is the model's input side in pixels."""

    size: int
    scale: tuple[float, float] = (0.7, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    max_rotation_deg: float = 10.0
    flip_probability: float = 0.5
    brightness: float = 0.1
    """Brightness factor drawn from [1 - b, 1 + b]."""

    def __call__(self, image: Image.Image, rng: np.random.Generator) -> Image.Image:
        """A randomly changed ``size`` x ``size`` copy of ``image`` (RGB)."""
        top, left, height, width = self._crop_box(image.width, image.height, rng)
        out = TF.resized_crop(
            image, top, left, height, width, [self.size, self.size], TF.InterpolationMode.BICUBIC
        )
        angle = float(rng.uniform(-self.max_rotation_deg, self.max_rotation_deg))
        # Fill the corners with the image's own corner colour: product shots sit on a plain
        # background, and black wedges would be a shortcut feature.
        corner = out.getpixel((0, 0))
        fill = list(corner) if isinstance(corner, tuple) else [int(corner or 0)] * 3
        out = TF.rotate(out, angle, TF.InterpolationMode.BILINEAR, fill=fill)
        if rng.random() < self.flip_probability:
            out = TF.hflip(out)
        factor = float(rng.uniform(1 - self.brightness, 1 + self.brightness))
        brightened: Image.Image = TF.adjust_brightness(out, factor)
        return brightened

    def _crop_box(self, width: int, height: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
        # torchvision's RandomResizedCrop.get_params, drawing from ``rng`` instead of torch.
        area = width * height
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * float(rng.uniform(*self.scale))
            aspect = math.exp(float(rng.uniform(*log_ratio)))
            w = round(math.sqrt(target * aspect))
            h = round(math.sqrt(target / aspect))
            if 0 < w <= width and 0 < h <= height:
                return int(rng.integers(0, height - h + 1)), int(rng.integers(0, width - w + 1)), h, w
        side = min(width, height)  # fall back to a centre square
        return (height - side) // 2, (width - side) // 2, side, side


def to_normalized_tensor(image: Image.Image, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``image`` as a CHW float tensor normalised with the model's mean and std."""
    tensor: torch.Tensor = TF.normalize(TF.to_tensor(image), list(mean), list(std))
    return tensor
