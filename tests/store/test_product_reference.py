""" "This product, but ...": a stored product as the reference of nearGrounded, on both stores."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import weaviate.connect.v4
from PIL import Image

from plugin.search.query import near_grounded
from plugin.settings import PluginSettings
from plugin.store import ProductFilter, ProductRow, ProductStore
from plugin.store.lance.store import LanceStore
from plugin.store.weaviate import WeaviateStore, connect_weaviate
from schemas.collection import VectorSpec, product_collection, product_properties
from schemas.errors import InvalidInputError, NotFoundError
from schemas.product import Product, product_uuid
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate

CATALOG = (
    ("red-dress", (200, 0, 0), "dress"),
    ("dark-red-dress", (170, 10, 10), "dress"),
    ("blue-dress", (0, 0, 200), "dress"),
    ("green-shoe", (0, 200, 0), "shoes"),
)


def _png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), rgb).save(buf, format="PNG")
    return buf.getvalue()


def _fill(store: ProductStore, encoder: FakeEncoder) -> None:
    store.create_collection()
    rows = []
    for pid, rgb, category in CATALOG:
        image = _png(rgb)
        props = product_properties(
            Product(
                id=pid,
                title=pid.replace("-", " "),
                category=category,
                attributes={"colour": pid.split("-")[0]},
            ),
            base64.b64encode(image).decode(),
        )
        vector = [float(x) for x in encoder.embed_images([image])[0]]
        rows.append(ProductRow(str(product_uuid(pid)), props, vector))
    assert store.upsert(rows) == []


@pytest.fixture(params=["lance", "fake-weaviate"])
def setup(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ProductStore, FakeEncoder]]:
    encoder = FakeEncoder()
    if request.param == "lance":
        store: ProductStore = LanceStore(tmp_path, dimension=encoder.model_info().dimension)
        _fill(store, encoder)
        yield store, encoder
        store.close()
        return
    with FakeWeaviate() as fake:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        settings = PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port)
        store = WeaviateStore(
            connect_weaviate(settings), product_collection(vector=VectorSpec(server_side=False))
        )
        _fill(store, encoder)
        yield store, encoder
        store.close()


def test_the_stored_image_is_the_reference_and_the_product_is_left_out(
    setup: tuple[ProductStore, FakeEncoder],
) -> None:
    store, encoder = setup
    result = near_grounded(store, encoder, image=None, text="", product="red-dress", limit=3)
    sent_image, _, options = encoder.compose_calls[-1]
    assert sent_image == _png((200, 0, 0))  # the stored photo, not an upload
    # The merchant's own title and attributes go to the caption stage.
    assert options.catalog_caption == "red dress" and options.catalog_attributes == {"colour": "red"}
    ids = [h.properties["product_id"] for h in result.hits]
    assert sorted(ids) == ["blue-dress", "dark-red-dress", "green-shoe"]


def test_the_reference_comes_back_first_when_asked_for(setup: tuple[ProductStore, FakeEncoder]) -> None:
    store, encoder = setup
    result = near_grounded(
        store, encoder, image=None, text="", product="red-dress", limit=2, include_reference=True
    )
    assert result.hits[0].properties["product_id"] == "red-dress"  # distance ~0: its own image


def test_leaving_the_reference_out_still_fills_the_limit_under_a_filter(
    setup: tuple[ProductStore, FakeEncoder],
) -> None:
    store, encoder = setup
    result = near_grounded(
        store,
        encoder,
        image=None,
        text="in blue",
        product="red-dress",
        limit=2,
        filters=ProductFilter(category="dress"),
    )
    assert sorted(h.properties["product_id"] for h in result.hits) == ["blue-dress", "dark-red-dress"]


def test_an_unknown_product_is_a_clear_error(setup: tuple[ProductStore, FakeEncoder]) -> None:
    store, encoder = setup
    with pytest.raises(NotFoundError, match="'no-such-sku' is not in collection"):
        near_grounded(store, encoder, image=None, text="in blue", product="no-such-sku")
    with pytest.raises(InvalidInputError, match="not both"):
        near_grounded(store, encoder, image=_png((1, 2, 3)), text="", product="red-dress")
