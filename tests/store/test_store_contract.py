"""One behaviour suite for every ProductStore: the embedded LanceDB table and the in-process fake
Weaviate (through the real weaviate-client) always, and a real Weaviate when ``WEAVIATE_URL`` is
set. All must agree on ids, distances, filters and counts."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import weaviate.connect.v4

from plugin.settings import PluginSettings
from plugin.store import ProductFilter, ProductRow, ProductStore, open_store
from schemas.collection import product_properties
from schemas.errors import InvalidInputError
from schemas.product import Product, product_uuid
from tests.support.fake_weaviate import FakeWeaviate

DIM = 8
StoreFactory = Callable[[], ProductStore]

CATALOG = [
    Product(
        id="red-dress",
        title="Red dress",
        category="dress",
        brand="Acme",
        price=40.0,
        attributes={"colour": "red", "sleeves": "short"},
    ),
    Product(
        id="blue-dress",
        title="Blue dress",
        category="dress",
        brand="Acme",
        price=55.0,
        attributes={"colour": "blue", "sleeves": "long"},
    ),
    Product(
        id="blue-shirt",
        title="Blue shirt",
        category="shirt",
        brand="Bolt",
        price=25.0,
        attributes={"colour": "blue", "sleeves": "long"},
    ),
    Product(
        id="green-shirt",
        title="Green shirt",
        category="shirt",
        brand="O'Brien's",
        price=15.0,
        attributes={"colour": "green", "fit": "it's loose"},
    ),
    Product(
        id="black-shoe",
        title="Black shoe",
        category="shoe",
        brand="Bolt",
        price=None,
        attributes={"colour": "black"},
    ),
    # Values that would break naive SQL / filter building: quotes, backslash, LIKE wildcards.
    Product(id="odd", title="Odd one", category="a'b\\c %_", price=99.5, attributes={"note": "x' OR '1'='1"}),
]
VECTORS = {
    p.id: (v / np.linalg.norm(v)).astype(np.float32)
    for p, v in zip(CATALOG, np.random.default_rng(7).standard_normal((len(CATALOG), DIM)), strict=True)
}
QUERY = np.random.default_rng(11).standard_normal(DIM).astype(np.float32)


def _row(product: Product, *, title: str | None = None) -> ProductRow:
    props = product_properties(product, None)
    if title is not None:
        props["title"] = title
    return ProductRow(str(product_uuid(product.id)), props, [float(x) for x in VECTORS[product.id]])


def _cos_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _expected_order(ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda pid: _cos_distance(QUERY, VECTORS[pid]))


@pytest.fixture(params=["lance", "fake-weaviate", pytest.param("weaviate", marks=pytest.mark.integration)])
def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StoreFactory]:
    """Opens the store under test; calling it again reopens the same data (a new process would)."""
    if request.param == "weaviate":
        url = os.environ.get("WEAVIATE_URL")
        if not url:
            pytest.skip("WEAVIATE_URL is not set: the Weaviate run of the store contract needs one")
        settings = PluginSettings(  # type: ignore[call-arg]  # pydantic-settings fills defaults
            weaviate_url=url, collection=f"Contract{uuid.uuid4().hex[:10]}", vectorization="plugin"
        )
    elif request.param == "fake-weaviate":
        fake = FakeWeaviate().__enter__()
        request.addfinalizer(fake.__exit__)
        # The client's best-effort "newer version on PyPI" check must not leave the machine.
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        settings = PluginSettings(  # type: ignore[call-arg]
            weaviate_url=fake.url,
            weaviate_grpc_port=fake.grpc_port,
            collection="ContractProducts",
            vectorization="plugin",
        )
    else:
        settings = PluginSettings(data_dir=tmp_path / "lance", collection="ContractProducts")  # type: ignore[call-arg]
    opened: list[ProductStore] = []

    def factory() -> ProductStore:
        store = open_store(settings, dimension=DIM)
        opened.append(store)
        return store

    yield factory
    if opened:
        opened[-1].drop()
    for store in opened:
        store.close()


@pytest.fixture
def store(store_factory: StoreFactory) -> ProductStore:
    store = store_factory()
    store.create_collection()
    errors = store.upsert([_row(p) for p in CATALOG])
    assert errors == []
    return store


def _ids(store: ProductStore, filters: ProductFilter | None = None) -> list[str]:
    hits = store.search(QUERY, filters=filters, limit=100)
    return [h.properties["product_id"] for h in hits]


def test_create_collection_twice_keeps_it_empty(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.create_collection()
    store.create_collection()
    assert store.count() == 0
    assert store.search(QUERY, limit=5) == []


def test_upsert_counts_every_product(store: ProductStore) -> None:
    assert store.count() == len(CATALOG)


def test_upsert_is_idempotent_by_uuid_and_replaces(store: ProductStore) -> None:
    assert store.upsert([_row(p) for p in CATALOG]) == []
    assert store.upsert([_row(CATALOG[0], title="Red dress, restocked")]) == []
    assert store.count() == len(CATALOG)
    hit = store.search(VECTORS["red-dress"], limit=1)[0]
    assert hit.uuid == str(product_uuid("red-dress"))
    assert hit.properties["title"] == "Red dress, restocked"


def test_existing_reports_only_stored_uuids(store: ProductStore) -> None:
    stored = str(product_uuid("blue-shirt"))
    missing = str(product_uuid("never-ingested"))
    assert store.existing([stored, missing, stored]) == {stored}
    assert store.existing([]) == set()


def test_fingerprints_come_back_for_stored_uuids_only(store: ProductStore) -> None:
    """What a re-import compares to decide whether a product changed (issue 14, point 1)."""
    red = CATALOG[0]
    row = _row(red)
    assert (
        store.upsert([ProductRow(row.uuid, {**row.properties, "fingerprint": "sha256:abc"}, row.vector)])
        == []
    )
    missing = str(product_uuid("never-ingested"))
    found = store.fingerprints([row.uuid, missing, str(product_uuid("blue-shirt"))])
    assert found == {row.uuid: "sha256:abc", str(product_uuid("blue-shirt")): ""}


def test_search_orders_by_cosine_distance(store: ProductStore) -> None:
    hits = store.search(QUERY, limit=100)
    assert [h.properties["product_id"] for h in hits] == _expected_order([p.id for p in CATALOG])
    for hit in hits:
        assert hit.distance == pytest.approx(
            _cos_distance(QUERY, VECTORS[hit.properties["product_id"]]), abs=1e-4
        )
    # The product's own vector finds it first, at distance ~0 (Weaviate's 1 - cos).
    own = store.search(VECTORS["blue-shirt"].reshape(1, -1), limit=2)
    assert own[0].properties["product_id"] == "blue-shirt"
    assert own[0].distance == pytest.approx(0.0, abs=1e-4)


def test_search_respects_limit(store: ProductStore) -> None:
    assert len(store.search(QUERY, limit=2)) == 2


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (ProductFilter(category="dress"), {"red-dress", "blue-dress"}),
        (ProductFilter(category=["shirt", "shoe"]), {"blue-shirt", "green-shirt", "black-shoe"}),
        (ProductFilter(category=[]), {p.id for p in CATALOG}),
        (ProductFilter(brand="Bolt"), {"blue-shirt", "black-shoe"}),
        (ProductFilter(brand="O'Brien's"), {"green-shirt"}),
        (ProductFilter(price_min=40), {"red-dress", "blue-dress", "odd"}),
        (ProductFilter(price_max=25), {"blue-shirt", "green-shirt"}),
        (ProductFilter(price_min=20, price_max=50), {"red-dress", "blue-shirt"}),
        (ProductFilter(attributes={"colour": "blue"}), {"blue-dress", "blue-shirt"}),
        (ProductFilter(attributes={"colour": "blue", "sleeves": "long"}), {"blue-dress", "blue-shirt"}),
        (ProductFilter(attributes={"colour": "red", "sleeves": "long"}), set()),
        (ProductFilter(attributes={"fit": "it's loose"}), {"green-shirt"}),
        (ProductFilter(category="dress", attributes={"colour": "blue"}, price_max=60), {"blue-dress"}),
        (ProductFilter(category="Dress"), set()),
        (ProductFilter(category="a'b\\c %_"), {"odd"}),
        (ProductFilter(category="a'b\\c"), set()),
        (ProductFilter(attributes={"note": "x' OR '1'='1"}), {"odd"}),
        (ProductFilter(category="x' OR '1'='1"), set()),
    ],
    ids=lambda v: repr(v.model_dump(exclude_defaults=True)) if isinstance(v, ProductFilter) else None,
)
def test_filters_select_exactly_and_keep_distance_order(
    store: ProductStore, filters: ProductFilter, expected: set[str]
) -> None:
    ids = _ids(store, filters)
    assert set(ids) == expected
    assert ids == _expected_order(list(expected))


def test_return_properties_limits_what_comes_back(store: ProductStore) -> None:
    hit = store.search(QUERY, limit=1, return_properties=["product_id", "price"])[0]
    assert set(hit.properties) == {"product_id", "price"}
    full = store.search(VECTORS["green-shirt"], limit=1)[0].properties
    assert full["category"] == "shirt"
    assert full["price"] == pytest.approx(15.0)
    assert sorted(full["attributes"]) == ["colour=green", "fit=it's loose"]


def test_delete_removes_only_named_objects(store: ProductStore) -> None:
    gone = [str(product_uuid("red-dress")), str(product_uuid("odd"))]
    assert store.delete([*gone, str(product_uuid("never-ingested"))]) == 2
    assert store.count() == len(CATALOG) - 2
    assert store.existing(gone) == set()
    assert "red-dress" not in _ids(store)
    assert store.delete(gone) == 0


def test_data_persists_across_reopen(store_factory: StoreFactory, store: ProductStore) -> None:
    store.delete([str(product_uuid("black-shoe"))])
    store.close()
    reopened = store_factory()
    reopened.create_collection()  # keeps the existing collection
    assert reopened.count() == len(CATALOG) - 1
    assert _ids(reopened) == _expected_order([p.id for p in CATALOG if p.id != "black-shoe"])


def test_unset_properties_come_back_as_none(store: ProductStore) -> None:
    # Weaviate stores no nulls and leaves unset properties out of its answer; callers index
    # hit.properties by name, so every store must return each asked-for property, None if unset.
    shoe = store.search(VECTORS["black-shoe"], limit=1)[0].properties
    assert shoe["product_id"] == "black-shoe"
    assert "price" in shoe and shoe["price"] is None
    assert "image" not in shoe  # blobs only come back when asked for by name
    named = store.search(VECTORS["black-shoe"], limit=1, return_properties=["price", "brand"])[0]
    assert named.properties == {"price": None, "brand": "Bolt"}


def test_upsert_changed_writes_and_counts_only_what_differs(store: ProductStore) -> None:
    from plugin.store.fingerprint import FINGERPRINT_PROPERTY

    def row(product: Product, fingerprint: str, title: str | None = None) -> ProductRow:
        plain = _row(product, title=title)
        return ProductRow(plain.uuid, {**plain.properties, FINGERPRINT_PROPERTY: fingerprint}, plain.vector)

    red, fresh = CATALOG[0], Product(id="fresh", title="Fresh")
    red_uuid, fresh_uuid = str(product_uuid(red.id)), str(product_uuid(fresh.id))
    first = store.upsert_changed([row(red, "f1")])  # stored without a fingerprint: replaced
    assert (first.errors, first.created, first.replaced, first.unchanged) == ([], set(), {red_uuid}, set())
    same = store.upsert_changed([row(red, "f1", title="not written")])
    assert (same.created, same.replaced, same.unchanged) == (set(), set(), {red_uuid})
    assert store.search(VECTORS[red.id], limit=1)[0].properties["title"] == red.title
    fresh_row = ProductRow(
        fresh_uuid, {**product_properties(fresh, None), FINGERPRINT_PROPERTY: "f"}, [1.0] * DIM
    )
    both = store.upsert_changed([row(red, "f2", title="Red dress, new"), fresh_row])
    assert (both.created, both.replaced, both.unchanged) == ({fresh_uuid}, {red_uuid}, set())
    assert store.count() == len(CATALOG) + 1
    assert store.search(VECTORS[red.id], limit=1)[0].properties["title"] == "Red dress, new"


def test_the_scan_yields_every_product_once_with_its_stored_vector(store: ProductStore) -> None:
    """The whole-catalog scan (duplicates, exports): no cap, no search, each product once."""
    seen: dict[str, str] = {}
    for batch in store.iter_vectors(batch_size=4, properties=["product_id", "title"]):
        assert 1 <= len(batch) <= 4
        assert batch.vectors.dtype == np.float32 and batch.vectors.shape == (len(batch), DIM)
        assert set(batch.properties) == {"product_id", "title"}
        for i, uid in enumerate(batch.uuids):
            pid = batch.properties["product_id"][i]
            assert uid not in seen and uid == str(product_uuid(pid))
            seen[uid] = pid
            stored = store.product(pid)
            assert stored is not None and stored.vector is not None
            np.testing.assert_array_equal(batch.vectors[i], np.asarray(stored.vector, dtype=np.float32))
            assert batch.properties["title"][i] == stored.properties["title"]
    assert sorted(seen.values()) == sorted(p.id for p in CATALOG)


def test_the_scan_batches_are_bounded_and_reads_only_what_is_asked(store: ProductStore) -> None:
    sizes = [len(b) for b in store.iter_vectors(batch_size=1)]
    assert sizes == [1] * len(CATALOG)
    whole = list(store.iter_vectors(batch_size=len(CATALOG) + 10))
    assert [len(b) for b in whole] == [len(CATALOG)] and whole[0].properties == {}


def test_the_scan_of_an_empty_store_yields_nothing(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.create_collection()
    assert list(store.iter_vectors()) == []


def test_the_scan_refuses_a_bad_batch_size_or_property(store: ProductStore) -> None:
    with pytest.raises(InvalidInputError):
        list(store.iter_vectors(batch_size=0))
    with pytest.raises(InvalidInputError):
        list(store.iter_vectors(properties=["no_such_property"]))


def test_search_many_answers_each_row_as_search_does(store: ProductStore) -> None:
    queries = np.stack([QUERY, VECTORS["blue-shirt"], -QUERY])
    many = store.search_many(queries, limit=3, return_properties=["product_id"])
    assert len(many) == 3
    for query, hits in zip(queries, many, strict=True):
        one = store.search(query, limit=3, return_properties=["product_id"])
        assert [h.uuid for h in hits] == [h.uuid for h in one]
        assert [h.distance for h in hits] == pytest.approx([h.distance for h in one], abs=1e-5)
        assert all(set(h.properties) == {"product_id"} for h in hits)
    (single,) = store.search_many(QUERY.reshape(1, -1), limit=2)
    assert [h.uuid for h in single] == [h.uuid for h in store.search(QUERY, limit=2)]


def test_a_properties_only_scan_reads_no_vectors(store: ProductStore) -> None:
    batches = list(store.iter_vectors(batch_size=4, properties=["category"], vectors=False))
    assert all(b.vectors.shape == (len(b), 0) for b in batches)
    categories = [c for b in batches for c in b.properties["category"]]
    assert sorted(categories) == sorted(p.category for p in CATALOG)
