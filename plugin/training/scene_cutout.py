"""Scene views cut out by the service's own background remover, remembered on disk.

The stand-in of :func:`plugin.training.scenes.query_view` cuts a scene out with its known mask,
roughened; serving runs the real remover (rembg u2netp) on the shopper's photo and frames what
it kept. The real cut-out differs in ways no roughening imitates (half a sleeve lost, a shadow
kept, a product merged with clutter of its colour), and a head trained on the stand-in reads
shopper photos worse than its held-out scene views. :class:`RealCutouts` runs the remover the
service loads (:func:`vectorizer_service.load_remover`, the environment's
``GROUNDED_U2NET_HOME`` / ``GROUNDED_REMBG_MODEL``, on the CPU) and the service's own framing
(:func:`vectorizer_service.cutout_view`) over each scene.

The remover costs a few tenths of a second per scene on one core, so every view is written to
``cache_dir`` under a hash of the scene's pixels and the remover's name and input size: a rerun
(another seed of the probes, another weight-decay grid, the same scenes) reads them back for
free, and a changed scene, remover or input size misses. The remover runs single-threaded on
the CPU, so the views are a pure function of the scenes, which are a pure function of the seed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

__all__ = ["CutoutRemover", "RealCutouts", "load_real_cutouts"]

_CACHE_FORMAT = "scene-cutout/1"
"""Part of every key: a change to what a cached file holds changes this, and misses."""
_CHUNK = 4
"""Scenes per remover run (one thread: a run of several small images costs less than each alone)."""


class CutoutRemover(Protocol):
    """The part of the service's background remover these views need."""

    @property
    def name(self) -> str: ...

    def remove(self, images: Sequence[Image.Image]) -> list[Any]: ...


def _key(image: Image.Image, remover: str) -> str:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{_CACHE_FORMAT}|{remover}|{image.mode}|{image.width}x{image.height}|".encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


class RealCutouts:
    """The service's view of each scene (its remover, then :func:`vectorizer_service.cutout_view`;
    the scene itself where the service would keep the original), cached in ``cache_dir``."""

    def __init__(self, remover: CutoutRemover, cache_dir: Path, *, remover_id: str | None = None) -> None:
        """``remover_id``: what identifies the remover's answers in the key (default its name;
        give the input size too when it is not the model's own)."""
        self._remover = remover
        self._id = remover_id or remover.name
        self.cache_dir = cache_dir
        self.hits = 0
        self.misses = 0

    @property
    def name(self) -> str:
        return self._id

    def _path(self, key: str) -> Path:
        return self.cache_dir / key[:2] / f"{key}.png"

    def views(self, scenes: Sequence[Image.Image]) -> list[Image.Image]:
        """One served view per scene, in order; only the scenes not in the cache meet the remover."""
        from vectorizer_service import cutout_view

        rgb = [s.convert("RGB") for s in scenes]
        keys = [_key(s, self._id) for s in rgb]
        out: list[Image.Image | None] = []
        for key in keys:
            path = self._path(key)
            if path.is_file():
                with Image.open(path) as cached:
                    out.append(cached.convert("RGB"))
                self.hits += 1
            else:
                out.append(None)
        missing = [i for i, view in enumerate(out) if view is None]
        for start in range(0, len(missing), _CHUNK):
            chunk = missing[start : start + _CHUNK]
            for i, cutout in zip(chunk, self._remover.remove([rgb[i] for i in chunk]), strict=True):
                framed = cutout_view(cutout)
                view = rgb[i] if framed is None else framed
                self._store(keys[i], view)
                out[i] = view
                self.misses += 1
        return [view for view in out if view is not None]

    def _store(self, key: str, view: Image.Image) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside its place, then renamed: a run stopped mid-write leaves no half file.
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(handle, "wb") as stream:
                view.save(stream, format="PNG")
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def as_json(self) -> dict[str, Any]:
        return {"remover": self._id, "cache": str(self.cache_dir), "hits": self.hits, "misses": self.misses}


def load_real_cutouts(cache_dir: Path) -> RealCutouts:
    """The service's remover as the environment configures it (``GROUNDED_U2NET_HOME``,
    ``GROUNDED_REMBG_MODEL``, ``GROUNDED_REMOVER_INPUT_SIZE``), one thread on the CPU; raises
    the service's :class:`~schemas.errors.ModelUnavailableError` when its file is missing."""
    from vectorizer_service import ServiceSettings, load_remover

    settings = ServiceSettings.model_validate({"device": "cpu", "remover_threads": 1})
    remover = load_remover(settings)
    size = getattr(remover, "input_size", None)
    remover_id = f"{remover.name}@{size}" if size else remover.name
    # One region or all is a different answer for the same scene: a different key.
    remover_id += "+one-region" if settings.remover_one_region else ""
    return RealCutouts(remover, cache_dir, remover_id=remover_id)
