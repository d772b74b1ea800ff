"""The model a Weaviate collection's vectors come from, recorded in the collection's description.

Weaviate keeps a collection's ``description``, returns it with the configuration
(``GET /v1/schema/<name>``) and lets it change on a live collection (``PUT /v1/schema/<name>``,
which refuses changes to the vectorizer and the properties; usecases/schema/parser.go
``ParseClassUpdate``). So where the plugin computes the vectors, the collection records what the
embedded store records on its vector column (:mod:`plugin.store.lance.upkeep`): the model
identity (:func:`plugin.store.fingerprint.model_identity`) and the model folder's weights hash
(:attr:`schemas.model_info.ModelInfo.weights_sha256`), one line each under the human text::

    Grounded product catalog
    grounded.model: "open_clip:ViT-B-32:openai:512"
    grounded.model_weights_sha256: "9f86d081884c7d65..."

Each value is a JSON string, so any identity survives; lines that are not ours (a description
someone else wrote) are kept as they are, and a missing line means nothing is recorded.

A collection that records no model (created before this, or by someone else) is never refused.
An import records the model on it, as the embedded store does with an older table: the import
re-embeds every product whose fingerprint (which names the model) differs. It does not record the
weights hash: products the import skips as unchanged may hold another training's vectors, which
the hash would vouch for. So the hash is recorded only on a collection the plugin creates.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from plugin.store.fingerprint import REINGEST, model_mismatch
from schemas.errors import InvalidInputError

__all__ = [
    "CATALOG_DESCRIPTION",
    "MODEL_KEY",
    "MODEL_WAYS_OUT",
    "WEIGHTS_KEY",
    "RecordedModel",
    "check_recorded_model",
    "describe_model",
    "recorded_model",
]

CATALOG_DESCRIPTION = "Grounded product catalog"
MODEL_KEY = "grounded.model"
"""Description line: the identity of the model that made the collection's vectors."""
WEIGHTS_KEY = "grounded.model_weights_sha256"
"""Description line: the hash of the weights that made them; only on a collection the plugin
created with that hash known (not on one it found without a record, nor from a hub model)."""
MODEL_WAYS_OUT = (
    "use the model it was built with, import into another collection (GROUNDED_COLLECTION), or "
    f"delete it and import again with this model (`{REINGEST}`; weaviate-client: "
    "client.collections.delete(name); REST: DELETE /v1/schema/<name>)"
)


@dataclass(frozen=True)
class RecordedModel:
    """What a collection's description records (``None``: not recorded)."""

    model: str | None = None
    weights_sha256: str | None = None


def recorded_model(description: str | None) -> RecordedModel:
    """The model and weights hash recorded in ``description``; a line that does not parse counts
    as not recorded (the description is free text anyone may edit)."""
    found: dict[str, str] = {}
    for line in (description or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() in (MODEL_KEY, WEIGHTS_KEY):
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            if isinstance(parsed, str) and parsed:
                found[key.strip()] = parsed
    return RecordedModel(found.get(MODEL_KEY), found.get(WEIGHTS_KEY))


def describe_model(description: str | None, model: str, weights_sha256: str | None) -> str:
    """``description`` (the catalog's own text when empty) with ``model`` and, when given,
    ``weights_sha256`` recorded in place of any earlier record."""
    kept = [
        line
        for line in (description or CATALOG_DESCRIPTION).splitlines()
        if line.partition(":")[0].strip() not in (MODEL_KEY, WEIGHTS_KEY)
    ]
    kept.append(f"{MODEL_KEY}: {json.dumps(model)}")
    if weights_sha256:
        kept.append(f"{WEIGHTS_KEY}: {json.dumps(weights_sha256)}")
    return "\n".join(kept)


def check_recorded_model(
    collection: str, description: str | None, model: str, weights_sha256: str | None
) -> RecordedModel:
    """What ``description`` records, after refusing (:class:`InvalidInputError`, naming both
    sides and the ways out) a record of another model or of other weights than this run's."""
    recorded = recorded_model(description)
    problem = model_mismatch(recorded.model, recorded.weights_sha256, model, weights_sha256)
    if problem is not None:
        # The weights message already says how to go on (re-ingest, or the old weights).
        ways_out = "" if REINGEST in problem else f" To go on: {MODEL_WAYS_OUT}"
        raise InvalidInputError(f"collection {collection!r} in Weaviate {problem}.{ways_out}")
    return recorded
