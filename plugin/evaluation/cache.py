"""Gallery embeddings cached on disk, so a second evaluation of the same split and model does
not embed the gallery again, and never reads back vectors another model or gallery made.

The key holds:

- the model's identity, :attr:`ModelInfo.vector_space` (the string the stores record), and the
  content of its weights: :func:`weights_identity` hashes the files the settings load from (a
  local model folder, a checkpoint file, an architecture JSON), so a model retrained into the
  same folder (``make world-model``) is a new entry. A pretrained tag or hub id names its
  weights already. A model served over gRPC has its files on the service's machine: they
  cannot be hashed here, the key keeps the name only (:data:`REMOTE_WEIGHTS`) and the command
  warns;
- the gallery: each image's id and the sha256 of its bytes, in order (a regenerated image at
  the same path is a new entry; a moved dataset folder is not).

Gallery images are embedded as they are: no background removal, only the model's own
preprocessing, which the model identity fixes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import numpy.typing as npt

from schemas.errors import InvalidInputError
from schemas.model_info import ModelInfo

__all__ = [
    "NAMED_WEIGHTS",
    "REMOTE_WEIGHTS",
    "GalleryCache",
    "cache_key",
    "file_digest",
    "gallery_digests",
    "weights_identity",
]

log = logging.getLogger(__name__)

_FORMAT = 2
"""2: weights and images by content (1 keyed a checkpoint by size and mtime, images by path)."""
REMOTE_WEIGHTS = "remote: the service's weights are not visible here; keyed on the model's name only"
NAMED_WEIGHTS = "named: a pretrained tag or hub id, no local weight files"
_LOCAL_DIR = "local-dir:"
_NOT_WEIGHTS = frozenset({"vocabulary.json", "card.json", "RANDOM_WEIGHTS"})
"""Files of a model folder that do not change its vectors (the captioner's vocabulary, the
training card, the random-weights marker): editing them keeps the gallery."""
_CHUNK = 1 << 20
_HASH_WORKERS = 8

_digests: dict[tuple[str, int, int], str] = {}
"""sha256 of a file by (path, size, mtime_ns), kept for the run: a model hashed once per process."""


def file_digest(path: Path) -> str:
    """The sha256 of a file's bytes, streamed; remembered for this process by (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        _digests[key] = digest.hexdigest()
    return _digests[key]


def _model_files(model: str, pretrained: str) -> list[tuple[str, Path]]:
    """The local files the ``model`` / ``pretrained`` settings load weights from, named
    relative to their role so that the same files elsewhere hash alike."""
    files: list[tuple[str, Path]] = []
    source = Path(model.removeprefix(_LOCAL_DIR)).expanduser()
    if source.is_dir():
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.name not in _NOT_WEIGHTS:
                files.append((f"model/{path.relative_to(source).as_posix()}", path))
    elif source.is_file():  # an open_clip architecture JSON used with a checkpoint
        files.append(("model", source))
    checkpoint = Path(pretrained).expanduser() if pretrained else None
    if checkpoint is not None and checkpoint.is_file():
        files.append(("pretrained", checkpoint))
    return files


def weights_identity(model: str, pretrained: str) -> str:
    """``sha256:<hex>`` over the content of the weight files a model loaded in this process
    reads (``--model`` / ``--pretrained``), or :data:`NAMED_WEIGHTS` when they name no local
    file (a pretrained tag such as ``openai``, a hub id)."""
    files = _model_files(model, pretrained)
    if not files:
        return NAMED_WEIGHTS
    digest = hashlib.sha256()
    for role, path in files:
        digest.update(f"{role}\0{file_digest(path)}\n".encode())
    return f"sha256:{digest.hexdigest()}"


def gallery_digests(paths: Sequence[Path]) -> list[str]:
    """The sha256 of each gallery image's bytes, in order (read in a few threads: hashing
    releases the GIL, and a large gallery is mostly disk time)."""

    def one(path: Path) -> str:
        try:
            return file_digest(path)
        except OSError as exc:
            raise InvalidInputError(f"gallery image {path}: cannot be read ({exc.strerror})") from None

    with ThreadPoolExecutor(max_workers=_HASH_WORKERS, thread_name_prefix="eval-hash") as pool:
        return list(pool.map(one, paths))


def cache_key(meta: ModelInfo, weights: str, gallery: Sequence[tuple[str, str]]) -> str:
    """A hex digest of the model (its vector space and ``weights``, from
    :func:`weights_identity` or :data:`REMOTE_WEIGHTS`) and the ordered gallery of
    (image id, content sha256)."""
    # The vector space, not the backend: an ONNX export and its source name the same space.
    payload = json.dumps(
        {
            "format": _FORMAT,
            "model": {"vector_space": meta.vector_space, "weights": weights},
            "gallery": [[image_id, digest] for image_id, digest in gallery],
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
