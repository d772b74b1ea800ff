"""Weaviate's cursor API as the store's scan uses it (``collection.iterator`` -> gRPC ``after``),
against the fake and, when ``WEAVIATE_URL`` is set, a real Weaviate with the same assertions:
pages in UUID order strictly after the given UUID, no filter, sort or offset beside a cursor, and
every page a search that ``QUERY_MAXIMUM_RESULTS`` bounds."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from weaviate.classes.query import Filter, Sort
from weaviate.exceptions import WeaviateBaseError

from plugin.store.protocol import ProductRow
from plugin.store.weaviate import WeaviateStore, connect_weaviate
from schemas.collection import VectorSpec, product_collection
from schemas.product import product_uuid
from tests.support.weaviate_target import WeaviateTarget

N = 10


@pytest.fixture
def filled(target: WeaviateTarget) -> Iterator[tuple[WeaviateStore, dict[str, list[float]]]]:
    name = target.collection_name("Cursor")
    page = max(1, min(4, target.query_maximum_results - 1))
    store = WeaviateStore(
        connect_weaviate(target.settings(collection=name)),
        product_collection(name, VectorSpec(server_side=False)),
        cursor_page=page,
    )
    rng = np.random.default_rng(3)
    vectors = {f"p{i}": [float(x) for x in rng.standard_normal(4)] for i in range(N)}
    try:
        store.create_collection()
        rows = [
            ProductRow(str(product_uuid(pid)), {"product_id": pid, "title": pid}, vec)
            for pid, vec in vectors.items()
        ]
        assert store.upsert(rows) == []
        yield store, vectors
    finally:
        store.close()


def test_the_scan_pages_through_every_object_in_uuid_order(
    filled: tuple[WeaviateStore, dict[str, list[float]]],
) -> None:
    store, vectors = filled
    batches = list(store.iter_vectors(batch_size=3, properties=["product_id"]))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    uuids = [u for b in batches for u in b.uuids]
    assert uuids == sorted(str(product_uuid(pid)) for pid in vectors)
    for batch in batches:
        for uid, pid, vector in zip(batch.uuids, batch.properties["product_id"], batch.vectors, strict=True):
            assert uid == str(product_uuid(pid))
            np.testing.assert_allclose(vector, vectors[pid], rtol=1e-6)


def test_after_excludes_its_uuid_and_survives_its_deletion(
    filled: tuple[WeaviateStore, dict[str, list[float]]],
) -> None:
    store, vectors = filled
    ordered = sorted(str(product_uuid(pid)) for pid in vectors)
    query = store.collection.query
    page = query.fetch_objects(after=ordered[2], limit=2, return_properties=[])
    assert [str(o.uuid) for o in page.objects] == ordered[3:5]
    assert store.delete([ordered[2]]) == 1
    page = query.fetch_objects(after=ordered[2], limit=2, return_properties=[])
    assert [str(o.uuid) for o in page.objects] == ordered[3:5]
    assert query.fetch_objects(after=ordered[-1], limit=2).objects == []


@pytest.mark.parametrize(
    ("kwargs", "refused"),
    [
        ({"filters": Filter.by_property("title").equal("p1")}, "where"),
        ({"offset": 1}, "offset"),
        ({"sort": Sort.by_property("title")}, "sort"),
    ],
)
def test_a_cursor_refuses_filters_offset_and_sort(
    filled: tuple[WeaviateStore, dict[str, list[float]]], kwargs: dict[str, object], refused: str
) -> None:
    store, _ = filled
    after = str(product_uuid("p0"))
    with pytest.raises(WeaviateBaseError, match=f"{refused} cannot be set with after and limit parameters"):
        store.collection.query.fetch_objects(after=after, limit=2, **kwargs)  # type: ignore[arg-type]


def test_a_cursor_page_is_bounded_by_query_maximum_results(
    target: WeaviateTarget, filled: tuple[WeaviateStore, dict[str, list[float]]]
) -> None:
    store, _ = filled
    after = str(product_uuid("p0"))
    with pytest.raises(WeaviateBaseError, match="query maximum results exceeded"):
        store.collection.query.fetch_objects(after=after, limit=target.query_maximum_results + 1)
