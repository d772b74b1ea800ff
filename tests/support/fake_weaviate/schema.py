"""Creating a collection the way Weaviate 1.38.2 does: validate module config, fill defaults.

Weaviate refuses a ``multi2vec-clip`` config its ``ValidateClass`` refuses
(usecases/modulecomponents/settings/base_class_multimodal_settings.go ``ValidateMultiModal``,
wrapped as "module 'multi2vec-clip': ..." by usecases/modules/module_config_init_and_validate.go,
several problems joined with ", ") with 422, and answers
``GET /v1/schema/<name>`` with the defaults filled in (entities/vectorindex/hnsw/config.go),
which weaviate-client needs to parse a collection's config. ``PUT /v1/schema/<name>`` (what
``collection.config.update`` sends: the class as read, with the change) is refused as
usecases/schema/parser.go ``ParseClassUpdate`` refuses it where our code could trip: another
class name, another vectorizer on a named vector, properties changed beyond their descriptions.
"""

from __future__ import annotations

import copy
from typing import Any

from .index_rules import index_error

__all__ = ["SchemaError", "created_class", "updated_class", "vectorize_settings"]

# usecases/schema/parser.go errPropertiesUpdatedInClassUpdate
_PROPERTIES_IMMUTABLE = (
    "property fields other than description cannot be updated through updating the class. Use the add "
    'property feature (e.g. "POST /v1/schema/{className}/properties") to add additional properties'
)

_HNSW_DEFAULTS: dict[str, Any] = {
    "cleanupIntervalSeconds": 300,
    "maxConnections": 32,
    "efConstruction": 128,
    "ef": -1,
    "dynamicEfMin": 100,
    "dynamicEfMax": 500,
    "dynamicEfFactor": 8,
    "skip": False,
    "flatSearchCutoff": 40000,
    "vectorCacheMaxObjects": 1_000_000_000_000,
    "distance": "cosine",
    "filterStrategy": "sweeping",
}


class SchemaError(Exception):
    """A class definition Weaviate refuses (422)."""


def _validate_clip(cfg: dict[str, Any]) -> None:
    """``ValidateMultiModal``, message for message. (Its "textFields or imageFields setting needs
    to be present" check never fires at 1.38.2, ``allOk`` starts true; the fake is stricter
    there, which no code of ours relies on.)"""
    if "imageFields" not in cfg and "textFields" not in cfg:
        raise SchemaError("module 'multi2vec-clip': textFields or imageFields setting needs to be present")
    problems: list[str] = []
    for kind in ("text", "image"):
        fields = cfg.get(f"{kind}Fields")
        if fields is None:
            continue
        if not isinstance(fields, list):
            problems.append(f"{kind}Fields must be an array")
        elif not fields:
            problems.append(f"must contain at least one {kind} field name in {kind}Fields")
        elif any(not isinstance(f, str) for f in fields):
            problems.append(f"{kind}Field must be a string")
        elif any(not f for f in fields):
            problems.append(f"{kind}Field values cannot be empty")
        else:
            weights = (cfg.get("weights") or {}).get(f"{kind}Fields")
            if weights is not None and len(weights) != len(fields):
                problems.append(f"weights.{kind}Fields does not equal number of {kind}Fields")
    if problems:
        raise SchemaError("module 'multi2vec-clip': " + ", ".join(problems))


def created_class(body: dict[str, Any]) -> dict[str, Any]:
    """The class as Weaviate stores and answers it, or :class:`SchemaError`."""
    cls = copy.deepcopy(body)
    for name, vector in (cls.get("vectorConfig") or {}).items():
        vectorizer = vector.get("vectorizer") or {}
        if len(vectorizer) != 1:
            raise SchemaError(f"target vector {name!r}: exactly one vectorizer expected")
        if "multi2vec-clip" in vectorizer:
            _validate_clip(vectorizer["multi2vec-clip"])
        problem = index_error(vector)
        if problem:
            raise SchemaError(problem)
        vector.setdefault("vectorIndexType", "hnsw")
        if vector["vectorIndexType"] == "hnsw":
            vector["vectorIndexConfig"] = {**_HNSW_DEFAULTS, **(vector.get("vectorIndexConfig") or {})}
    for prop in cls.get("properties", []):
        prop.setdefault("indexFilterable", True)
        prop.setdefault("indexSearchable", prop["dataType"][0].startswith("text"))
        prop.setdefault("indexRangeFilters", False)
    return cls


def updated_class(initial: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """The class as Weaviate stores it after ``PUT /v1/schema/<name>``, or :class:`SchemaError`
    (usecases/schema/class.go ``validateImmutableFields``, parser.go ``validatePropertiesForUpdate``)."""
    updated = created_class(body)
    if updated.get("class") != initial["class"]:
        raise SchemaError(
            f'class name is immutable: attempted change from "{initial["class"]}" to "{updated.get("class")}"'
        )
    before = initial.get("vectorConfig") or {}
    for name, vector in (updated.get("vectorConfig") or {}).items():
        if name in before and vector.get("vectorizer") != before[name].get("vectorizer"):
            raise SchemaError(
                f'vectorizer config of vector "{name}" is immutable for class {initial["class"]}'
            )

    def by_name(cls: dict[str, Any]) -> list[dict[str, Any]]:
        props = sorted(cls.get("properties") or [], key=lambda p: str(p.get("name")))
        return [{k: v for k, v in p.items() if k != "description"} for p in props]

    before_props, after_props = by_name(initial), by_name(updated)
    if len(before_props) != len(after_props):
        raise SchemaError(_PROPERTIES_IMMUTABLE)
    for old, new in zip(before_props, after_props, strict=True):
        if old != new:
            raise SchemaError(f'property "{old.get("name")}": {_PROPERTIES_IMMUTABLE}')
    return updated


def vectorize_settings(cls: dict[str, Any] | None, vector_name: str) -> dict[str, Any] | None:
    """The ``multi2vec-clip`` settings of one named vector, or ``None`` when it is self-provided."""
    vector = ((cls or {}).get("vectorConfig") or {}).get(vector_name) or {}
    clip = (vector.get("vectorizer") or {}).get("multi2vec-clip")
    return clip if isinstance(clip, dict) else None
