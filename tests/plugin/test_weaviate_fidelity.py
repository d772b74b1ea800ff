"""Where the plugin must behave as Weaviate 1.32 does (issue 10), checked against the fake
Weaviate, which embeds objects through the service's real HTTP contract at insert."""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import weaviate.connect.v4
from fake_weaviate import FakeEncoder, FakeWeaviate, InferenceService
from PIL import Image
from weaviate.exceptions import WeaviateBaseError

from plugin.ingest import ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.protocol import ProductRow
from plugin.store.weaviate import WeaviateStore, connect_weaviate, weaviate_store
from schemas.collection import VectorSpec, product_collection
from schemas.errors import InvalidInputError
from schemas.product import product_uuid

pytestmark = pytest.mark.plugin


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeWeaviate]:
    with FakeWeaviate(grpc_max_message_bytes=400_000) as server:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{server.url}/pypi")
        yield server


@pytest.fixture
def service() -> Iterator[InferenceService]:
    with InferenceService(dimension=8) as svc:
        yield svc


def settings_for(fake: FakeWeaviate, **kwargs: object) -> PluginSettings:
    return PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port, **kwargs)  # type: ignore[arg-type]


def png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), rgb).save(buf, format="PNG")
    return buf.getvalue()


def product_row(pid: str, rgb: tuple[int, int, int], **props: object) -> ProductRow:
    properties = {
        "product_id": pid,
        "title": f"{pid} dress",
        "category": "dress",
        "attributes": [],
        "image": base64.b64encode(png(rgb)).decode(),
        **props,
    }
    return ProductRow(uuid=str(product_uuid(pid)), properties=properties)


def write_catalog(tmp_path: Path, colours: dict[str, tuple[int, int, int]]) -> Path:
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    lines = ["id,title,description,image"]
    for name, rgb in colours.items():
        (images / f"{name}.png").write_bytes(png(rgb))
        lines.append(f"{name},{name} dress,a {name} summer dress,{name}.png")
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("\n".join(lines) + "\n")
    return catalog


# --- 10.7: inference URL with a trailing slash ------------------------------------------------


def test_trailing_slash_inference_url_is_normalised_and_imports_work(
    fake: FakeWeaviate, service: InferenceService
) -> None:
    store = weaviate_store(settings_for(fake, clip_inference_url=service.url + "/"))
    try:
        store.create_collection()
        clip = fake.state.schema["Product"]["vectorConfig"]["clip"]["vectorizer"]["multi2vec-clip"]
        assert clip["inferenceUrl"] == service.url  # Weaviate appends "/vectorize" as a string
        assert store.upsert([product_row("p1", (200, 0, 0))]) == []
    finally:
        store.close()
    assert set(fake.objects("Product")[str(product_uuid("p1"))].vectors) == {"clip"}


# --- 10.8: collection drift ----------------------------------------------------------------


def test_existing_collection_with_another_vectorizer_is_refused(fake: FakeWeaviate) -> None:
    plugin_mode = weaviate_store(settings_for(fake, vectorization="plugin"))
    plugin_mode.create_collection()
    plugin_mode.create_collection()  # the same configuration again is fine
    plugin_mode.close()
    weaviate_mode = weaviate_store(settings_for(fake, vectorization="weaviate"))
    try:
        with pytest.raises(InvalidInputError) as info:
            weaviate_mode.create_collection()
    finally:
        weaviate_mode.close()
    message = info.value.message
    assert "computed by 'none'" in message and "expects 'multi2vec-clip'" in message
    assert "GROUNDED_VECTORIZATION" in message and "GROUNDED_COLLECTION" in message
    assert fake.state.batch_requests == []


def test_existing_collection_with_other_weights_or_property_types_is_refused(fake: FakeWeaviate) -> None:
    first = weaviate_store(settings_for(fake, clip_inference_url="http://svc:8000"))
    first.create_collection()
    first.close()
    spec = product_collection(vector=VectorSpec(text_fields={"title": 0.3}, image_fields={"image": 0.7}))
    other = WeaviateStore(connect_weaviate(settings_for(fake)), spec, clip_inference_url="http://svc:8000")
    try:
        with pytest.raises(InvalidInputError, match=r"weights.imageFields are \[0.9\], expected \[0.7\]"):
            other.create_collection()
        fake.state.schema["Product"]["properties"][1]["dataType"] = ["text[]"]  # title
        with pytest.raises(InvalidInputError, match="property 'title' is text"):
            other.create_collection()
    finally:
        other.close()


def test_ingestion_reports_objects_stored_without_vectors(
    fake: FakeWeaviate, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # If a drifted collection ever got past the check, the import must still not claim success.
    settings = settings_for(fake, vectorization="plugin")
    weaviate_store(settings).create_collection()
    monkeypatch.setattr("plugin.store.weaviate.config_differences", lambda *_: [])
    store = weaviate_store(settings_for(fake, vectorization="weaviate"))
    try:
        report = ingest_catalog(
            write_catalog(tmp_path, {"red": (200, 0, 0)}),
            store=store,
            encoder=None,
            settings=settings,
            image_dir=tmp_path / "images",
            progress=False,
        )
    finally:
        store.close()
    assert not report.ok and "no vector" in (report.count_problem or "")
    assert [f.reason for f in report.failures] == [
        "stored without a vector (check the collection's vectorizer)"
    ]


# --- 10.11: several text fields: plugin vectors equal Weaviate's ---------------------------


def test_plugin_side_vectors_equal_weaviates_with_several_text_fields(
    fake: FakeWeaviate, service: InferenceService, tmp_path: Path
) -> None:
    # Sorted order (description, title) and configuration order (title, description) disagree.
    vector = VectorSpec(text_fields={"title": 0.1, "description": 0.3}, image_fields={"image": 0.6})
    catalog = write_catalog(tmp_path, {"red": (200, 0, 0), "blue": (0, 0, 200)})
    vectors = {}
    for name, server_side in (("ByWeaviate", True), ("ByPlugin", False)):
        spec = product_collection(name, dataclass_replace(vector, server_side=server_side))
        settings = settings_for(fake)
        store = WeaviateStore(connect_weaviate(settings), spec, clip_inference_url=service.url)
        try:
            report = ingest_catalog(
                catalog,
                store=store,
                encoder=None if server_side else FakeEncoder(dimension=8),
                settings=settings,
                image_dir=tmp_path / "images",
                progress=False,
            )
        finally:
            store.close()
        assert report.ok, report.failures
        vectors[name] = {k: o.vectors["clip"] for k, o in fake.objects(name).items()}
    for key, by_weaviate in vectors["ByWeaviate"].items():
        np.testing.assert_allclose(
            vectors["ByPlugin"][key], by_weaviate / np.linalg.norm(by_weaviate), atol=1e-5
        )


def dataclass_replace(spec: VectorSpec, **changes: object) -> VectorSpec:
    import dataclasses

    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]


# --- 10.9 and 10.10: batch bytes and delete cap --------------------------------------------


def test_batches_are_split_by_encoded_size(fake: FakeWeaviate) -> None:
    store = weaviate_store(settings_for(fake, vectorization="plugin", weaviate_batch_max_bytes=300_000))
    rng = np.random.default_rng(0)
    rows = [
        ProductRow(
            str(product_uuid(f"p{i}")),
            {"product_id": f"p{i}", "title": "t", "image": base64.b64encode(rng.bytes(90_000)).decode()},
            [float(x) for x in rng.standard_normal(8)],
        )
        for i in range(8)
    ]
    try:
        store.create_collection()
        assert store.upsert(rows) == []  # ~1 MB in all: one request would exceed the server's 400 KB
        assert store.count() == 8
    finally:
        store.close()
    assert len(fake.state.batch_requests) >= 4
    assert all(r.ByteSize() < 400_000 for r in fake.state.batch_requests)


def test_delete_goes_past_weaviates_query_maximum_results(fake: FakeWeaviate) -> None:
    fake.state.query_maximum_results = 3
    store = weaviate_store(settings_for(fake, vectorization="plugin"))
    rows = [
        ProductRow(str(product_uuid(f"p{i}")), {"product_id": f"p{i}", "title": "t"}, [1.0, float(i)])
        for i in range(10)
    ]
    try:
        store.create_collection()
        assert store.upsert(rows) == []
        assert store.delete([r.uuid for r in rows] + [str(uuid.uuid4())]) == 10
        assert store.count() == 0
    finally:
        store.close()


# --- the fake refuses what Weaviate refuses --------------------------------------------------


def test_fake_validates_multi2vec_clip_weights_like_weaviate(fake: FakeWeaviate) -> None:
    # class_settings.go Validate; the client always sends matching weights, a hand-written schema may not.
    clip = {"textFields": ["title"], "imageFields": ["image"], "weights": {"textFields": [0.5, 0.5]}}
    body = {"class": "Bad", "vectorConfig": {"clip": {"vectorizer": {"multi2vec-clip": clip}}}}
    res = httpx.post(f"{fake.url}/v1/schema", json=body)
    assert res.status_code == 422
    assert res.json()["error"][0]["message"] == "weights.textFields does not equal number of textFields"
    assert "Bad" not in fake.state.schema


def test_fake_refuses_unknown_target_vectors_and_wrong_dimensions(fake: FakeWeaviate) -> None:
    store = weaviate_store(settings_for(fake, vectorization="plugin"))
    try:
        store.create_collection()
        ok = ProductRow(str(product_uuid("a")), {"product_id": "a", "title": "t"}, [1.0, 0.0, 0.0])
        wrong = ProductRow(str(product_uuid("b")), {"product_id": "b", "title": "t"}, [1.0, 0.0])
        (error,) = store.upsert([ok, wrong])
        assert error.uuid == wrong.uuid and "Existing nodes have vectors with length 3" in error.message
        with pytest.raises(WeaviateBaseError, match='index for target vector "nope" not found'):
            store.collection.query.near_vector([1.0, 0.0, 0.0], target_vector="nope")
    finally:
        store.close()
