"""torchvision's antialiased uint8 resize (bicubic / bilinear), replayed in numpy.

transformers 5 image processors resize ``uint8`` tensors with torchvision. Its CPU kernel
computes the same separable filter weights as PIL but stores them as int16 with a precision
chosen per axis, where PIL always uses 22 bits, so the two differ by one level on some pixels.
Replaying torchvision's arithmetic keeps the onnx backend's inputs identical to the
transformers backend's. Weights: ATen ``_compute_indices_min_size_weights_aa`` and
``_compute_int16_weights_aa``; passes: horizontal, then vertical, each skipped when that side
keeps its size, each rounded and clamped to 0..255.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["resize_uint8"]

_A = -0.5  # torchvision's antialiased bicubic uses Keys' a = -0.5, like PIL


def _bicubic(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x = np.abs(x)
    near = ((_A + 2.0) * x - (_A + 3.0)) * x * x + 1.0
    far = (((x - 5.0) * x + 8.0) * x - 4.0) * _A
    return np.where(x < 1.0, near, np.where(x < 2.0, far, 0.0))


def _bilinear(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    x = np.abs(x)
    return np.where(x < 1.0, 1.0 - x, 0.0)


_FILTERS = {"bicubic": (_bicubic, 2.0), "bilinear": (_bilinear, 1.0)}


def _taps(in_size: int, out_size: int, mode: str) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """(indices, int16-valued weights) of shape ``(out_size, taps)`` and the precision shift."""
    fn, half_support = _FILTERS[mode]
    scale = in_size / out_size
    support = half_support * scale if scale >= 1.0 else half_support
    invscale = 1.0 / scale if scale >= 1.0 else 1.0
    centers = scale * (np.arange(out_size) + 0.5)
    xmin = np.maximum((centers - support + 0.5).astype(np.int64), 0)
    xmax = np.minimum((centers + support + 0.5).astype(np.int64), in_size)
    width = int(np.ceil(support)) * 2 + 1
    offsets = np.arange(width)
    weights = fn((offsets[None, :] + xmin[:, None] - centers[:, None] + 0.5) * invscale)
    weights = np.where(offsets[None, :] < (xmax - xmin)[:, None], weights, 0.0)
    totals = weights.sum(axis=1, keepdims=True)
    weights = np.divide(weights, totals, out=np.zeros_like(weights), where=totals != 0)
    indices = np.minimum(xmin[:, None] + offsets[None, :], in_size - 1)
    return indices, weights


def _quantise(weights: npt.NDArray[np.float64]) -> tuple[npt.NDArray[np.float64], int]:
    w_max = float(weights.max())
    precision = 0
    while precision < 22 and int(0.5 + w_max * (1 << (precision + 1))) < (1 << 15):
        precision += 1
    scaled = weights * (1 << precision)
    # C's (int) truncates toward zero after the +-0.5: round half away from zero.
    return np.where(scaled < 0, np.trunc(scaled - 0.5), np.trunc(scaled + 0.5)), precision


def _pass(pixels: npt.NDArray[np.uint8], out_size: int, axis: int, mode: str) -> npt.NDArray[np.uint8]:
    indices, weights = _taps(pixels.shape[axis], out_size, mode)
    q, precision = _quantise(weights)
    gathered = np.take(pixels, indices, axis=axis).astype(np.float64)  # exact: small integers
    shape = [1] * gathered.ndim
    shape[axis], shape[axis + 1] = q.shape
    total = (gathered * q.reshape(shape)).sum(axis=axis + 1) + (1 << (precision - 1))
    result: npt.NDArray[np.uint8] = np.clip(np.floor(total / (1 << precision)), 0, 255).astype(np.uint8)
    return result


def resize_uint8(
    pixels: npt.NDArray[np.uint8], size: tuple[int, int], mode: str = "bicubic"
) -> npt.NDArray[np.uint8]:
    """Resize an ``(height, width, channels)`` uint8 array to ``size`` = (height, width)."""
    height, width = size
    if pixels.shape[1] != width:
        pixels = _pass(pixels, width, 1, mode)
    if pixels.shape[0] != height:
        pixels = _pass(pixels, height, 0, mode)
    return pixels
