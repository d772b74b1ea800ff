"""Whether an existing Weaviate collection is the one the spec describes.

An import into a collection whose configuration differs from the spec fails quietly: a
collection created with self-provided vectors and then fed in ``weaviate`` mode stores objects
without vectors, and search never finds them. So an existing collection is compared with the
spec - vectorizer, named vector, multi2vec-clip fields and weights, property types - before
anything is written, and a difference is refused with the ways out.
"""

from __future__ import annotations

from typing import Any

from weaviate.collections.classes.config import _CollectionConfigSimple

from schemas.collection import CollectionSpec

__all__ = ["WAYS_OUT", "config_differences", "inference_url"]

WAYS_OUT = (
    "use the collection as it is (GROUNDED_VECTORIZATION=weaviate for multi2vec-clip, plugin for "
    "self-provided vectors), import into another collection (GROUNDED_COLLECTION), or delete it "
    "and import again (weaviate-client: client.collections.delete(name); REST: DELETE /v1/schema/<name>)"
)


def inference_url(url: str | None) -> str | None:
    """``inferenceUrl`` as Weaviate must get it: without a trailing slash, because Weaviate joins
    ``inferenceUrl + "/vectorize"`` as strings (modules/multi2vec-clip/clients/vectorizer.go)."""
    return url.rstrip("/") if url else url


def _vectorizer_name(vectorizer: Any) -> str:
    return str(getattr(vectorizer, "value", vectorizer))


def config_differences(
    config: _CollectionConfigSimple, spec: CollectionSpec, clip_url: str | None
) -> list[str]:
    """How the existing collection differs from ``spec`` (empty: it matches). Extra properties
    in the collection are allowed; a missing one or another data type is a difference."""
    problems: list[str] = []
    vec = spec.vector
    named = config.vector_config or {}
    if vec.name not in named:
        have = ", ".join(sorted(named)) or "none (a legacy unnamed vector)"
        problems.append(f"it has no named vector {vec.name!r} (named vectors: {have})")
    else:
        vectorizer = named[vec.name].vectorizer
        actual = _vectorizer_name(vectorizer.vectorizer)
        expected = "multi2vec-clip" if vec.server_side else "none"
        if actual != expected:
            problems.append(
                f"vector {vec.name!r} is computed by {actual!r} in Weaviate, "
                f"but this import expects {expected!r}"
            )
        elif vec.server_side:
            problems.extend(_clip_differences(vectorizer.model, spec, clip_url))
    props = {p.name: _vectorizer_name(p.data_type) for p in config.properties}
    for prop in spec.properties:
        if prop.name not in props:
            if prop.required:
                problems.append(f"property {prop.name!r} is missing")
        elif props[prop.name] != prop.data_type.value:
            problems.append(f"property {prop.name!r} is {props[prop.name]}, expected {prop.data_type.value}")
    return problems


def _clip_differences(model: dict[str, Any], spec: CollectionSpec, clip_url: str | None) -> list[str]:
    vec = spec.vector
    weights = model.get("weights") or {}
    expected = {
        "imageFields": (list(vec.image_fields), list(vec.image_fields.values())),
        "textFields": (list(vec.text_fields), list(vec.text_fields.values())),
    }
    problems = []
    for key, (fields, wanted) in expected.items():
        have = list(model.get(key) or [])
        if have != fields:
            problems.append(f"multi2vec-clip {key} are {have}, expected {fields}")
        elif [float(w) for w in weights.get(key) or []] != [float(w) for w in wanted]:
            problems.append(f"multi2vec-clip weights.{key} are {weights.get(key)}, expected {wanted}")
    have_url = inference_url(model.get("inferenceUrl"))
    if clip_url and have_url and have_url != inference_url(clip_url):
        problems.append(f"multi2vec-clip inferenceUrl is {have_url}, expected {inference_url(clip_url)}")
    return problems
