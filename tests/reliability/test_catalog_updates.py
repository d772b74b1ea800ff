"""Issue 14, points 1, 2 and 4: re-imports apply edits, a model change is refused, concurrent
imports never duplicate a product, and the embedded table is compacted."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from plugin.ingest.pipeline import ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.lance.store import LanceStore
from schemas.errors import InvalidInputError
from schemas.product import product_uuid
from tests.support.reliability import DIM, NamedFakeEncoder, products, write_catalog

pytestmark = pytest.mark.timeout(120)


def _store(data: Path, encoder: NamedFakeEncoder) -> LanceStore:
    from plugin.store.fingerprint import model_identity

    return LanceStore(data, dimension=DIM, model=model_identity(encoder.model_info()))


def _ingest(catalog: Path, data: Path, encoder: NamedFakeEncoder, batch_size: int = 32) -> object:
    store = _store(data, encoder)
    try:
        return ingest_catalog(
            catalog,
            store=store,
            encoder=encoder,
            settings=PluginSettings(),
            batch_size=batch_size,
            progress=False,
        )
    finally:
        store.close()


def _titles(data: Path) -> dict[str, object]:
    store = LanceStore(data, dimension=DIM)
    hits = store.search([1.0] * DIM, limit=1000, return_properties=["product_id", "title", "price"])
    return {h.properties["product_id"]: (h.properties["title"], h.properties["price"]) for h in hits}


def test_reimport_after_edits_updates_changed_rows_and_skips_the_rest(tmp_path: Path) -> None:
    rows = products(6)
    catalog = write_catalog(tmp_path / "cat", rows)
    encoder = NamedFakeEncoder()
    first = _ingest(catalog, tmp_path / "data", encoder)
    assert (first.upserted, first.skipped_existing) == (6, 0)  # type: ignore[attr-defined]

    rows[1]["title"], rows[1]["price"] = "renamed product", 99.5
    (tmp_path / "cat" / "p004.png").write_bytes((tmp_path / "cat" / "p000.png").read_bytes())  # new image
    catalog = write_catalog(tmp_path / "cat", rows)
    encoder.images_embedded = 0
    second = _ingest(catalog, tmp_path / "data", encoder)

    assert (second.upserted, second.updated, second.skipped_existing) == (2, 2, 4)  # type: ignore[attr-defined]
    assert encoder.images_embedded == 2  # unchanged rows are not embedded again
    stored = _titles(tmp_path / "data")
    assert len(stored) == 6
    assert stored["p001"] == ("renamed product", 99.5)
    assert stored["p002"] == ("product 2", 2.0)


def test_same_dimension_other_model_is_refused_with_a_way_out(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", products(3))
    _ingest(catalog, tmp_path / "data", NamedFakeEncoder("weights-a"))
    with pytest.raises(InvalidInputError, match=r"built with the model .*weights-a.*--recreate"):
        _ingest(catalog, tmp_path / "data", NamedFakeEncoder("weights-b", seed=b"b"))
    # The way out works: drop and rebuild with the new model.
    other = NamedFakeEncoder("weights-b", seed=b"b")
    store = _store(tmp_path / "other-data", other)
    store.drop()
    report = ingest_catalog(catalog, store=store, encoder=other, settings=PluginSettings(), progress=False)
    assert report.upserted == 3


def test_an_onnx_export_of_the_same_weights_keeps_the_catalog(tmp_path: Path) -> None:
    # `grounded models export-onnx` makes the same vectors: no refusal and nothing re-embedded.
    catalog = write_catalog(tmp_path / "cat", products(3))
    _ingest(catalog, tmp_path / "data", NamedFakeEncoder("weights-a"))
    exported = NamedFakeEncoder("weights-a", exported=True)
    again = _ingest(catalog, tmp_path / "data", exported)
    assert (again.upserted, again.skipped_existing) == (0, 3)  # type: ignore[attr-defined]
    assert exported.images_embedded == 0
    with pytest.raises(InvalidInputError, match="built with the model"):
        _ingest(catalog, tmp_path / "data", NamedFakeEncoder("weights-b", exported=True))


def test_a_table_an_older_onnx_run_recorded_opens_with_its_source_model(tmp_path: Path) -> None:
    from plugin.store.fingerprint import model_identity

    source = NamedFakeEncoder("weights-a")
    legacy = model_identity(source.model_info()).replace(source.model_info().backend, "onnx", 1)
    old = LanceStore(tmp_path / "data", dimension=DIM, model=legacy)
    old.create_collection()
    old.close()
    assert _ingest(write_catalog(tmp_path / "cat", products(2)), tmp_path / "data", source).ok  # type: ignore[attr-defined]
    with pytest.raises(InvalidInputError, match="built with the model"):
        _ingest(
            write_catalog(tmp_path / "cat", products(2)), tmp_path / "data", NamedFakeEncoder("weights-b")
        )


def test_two_concurrent_imports_leave_each_product_once(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", products(64))
    data = tmp_path / "data"
    _store(data, NamedFakeEncoder()).create_collection()
    start = threading.Barrier(2)
    reports: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait(10)
            # Small batches: each is a read-then-write that the other import can interleave with.
            reports.append(_ingest(catalog, data, NamedFakeEncoder(), batch_size=4))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    assert not errors, errors
    assert all(r.ok for r in reports), [r.count_problem for r in reports]  # type: ignore[attr-defined]
    store = LanceStore(data, dimension=DIM)
    assert store.count() == 64
    assert len(_titles(data)) == 64


def test_duplicates_left_by_an_older_version_are_repaired(tmp_path: Path) -> None:
    import lancedb
    import pyarrow as pa

    catalog = write_catalog(tmp_path / "cat", products(4))
    data = tmp_path / "data"
    _ingest(catalog, data, NamedFakeEncoder())
    # Append every row once more behind the store's back, as two unlocked imports used to.
    table = lancedb.connect(str(data)).open_table("Product")
    table.add(pa.Table.from_batches(table.to_arrow().to_batches()))
    assert table.count_rows() == 8
    report = _ingest(catalog, data, NamedFakeEncoder())
    assert report.ok and report.store_count == 4  # type: ignore[attr-defined]
    assert LanceStore(data, dimension=DIM).existing([str(product_uuid("p000"))])


def test_import_leaves_the_table_compacted(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", products(40))
    data = tmp_path / "data"
    store = _store(data, NamedFakeEncoder())
    ingest_catalog(
        catalog,
        store=store,
        encoder=NamedFakeEncoder(),
        settings=PluginSettings(),
        batch_size=4,
        progress=False,
    )
    table = store._require()
    assert table.stats()["fragment_stats"]["num_fragments"] == 1
    assert store.count() == 40
