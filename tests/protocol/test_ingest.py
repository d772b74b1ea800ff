"""Catalog ingestion into Weaviate (real client, fake server): batching, resume, vectors, and a
report that accounts for every row."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import weaviate.connect.v4
from PIL import Image

from plugin.ingest.pipeline import combine_vectors, ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.weaviate import WeaviateStore, connect_weaviate
from schemas.collection import VectorSpec, product_collection
from schemas.errors import InvalidInputError
from schemas.product import product_uuid
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate, InferenceService

COLOURS = {"red": (200, 20, 20), "blue": (20, 20, 200), "green": (20, 200, 20), "grey": (120, 120, 120)}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeaviate]:
    with FakeWeaviate() as server:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{server.url}/pypi")
        yield server


@pytest.fixture
def settings(fake: FakeWeaviate) -> PluginSettings:
    return PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port)


def make_store(settings: PluginSettings, *, server_side: bool) -> WeaviateStore:
    spec = product_collection(vector=VectorSpec(server_side=server_side))
    return WeaviateStore(connect_weaviate(settings), spec, clip_inference_url="http://vectorizer:8000")


@pytest.fixture
def plugin_store(settings: PluginSettings) -> Iterator[WeaviateStore]:
    store = make_store(settings, server_side=False)
    yield store
    store.close()


def png(colour: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), COLOURS[colour]).save(buf, format="PNG")
    return buf.getvalue()


def write_catalog(tmp_path: Path, lines: list[str]) -> Path:
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    for colour in COLOURS:
        (images / f"{colour}.png").write_bytes(png(colour))
    (images / "broken.png").write_bytes(b"\x89PNG not really")
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def product(pid: str, image: str, **extra: object) -> str:
    return json.dumps({"id": pid, "title": f"{pid} dress", "category": "dress", "image": image, **extra})


def test_plugin_vectors_are_weighted_like_multi2vec_clip(
    tmp_path: Path, fake: FakeWeaviate, plugin_store: WeaviateStore, settings: PluginSettings
) -> None:
    catalog = write_catalog(tmp_path, [product("p1", "red.png"), product("p2", "blue.png", price=9.5)])
    encoder = FakeEncoder()
    report = ingest_catalog(
        catalog,
        store=plugin_store,
        encoder=encoder,
        settings=settings,
        image_dir=tmp_path / "images",
        progress=False,
    )
    assert report.ok, report.failures
    assert (report.total_rows, report.upserted, report.store_count) == (2, 2, 2)
    stored = fake.objects("Product")[str(product_uuid("p1"))]
    assert base64.b64decode(stored.properties["image"]) == png("red")
    expected = combine_vectors(
        VectorSpec(), encoder.embed_images([png("red")]), {"title": encoder.embed_texts(["p1 dress"])}
    )[0]
    assert np.allclose(stored.vectors["clip"], expected, atol=1e-6)
    assert np.linalg.norm(stored.vectors["clip"]) == pytest.approx(1.0, abs=1e-5)
    # 0.9 image + 0.1 title: much closer to the image than to the title
    assert float(expected @ encoder.embed_images([png("red")])[0]) > 0.9


def test_every_failed_row_is_reported_with_its_reason(
    tmp_path: Path, fake: FakeWeaviate, plugin_store: WeaviateStore, settings: PluginSettings
) -> None:
    catalog = write_catalog(
        tmp_path,
        [
            product("ok1", "red.png"),
            "{not json",
            product("neg", "red.png", price=-1),
            product("nofile", "missing.png"),
            product("broken", "broken.png"),
            product("escape", "../catalog.jsonl"),
            product("rejected", "green.png"),
            product("ok1", "blue.png"),
            product("ok2", "grey.png"),
        ],
    )
    fake.state.reject = lambda props: "disk full" if props["product_id"] == "rejected" else None
    report_path = tmp_path / "out" / "report.jsonl"
    report = ingest_catalog(
        catalog,
        store=plugin_store,
        encoder=FakeEncoder(),
        settings=settings,
        image_dir=tmp_path / "images",
        report_path=report_path,
        batch_size=3,
        progress=False,
    )
    reasons = {f.row: (f.product_id, f.reason) for f in report.failures}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8]
    assert reasons[2][0] is None and "bad JSON" in reasons[2][1]
    assert reasons[3][0] == "neg" and "price" in reasons[3][1]
    assert "not found" in reasons[4][1]
    assert "cannot be decoded" in reasons[5][1]
    assert "leaves the image folder" in reasons[6][1]
    assert reasons[7] == ("rejected", "store rejected the object: disk full")
    assert "duplicate product id (first on row 1)" in reasons[8][1]
    assert report.upserted == 2 and report.store_count == 2 and not report.ok
    lines = [json.loads(line) for line in report_path.read_text().splitlines()]
    assert [line["row"] for line in lines[:-1]] == [2, 3, 4, 5, 6, 7, 8]
    assert lines[-1]["summary"]["failed"] == 7
    assert report.report_path == report_path
    # batches of 3 valid rows: [ok1, nofile, broken] -> 1 object sent, [escape, rejected, ok2] -> 2
    assert [len(r.objects) for r in fake.state.batch_requests] == [1, 2]


def test_rerun_resumes_without_duplicating_or_resending(
    tmp_path: Path, fake: FakeWeaviate, plugin_store: WeaviateStore, settings: PluginSettings
) -> None:
    catalog = write_catalog(tmp_path, [product(f"p{i}", "red.png") for i in range(5)])
    kwargs = dict(
        store=plugin_store,
        encoder=FakeEncoder(),
        settings=settings,
        image_dir=tmp_path / "images",
        progress=False,
    )
    first = ingest_catalog(catalog, **kwargs)  # type: ignore[arg-type]
    sent = len(fake.state.batch_requests)
    fake.state.objects["Product"].pop(str(product_uuid("p3")))  # as if the import was interrupted
    second = ingest_catalog(catalog, **kwargs)  # type: ignore[arg-type]
    assert first.upserted == 5
    assert (second.upserted, second.skipped_existing, second.store_count) == (1, 4, 5)
    (resent,) = fake.state.batch_requests[sent:]
    assert [o.uuid for o in resent.objects] == [str(product_uuid("p3"))]


def test_server_side_store_sends_images_without_vectors(
    tmp_path: Path, fake: FakeWeaviate, settings: PluginSettings
) -> None:
    catalog = tmp_path / "catalog.csv"
    write_catalog(tmp_path, [])
    catalog.write_text(
        "id,title,price,attributes,attr_colour,image\n"
        'c1,Red dress,19.9,"{""fit"": ""slim""}",red,red.png\n'
        "c2,Blue dress,,,blue,blue.png\n"
    )
    spec = product_collection(vector=VectorSpec(server_side=True))
    with InferenceService() as service:
        store = WeaviateStore(connect_weaviate(settings), spec, clip_inference_url=service.url)
        try:
            report = ingest_catalog(
                catalog,
                store=store,
                encoder=None,
                settings=settings,
                image_dir=tmp_path / "images",
                progress=False,
            )
        finally:
            store.close()
    assert report.ok, report.failures
    (batch,) = fake.state.batch_requests
    assert all(not o.vectors for o in batch.objects)  # sent without vectors...
    objects = fake.objects("Product")
    c1 = objects[str(product_uuid("c1"))]
    assert set(c1.vectors) == {"clip"}  # ...and Weaviate's multi2vec-clip computed them via the service
    assert c1.properties["attributes"] == ["colour=red", "fit=slim"]
    assert c1.properties["price"] == 19.9
    assert (
        "price" not in objects[str(product_uuid("c2"))].properties
        or objects[str(product_uuid("c2"))].properties["price"] is None
    )
    assert base64.b64decode(c1.properties["image"]) == png("red")


def test_count_mismatch_is_reported(
    tmp_path: Path, fake: FakeWeaviate, plugin_store: WeaviateStore, settings: PluginSettings
) -> None:
    catalog = write_catalog(tmp_path, [product("p1", "red.png"), product("p2", "blue.png")])
    fake.state.lose_writes = True  # acknowledges every object, stores none
    report = ingest_catalog(
        catalog,
        store=plugin_store,
        encoder=FakeEncoder(),
        settings=settings,
        image_dir=tmp_path / "images",
        progress=False,
    )
    assert not report.ok
    assert report.count_problem == "2 imported objects are not in the store afterwards"
    assert {f.product_id for f in report.failures} == {"p1", "p2"}
    assert report.report_path == tmp_path / "catalog.ingest-report.jsonl"


def test_embedding_failure_of_one_image_fails_only_that_row(
    tmp_path: Path, plugin_store: WeaviateStore, settings: PluginSettings
) -> None:
    catalog = write_catalog(tmp_path, [product("a", "red.png"), product("b", "blue.png")])
    encoder = FakeEncoder()
    encoder.fail_images.add(png("blue"))
    report = ingest_catalog(
        catalog,
        store=plugin_store,
        encoder=encoder,
        settings=settings,
        image_dir=tmp_path / "images",
        progress=False,
    )
    assert report.upserted == 1
    assert [(f.row, f.product_id) for f in report.failures] == [(2, "b")]
    assert "refused by the fake service" in report.failures[0].reason


def test_plugin_vectorization_needs_an_encoder(
    tmp_path: Path, plugin_store: WeaviateStore, settings: PluginSettings
) -> None:
    catalog = write_catalog(tmp_path, [product("a", "red.png")])
    with pytest.raises(InvalidInputError, match="encoder"):
        ingest_catalog(catalog, store=plugin_store, encoder=None, settings=settings, progress=False)
