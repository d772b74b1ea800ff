"""Gallery embeddings cached on disk, so a second evaluation of the same split and model does
not embed the gallery again.

The key is the model's identity (its vector space, :attr:`ModelInfo.vector_space`, the same
string the stores record; plus the checkpoint file's size and mtime when ``pretrained`` is a
local file, so retraining into the same path invalidates it) and the gallery image list (ids
and paths, in order). Gallery images are embedded as they are: no background removal, only the
model's own preprocessing, which the model identity fixes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from schemas.model_info import ModelInfo

__all__ = ["GalleryCache", "cache_key"]

log = logging.getLogger(__name__)

_FORMAT = 1


def _model_identity(meta: ModelInfo) -> dict[str, object]:
    # The vector space, not the backend: an ONNX export embeds a gallery exactly as its source
    # does, so it reads the source's cache entry. (Keys made before this rule differ once.)
    identity: dict[str, object] = {"vector_space": meta.vector_space}
    checkpoint = Path(meta.pretrained) if meta.pretrained else None
    if checkpoint is not None and checkpoint.is_file():
        stat = checkpoint.stat()
        identity["checkpoint"] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    return identity


def cache_key(meta: ModelInfo, gallery: Sequence[tuple[str, Path]]) -> str:
    """A hex digest of the model identity and the ordered gallery (id, path) list."""
    payload = json.dumps(
        {
            "format": _FORMAT,
            "model": _model_identity(meta),
            "gallery": [[image_id, str(path)] for image_id, path in gallery],
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class GalleryCache:
    """``<dir>/<prefix>-<key[:20]>.npy``: one float32 matrix, row ``i`` = gallery image ``i``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, prefix: str, key: str) -> Path:
        return self.directory / f"{prefix}-{key[:20]}.npy"

    def load_or_embed(
        self,
        prefix: str,
        key: str,
        count: int,
        embed: Callable[[], npt.NDArray[np.float32]],
    ) -> tuple[npt.NDArray[np.float32], bool]:
        """The cached matrix when one with ``count`` rows exists, else ``embed()`` saved for
        next time. Returns ``(matrix, from_cache)``."""
        path = self.path(prefix, key)
        if path.is_file():
            try:
                cached = np.load(path, allow_pickle=False)
                if cached.ndim == 2 and cached.shape[0] == count:
                    return cached.astype(np.float32, copy=False), True
                log.warning("ignoring gallery cache %s: %s rows, expected %s", path, cached.shape, count)
            except (OSError, ValueError) as exc:
                log.warning("ignoring unreadable gallery cache %s: %s", path, exc)
        matrix = embed()
        self.directory.mkdir(parents=True, exist_ok=True)
        # Write then rename: an interrupted run never leaves a truncated cache behind.
        partial = path.with_suffix(".partial.npy")
        np.save(partial, matrix, allow_pickle=False)
        os.replace(partial, path)
        return matrix, False
