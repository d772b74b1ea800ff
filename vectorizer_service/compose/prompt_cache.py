"""Prompt vectors kept on disk between processes, keyed by model and prompts.

The attribute captioner embeds its whole vocabulary (hundreds of prompts) at load; an embedded
``grounded search`` would pay for that on every run. The key is a hash of the model's
description, of the vector it gives one probe text (so different weights under the same name
never share an entry) and of the prompts themselves; a changed vocabulary or model is a new
entry, never a stale one. Entries are ``.npy`` files written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vectorizer_service.runtime.protocol import Embedder

__all__ = ["cache_key", "cached_text_vectors", "default_cache_dir"]

log = logging.getLogger(__name__)

Matrix = npt.NDArray[np.float32]
_PROBE = "grounded prompt cache probe: a red cotton dress"
_FOLDER = "prompt-vectors"


def default_cache_dir(configured: Path | None) -> Path:
    """``configured``, else ``$XDG_CACHE_HOME/grounded``, else ``~/.cache/grounded``."""
    if configured is not None:
        return configured.expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path("~/.cache").expanduser())
    return Path(base) / "grounded"


def cache_key(embedder: Embedder, texts: Sequence[str]) -> str:
    """Hash of the model (description and probe vector, rounded) and of ``texts``."""
    info = embedder.info
    probe = np.round(embedder.encode_texts([_PROBE])[0].astype(np.float64), 4)
    digest = hashlib.sha256()
    described = [info.name, info.backend, info.pretrained, info.dimension, info.context_length]
    digest.update(json.dumps(described).encode())
    digest.update(probe.tobytes())
    digest.update(json.dumps(list(texts)).encode())
    return digest.hexdigest()[:32]


def cached_text_vectors(
    embedder: Embedder, texts: Sequence[str], cache_dir: Path, encode: Callable[[list[str]], Matrix]
) -> Matrix:
    """``encode(texts)``, read from ``cache_dir`` when this model already embedded these texts.

    A cache that cannot be read or written is skipped with a warning: it only saves time.
    """
    path = cache_dir / _FOLDER / f"{cache_key(embedder, texts)}.npy"
    expected = (len(texts), embedder.info.dimension)
    try:
        cached = np.load(path, allow_pickle=False)
        if cached.shape == expected and cached.dtype == np.float32:
            log.info("prompt vectors from cache %s", path)
            return cached  # type: ignore[no-any-return]  # checked float32 above
    except (OSError, ValueError):
        pass
    vectors = encode(list(texts))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            np.save(tmp, vectors.astype(np.float32), allow_pickle=False)
        os.replace(tmp.name, path)
    except OSError as exc:
        log.warning("prompt vector cache not written (%s): %s", path, exc)
    return vectors
