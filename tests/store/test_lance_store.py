"""Behaviour of the embedded LanceDB store beyond the shared contract: what it refuses and why."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plugin.store import ProductRow
from plugin.store.lance import upkeep
from plugin.store.lance.store import LanceStore
from schemas.collection import product_properties
from schemas.errors import InvalidInputError, NotFoundError
from schemas.product import Product, product_uuid

DIM = 4


def _row(pid: str, vector: list[float] | None, **overrides: object) -> ProductRow:
    props = {**product_properties(Product(id=pid, title=pid.title()), None), **overrides}
    return ProductRow(str(product_uuid(pid)), props, vector)


@pytest.fixture
def store(tmp_path: Path) -> LanceStore:
    store = LanceStore(tmp_path, dimension=DIM)
    store.create_collection()
    return store


def test_missing_collection_is_a_clear_not_found(tmp_path: Path) -> None:
    store = LanceStore(tmp_path, dimension=DIM, collection="Nothing")
    with pytest.raises(NotFoundError, match="grounded ingest"):
        store.count()
    with pytest.raises(NotFoundError):
        store.search([1.0, 0, 0, 0])
    store.drop()  # dropping what is not there is fine


def test_reopening_with_another_dimension_is_refused(store: LanceStore, tmp_path: Path) -> None:
    store.upsert([_row("a", [1.0, 0, 0, 0])])
    with pytest.raises(InvalidInputError, match="4-d vectors but the model makes 8-d"):
        LanceStore(tmp_path, dimension=8).count()


def test_bad_rows_are_reported_and_good_rows_still_stored(store: LanceStore) -> None:
    errors = store.upsert(
        [
            _row("good", [0.0, 1.0, 0, 0]),
            _row("short", [1.0, 0.0]),
            _row("novector", None),
            _row("nan", [float("nan"), 0, 0, 0]),
            _row("extra", [1.0, 0, 0, 0], colour="red"),
        ]
    )
    reasons = {e.uuid: e.message for e in errors}
    assert reasons == {
        str(product_uuid("short")): "vector has 2 dimensions, expected 4",
        str(product_uuid("novector")): "no vector: the embedded store needs the plugin to compute it",
        str(product_uuid("nan")): "vector contains NaN or infinite values",
        str(product_uuid("extra")): "unknown properties: colour",
    }
    assert store.count() == 1
    assert store.existing([str(product_uuid("good"))]) == {str(product_uuid("good"))}


def test_a_repeated_uuid_in_one_batch_keeps_the_last_row(store: LanceStore) -> None:
    assert (
        store.upsert([_row("a", [1.0, 0, 0, 0], title="first"), _row("a", [1.0, 0, 0, 0], title="last")])
        == []
    )
    assert store.count() == 1
    assert store.search([1.0, 0, 0, 0], limit=1)[0].properties["title"] == "last"


def test_image_blob_is_returned_only_when_asked(store: LanceStore) -> None:
    props = product_properties(Product(id="img", title="Img"), "aGVsbG8=")
    store.upsert([ProductRow(str(product_uuid("img")), props, [1.0, 0, 0, 0])])
    assert "image" not in store.search([1.0, 0, 0, 0], limit=1)[0].properties
    hit = store.search([1.0, 0, 0, 0], limit=1, return_properties=["image"])[0]
    assert hit.properties == {"image": "aGVsbG8="}


@pytest.mark.parametrize(
    ("vector", "kwargs", "message"),
    [
        ([0.0, 0, 0, 0], {}, "all zeros"),
        ([1.0, 0, 0], {}, "3 dimensions"),
        (np.ones((2, DIM), np.float32), {}, "one query vector"),
        ([1.0, 0, 0, 0], {"limit": 0}, "limit must be"),
        ([1.0, 0, 0, 0], {"return_properties": ["colour"]}, "unknown colour"),
    ],
)
def test_bad_searches_are_invalid_input(
    store: LanceStore, vector: object, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        store.search(vector, **kwargs)  # type: ignore[arg-type]


def test_bad_collection_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="collection name"):
        LanceStore(tmp_path, dimension=DIM, collection="../escape")


def test_a_table_of_another_dimension_can_still_be_dropped_and_rebuilt(
    store: LanceStore, tmp_path: Path
) -> None:
    store.upsert([_row("a", [1.0, 0, 0, 0])])
    wider = LanceStore(tmp_path, dimension=8)
    wider.drop()
    wider.create_collection()
    assert wider.count() == 0
    assert wider.upsert([_row("b", [1.0] * 8)]) == []


def test_a_large_batch_is_written_whole_with_exact_counts(store: LanceStore) -> None:
    """Past the lookup threshold the stored fingerprints come from one pass over the key
    columns, new rows are appended and stored ones merged: counts and contents as before."""
    from plugin.store.lance.writes import SCAN_LOOKUP

    n = SCAN_LOOKUP + 50
    rng = np.random.default_rng(5)
    vectors = rng.standard_normal((n, 4)).tolist()

    def rows(fingerprint: str, title: str) -> list[ProductRow]:
        return [
            ProductRow(
                str(product_uuid(f"p{i}")),
                {
                    "product_id": f"p{i}",
                    "title": title,
                    "attributes": [],
                    "fingerprint": f"{fingerprint}{i % 2}",
                },
                vectors[i],
            )
            for i in range(n)
        ]

    first = store.upsert_changed(rows("a", "first")[: n // 2])
    assert len(first.created) == n // 2 and first.errors == []
    # Half stored (p0 with its stored fingerprint, the others with another), half new.
    second = store.upsert_changed(rows("a", "second")[:1] + rows("b", "second")[1:])
    assert (len(second.created), len(second.unchanged), len(second.replaced)) == (n - n // 2, 1, n // 2 - 1)
    assert store.count() == n
    assert store.fingerprints([str(product_uuid("p1"))]) == {str(product_uuid("p1")): "b1"}
    assert store.product("p0").properties["title"] == "first"  # type: ignore[union-attr]
    assert store.product("p1").properties["title"] == "second"  # type: ignore[union-attr]
    assert store.upsert(rows("c", "third")) == [] and store.count() == n
    assert store.existing([str(product_uuid(f"p{i}")) for i in range(n + 5)]) == {
        str(product_uuid(f"p{i}")) for i in range(n)
    }


MODEL = "open_clip:/models/shop::4"
FIRST = "sha256:" + "1" * 64
RETRAINED = "sha256:" + "2" * 64


def test_a_table_built_with_other_weights_of_the_same_model_is_refused_naming_both(tmp_path: Path) -> None:
    built = LanceStore(tmp_path, dimension=DIM, model=MODEL, weights_sha256=FIRST)
    built.create_collection()
    built.upsert([_row("a", [1.0, 0, 0, 0])])
    retrained = LanceStore(tmp_path, dimension=DIM, model=MODEL, weights_sha256=RETRAINED)
    with pytest.raises(InvalidInputError) as raised:
        retrained.search([1.0, 0, 0, 0])
    message = str(raised.value)
    assert f"was built with the weights {FIRST}" in message and f"now holds {RETRAINED}" in message
    assert "`grounded ingest --recreate`" in message
    with pytest.raises(InvalidInputError, match="retrained since"):
        retrained.create_collection()  # an import is refused the same way
    # The same weights, or a run that knows no hash (a hub model), search as before.
    assert (
        len(LanceStore(tmp_path, dimension=DIM, model=MODEL, weights_sha256=FIRST).search([1.0, 0, 0, 0]))
        == 1
    )
    assert LanceStore(tmp_path, dimension=DIM, model=MODEL).count() == 1


def test_a_table_recorded_without_weights_opens_with_any_and_gains_no_hash(tmp_path: Path) -> None:
    older = LanceStore(tmp_path, dimension=DIM, model=MODEL)  # as Grounded wrote it before the hash
    older.create_collection()
    older.upsert([_row("a", [1.0, 0, 0, 0])])
    for weights in (FIRST, RETRAINED):
        store = LanceStore(tmp_path, dimension=DIM, model=MODEL, weights_sha256=weights)
        store.create_collection()
        store.upsert([_row("b", [0, 1.0, 0, 0])])
        assert len(store.search([1.0, 0, 0, 0])) == 2
    reopened = LanceStore(tmp_path, dimension=DIM, model=MODEL)
    table, column = reopened._require(), reopened.spec.vector.name
    # Unchanged rows a re-import skipped may hold the old training's vectors: no hash vouches for them.
    assert upkeep.stored_weights(table, column) is None
    assert upkeep.stored_model(table, column) == MODEL


def test_a_recreated_table_records_the_weights(tmp_path: Path) -> None:
    store = LanceStore(tmp_path, dimension=DIM, model=MODEL, weights_sha256=RETRAINED)
    store.create_collection()
    assert upkeep.stored_weights(store._require(), store.spec.vector.name) == RETRAINED
