"""near_grounded over the Weaviate store and near_grounded_collection over a client collection."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import weaviate.connect.v4
from PIL import Image
from weaviate.classes.query import Filter

from plugin.ingest.pipeline import combine_vectors
from plugin.search.query import near_grounded, near_grounded_collection
from plugin.settings import PluginSettings
from plugin.store.protocol import ProductFilter, ProductRow
from plugin.store.weaviate import WeaviateStore, connect_weaviate
from schemas.collection import VectorSpec, product_collection
from schemas.errors import InvalidInputError
from schemas.product import product_uuid
from schemas.wire import ComposeOptions
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate


def png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), rgb).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeWeaviate, WeaviateStore, FakeEncoder]]:
    with FakeWeaviate() as fake:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        settings = PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port)
        store = WeaviateStore(
            connect_weaviate(settings), product_collection(vector=VectorSpec(server_side=False))
        )
        store.create_collection()
        encoder = FakeEncoder()
        rows = []
        for pid, rgb, category in (
            ("red", (200, 0, 0), "dress"),
            ("blue", (0, 0, 200), "dress"),
            ("shoe", (0, 200, 0), "shoes"),
        ):
            img = png(rgb)
            vec = combine_vectors(
                VectorSpec(image_fields={"image": 1.0}, text_fields={}), encoder.embed_images([img]), {}
            )
            rows.append(
                ProductRow(
                    str(product_uuid(pid)),
                    {"product_id": pid, "title": pid, "category": category, "attributes": []},
                    [float(x) for x in vec[0]],
                )
            )
        store.upsert(rows)
        yield fake, store, encoder
        store.close()


def test_near_grounded_composes_then_searches(setup: tuple[FakeWeaviate, WeaviateStore, FakeEncoder]) -> None:
    fake, store, encoder = setup
    options = ComposeOptions(caption=False)
    result = near_grounded(
        store,
        encoder,
        image=png((200, 0, 0)),
        text="in blue",
        filters=ProductFilter(category="dress"),
        limit=2,
        return_properties=["title"],
        options=options,
    )
    assert result.hits[0].properties["title"] == "red"  # the reference image dominates
    assert {h.properties["title"] for h in result.hits} == {"red", "blue"}  # shoes filtered out
    assert result.explanation.fused_text == "a red dress, in blue"
    assert encoder.compose_calls[0][1:] == ("in blue", options)
    assert fake.state.search_requests[-1].limit == 2


def test_near_grounded_needs_image_or_text(setup: tuple[FakeWeaviate, WeaviateStore, FakeEncoder]) -> None:
    _, store, encoder = setup
    with pytest.raises(InvalidInputError, match="image, a text, or both"):
        near_grounded(store, encoder, image=None, text="  ")
    assert encoder.compose_calls == []


def test_near_grounded_collection_uses_weaviate_filters(
    setup: tuple[FakeWeaviate, WeaviateStore, FakeEncoder],
) -> None:
    fake, store, encoder = setup
    result = near_grounded_collection(
        store.collection,
        encoder,
        image=png((0, 200, 0)),
        text="",
        filters=Filter.by_property("category").equal("shoes"),
        limit=3,
        return_properties=["title"],
    )
    assert [o.properties["title"] for o in result.objects] == ["shoe"]
    assert result.objects[0].metadata.distance is not None
    assert len(result.vector) == 8
    request = fake.state.search_requests[-1]
    assert list(request.near_vector.targets.target_vectors) == ["clip"]
    assert request.filters.target.property == "category"
