"""multi2vec-clip at insert, as Weaviate 1.38.2 runs it (unchanged since 1.32.4).

modules/multi2vec-clip/vectorizer/vectorizer.go ``object``: the object's properties are walked
in sorted name order; a string in a text field is a text, a string list in a text field is
several texts, a string in an image field is an image. One ``POST inferenceUrl + "/vectorize"``
(joined as strings, clients/vectorizer.go) embeds them; the vectors are text vectors then image
vectors, and the weights are the text fields' weights in *configuration* order then the image
fields', normalised to sum 1 (entities/moduletools/helper.go ``NormalizeWeights``). The result
is ``sum(w_i * v_i) / n`` (usecases/vectorizer/combine.go ``CombineVectorsWithWeights``).
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import numpy as np

from .state import FakeWeaviateError

__all__ = ["vectorize_object"]


def _inputs(props: dict[str, Any], cfg: dict[str, Any]) -> tuple[list[str], list[str]]:
    texts: list[str] = []
    images: list[str] = []
    image_fields = set(cfg.get("imageFields") or [])
    text_fields = set(cfg.get("textFields") or [])
    for name in sorted(props):
        value = props[name]
        if isinstance(value, str):
            if name in image_fields:
                images.append(value)
            if name in text_fields:
                texts.append(value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value) and name in text_fields:
            texts.extend(value)
    return texts, images


def _weights(cfg: dict[str, Any]) -> list[float] | None:
    weights = cfg.get("weights") or {}
    raw = [float(w) for w in weights.get("textFields") or []] + [
        float(w) for w in weights.get("imageFields") or []
    ]
    if not raw:
        return None
    total = sum(raw)
    return [w / total for w in raw]


def vectorize_object(props: dict[str, Any], cfg: dict[str, Any], default_url: str | None) -> np.ndarray:
    """The vector Weaviate stores for ``props`` under this multi2vec-clip config."""
    texts, images = _inputs(props, cfg)
    url = cfg.get("inferenceUrl") or default_url
    if not url:
        raise FakeWeaviateError("vectorize: no inferenceUrl and no CLIP_INFERENCE_API")
    vectors: list[np.ndarray] = []
    if texts or images:
        body = json.dumps({"texts": texts, "images": images}).encode()
        request = urllib.request.Request(
            url + "/vectorize", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer = json.loads(response.read())
        except Exception as exc:  # any failure fails this object, as in Weaviate
            raise FakeWeaviateError(f"update vector: send POST request: {exc}") from exc
        vectors = [np.asarray(v, np.float32) for v in answer["textVectors"] + answer["imageVectors"]]
    if not vectors:
        raise FakeWeaviateError("update vector: nothing to vectorize")
    weights = _weights(cfg)
    total = np.zeros(max(len(v) for v in vectors), np.float32)
    for i, vector in enumerate(vectors):
        # A weights list shorter than the vectors panics in Weaviate; here it is an error.
        if weights is not None and i >= len(weights):
            raise FakeWeaviateError("update vector: more field values than weights")
        total[: len(vector)] += vector * (weights[i] if weights is not None else 1.0)
    return total / len(vectors)
