"""The embedded store's indexes (plugin.store.lance.index): ANN recall against its own exact
search, filtered queries that keep their top-k, the unindexed tail, and the build threshold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from plugin.store import ProductFilter, ProductRow
from plugin.store.lance.index import (
    FILTERED_PROBE_FACTOR,
    MIN_INDEX_ROWS,
    IndexPolicy,
    SearchTuning,
    apply_tuning,
)
from plugin.store.lance.store import LanceStore
from schemas.collection import product_properties
from schemas.errors import InvalidInputError
from schemas.product import Product, product_uuid

DIM = 64
ROWS = 20_000
CATEGORIES = 100  # "c0".."c99": each matches 1% of the rows
QUERIES = 40
EXACT = SearchTuning(exact=True)


def _clustered(n: int, seed: int) -> npt.NDArray[np.float32]:
    """Catalog-like unit vectors: a shared direction plus clusters (as benchmarks/catalog_vectors)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 100), DIM)).astype(np.float32)
    x = (
        1.5
        + centres[rng.integers(0, len(centres), n)]
        + 0.5 * rng.standard_normal((n, DIM)).astype(np.float32)
    )
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _rows(vectors: npt.NDArray[np.float32], start: int = 0, prefix: str = "p") -> list[ProductRow]:
    rows = []
    for i, vec in enumerate(vectors, start):
        product = Product(
            id=f"{prefix}{i}",
            title=f"product {i}",
            category=f"c{i % CATEGORIES}",
            brand=f"b{i % 7}",
            price=float(i % 1000),
            attributes={"colour": ("red", "blue", "green")[i % 3]},
        )
        rows.append(
            ProductRow(str(product_uuid(product.id)), product_properties(product, None), vec.tolist())
        )
    return rows


def _load(store: LanceStore, vectors: npt.NDArray[np.float32]) -> None:
    for start in range(0, len(vectors), 5_000):
        assert store.upsert(_rows(vectors[start : start + 5_000], start)) == []


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LanceStore]:
    """20k products with the vector and scalar indexes built (once for the module)."""
    store = LanceStore(
        tmp_path_factory.mktemp("lance_index"), dimension=DIM, index_policy=IndexPolicy(auto_rows=0)
    )
    store.create_collection()
    _load(store, _clustered(ROWS, seed=0))
    store.build_indexes()
    yield store
    store.close()


def _queries() -> npt.NDArray[np.float32]:
    """A shopper's photo is near some product, never equal to it: perturbed catalog vectors."""
    rng = np.random.default_rng(1)
    corpus = _clustered(ROWS, seed=0)
    x = corpus[rng.integers(0, ROWS, QUERIES)] + 0.05 * rng.standard_normal((QUERIES, DIM)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _recall(store: LanceStore, filters: ProductFilter | None = None) -> float:
    found = 0
    for q in _queries():
        ann = {h.uuid for h in store.search(q, filters=filters, limit=10)}
        exact = {h.uuid for h in store.search(q, filters=filters, limit=10, tuning=EXACT)}
        found += len(ann & exact)
    return found / (10 * QUERIES)


def test_status_reports_the_vector_and_scalar_indexes(indexed: LanceStore) -> None:
    status = indexed.index_status()
    assert status.rows == ROWS
    assert status.vector is not None and status.vector.index_type == "IvfRq"
    assert status.vector.indexed_rows == ROWS and status.unindexed_rows == 0
    kinds = {s.column: s.index_type for s in status.indexes}
    assert kinds["price"] == "BTree" and kinds["category"] == "Bitmap" and kinds["attributes"] == "LabelList"


def test_ann_recall_at_10_against_exact_search(indexed: LanceStore) -> None:
    assert _recall(indexed) >= 0.9


def test_ann_without_refinement_is_measurably_approximate(indexed: LanceStore) -> None:
    # The recall above comes from the index, not from a silent exact scan: 1-bit codes alone rank worse.
    found = 0
    for q in _queries():
        ann = {h.uuid for h in indexed.search(q, limit=10, tuning=SearchTuning(refine_factor=1))}
        exact = {h.uuid for h in indexed.search(q, limit=10, tuning=EXACT)}
        found += len(ann & exact)
    assert found / (10 * QUERIES) < 0.9


@pytest.mark.parametrize(
    "filters",
    [
        ProductFilter(category="c7"),  # 1%
        ProductFilter(category="c7", attributes={"colour": "red"}),  # 0.33%
        ProductFilter(price_min=0, price_max=99, brand="b3"),  # ~1.4%
    ],
    ids=["category-1pct", "category+attribute", "price+brand"],
)
def test_filtered_queries_return_k_with_good_recall(indexed: LanceStore, filters: ProductFilter) -> None:
    for q in _queries()[:10]:
        hits = indexed.search(q, filters=filters, limit=10)
        assert len(hits) == 10
        assert all(h.properties["category"] == "c7" for h in hits) or filters.category is None
    assert _recall(indexed, filters) >= 0.9


def test_a_filter_matching_fewer_than_k_returns_all_of_them(indexed: LanceStore) -> None:
    # c7 + colour=red + price 7..7: exactly the rows with i % 100 == 7, i % 3 == 0, i % 1000 == 7.
    filters = ProductFilter(category="c7", attributes={"colour": "red"}, price_min=7, price_max=7)
    expected = {
        str(product_uuid(f"p{i}")) for i in range(ROWS) if i % 100 == 7 and i % 3 == 0 and i % 1000 == 7
    }
    assert 0 < len(expected) < 10
    hits = indexed.search(_queries()[0], filters=filters, limit=10)
    assert {h.uuid for h in hits} == expected


def test_rows_written_after_the_build_are_found_before_optimize(tmp_path: Path) -> None:
    store = LanceStore(tmp_path, dimension=DIM, index_policy=IndexPolicy(auto_rows=0))
    store.create_collection()
    _load(store, _clustered(2_000, seed=2))
    store.build_indexes()
    fresh = _clustered(5, seed=3)
    assert store.upsert(_rows(fresh, prefix="new")) == []
    assert store.index_status().unindexed_rows == 5
    for i, vec in enumerate(fresh):
        assert store.search(vec, limit=1)[0].uuid == str(product_uuid(f"new{i}"))
    after = store.optimize_indexes()
    assert after.unindexed_rows == 0 and after.vector is not None and after.vector.indexed_rows == 2_005
    assert store.search(fresh[0], limit=1)[0].uuid == str(product_uuid("new0"))


def test_an_import_builds_the_indexes_once_the_table_passes_the_threshold(tmp_path: Path) -> None:
    store = LanceStore(tmp_path, dimension=DIM, index_policy=IndexPolicy(auto_rows=MIN_INDEX_ROWS * 2))
    store.create_collection()
    vectors = _clustered(MIN_INDEX_ROWS * 3, seed=4)
    store.upsert(_rows(vectors[: MIN_INDEX_ROWS * 2 - 1]))
    store.compact()  # what ingestion runs after each import
    assert store.index_status().vector is None
    store.upsert(_rows(vectors[MIN_INDEX_ROWS * 2 - 1 :], start=MIN_INDEX_ROWS * 2 - 1))
    store.compact()
    status = store.index_status()
    assert status.vector is not None and status.unindexed_rows == 0


def test_a_tiny_table_gets_a_clear_error_instead_of_an_index(tmp_path: Path) -> None:
    store = LanceStore(tmp_path, dimension=DIM)
    store.create_collection()
    store.upsert(_rows(_clustered(10, seed=5)))
    with pytest.raises(InvalidInputError, match=f"at least {MIN_INDEX_ROWS}"):
        store.build_indexes()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"index_type": "hnsw"}, "index type must be one of"),
        ({"auto_rows": 10}, "0 \\(never\\) or at least"),
        ({"nprobes": 0}, "nprobes must be between"),
        ({"refine_factor": 1000}, "refine factor must be between"),
    ],
)
def test_bad_index_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        IndexPolicy(**kwargs)  # type: ignore[arg-type]


class _RecordingBuilder:
    """Stands in for a LanceDB vector query: records each setter it is given."""

    def __init__(self) -> None:
        self.calls: dict[str, object] = {}

    def __getattr__(self, name: str) -> object:
        def setter(*args: object) -> _RecordingBuilder:
            self.calls[name] = args[0] if args else True
            return self

        return setter


@pytest.mark.parametrize(
    ("tuning", "filtered", "expected"),
    [
        (None, False, 30),
        (None, True, 30 * FILTERED_PROBE_FACTOR),
        (SearchTuning(nprobes=7), False, 7),
        (SearchTuning(nprobes=7), True, 7 * FILTERED_PROBE_FACTOR),
    ],
)
def test_a_query_probes_exactly_nprobes_and_more_under_a_filter(
    tuning: SearchTuning | None, filtered: bool, expected: int
) -> None:
    builder = _RecordingBuilder()
    apply_tuning(builder, IndexPolicy(nprobes=30, refine_factor=4), tuning, filtered=filtered)
    # A bounded maximum: an open one (0) lets LanceDB keep probing, 2.5x slower at 1M.
    assert builder.calls == {"minimum_nprobes": expected, "maximum_nprobes": expected, "refine_factor": 4}


def test_an_exact_query_bypasses_the_index_whatever_the_filter() -> None:
    builder = _RecordingBuilder()
    apply_tuning(builder, IndexPolicy(), EXACT, filtered=True)
    assert builder.calls == {"bypass_vector_index": True}
