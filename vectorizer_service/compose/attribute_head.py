"""A trained attribute head: per-attribute probes on the frozen image vector.

The zero-shot captioner asks the text tower which prompt an image is closest to; on shopper
cut-outs of a small model that is often wrong (issue 21: category right on 45 % of them). A
catalog already carries the answer for its own photos: every record has a category and
attributes. ``grounded train-attributes`` fits, for the category and each attribute of the model
folder's vocabulary that the catalog labels, a multinomial logistic regression on the image
vector (catalog photos and shopper-scene views of them), calibrates its probabilities with one
temperature per probe on held-out products, and writes them beside the model:

* ``attribute_head.safetensors``: ``<name>.weight`` (values x dim) and ``<name>.bias`` per probe;
  a probe with one hidden layer (a small MLP: ReLU, then the output layer) also has
  ``<name>.hidden.weight`` (hidden x dim) and ``<name>.hidden.bias``, and its output weight is
  values x hidden;
* ``attribute_head.json``: the probes' value lists, temperatures, hidden widths, the vocabulary
  fingerprint they were trained against, and the training card.

Format ``grounded-attribute-head/1`` (linear probes only) is what a head without a hidden layer
is still written as, so a service that predates hidden layers keeps reading it; a head with one
is ``/2``, which such a service refuses by name instead of misreading its shapes.

The attribute captioner (:mod:`~vectorizer_service.compose.attributes`) reads a probe's
probabilities in place of the zero-shot ones; gates, abstention and wording stay its own. Only
numpy is needed here: serving a head costs one small matrix product per probe.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from schemas.errors import ModelUnavailableError
from schemas.vocabulary import CATEGORY, Vocabulary
from vectorizer_service.runtime.folder_identity import check_trained_for, weights_sha256

__all__ = [
    "ATTRIBUTE_HEAD_CONFIG_FILE",
    "ATTRIBUTE_HEAD_FORMAT",
    "ATTRIBUTE_HEAD_WEIGHTS_FILE",
    "AttributeHead",
    "Probe",
    "label_space",
    "load_attribute_head",
    "save_attribute_head",
    "vocabulary_fingerprint",
]

log = logging.getLogger(__name__)

ATTRIBUTE_HEAD_WEIGHTS_FILE = "attribute_head.safetensors"
ATTRIBUTE_HEAD_CONFIG_FILE = "attribute_head.json"
ATTRIBUTE_HEAD_FORMAT = "grounded-attribute-head/2"
"""What a head with a hidden layer is written as; this service reads it and :data:`_LINEAR_FORMAT`."""
_LINEAR_FORMAT = "grounded-attribute-head/1"
_READABLE_FORMATS = (_LINEAR_FORMAT, ATTRIBUTE_HEAD_FORMAT)

Matrix = npt.NDArray[np.float32]


def label_space(vocabulary: Vocabulary) -> dict[str, tuple[str, ...]]:
    """What a head predicts, in the vocabulary's order: ``category`` -> every category name,
    then each attribute -> its value names."""
    space = {CATEGORY: tuple(c.name for c in vocabulary.categories)}
    space.update({a.name: tuple(v.name for v in a.values) for a in vocabulary.attributes})
    return space


def vocabulary_fingerprint(vocabulary: Vocabulary) -> str:
    """sha256 of the vocabulary's label space (names and their order). Prompts, thresholds and
    wording may change without retraining a head; a renamed, added or reordered value may not."""
    text = json.dumps(label_space(vocabulary), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Probe:
    """One attribute's classifier: ``softmax((W h + b) / temperature)`` over ``values``, where
    ``h`` is the image vector ``v`` (logistic regression) or ``relu(H v + c)`` (one hidden layer)."""

    values: tuple[str, ...]
    weight: Matrix
    """(values, dim), or (values, hidden) with a hidden layer"""
    bias: Matrix
    """(values,)"""
    temperature: float = 1.0
    """Fitted on held-out products so the probabilities are calibrated (the captioner's gates
    read them as probabilities)."""
    hidden_weight: Matrix | None = None
    """(hidden, dim), or None for a linear probe"""
    hidden_bias: Matrix | None = None
    """(hidden,), with ``hidden_weight``"""

    @property
    def hidden(self) -> int:
        """Width of the hidden layer; 0 for a linear probe."""
        return 0 if self.hidden_weight is None else int(self.hidden_weight.shape[0])

    def probabilities(self, image_vector: Matrix) -> Matrix:
        features = image_vector
        if self.hidden_weight is not None and self.hidden_bias is not None:
            features = np.maximum(self.hidden_weight @ image_vector + self.hidden_bias, 0.0)
        logits = (self.weight @ features + self.bias) / self.temperature
        shifted = np.exp(logits - logits.max())
        out: Matrix = (shifted / shifted.sum()).astype(np.float32)
        return out


@dataclass(frozen=True)
class AttributeHead:
    """Probes by name (``category`` and attribute names) and the vocabulary they belong to."""

    probes: dict[str, Probe]
    vocabulary_sha256: str
    card: dict[str, Any] | None = None
    min_probability: float | None = None
    """The probability a probe's pick must reach to be named, in place of the service's
    ``caption_min_probability`` floor (chosen for zero-shot prompts); None keeps that floor.
    The vocabulary's own thresholds still apply."""
    model_weights_sha256: str | None = None
    """The CLIP weights the probes were fitted on (:mod:`~vectorizer_service.runtime.folder_identity`);
    None in a head saved before it was recorded."""

    def probe(self, name: str) -> Probe | None:
        return self.probes.get(name)

    def matches(self, vocabulary: Vocabulary) -> bool:
        return self.vocabulary_sha256 == vocabulary_fingerprint(vocabulary)


def save_attribute_head(folder: Path, head: AttributeHead) -> Path:
    """Write ``attribute_head.safetensors`` and ``attribute_head.json`` into ``folder``."""
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    for name, probe in head.probes.items():
        tensors[f"{name}.weight"] = np.ascontiguousarray(probe.weight, dtype=np.float32)
        tensors[f"{name}.bias"] = np.ascontiguousarray(probe.bias, dtype=np.float32)
        if probe.hidden_weight is not None and probe.hidden_bias is not None:
            tensors[f"{name}.hidden.weight"] = np.ascontiguousarray(probe.hidden_weight, dtype=np.float32)
            tensors[f"{name}.hidden.bias"] = np.ascontiguousarray(probe.hidden_bias, dtype=np.float32)
    weights = folder / ATTRIBUTE_HEAD_WEIGHTS_FILE
    tmp = weights.with_suffix(".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(weights)
    # Linear heads keep the old format, so services from before hidden layers still read them.
    deep = any(p.hidden for p in head.probes.values())
    config = {
        "format": ATTRIBUTE_HEAD_FORMAT if deep else _LINEAR_FORMAT,
        "vocabulary_sha256": head.vocabulary_sha256,
        # The weights the probes read: a model retrained after them leaves the head unused.
        "model_weights_sha256": weights_sha256(folder),
        "min_probability": head.min_probability,
        "probes": {
            name: {
                "values": list(p.values),
                "temperature": round(p.temperature, 6),
                **({"hidden": p.hidden} if p.hidden else {}),
            }
            for name, p in head.probes.items()
        },
        "card": head.card,
    }
    (folder / ATTRIBUTE_HEAD_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return weights


def _read(folder: Path) -> AttributeHead:
    from safetensors.numpy import load_file

    config = json.loads((folder / ATTRIBUTE_HEAD_CONFIG_FILE).read_text(encoding="utf-8"))
    if config.get("format") not in _READABLE_FORMATS:
        raise ValueError(
            f"format {config.get('format')!r}, expected one of {', '.join(_READABLE_FORMATS)} "
            "(a head from a newer grounded: upgrade the service, or retrain the head with this one)"
        )
    tensors = load_file(str(folder / ATTRIBUTE_HEAD_WEIGHTS_FILE))
    probes = {}
    for name, entry in config["probes"].items():
        probes[name] = _probe(name, entry, tensors)
    floor = config.get("min_probability")
    return AttributeHead(
        probes,
        str(config["vocabulary_sha256"]),
        config.get("card"),
        None if floor is None else float(floor),
        config.get("model_weights_sha256"),
    )


def _probe(name: str, entry: dict[str, Any], tensors: dict[str, np.ndarray]) -> Probe:
    values = tuple(str(v) for v in entry["values"])
    weight, bias = tensors[f"{name}.weight"].astype(np.float32), tensors[f"{name}.bias"].astype(np.float32)
    if weight.shape[0] != len(values) or bias.shape != (len(values),):
        raise ValueError(f"probe {name!r}: {weight.shape} weights for {len(values)} values")
    hidden = int(entry.get("hidden", 0))
    if not hidden:
        return Probe(values, weight, bias, float(entry["temperature"]))
    hidden_weight = tensors[f"{name}.hidden.weight"].astype(np.float32)
    hidden_bias = tensors[f"{name}.hidden.bias"].astype(np.float32)
    if hidden_weight.shape[0] != hidden or hidden_bias.shape != (hidden,) or weight.shape[1] != hidden:
        raise ValueError(f"probe {name!r}: hidden layer {hidden_weight.shape} does not match width {hidden}")
    return Probe(values, weight, bias, float(entry["temperature"]), hidden_weight, hidden_bias)


def load_attribute_head(folder: Path, vocabulary: Vocabulary) -> tuple[AttributeHead | None, str]:
    """The head saved in ``folder`` for ``vocabulary``, and why not when None: no head there,
    or one trained for another vocabulary (then the captioner stays zero-shot, and says so).
    A head that cannot be read raises :class:`ModelUnavailableError`."""
    if not (folder / ATTRIBUTE_HEAD_WEIGHTS_FILE).is_file():
        return None, f"no {ATTRIBUTE_HEAD_WEIGHTS_FILE} in the model folder"
    try:
        head = _read(folder)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailableError(f"cannot load the attribute head in {folder}: {exc}") from exc
    try:
        check_trained_for(
            folder,
            head.model_weights_sha256,
            "the attribute head",
            f"grounded train-attributes CATALOG --model {folder}",
        )
    except ModelUnavailableError as exc:
        log.warning("%s: captioning zero-shot", exc.message)
        return None, exc.message
    if not head.matches(vocabulary):
        reason = (
            f"the attribute head in {folder} was trained for another vocabulary "
            "(its label space differs); retrain it with grounded train-attributes"
        )
        log.warning("%s: captioning zero-shot", reason)
        return None, reason
    return head, "attribute head"
