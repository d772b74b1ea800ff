"""Vector index and compression rules the fake enforces, message for message as Weaviate 1.38.2
(entities/vectorindex/hnsw/config.go and rq_config.go, flat/config.go, usecases/schema/class.go).
The fake runs as a default server: ASYNC_INDEXING off, so a dynamic index is refused."""

from __future__ import annotations

from typing import Any

__all__ = ["index_error"]

_QUANTIZERS = ("pq", "sq", "bq", "rq")


def _enabled(cfg: dict[str, Any]) -> list[str]:
    return [q for q in _QUANTIZERS if (cfg.get(q) or {}).get("enabled")]


def _check_quantizers(cfg: dict[str, Any], index_type: str) -> str | None:
    enabled = _enabled(cfg)
    rq = cfg.get("rq") or {}
    if rq.get("enabled") and rq.get("bits", 8) not in (1, 8):
        return "RQ bits must be either 1 or 8"
    if len(enabled) > 1:
        if index_type == "flat":
            return "cannot enable multiple quantization methods at the same time"
        return "invalid hnsw config: more than a single compression methods enabled"
    if index_type == "flat" and enabled and enabled[0] in ("pq", "sq"):
        return f"{enabled[0].upper()} is not currently supported for flat indices"
    strategy = cfg.get("filterStrategy")
    if index_type == "hnsw" and strategy is not None and strategy not in ("sweeping", "acorn"):
        return "invalid hnsw config: filterStrategy must be either 'sweeping' or 'acorn'"
    return None


def index_error(vector: dict[str, Any], *, async_indexing: bool = False) -> str | None:
    """Why Weaviate refuses this named vector's index config, or ``None``."""
    index_type = vector.get("vectorIndexType", "hnsw")
    cfg = vector.get("vectorIndexConfig") or {}
    if index_type == "dynamic":
        if not async_indexing:
            return "the dynamic index can only be created when async indexing is enabled"
        for stage in ("hnsw", "flat"):
            problem = _check_quantizers(cfg.get(stage) or {}, stage)
            if problem:
                return f"error dynamic index: {problem}"
        return None
    return _check_quantizers(cfg, index_type)
