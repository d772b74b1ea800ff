"""Indexes of the embedded store: one ANN vector index (cosine) and scalar indexes on the filter
columns, built past a size threshold or on demand, kept current by ``optimize``.

Why these choices (numbers in docs/scale.md, measured with ``benchmarks/scale_bench.py``):

* **IVF_RQ** (IVF partitions + 1-bit RaBitQ codes, re-ranked on the full vectors) is the
  default: on 2 cores it trains in about a second per 20k rows where IVF_HNSW_SQ takes about
  30 s, so a 1M catalog indexes in minutes, not an hour; its 1-bit codes (64 bytes per 512-d
  vector) keep the index small; with ``refine_factor`` 10 its recall@10 matches IVF_HNSW_SQ's.
  IVF_PQ was both slower and less accurate in the same run. IVF_HNSW_SQ stays selectable.
* **A build compacts first**: a bulk load leaves one fragment per append and every query
  visits every fragment; built over one fragment, the index answers 4.2x faster at 1M right
  after ``grounded index build`` (p50, same run and load, docs/scale.md), no separate
  ``optimize`` needed. Partition counts stay LanceDB's (``rows / 4096``): ~sqrt(rows) ones
  built 6x slower and made selective filters slower for +0.01 recall.
* **Cosine distance is set explicitly**: LanceDB's indexes default to L2, and the store
  reports ``1 - cos`` like Weaviate.
* **Scalar indexes** make filters indexed pre-filters: BTree for ranges and near-unique keys
  (price, uuid, product id), Bitmap for low-cardinality exact fields (category, brand,
  currency), LabelList for the ``key=value`` attribute list (``array_has_all``).
* **The unindexed tail is searched**: rows written after the build are scanned exactly beside
  the index (we never ask for ``fast_search``), so a new product is found at once; ``optimize``
  folds them into the index.
* **Probes are a fixed count, not a floor**: LanceDB's ``maximum_nprobes(0)`` (probe on while
  it wants more rows) took 2.5x as long at 1M for +0.005 recall (docs/scale.md), so a query
  probes exactly ``nprobes`` partitions, and a filtered one ``FILTERED_PROBE_FACTOR`` times as
  many: a filter keeps only part of each partition, so more partitions hold the true top-k.
* **A filtered query keeps its top-k**: a result still short of ``limit`` is answered by an
  exact search over the pre-filtered rows, which the scalar indexes make cheap exactly when a
  filter is that selective.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from lancedb.index import Bitmap, BTree, IvfHnswSq, IvfPq, IvfRq, LabelList

from plugin.store.lance import upkeep
from plugin.store.lance.planner import DEFAULT_SKETCH_ROWS
from schemas.collection import CollectionSpec
from schemas.errors import InvalidInputError

__all__ = [
    "AUTO_INDEX_ROWS",
    "DEFAULT_INDEX_TYPE",
    "DEFAULT_NPROBES",
    "DEFAULT_REFINE_FACTOR",
    "FILTERED_PROBE_FACTOR",
    "MIN_INDEX_ROWS",
    "IndexPolicy",
    "IndexState",
    "IndexStatus",
    "IndexType",
    "SearchTuning",
    "apply_tuning",
    "build_indexes",
    "index_status",
    "maintain_indexes",
    "optimize_indexes",
    "scalar_index_plan",
]

IndexType = Literal["ivf_rq", "ivf_hnsw_sq", "ivf_pq"]
INDEX_TYPES: tuple[str, ...] = get_args(IndexType)
DEFAULT_INDEX_TYPE: IndexType = "ivf_rq"
AUTO_INDEX_ROWS = 20_000
"""Rows at which ingestion builds the indexes: below it an exact scan of 512-d vectors is a
few milliseconds and an index buys nothing (docs/scale.md); above it scan time grows linearly."""
MIN_INDEX_ROWS = 256
"""Fewest rows an index can be trained on (k-means and the quantizer need samples)."""
DEFAULT_NPROBES = 40
"""Partitions an unfiltered query probes: recall@10 0.98 with refine 10 at 1M (30: 0.96-0.97,
20: 0.96), at about the same latency as 30 (docs/scale.md)."""
FILTERED_PROBE_FACTOR = 2
"""A filtered query probes this many times ``nprobes``: at 1M, 80 partitions kept recall@10
>= 0.986 for filters matching 50%, 5% and 0.3% of rows, where 60 gave 0.93-0.95 at 0.3%."""
DEFAULT_REFINE_FACTOR = 10
"""Candidates re-ranked on full vectors per result: lifts 1-bit RQ from ~0.45 to ~0.98 recall@10."""
MAX_NPROBES = 10_000
MAX_REFINE_FACTOR = 200

_VECTOR_INDEX_TYPES = {"IvfRq": "ivf_rq", "IvfHnswSq": "ivf_hnsw_sq", "IvfPq": "ivf_pq"}


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidInputError(f"{name} must be between {low} and {high}, got {value}")


@dataclass(frozen=True)
class IndexPolicy:
    """How the embedded store indexes: which vector index, when ingestion builds it
    (``auto_rows`` 0 = only by ``grounded index build``), the default search parameters, and
    the rows from which filtered queries are planned on an in-memory sketch (``sketch_rows``,
    0 = never; :mod:`plugin.store.lance.planner`)."""

    index_type: IndexType = DEFAULT_INDEX_TYPE
    auto_rows: int = AUTO_INDEX_ROWS
    nprobes: int = DEFAULT_NPROBES
    refine_factor: int = DEFAULT_REFINE_FACTOR
    sketch_rows: int = DEFAULT_SKETCH_ROWS

    def __post_init__(self) -> None:
        if self.index_type not in INDEX_TYPES:
            raise InvalidInputError(
                f"index type must be one of {', '.join(INDEX_TYPES)}, got {self.index_type!r}"
            )
        if self.auto_rows != 0 and self.auto_rows < MIN_INDEX_ROWS:
            raise InvalidInputError(f"auto index rows must be 0 (never) or at least {MIN_INDEX_ROWS}")
        _check_range("nprobes", self.nprobes, 1, MAX_NPROBES)
        _check_range("refine factor", self.refine_factor, 1, MAX_REFINE_FACTOR)
        if self.sketch_rows < 0:
            raise InvalidInputError(f"sketch rows must be 0 (never) or more, got {self.sketch_rows}")


@dataclass(frozen=True)
class SearchTuning:
    """Per-query overrides: ``None`` keeps the policy's default; ``exact`` skips the vector
    index (the ground truth the benchmark and the recall test compare against)."""

    nprobes: int | None = None
    refine_factor: int | None = None
    exact: bool = False

    def __post_init__(self) -> None:
        if self.nprobes is not None:
            _check_range("nprobes", self.nprobes, 1, MAX_NPROBES)
        if self.refine_factor is not None:
            _check_range("refine factor", self.refine_factor, 1, MAX_REFINE_FACTOR)


@dataclass(frozen=True)
class IndexState:
    """One index: its name, column, LanceDB type, and how many rows it covers and misses."""

    name: str
    column: str
    index_type: str
    indexed_rows: int
    unindexed_rows: int


@dataclass(frozen=True)
class IndexStatus:
    """The table's rows and indexes; ``vector`` is the ANN index if there is one."""

    rows: int
    indexes: list[IndexState] = field(default_factory=list)
    vector: IndexState | None = None

    @property
    def unindexed_rows(self) -> int:
        """Rows the vector index does not cover (all of them without one)."""
        return self.rows if self.vector is None else self.vector.unindexed_rows


def scalar_index_plan(spec: CollectionSpec, uuid_column: str) -> dict[str, Any]:
    """Column -> scalar index config for every filter column of ``spec`` (and the key)."""
    plan: dict[str, Any] = {uuid_column: BTree()}
    kinds: dict[str, Any] = {
        "product_id": BTree(),
        "price": BTree(),
        "category": Bitmap(),
        "brand": Bitmap(),
        "currency": Bitmap(),
        "attributes": LabelList(),
    }
    names = {p.name for p in spec.properties}
    plan.update({column: config for column, config in kinds.items() if column in names})
    return plan


def _vector_config(index_type: IndexType) -> Any:
    # Partition counts are LanceDB's (rows / 4096: 244 at 1M). Measured against ~sqrt(rows)
    # (450 at 200k, docs/scale.md): k-means time grows with partitions squared (build 22 s ->
    # 136 s), recall@10 moved 0.980 -> 0.990, and a filter matching 0.3% of the rows got ~6x
    # slower (fewer matches per partition, so many more partitions probed to fill k).
    if index_type == "ivf_rq":
        return IvfRq(distance_type="cosine", num_bits=1)
    if index_type == "ivf_hnsw_sq":
        return IvfHnswSq(distance_type="cosine")
    return IvfPq(distance_type="cosine")


def _vector_index_name(column: str) -> str:
    return f"{column}_idx"


def build_indexes(
    table: Any,
    spec: CollectionSpec,
    uuid_column: str,
    policy: IndexPolicy,
    *,
    vector: bool = True,
    scalars: bool = True,
) -> dict[str, float]:
    """Compact the table, then (re)build the vector index and/or the scalar indexes; returns
    seconds per index built. Call under the store's write lock."""
    rows = int(table.count_rows())
    timings: dict[str, float] = {}
    if vector and rows < MIN_INDEX_ROWS:
        raise InvalidInputError(
            f"the table has {rows} rows; a vector index needs at least {MIN_INDEX_ROWS} to train "
            "(exact search is fast at this size anyway)"
        )
    # The fragments a bulk load wrote (one per append) are merged first: every query visits
    # every fragment, and indexes built over merged ones are the ones that answer fast (at 1M,
    # 10 fragments: p50 63 ms; the same index after compaction: 22 ms, docs/scale.md).
    upkeep.compact(table)
    if scalars:
        for column, config in scalar_index_plan(spec, uuid_column).items():
            start = time.perf_counter()
            table.create_index(column, config=config, replace=True)
            timings[column] = time.perf_counter() - start
    if vector:
        column = spec.vector.name
        start = time.perf_counter()
        config = _vector_config(policy.index_type)
        table.create_index(column, config=config, replace=True, name=_vector_index_name(column))
        timings[column] = time.perf_counter() - start
    return timings


def index_status(table: Any, spec: CollectionSpec) -> IndexStatus:
    """Rows, and per index how many rows it covers (``unindexed`` rows are still searched)."""
    rows = int(table.count_rows())
    states: list[IndexState] = []
    vector_state: IndexState | None = None
    for config in table.list_indices():
        stats = table.index_stats(config.name)
        state = IndexState(
            name=config.name,
            column=config.columns[0] if config.columns else "",
            index_type=str(config.index_type),
            indexed_rows=int(stats.num_indexed_rows) if stats else 0,
            unindexed_rows=int(stats.num_unindexed_rows) if stats else rows,
        )
        states.append(state)
        if state.column == spec.vector.name:
            vector_state = state
    return IndexStatus(rows=rows, indexes=states, vector=vector_state)


def optimize_indexes(table: Any) -> None:
    """Fold rows written since the build into every index (and compact the fragments).
    Call under the store's write lock."""
    table.optimize()


def maintain_indexes(table: Any, spec: CollectionSpec, uuid_column: str, policy: IndexPolicy) -> bool:
    """After an import: build the indexes once the table reaches ``policy.auto_rows`` and has
    no vector index yet. Returns whether it built. (Folding new rows into an existing index is
    the import's compaction, ``table.optimize``.) Call under the store's write lock."""
    if policy.auto_rows == 0:
        return False
    status = index_status(table, spec)
    if status.vector is not None or status.rows < policy.auto_rows:
        return False
    build_indexes(table, spec, uuid_column, policy)
    return True


def probes(policy: IndexPolicy, tuning: SearchTuning | None, *, filtered: bool) -> int:
    """Partitions one query probes: the tuning's or the policy's ``nprobes``, times
    ``FILTERED_PROBE_FACTOR`` under a filter (capped at ``MAX_NPROBES``)."""
    nprobes = (tuning.nprobes if tuning else None) or policy.nprobes
    return min(MAX_NPROBES, nprobes * FILTERED_PROBE_FACTOR) if filtered else nprobes


def apply_tuning(
    builder: Any, policy: IndexPolicy, tuning: SearchTuning | None, *, filtered: bool = False
) -> Any:
    """Set the ANN parameters on a LanceDB vector query (no effect without an index)."""
    tuning = tuning or SearchTuning()
    if tuning.exact:
        return builder.bypass_vector_index()
    nprobes = probes(policy, tuning, filtered=filtered)
    # Exactly nprobes: an open maximum (0) let LanceDB keep probing and cost 2.5x at 1M.
    builder = builder.minimum_nprobes(nprobes).maximum_nprobes(nprobes)
    return builder.refine_factor(tuning.refine_factor or policy.refine_factor)


def vector_index_kind(state: IndexState | None) -> str | None:
    """Our name of the vector index type (``ivf_rq``...) from LanceDB's, for status output."""
    if state is None:
        return None
    return _VECTOR_INDEX_TYPES.get(state.index_type, state.index_type)
