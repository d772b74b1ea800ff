"""Weaviate's vector index and compression choices, described as data and validated as Weaviate
validates them (v1.38.2: entities/vectorindex/{hnsw,flat,dynamic}/config.go, usecases/schema/
class.go, vector/hnsw/insert.go), so a bad choice fails before a collection
is created, with a message that says what to change.

Memory per vector follows Weaviate's documented sizing (docs: "Resource planning", "Compression"):
fp32 vectors take ``4 * d`` bytes; PQ one byte per segment; SQ one byte per dimension; BQ one bit
per dimension; RQ ``bits`` per dimension; and an HNSW graph about ``2 * maxConnections * 8``
bytes per vector on its base layer (Weaviate's rule of thumb: ``maxConnections * 10`` bytes
including upper layers and overhead). Flat keeps no graph; a compressed flat index is scanned
from its codes, the full vectors stay on disk for rescoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from schemas.errors import InvalidInputError

__all__ = [
    "FILTER_STRATEGIES",
    "INDEX_TYPES",
    "QUANTIZERS",
    "RQ_BITS",
    "VectorIndexSpec",
    "memory_bytes_per_vector",
    "optimal_pq_segments",
]

IndexType = Literal["hnsw", "flat", "dynamic"]
Quantizer = Literal["none", "pq", "sq", "bq", "rq"]
FilterStrategy = Literal["sweeping", "acorn"]
INDEX_TYPES: tuple[str, ...] = get_args(IndexType)
QUANTIZERS: tuple[str, ...] = get_args(Quantizer)
FILTER_STRATEGIES: tuple[str, ...] = get_args(FilterStrategy)
RQ_BITS = (1, 8)
"""rq_config.go: "RQ bits must be either 1 or 8"."""
FLAT_QUANTIZERS = ("none", "bq", "rq")
"""flat/config.go: "PQ is not currently supported for flat indices", the same for SQ."""
MAX_CONNECTIONS_RANGE = (4, 2047)
"""hnsw/config.go: MinmumMaxConnections, MaximumMaxConnections."""
DEFAULT_MAX_CONNECTIONS = 32
PQ_CENTROIDS = 256


@dataclass(frozen=True)
class VectorIndexSpec:
    """One named vector's index: type, quantizer and its parameters.

    ``pq_segments`` 0 lets Weaviate choose; ``rescore_limit`` ``None`` keeps Weaviate's default
    (RQ-8: 20, RQ-1: 512); ``filter_strategy`` ``None`` keeps the server's (acorn since 1.34);
    ``dynamic_threshold`` is the object count at which a dynamic index turns from flat to HNSW.
    """

    index_type: IndexType = "hnsw"
    quantizer: Quantizer = "none"
    rq_bits: int = 8
    pq_segments: int = 0
    rescore_limit: int | None = None
    filter_strategy: FilterStrategy | None = None
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    dynamic_threshold: int = 10_000

    def validate(self, *, dimension: int | None = None, async_indexing: bool = False) -> None:
        """Raise :class:`InvalidInputError` for what Weaviate would refuse (``dimension`` known:
        also PQ segments that do not divide it, refused by Weaviate only once it compresses)."""
        if self.index_type not in INDEX_TYPES:
            raise InvalidInputError(f"vector index type must be one of {', '.join(INDEX_TYPES)}")
        if self.quantizer not in QUANTIZERS:
            raise InvalidInputError(f"quantizer must be one of {', '.join(QUANTIZERS)}")
        if self.filter_strategy is not None and self.filter_strategy not in FILTER_STRATEGIES:
            raise InvalidInputError("filterStrategy must be either 'sweeping' or 'acorn'")
        if self.quantizer == "rq" and self.rq_bits not in RQ_BITS:
            raise InvalidInputError("RQ bits must be either 1 or 8")
        if self.index_type in ("flat", "dynamic") and self.quantizer not in FLAT_QUANTIZERS:
            where = "flat indices" if self.index_type == "flat" else "the flat stage of a dynamic index"
            raise InvalidInputError(
                f"{self.quantizer.upper()} is not currently supported for {where}: use bq, rq or none"
            )
        if self.index_type == "dynamic" and not async_indexing:
            raise InvalidInputError(
                "the dynamic index can only be created when async indexing is enabled "
                "(ASYNC_INDEXING=true on the Weaviate server, then --weaviate-async-indexing)"
            )
        if self.pq_segments < 0:
            raise InvalidInputError("pq segments must be non-negative")
        if self.quantizer == "pq" and self.pq_segments and dimension and dimension % self.pq_segments:
            raise InvalidInputError(
                f"pq segments must be a divisor of the vector dimensions: {self.pq_segments} does not "
                f"divide {dimension}"
            )
        if self.rescore_limit is not None and self.rescore_limit < 0:
            raise InvalidInputError("rescore limit must be non-negative")
        low, high = MAX_CONNECTIONS_RANGE
        if not low <= self.max_connections <= high:
            raise InvalidInputError(f"maxConnections must be between {low} and {high}")
        if self.dynamic_threshold < 1:
            raise InvalidInputError("dynamic threshold must be positive")


def optimal_pq_segments(dimension: int) -> int:
    """Weaviate's default PQ segment count (vector/common/vector_util.go CalculateOptimalSegments)."""
    for minimum, divisor in ((2048, 8), (768, 6), (256, 4)):
        if dimension >= minimum and dimension % divisor == 0:
            return dimension // divisor
    return dimension // 2 if dimension % 2 == 0 else dimension


def memory_bytes_per_vector(spec: VectorIndexSpec, dimension: int) -> int:
    """In-memory bytes per vector (vectors or codes, plus the HNSW graph) by Weaviate's
    documented sizing; multiply by 1e6 for a million products."""
    codes = {
        "none": 4 * dimension,
        "pq": spec.pq_segments or optimal_pq_segments(dimension),
        "sq": dimension,
        "bq": (dimension + 7) // 8,
        "rq": (dimension * spec.rq_bits + 7) // 8,
    }[spec.quantizer]
    if spec.index_type == "flat":
        # A flat index has no graph; uncompressed it scans the vectors from disk (nothing resident).
        return 0 if spec.quantizer == "none" else codes
    return codes + spec.max_connections * 10
