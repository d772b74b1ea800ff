"""Content fingerprints: what decides whether a re-imported product must be embedded again.

A product's fingerprint hashes everything its stored object is made from: the normalised record
(the properties the stores keep, so formatting differences in the catalog do not count), the
image bytes, the identity of the embedding model and the vector's field weights. Equal
fingerprints mean the stored object is exactly what this import would write, so the row is
skipped; any difference (a new price, another image, another model) re-embeds and updates it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from schemas.collection import VectorSpec
from schemas.model_info import ModelInfo

__all__ = [
    "FINGERPRINT_PROPERTY",
    "REINGEST",
    "SERVER_SIDE_MODEL",
    "model_identity",
    "model_mismatch",
    "product_fingerprint",
    "same_vector_space",
]

FINGERPRINT_PROPERTY = "fingerprint"
SERVER_SIDE_MODEL = "weaviate:multi2vec-clip"
"""The model identity when Weaviate's module embeds objects (the plugin never sees the model)."""
REINGEST = "grounded ingest --recreate"
_FORMAT = "grounded-fingerprint-1"
"""Bumped whenever what goes into a fingerprint changes, so every object is refreshed once."""
_NOT_HASHED = frozenset({"image", FINGERPRINT_PROPERTY})


def model_identity(meta: ModelInfo) -> str:
    """The model identity a store records: the model's vector space,
    :attr:`schemas.model_info.ModelInfo.vector_space` (backend or source backend, model,
    weights and dimension; the device and precision are not part of it)."""
    return meta.vector_space


def same_vector_space(recorded: str, current: str) -> bool:
    """Whether a store's recorded model identity and this run's name the same vectors. Before
    exports named their source, an ONNX run recorded ``onnx:<name>:<weights>:<dim>``: that
    matches the same model and weights from any backend."""
    if recorded == current:
        return True
    backend, _, rest = recorded.partition(":")
    if backend == "onnx" and current.partition(":")[2] == rest:
        return True
    return _same_folder(recorded, current)


def _same_folder(recorded: str, current: str) -> bool:
    """Whether two identities differ only in how one local model folder was spelled
    (``plugin/world/model`` and ``/work/grounded/plugin/world/model``): the folder's name is the
    path as given, so ``grounded demo`` (absolute) and a search run from the repository
    (relative) would otherwise refuse each other's tables. Same backend, tag and dimension, and
    both paths naming one existing folder."""
    parts = []
    for identity in (recorded, current):
        backend, _, rest = identity.partition(":")
        name, pretrained, dimension = [*rest.rsplit(":", 2), "", ""][:3]
        parts.append((backend, name.removeprefix("local-dir:"), pretrained, dimension))
    (b1, path1, p1, d1), (b2, path2, p2, d2) = parts
    if (b1, p1, d1) != (b2, p2, d2) or not path1 or not path2:
        return False
    first, second = Path(path1).expanduser(), Path(path2).expanduser()
    try:
        return first.is_dir() and second.is_dir() and first.samefile(second)
    except OSError:
        return False


def model_mismatch(
    built_by: str | None, built_with: str | None, model: str | None, weights: str | None
) -> str | None:
    """Why a store's vectors, recorded as built by the model ``built_by`` with the weights hash
    ``built_with``, cannot be compared with this run's ``model`` and ``weights`` (``None``: they
    can). Both stores word it the same. A side that records or knows no model or no hash (an
    older store, a hub model) is not compared on it."""
    if model and built_by and not same_vector_space(built_by, model):
        return (
            f"was built with the model {built_by!r}, but this run uses {model!r}: "
            "their vectors cannot be compared"
        )
    if weights and built_with and weights != built_with:
        return (
            f"was built with the weights {built_with} of the model {built_by or model!r}, but that "
            f"model's folder now holds {weights} (retrained since): their vectors cannot be compared; "
            f"re-ingest the catalog with these weights (`{REINGEST}`) or use the weights it was built with"
        )
    return None


def product_fingerprint(
    properties: Mapping[str, Any], image: bytes, *, model: str, vector: VectorSpec
) -> str:
    """``sha256:<hex>`` over the stored properties (without the image blob), the image bytes,
    the model identity and the vector's fields and weights."""
    record = {k: v for k, v in properties.items() if k not in _NOT_HASHED}
    header = {
        "format": _FORMAT,
        "model": model,
        "vector": {
            "name": vector.name,
            "image_fields": vector.image_fields,
            "text_fields": vector.text_fields,
            "server_side": vector.server_side,
        },
        "record": record,
    }
    digest = hashlib.sha256(json.dumps(header, sort_keys=True, ensure_ascii=False).encode("utf-8"))
    digest.update(b"\x00")
    digest.update(hashlib.sha256(image).digest())
    return "sha256:" + digest.hexdigest()
