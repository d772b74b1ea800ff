"""Filtered queries planned on the embedded store's in-memory sketch (plugin.store.lance.sketch,
plugin.store.lance.planner): the sketch's mask is LanceDB's WHERE, planned answers equal exact
filtered search, a write is seen at once, and the sketch is rebuilt for the new version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from plugin.store import ProductFilter, ProductRow
from plugin.store.lance import planner
from plugin.store.lance.index import IndexPolicy, SearchTuning
from plugin.store.lance.sql import filter_sql
from plugin.store.lance.store import LanceStore
from schemas.collection import product_properties
from schemas.errors import InvalidInputError
from schemas.product import Product, product_uuid

DIM = 48
ROWS = 6_000
EXACT = SearchTuning(exact=True)
FILTERS = [
    ProductFilter(category="c3"),  # 5%
    ProductFilter(category=["c3", "c4", "missing"]),  # 10%
    ProductFilter(category=[]),  # constrains nothing
    ProductFilter(brand="b1", price_min=100, price_max=400),
    ProductFilter(price_max=600),  # ~50%, rows without a price never pass
    ProductFilter(price_min=999.5),
    ProductFilter(attributes={"colour": "red"}),  # a third
    ProductFilter(attributes={"colour": "red", "size": "m"}),
    ProductFilter(attributes={"colour": "mauve"}),  # no row
    ProductFilter(category="c3", brand="nobody"),  # no row
    ProductFilter(brand=""),  # rows with an empty brand
]
# Filters keeping under POST_FILTER_SHARE of the rows: ranked over every kept row, so exact.
# (An empty filter is no filter: it goes through the ANN index, not the planner.)
FLAT = [f for n, f in enumerate(FILTERS) if n not in (2, 4, 6)]
# Filters keeping more: candidates from the ANN index, post-filtered, so approximate.
POST = [FILTERS[4], FILTERS[6]]


def _vectors(n: int, seed: int) -> npt.NDArray[np.float32]:
    """Clustered unit vectors sharing a direction, like catalog embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 100, DIM)).astype(np.float32)
    x = 1.5 + centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _row(i: int, vector: npt.NDArray[np.float32], prefix: str = "p") -> ProductRow:
    attributes = {"colour": ("red", "blue", "green")[i % 3]}
    if i % 4 == 0:
        attributes["size"] = "m"
    product = Product(
        id=f"{prefix}{i}",
        title=f"product {i}",
        category=f"c{i % 20}",
        brand="" if i % 11 == 0 else f"b{i % 7}",
        price=None if i % 13 == 0 else float(i % 1000),
        attributes=attributes if i % 17 else {},
    )
    return ProductRow(str(product_uuid(product.id)), product_properties(product, None), vector.tolist())


def _store(path: Path, **policy: int) -> LanceStore:
    store = LanceStore(path, dimension=DIM, index_policy=IndexPolicy(auto_rows=0, **policy))
    store.create_collection()
    return store


@pytest.fixture(scope="module")
def sketched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LanceStore]:
    """6k products, indexed, with the sketch built (any table size gets one: sketch_rows=1)."""
    store = _store(tmp_path_factory.mktemp("sketch"), sketch_rows=1)
    vectors = _vectors(ROWS, seed=0)
    assert store.upsert([_row(i, v) for i, v in enumerate(vectors)]) == []
    store.build_indexes()
    assert store.warm_filters()
    yield store
    store.close()


def _queries(n: int = 12) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(5)
    x = _vectors(ROWS, seed=0)[rng.integers(0, ROWS, n)] + 0.1 * rng.standard_normal((n, DIM))
    return x.astype(np.float32)


@pytest.mark.parametrize("filters", FILTERS, ids=[f"f{n}" for n in range(len(FILTERS))])
def test_the_sketch_mask_keeps_exactly_the_rows_lancedb_where_keeps(
    sketched: LanceStore, filters: ProductFilter
) -> None:
    sketch = sketched._sketches.current(int(sketched._require().version))  # type: ignore[union-attr]
    assert sketch is not None
    where = filter_sql(filters)
    scan = sketched._require().search().select(["uuid"]).with_row_id(True)
    everything = scan.to_arrow() if where is None else scan.where(where).to_arrow()
    expected = set(everything.column("_rowid").to_pylist())
    assert set(sketch.row_ids[sketch.mask(filters)].tolist()) == expected


@pytest.mark.parametrize("filters", FLAT, ids=[f"f{n}" for n in range(len(FLAT))])
def test_flat_planned_search_equals_exact_filtered_search(
    sketched: LanceStore, filters: ProductFilter
) -> None:
    for q in _queries():
        planned = sketched.search(q, filters=filters, limit=10)
        exact = sketched.search(q, filters=filters, limit=10, tuning=EXACT)
        assert [h.uuid for h in planned] == [h.uuid for h in exact]
        assert [h.properties for h in planned] == [h.properties for h in exact]
        np.testing.assert_allclose([h.distance for h in planned], [h.distance for h in exact], atol=1e-5)


@pytest.mark.parametrize("filters", POST, ids=["price-half", "colour-third"])
def test_post_filtered_search_keeps_k_and_recall(sketched: LanceStore, filters: ProductFilter) -> None:
    sketch = sketched._sketches.current(int(sketched._require().version))  # type: ignore[union-attr]
    assert sketch is not None and sketch.mask(filters).mean() >= planner.POST_FILTER_SHARE
    found = 0
    for q in _queries():
        planned = sketched.search(q, filters=filters, limit=10)
        exact = sketched.search(q, filters=filters, limit=10, tuning=EXACT)
        assert len(planned) == 10
        assert [h.distance for h in planned] == sorted(h.distance for h in planned)
        found += len({h.uuid for h in planned} & {h.uuid for h in exact})
    assert found / (10 * len(_queries())) >= 0.9


def test_the_post_filter_plan_falls_back_when_too_few_candidates_pass(
    sketched: LanceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ten ANN candidates for a filter keeping half the rows: about five pass, so the planner
    # must rank every kept row instead of returning five.
    monkeypatch.setattr(planner, "MAX_ANN_CANDIDATES", 10)
    filters = ProductFilter(price_max=600)
    for q in _queries(4):
        planned = sketched.search(q, filters=filters, limit=10)
        exact = sketched.search(q, filters=filters, limit=10, tuning=EXACT)
        assert [h.uuid for h in planned] == [h.uuid for h in exact]


def test_the_hamming_stage_keeps_the_true_neighbours(
    sketched: LanceStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Only 300 of ~2,000 kept rows reach the int8 re-rank: the sign bits must rank well.
    monkeypatch.setattr(planner, "BIT_CANDIDATES", 300)
    filters = ProductFilter(attributes={"colour": "red"})
    found = 0
    for q in _queries():
        planned = {h.uuid for h in sketched.search(q, filters=filters, limit=10)}
        found += len(planned & {h.uuid for h in sketched.search(q, filters=filters, limit=10, tuning=EXACT)})
    assert found / (10 * len(_queries())) >= 0.9


def test_a_write_is_found_at_once_and_the_sketch_follows_it(tmp_path: Path) -> None:
    store = _store(tmp_path, sketch_rows=1)
    vectors = _vectors(1_000, seed=2)
    assert store.upsert([_row(i, v) for i, v in enumerate(vectors)]) == []
    assert store.warm_filters()
    query = _vectors(100, seed=9)[0]
    filters = ProductFilter(category="c3")
    # A new product exactly at the query, in the filtered category: it must come first now.
    new = _row(3, query, prefix="new")
    assert store.upsert([new]) == []
    assert store.search(query, filters=filters, limit=3)[0].uuid == new.uuid
    # ... through the rebuilt sketch as well, once it is ready.
    assert store.warm_filters()
    assert store.search(query, filters=filters, limit=3)[0].uuid == new.uuid
    # A write by another handle (another process) is seen the same way.
    other = _store(tmp_path)
    newer = _row(23, query, prefix="newer")
    assert other.upsert([newer]) == []
    first = store.search(query, filters=filters, limit=3)[:2]
    assert {h.uuid for h in first} == {new.uuid, newer.uuid}
    store.close()


def test_a_plan_broken_by_a_write_is_answered_by_lancedb(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _store(tmp_path, sketch_rows=1)
    vectors = _vectors(500, seed=6)
    assert store.upsert([_row(i, v) for i, v in enumerate(vectors)]) == []
    assert store.warm_filters()
    filters = ProductFilter(category="c2")
    other = _store(tmp_path)

    def written_meanwhile(*args: object, **kwargs: object) -> None:
        # Another process writes while the plan reads rows by id, and the read fails.
        assert other.upsert([_row(2, vectors[2], prefix="meanwhile")]) == []
        raise RuntimeError("row id not found")

    monkeypatch.setattr(planner, "plan_filtered", written_meanwhile)
    hits = store.search(vectors[2], filters=filters, limit=3)
    assert len(hits) == 3 and all(h.properties["category"] == "c2" for h in hits)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug, not a write")

    monkeypatch.setattr(planner, "plan_filtered", broken)
    assert store.warm_filters()  # the sketch of the version the write left
    with pytest.raises(RuntimeError, match="a bug"):
        store.search(vectors[2], filters=filters, limit=3)
    store.close()


def test_a_sketch_is_built_at_the_second_filtered_query_not_the_first(tmp_path: Path) -> None:
    # A one-shot command (one query, then exit) must not pay for a build it never uses.
    store = _store(tmp_path, sketch_rows=1)
    vectors = _vectors(500, seed=4)
    assert store.upsert([_row(i, v) for i, v in enumerate(vectors)]) == []
    cache = store._sketches
    assert cache is not None
    store.search(vectors[0], filters=ProductFilter(category="c1"), limit=3)
    assert cache._worker is None
    store.search(vectors[0], filters=ProductFilter(category="c1"), limit=3)
    assert cache._worker is not None
    cache._worker.join()
    assert cache.current(int(store._require().version)) is not None
    store.close()


def test_a_table_under_the_threshold_gets_no_sketch(tmp_path: Path) -> None:
    store = _store(tmp_path, sketch_rows=5_000)
    vectors = _vectors(300, seed=3)
    assert store.upsert([_row(i, v) for i, v in enumerate(vectors)]) == []
    assert not store.warm_filters()
    hits = store.search(vectors[0], filters=ProductFilter(category="c0"), limit=5)
    assert hits and all(h.properties["category"] == "c0" for h in hits)
    assert not _store(tmp_path, sketch_rows=0).warm_filters()
    # A store whose table is not created yet has nothing to sketch (and no error).
    assert not LanceStore(
        tmp_path / "empty", dimension=DIM, index_policy=IndexPolicy(sketch_rows=1)
    ).warm_filters()


def test_the_policy_refuses_a_negative_sketch_threshold() -> None:
    with pytest.raises(InvalidInputError, match="sketch rows"):
        IndexPolicy(sketch_rows=-1)
