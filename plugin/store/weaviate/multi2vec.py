"""The vector Weaviate's multi2vec-clip module computes for an object, computed plugin-side.

In ``plugin`` vectorization mode the plugin embeds products itself; search then compares them
with objects Weaviate embedded (or with the same catalog imported in ``weaviate`` mode), so the
two must agree. Weaviate (1.32.4 to 1.38.2) does (modules/multi2vec-clip/vectorizer/vectorizer.go ``object``):

* texts: the object's properties in **sorted name order**, each string in a text field one text
  and each string list several; images likewise from the image fields;
* vectors: all text vectors, then all image vectors;
* weights: the text fields' weights in **configuration order**, then the image fields', divided
  by their sum (entities/moduletools/helper.go ``NormalizeWeights``);
* result: ``sum(w_i * v_i) / n`` (usecases/vectorizer/combine.go ``CombineVectorsWithWeights``).

So with text fields configured as ``{"title": 0.1, "description": 0.2}`` Weaviate gives the
*description* vector weight 0.1: the sorted order and the configuration order disagree. That is
reproduced here on purpose. The result is L2-normalised; cosine distance ignores the scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from schemas.errors import InvalidInputError
from vectorizer_service import Vectors

__all__ = ["combine_like_weaviate", "object_texts", "weaviate_weights"]

_TextFields = Mapping[str, float]


def object_texts(text_fields: _TextFields, props: Mapping[str, object]) -> list[str]:
    """The texts Weaviate sends for one object, in its order (absent or null fields skipped)."""
    texts: list[str] = []
    for name in sorted(props):
        if name not in text_fields:
            continue
        value = props[name]
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            texts.extend(value)
    return texts


def weaviate_weights(text_fields: _TextFields, image_fields: _TextFields) -> list[float]:
    """Text weights in configuration order, then image weights, normalised to sum 1."""
    raw = [*text_fields.values(), *image_fields.values()]
    total = float(sum(raw))
    if total <= 0:
        raise InvalidInputError("multi2vec-clip weights must add up to more than 0")
    return [float(w) / total for w in raw]


def combine_like_weaviate(
    text_fields: _TextFields,
    image_fields: _TextFields,
    text_vectors: Sequence[Vectors] | Vectors,
    image_vectors: Sequence[Vectors] | Vectors,
) -> Vectors:
    """One object's vector from its text vectors (``object_texts`` order) and image vectors
    (sorted image-field order), weighted as Weaviate weights them, L2-normalised."""
    vectors = [np.asarray(v, np.float32) for v in (*text_vectors, *image_vectors)]
    if not vectors:
        raise InvalidInputError("nothing to vectorize: the object has none of the vectorized fields")
    weights = weaviate_weights(text_fields, image_fields)
    if len(vectors) > len(weights):
        # Weaviate indexes weights by vector position and would fail the object (index out of range).
        raise InvalidInputError(
            f"{len(vectors)} field values but {len(weights)} weights: "
            "a text[] field gives one vector per value"
        )
    total: Vectors = np.zeros_like(vectors[0])
    for weight, vector in zip(weights, vectors, strict=False):
        total = total + np.float32(weight) * vector
    total = total / np.float32(len(vectors))
    norm = float(np.linalg.norm(total))
    return (total / (norm if norm > 0 else 1.0)).astype(np.float32)
