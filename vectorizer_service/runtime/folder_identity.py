"""Which CLIP weights a model folder holds, so a part trained for them can tell it still fits.

A Pic2Word mapper (and any later head) is trained on the vectors of one set of CLIP weights. If
the folder's weights are retrained after it, the part still loads - same shapes - but reads
vectors it never saw and answers nonsense without an error. Each part records the hash of the
weights it was trained for; loading compares it with the folder's weights now.
"""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path

from schemas.errors import ModelUnavailableError

__all__ = ["WEIGHTS_FILES", "check_trained_for", "file_sha256", "weights_sha256"]

log = logging.getLogger(__name__)

WEIGHTS_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
"""open_clip's ``local-dir`` weights, in the order its loader prefers them."""

_CHUNK = 1 << 20


def weights_sha256(folder: Path) -> str | None:
    """``sha256:<hex>`` of the folder's CLIP weights file, or None when it has none."""
    for name in WEIGHTS_FILES:
        path = folder / name
        if path.is_file():
            return file_sha256(path)
    return None


def file_sha256(path: Path) -> str:
    """``sha256:<hex>`` of one weights file (read once per size and modification time)."""
    stat = path.stat()
    return _file_sha256(path.resolve(), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    # Keyed on size and mtime too: a file rewritten in place (a retrain) is hashed again, while
    # the loader, the Pic2Word mapper and the attribute head share one read of ~0.6 GB.
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def check_trained_for(folder: Path, recorded: str | None, part: str, retrain: str) -> None:
    """Refuse ``part`` when it records other weights than ``folder`` holds now.

    A part saved before hashes were recorded (``recorded`` None) loads with a warning: nothing
    says it is wrong, and refusing would break folders that worked.
    """
    if recorded is None:
        log.warning("%s in %s records no weights hash; cannot check it fits the model", part, folder)
        return
    now = weights_sha256(folder)
    if now is not None and now != recorded:
        raise ModelUnavailableError(
            f"{part} in {folder} was trained for other CLIP weights ({recorded[:19]}..., the folder "
            f"now holds {now[:19]}...): the model was retrained after it. Retrain it: {retrain}"
        )
