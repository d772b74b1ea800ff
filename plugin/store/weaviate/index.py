"""weaviate-client configuration for a :class:`schemas.vector_index.VectorIndexSpec`: the
vector index config (hnsw, flat, dynamic; cosine always) and the quantizer, for
``Configure.Vectors.*(quantizer=..., vector_index_config=...)`` (weaviate-client >= 4.16)."""

from __future__ import annotations

from typing import Any

from weaviate.classes.config import Configure, VectorDistances, VectorFilterStrategy

from schemas.vector_index import VectorIndexSpec

__all__ = ["index_and_quantizer"]

_FILTER_STRATEGIES = {"sweeping": VectorFilterStrategy.SWEEPING, "acorn": VectorFilterStrategy.ACORN}


def _quantizer(spec: VectorIndexSpec) -> Any:
    q = Configure.VectorIndex.Quantizer
    if spec.quantizer == "pq":
        return q.pq(segments=spec.pq_segments or None)
    if spec.quantizer == "sq":
        return q.sq(rescore_limit=spec.rescore_limit)
    if spec.quantizer == "bq":
        return q.bq(rescore_limit=spec.rescore_limit)
    if spec.quantizer == "rq":
        return q.rq(bits=spec.rq_bits, rescore_limit=spec.rescore_limit)
    return None


def _hnsw(spec: VectorIndexSpec, quantizer: Any) -> Any:
    strategy = _FILTER_STRATEGIES[spec.filter_strategy] if spec.filter_strategy else None
    return Configure.VectorIndex.hnsw(
        distance_metric=VectorDistances.COSINE,
        max_connections=spec.max_connections,
        filter_strategy=strategy,
        quantizer=quantizer,
    )


def index_and_quantizer(spec: VectorIndexSpec) -> tuple[Any, Any]:
    """``(vector_index_config, quantizer)``. A dynamic index carries its quantizer inside its
    hnsw and flat stages (``quantizer`` is then ``None``); the others take it beside."""
    quantizer = _quantizer(spec)
    if spec.index_type == "flat":
        return Configure.VectorIndex.flat(distance_metric=VectorDistances.COSINE), quantizer
    if spec.index_type == "dynamic":
        index = Configure.VectorIndex.dynamic(
            distance_metric=VectorDistances.COSINE,
            threshold=spec.dynamic_threshold,
            hnsw=_hnsw(spec, quantizer),
            flat=Configure.VectorIndex.flat(distance_metric=VectorDistances.COSINE, quantizer=quantizer),
        )
        return index, None
    return Configure.VectorIndex.hnsw(
        distance_metric=VectorDistances.COSINE,
        max_connections=spec.max_connections,
        filter_strategy=_FILTER_STRATEGIES[spec.filter_strategy] if spec.filter_strategy else None,
    ), quantizer
