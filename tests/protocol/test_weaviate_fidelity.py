"""Where the plugin must behave as Weaviate does (issue 10), each case run against the fake
Weaviate (which embeds objects through the service's real HTTP contract at insert) and, when
``WEAVIATE_URL`` is set, against a real Weaviate and service with the same assertions: so the
same test shows that our code is right and that the fake answers as Weaviate does."""

from __future__ import annotations

import base64
import dataclasses
import io
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from weaviate.exceptions import WeaviateBaseError

from plugin.ingest.pipeline import ingest_catalog
from plugin.store.protocol import ProductRow
from plugin.store.weaviate import WeaviateStore, connect_weaviate, weaviate_store
from schemas.collection import VectorSpec, product_collection
from schemas.errors import InvalidInputError
from schemas.product import product_uuid
from tests.support.weaviate_target import WeaviateTarget


def png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), rgb).save(buf, format="PNG")
    return buf.getvalue()


def product_row(pid: str, rgb: tuple[int, int, int]) -> ProductRow:
    properties = {
        "product_id": pid,
        "title": f"{pid} dress",
        "category": "dress",
        "attributes": [],
        "image": base64.b64encode(png(rgb)).decode(),
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


def spec_store(target: WeaviateTarget, name: str, vector: VectorSpec, **kwargs: object) -> WeaviateStore:
    settings = target.settings(collection=name)
    return WeaviateStore(connect_weaviate(settings), product_collection(name, vector), **kwargs)  # type: ignore[arg-type]


# --- 10.7: inference URL with a trailing slash ------------------------------------------------


def test_trailing_slash_inference_url_is_normalised_and_imports_work(target: WeaviateTarget) -> None:
    name = target.collection_name()
    store = weaviate_store(target.settings(collection=name, clip_inference_url=target.inference_url + "/"))
    try:
        store.create_collection()
        assert store.upsert([product_row("p1", (200, 0, 0))]) == []
    finally:
        store.close()
    clip = target.schema(name)["vectorConfig"]["clip"]["vectorizer"]["multi2vec-clip"]
    assert clip["inferenceUrl"] == target.inference_url  # Weaviate appends "/vectorize" as a string
    assert set(target.stored_vectors(name)) == {str(product_uuid("p1"))}


# --- 10.8: collection drift ----------------------------------------------------------------


def test_existing_collection_with_another_vectorizer_is_refused(target: WeaviateTarget) -> None:
    name = target.collection_name()
    plugin_mode = weaviate_store(target.settings(collection=name, vectorization="plugin"))
    plugin_mode.create_collection()
    plugin_mode.create_collection()  # the same configuration again is fine
    plugin_mode.close()
    weaviate_mode = weaviate_store(target.settings(collection=name, vectorization="weaviate"))
    try:
        with pytest.raises(InvalidInputError) as info:
            weaviate_mode.create_collection()
    finally:
        weaviate_mode.close()
    message = info.value.message
    assert "computed by 'none'" in message and "expects 'multi2vec-clip'" in message
    assert "GROUNDED_VECTORIZATION" in message and "GROUNDED_COLLECTION" in message
    if target.fake:
        assert target.fake.state.batch_requests == []


def test_existing_collection_with_other_weights_is_refused(target: WeaviateTarget) -> None:
    name = target.collection_name()
    first = weaviate_store(target.settings(collection=name))
    first.create_collection()
    first.close()
    vector = VectorSpec(text_fields={"title": 0.3}, image_fields={"image": 0.7})
    other = spec_store(target, name, vector, clip_inference_url=target.inference_url)
    try:
        with pytest.raises(InvalidInputError, match=r"weights.imageFields are \[0.9\], expected \[0.7\]"):
            other.create_collection()
    finally:
        other.close()


def test_existing_collection_with_other_property_types_is_refused(target: WeaviateTarget) -> None:
    # Written by hand (or by another tool): `title` as a list of texts, vectors self-provided.
    name = target.collection_name()
    body = {
        "class": name,
        "properties": [
            {"name": "product_id", "dataType": ["text"]},
            {"name": "title", "dataType": ["text[]"]},
        ],
        "vectorConfig": {"clip": {"vectorizer": {"none": {}}, "vectorIndexType": "hnsw"}},
    }
    assert target.rest("POST", "/v1/schema", json=body).status_code == 200
    store = weaviate_store(target.settings(collection=name, vectorization="plugin"))
    try:
        with pytest.raises(InvalidInputError, match=r"property 'title' is text\[\], expected text"):
            store.create_collection()
    finally:
        store.close()


def test_ingestion_reports_objects_stored_without_vectors(
    target: WeaviateTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # If a drifted collection ever got past the check, the import must still not claim success.
    name = target.collection_name()
    settings = target.settings(collection=name, vectorization="plugin")
    created = weaviate_store(settings)
    created.create_collection()
    created.close()
    monkeypatch.setattr("plugin.store.weaviate.store.config_differences", lambda *_: [])
    store = weaviate_store(target.settings(collection=name, vectorization="weaviate"))
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
    target: WeaviateTarget, tmp_path: Path
) -> None:
    # Sorted order (description, title) and configuration order (title, description) disagree.
    vector = VectorSpec(text_fields={"title": 0.1, "description": 0.3}, image_fields={"image": 0.6})
    catalog = write_catalog(tmp_path, {"red": (200, 0, 0), "blue": (0, 0, 200)})
    vectors = {}
    for server_side in (True, False):
        name = target.collection_name("ByWeaviate" if server_side else "ByPlugin")
        store = spec_store(
            target,
            name,
            dataclasses.replace(vector, server_side=server_side),
            clip_inference_url=target.inference_url,
        )
        try:
            report = ingest_catalog(
                catalog,
                store=store,
                encoder=None if server_side else target.encoder,
                settings=target.settings(collection=name),
                image_dir=tmp_path / "images",
                progress=False,
            )
        finally:
            store.close()
        assert report.ok, report.failures
        vectors[server_side] = target.stored_vectors(name)
    assert set(vectors[True]) == set(vectors[False]) and len(vectors[True]) == 2
    for key, by_weaviate in vectors[True].items():
        np.testing.assert_allclose(vectors[False][key], by_weaviate / np.linalg.norm(by_weaviate), atol=1e-4)


# --- 10.9 and 10.10: batch bytes and delete cap --------------------------------------------


def test_batches_are_split_by_encoded_size(target: WeaviateTarget) -> None:
    # 12 objects of 1/8 of the server's gRPC limit each (1/6 once base64): twice the limit in all.
    # With the fake's small limit the store is told a matching budget; a real Weaviate gets the
    # defaults, which must be right for its default GRPC_MAX_MESSAGE_SIZE.
    limit = target.grpc_max_message_bytes
    budget = {"weaviate_batch_max_bytes": limit * 3 // 4} if target.fake else {}
    name = target.collection_name()
    store = weaviate_store(target.settings(collection=name, vectorization="plugin", **budget))
    rng = np.random.default_rng(0)
    rows = [
        ProductRow(
            str(product_uuid(f"p{i}")),
            {"product_id": f"p{i}", "title": "t", "image": base64.b64encode(rng.bytes(limit // 8)).decode()},
            [float(x) for x in rng.standard_normal(8)],
        )
        for i in range(12)
    ]
    try:
        store.create_collection()
        assert store.upsert(rows) == []
        assert store.count() == 12
    finally:
        store.close()
    if target.fake:
        requests = target.fake.state.batch_requests
        assert len(requests) >= 3 and all(r.ByteSize() < limit for r in requests)


def test_delete_goes_past_weaviates_query_maximum_results(target: WeaviateTarget) -> None:
    name = target.collection_name()
    store = weaviate_store(target.settings(collection=name, vectorization="plugin"))
    total = target.query_maximum_results + 7
    rows = [
        ProductRow(str(product_uuid(f"p{i}")), {"product_id": f"p{i}", "title": "t"}, [1.0, float(i)])
        for i in range(total)
    ]
    try:
        store.create_collection()
        assert store.upsert(rows) == []
        assert store.delete([r.uuid for r in rows] + [str(uuid.uuid4())]) == total
        assert store.count() == 0
    finally:
        store.close()


# --- the fake refuses what Weaviate refuses --------------------------------------------------


def test_multi2vec_clip_weights_are_validated_like_weaviate(target: WeaviateTarget) -> None:
    # ValidateMultiModal; the client always sends matching weights, a hand-written schema may not.
    name = target.collection_name("Bad")
    clip = {"textFields": ["title"], "imageFields": ["image"], "weights": {"textFields": [0.5, 0.5]}}
    body = {
        "class": name,
        "properties": [{"name": "title", "dataType": ["text"]}, {"name": "image", "dataType": ["blob"]}],
        "vectorConfig": {"clip": {"vectorizer": {"multi2vec-clip": clip}, "vectorIndexType": "hnsw"}},
    }
    res = target.rest("POST", "/v1/schema", json=body)
    assert res.status_code == 422
    assert res.json()["error"][0]["message"] == (
        "module 'multi2vec-clip': weights.textFields does not equal number of textFields"
    )
    assert target.rest("GET", f"/v1/schema/{name}").status_code == 404


def test_unknown_target_vectors_and_wrong_dimensions_are_refused(target: WeaviateTarget) -> None:
    store = weaviate_store(target.settings(collection=target.collection_name(), vectorization="plugin"))
    try:
        store.create_collection()
        ok = ProductRow(str(product_uuid("a")), {"product_id": "a", "title": "t"}, [1.0, 0.0, 0.0])
        wrong = ProductRow(str(product_uuid("b")), {"product_id": "b", "title": "t"}, [1.0, 0.0])
        assert store.upsert([ok]) == []
        (error,) = store.upsert([wrong])
        assert error.uuid == wrong.uuid and "Existing nodes have vectors with length 3" in error.message
        with pytest.raises(WeaviateBaseError, match='index for target vector "nope" not found'):
            store.collection.query.near_vector([1.0, 0.0, 0.0], target_vector="nope")
    finally:
        store.close()


# --- 10.12: Weaviate's import load on the service ---------------------------------------------


def test_a_default_mode_import_is_never_refused_by_the_service(target: WeaviateTarget) -> None:
    # A real Weaviate sends up to 2 x its CPUs /vectorize calls at once and does not retry a 429;
    # with the default queue every object must come back embedded. (The fake calls one at a
    # time; tests/service/test_weaviate_import_load.py holds the model through a full wave.)
    name = target.collection_name()
    store = weaviate_store(target.settings(collection=name))
    rows = [product_row(f"p{i}", (i * 2 % 256, 255 - i, (i * 7) % 256)) for i in range(96)]
    try:
        store.create_collection()
        assert store.upsert(rows) == []
    finally:
        store.close()
    assert set(target.stored_vectors(name)) == {row.uuid for row in rows}
