"""Background removal with rembg, from local ONNX files only.

rembg's sessions download their weights on first use (``BaseSession.download_models``). The
service must never do that behind an operator's back, so :func:`load_remover` resolves the file
itself (``<settings.u2net_home>/<name>.onnx``, else rembg's own lookup of already-downloaded
files) and builds the session from a subclass whose ``download_models`` returns that path.
A missing file is a :class:`ModelUnavailableError` naming the file and the settings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from schemas.errors import ModelUnavailableError
from vectorizer_service.compose.protocols import Cutout
from vectorizer_service.settings import ServiceSettings

log = logging.getLogger(__name__)

NEUTRAL_BACKGROUND = (255, 255, 255)
"""Catalog photos are shot on white, so a cut-out on white is compared like with like."""
FOREGROUND_THRESHOLD = 0.5
"""Mask probability from which a pixel counts as foreground for the coverage."""
_UNSUPPORTED = frozenset({"sam"})  # needs an encoder and a decoder file and prompts


@dataclass(frozen=True)
class _RawSpec:
    """How to read an unnormalised probability mask from a model (see ``_RembgRemover._mask``)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    size: int


_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_RAW_SPECS: dict[str, _RawSpec] = {
    "u2netp": _RawSpec(*_IMAGENET, 320),
    "u2net": _RawSpec(*_IMAGENET, 320),
    "u2net_human_seg": _RawSpec(*_IMAGENET, 320),
    "silueta": _RawSpec(*_IMAGENET, 320),
    "isnet-general-use": _RawSpec((0.5, 0.5, 0.5), (1.0, 1.0, 1.0), 1024),
    "isnet-anime": _RawSpec(_IMAGENET[0], (1.0, 1.0, 1.0), 1024),
}
"""Models whose first output is already a 0..1 probability map, with rembg's preprocessing.

rembg's ``predict`` min-max normalises every mask, which turns a blank image's near-zero
output into a full-range mask; reading the raw probabilities keeps "nothing here" empty."""


class RembgRemover:
    """A :class:`BackgroundRemover` over one rembg session, created once and reused."""

    def __init__(self, session: Any, name: str) -> None:
        self._session = session
        self._name = name
        self._raw = _RAW_SPECS.get(name)

    @property
    def name(self) -> str:
        return f"rembg:{self._name}"

    def _mask(self, image: Image.Image) -> npt.NDArray[np.float32]:
        """Foreground probability per pixel, ``(height, width)`` in 0..1."""
        if self._raw is None:
            # Other models: rembg's own predict (its masks are min-max normalised).
            masks = self._session.predict(image)
            stacked: npt.NDArray[np.float32] = np.stack(
                [np.asarray(m.convert("L"), dtype=np.float32) for m in masks]
            )
            mask: npt.NDArray[np.float32] = stacked.max(axis=0) / np.float32(255.0)
            return mask
        spec = self._raw
        inputs = self._session.normalize(image, spec.mean, spec.std, (spec.size, spec.size))
        pred = np.clip(self._session.inner_session.run(None, inputs)[0][0, 0], 0.0, 1.0)
        small = Image.fromarray((pred * 255).astype(np.uint8), mode="L")
        return np.asarray(small.resize(image.size, Image.Resampling.BILINEAR), dtype=np.float32) / 255.0

    def remove(self, images: Sequence[Image.Image]) -> list[Cutout]:
        """Cut each image's salient object out onto :data:`NEUTRAL_BACKGROUND`.

        rembg's models take one image per run (their ONNX batch dimension is fixed at 1), so a
        batch is a loop; the batcher still saves the queueing and thread hops per image.
        """
        cutouts: list[Cutout] = []
        for image in images:
            rgb = image.convert("RGB")
            mask = self._mask(rgb)
            coverage = float((mask >= FOREGROUND_THRESHOLD).mean())
            alpha = Image.fromarray((mask * 255).astype(np.uint8), mode="L")
            background = Image.new("RGB", rgb.size, NEUTRAL_BACKGROUND)
            cutouts.append(Cutout(image=Image.composite(rgb, background, alpha), coverage=coverage))
        return cutouts


def _session_class(name: str) -> type[Any]:
    from rembg.sessions import sessions

    cls = sessions.get(name)
    local = sorted(
        n
        for n, c in sessions.items()
        if c.is_local() and not c.requires_credentials() and n not in _UNSUPPORTED
    )
    if cls is None or name not in local:
        raise ModelUnavailableError(
            f"unknown rembg model {name!r} (settings.rembg_model / GROUNDED_REMBG_MODEL); "
            f"local models: {', '.join(local)}"
        )
    return cls  # type: ignore[no-any-return]  # rembg is untyped


def model_file(settings: ServiceSettings) -> Path:
    """The ONNX file of ``settings.rembg_model``; ModelUnavailableError if it is not on disk."""
    name = settings.rembg_model
    cls = _session_class(name)
    fname = f"{name}.onnx"
    if settings.u2net_home is not None:
        candidates = [settings.u2net_home / fname]
    else:
        found = cls.resolve_existing(fname)
        candidates = (
            [Path(found)] if found else [Path(cls.model_dir()) / fname, Path(cls.legacy_home()) / fname]
        )
    for path in candidates:
        if path.is_file():
            return path
    raise ModelUnavailableError(
        f"rembg model file not found: {' or '.join(str(p) for p in candidates)} "
        f"(settings: rembg_model={name!r}, u2net_home={settings.u2net_home}). Nothing is downloaded: "
        f"put {fname} in a folder and set GROUNDED_U2NET_HOME to it (`make weights` fetches u2netp)."
    )


def load_remover(settings: ServiceSettings) -> RembgRemover:
    """Create the rembg session for ``settings.rembg_model`` from its local file, once."""
    path = model_file(settings)
    cls = _session_class(settings.rembg_model)
    local_cls = type(
        f"Local{cls.__name__}",
        (cls,),
        {"download_models": classmethod(lambda _cls, *args, **kwargs: str(path))},
    )
    import onnxruntime as ort

    options = ort.SessionOptions()
    if settings.torch_threads is not None:
        # One knob for all inference threads: torch_threads also bounds onnxruntime.
        options.intra_op_num_threads = settings.torch_threads
        options.inter_op_num_threads = 1
    kwargs: dict[str, Any] = {}
    if settings.device == "cpu":
        kwargs["providers"] = ["CPUExecutionProvider"]
    try:
        session = local_cls(settings.rembg_model, options, **kwargs)
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        raise ModelUnavailableError(f"rembg model {path} cannot be loaded: {exc}") from exc
    log.info("background remover: rembg %s from %s", settings.rembg_model, path)
    return RembgRemover(session, settings.rembg_model)
