"""A background remover fine-tuned into a model folder (``grounded train-remover``).

u2netp was trained on general salient-object photos at 320 px. On a shop's small query photos it
keeps background of another colour and loses parts of the product, and everything the model
reads of a shopper's photo passes through its mask. ``grounded train-remover`` fine-tunes its
convolutions on the catalog's own products placed in generated scenes, where the true mask is
known, and writes the result beside the CLIP weights:

- ``remover.onnx``: the base file's graph with the fine-tuned convolution weights (same inputs,
  outputs and preprocessing, so the service's ONNX Runtime path reads it as it reads u2netp);
- ``remover.json``: the format, the base model's name and file hash, the input side it was
  tuned at, and the card (held-out mask IoU before and after, data, options, times).

The service uses it whenever ``settings.model`` is such a folder and ``settings.model_remover``
is on, at the side it was tuned at, and by default intersected with the base (``combine``:
each pixel's probability is the smaller of the tuned mask's and the base file's at the service's
``remover_input_size``). The tuned remover has only seen generated backgrounds and the base
only general photos: what both call product is kept. On the product world's val shopper photos
the intersection read category, colour and pattern better than either alone
(docs/training.md). The remover's name says which (``rembg:u2netp+tuned&base@320``), in every
explanation and in the cut-out cache's keys.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from schemas.errors import ModelUnavailableError
from vectorizer_service.settings import ServiceSettings

__all__ = [
    "REMOVER_CONFIG_FILE",
    "REMOVER_FILE",
    "REMOVER_FORMAT",
    "TunedRemover",
    "base_remover_file",
    "remover_batch",
    "tuned_remover",
]

log = logging.getLogger(__name__)

REMOVER_FILE = "remover.onnx"
REMOVER_CONFIG_FILE = "remover.json"
REMOVER_FORMAT = "grounded-remover/1"


@dataclass(frozen=True)
class TunedRemover:
    """A model folder's fine-tuned remover: its file, the base model it was tuned from (whose
    preprocessing it keeps) and the side it was tuned at."""

    path: Path
    base: str
    input_size: int
    combine: str
    """``intersect``: served with the base file at the service's side, the smaller probability
    per pixel; ``alone``: in its place."""


def _config(folder: Path) -> dict[str, Any]:
    path = folder / REMOVER_CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelUnavailableError(f"{path}: unreadable remover config ({exc})") from exc
    if not isinstance(config, dict) or config.get("format") != REMOVER_FORMAT:
        found = config.get("format") if isinstance(config, dict) else type(config).__name__
        raise ModelUnavailableError(f"{path}: format {found!r}, expected {REMOVER_FORMAT!r}")
    return config


def tuned_remover(settings: ServiceSettings, families: frozenset[str]) -> TunedRemover | None:
    """The fine-tuned remover of ``settings.model``'s folder when the service should use it:
    the folder has one, ``settings.model_remover`` is on, and it was tuned from
    ``settings.rembg_model`` (another base is logged and left unused: the operator asked for
    that model). ``families``: the base models whose raw masks the service reads.

    A folder whose ``remover.json`` is broken, names a base the service cannot read, or has no
    ``remover.onnx`` beside it raises :class:`ModelUnavailableError`: serving the plain base
    instead would silently change every query's cut-out."""
    if not settings.model_remover or not settings.model:
        return None
    folder = Path(settings.model).expanduser()
    if not (folder / REMOVER_CONFIG_FILE).is_file():
        return None
    config = _config(folder)
    base, side, combine = config.get("base"), config.get("input_size"), config.get("combine")
    if (
        base not in families
        or not isinstance(side, int)
        or not 32 <= side <= 1024
        or combine not in ("intersect", "alone")
    ):
        raise ModelUnavailableError(
            f"{folder / REMOVER_CONFIG_FILE}: base {base!r} / input_size {side!r} / combine {combine!r} "
            f"not servable (bases: {', '.join(sorted(families))}; input_size 32..1024; combine "
            "intersect or alone)"
        )
    if base != settings.rembg_model:
        log.warning(
            "model folder %s has a remover tuned from %s; settings.rembg_model is %s, so it is not used",
            folder,
            base,
            settings.rembg_model,
        )
        return None
    path = folder / REMOVER_FILE
    if not path.is_file():
        raise ModelUnavailableError(f"{folder}: {REMOVER_CONFIG_FILE} without its {REMOVER_FILE}")
    return TunedRemover(path, str(base), side, str(combine))


def remover_batch(images: Sequence[Image.Image], base: str, side: int) -> npt.NDArray[np.float32]:
    """``images`` as the service feeds them to ``base`` (a u2net-family model) at ``side`` px:
    one ``(n, 3, side, side)`` batch. Training feeds the same, so what it tunes is what serves."""
    from vectorizer_service.compose.remover import _RAW_SPECS, _normalize

    spec = _RAW_SPECS[base]
    return np.concatenate([_normalize(image.convert("RGB"), spec, side) for image in images])


def base_remover_file(base: str, u2net_home: Path | None = None) -> Path:
    """The local ONNX file of rembg model ``base``, found as the service finds it (``u2net_home``,
    else ``GROUNDED_U2NET_HOME`` / rembg's folders); :class:`ModelUnavailableError` if absent."""
    from vectorizer_service.compose.remover import model_file

    fields: dict[str, Any] = {"device": "cpu", "rembg_model": base}
    if u2net_home is not None:
        fields["u2net_home"] = u2net_home
    return model_file(ServiceSettings.model_validate(fields))
