"""The search page's app (``grounded ui``) over the embedded store and the fake encoder: the
page, a composed search, escaping of what users type, upload validation, product references,
product images and the near-duplicates section."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from starlette.testclient import TestClient

from plugin.store import ProductRow
from plugin.store.lance.store import LanceStore
from plugin.ui import UiConfig, create_ui_app
from schemas.collection import product_properties
from schemas.product import Product, product_uuid
from tests.support.fake_weaviate import FakeEncoder
from vectorizer_service.images import ImageLimits

CATALOG = (
    ("red-dress", (200, 0, 0), "dress", 40.0),
    ("red-dress-copy", (201, 0, 0), "dress", 41.0),
    ("blue-dress", (0, 0, 200), "dress", 55.0),
    ("green-shoe", (0, 200, 0), "shoes", 90.0),
)
LIMITS = ImageLimits(max_bytes=50_000, max_pixels=1_000_000)


def _png(rgb: tuple[int, int, int], size: int = 16) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), rgb).save(buf, format="PNG")
    return buf.getvalue()


def catalog_store(tmp_path: Path, encoder: FakeEncoder) -> LanceStore:
    """The four products of ``CATALOG`` in an embedded store, embedded by ``encoder``."""
    store = LanceStore(tmp_path / "data", dimension=encoder.model_info().dimension, collection="UiTest")
    store.create_collection()
    rows = []
    for pid, rgb, category, price in CATALOG:
        image = _png(rgb)
        product = Product(
            id=pid,
            title=pid.replace("-", " "),
            category=category,
            price=price,
            attributes={"colour": pid.split("-")[0]},
        )
        vector = [float(x) for x in encoder.embed_images([image])[0]]
        if pid == "red-dress-copy":  # a near-duplicate listing: almost the red dress's vector
            red = encoder.embed_images([_png(CATALOG[0][1])])[0]
            nudged = red + 0.05 * np.eye(len(red), dtype=np.float32)[0]
            vector = [float(x) for x in nudged / np.linalg.norm(nudged)]
        rows.append(
            ProductRow(
                str(product_uuid(pid)), product_properties(product, base64.b64encode(image).decode()), vector
            )
        )
    assert store.upsert(rows) == []
    return store


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    encoder = FakeEncoder()
    store = catalog_store(tmp_path, encoder)
    app = create_ui_app(store, encoder, UiConfig(limits=LIMITS, store_description="test store"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    store.close()


def _search(client: TestClient, **form: object) -> tuple[int, str]:
    response = client.post("/search", content=json.dumps(form))
    return response.status_code, response.text


def test_page_lists_the_stores_filters(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<option value="shoes">shoes</option>' in page.text
    assert 'data-key="colour"' in page.text and '<option value="blue">blue</option>' in page.text
    assert "4 products" in page.text
    assert client.get("/static/ui.js").status_code == 200


def test_the_placeholder_and_the_examples_name_products_of_this_catalog(client: TestClient) -> None:
    page = client.get("/").text
    # The smallest id of each category: a product that exists, searchable as a reference.
    assert 'placeholder="e.g. blue-dress"' in page
    offered = [part.split('"')[0] for part in page.split('class="example" data-product-id="')[1:]]
    assert offered == ["blue-dress", "green-shoe"]
    status, html = _search(client, product=offered[0], text="in red")
    assert status == 200 and '<li class="card"' in html


def test_example_photos_are_offered_and_served(tmp_path: Path) -> None:
    from plugin.ui import Example, load_examples, write_examples

    write_examples(tmp_path, [Example(_png((200, 0, 0)), "in blue", "this dress, but: in blue")])
    examples = tuple(load_examples(tmp_path))
    encoder = FakeEncoder()
    store = LanceStore(tmp_path / "data", dimension=encoder.model_info().dimension, collection="UiEx")
    store.create_collection()
    app = create_ui_app(store, encoder, UiConfig(limits=LIMITS, examples=examples))
    with TestClient(app, raise_server_exceptions=False) as c:
        page = c.get("/").text
        assert 'data-example="0" data-text="in blue"' in page and "example-photo?n=0" in page
        photo = c.get("/example-photo", params={"n": "0"})
        assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
        assert photo.content == _png((200, 0, 0))
        assert c.get("/example-photo", params={"n": "1"}).status_code == 404
        assert c.get("/example-photo", params={"n": "../x"}).status_code == 404
    store.close()


def test_the_explanation_says_how_sure_the_caption_was(client: TestClient) -> None:
    from plugin.search.query import GroundedResult
    from plugin.ui.views import explanation_view
    from schemas.wire import ComposeExplanation, StageTiming

    note = "1 attributes; category unsure: 0.31 handbag / 0.28 backpack - left out"
    sure = ComposeExplanation(caption="a red bag", timings=[StageTiming(stage="caption", ms=3.0, note=note)])
    assert explanation_view(GroundedResult([], sure)).caption_confidence == note
    off = ComposeExplanation(timings=[StageTiming(stage="caption", ms=0, skipped=True, note="switched off")])
    assert explanation_view(GroundedResult([], off)).caption_confidence == "no caption: switched off"
    # The page shows it (the fake encoder reports no stages: a dash, not an empty cell).
    status, html = _search(client, image=base64.b64encode(_png((200, 0, 0))).decode(), text="in blue")
    assert status == 200 and 'id="ex-caption-confidence">-</dd>' in html


def test_each_named_attribute_says_how_sure_the_caption_was_of_it(client: TestClient) -> None:
    from plugin.search.query import GroundedResult
    from plugin.ui.views import explanation_view
    from schemas.wire import ComposeExplanation

    # A stored product as the reference: its own colour is catalog data, the captioner filled
    # in the pattern at 0.87; an old service reports attributes without either.
    explanation = ComposeExplanation(
        caption="striped Acme dress",
        attributes={"colour": "red", "pattern": "striped", "cut": "a-line"},
        attribute_sources={"colour": "catalog", "pattern": "zero-shot"},
        attribute_probabilities={"pattern": 0.8734},
    )
    view = explanation_view(GroundedResult([], explanation))
    assert view.attributes == [
        ("colour", "red", "catalog"),
        ("cut", "a-line", ""),
        ("pattern", "striped", "0.87"),
    ]
    # Through the page: the fake service names red at 0.93.
    status, html = _search(client, image=base64.b64encode(_png((200, 0, 0))).decode(), text="in blue")
    assert status == 200
    assert '<span class="tag">colour: red <span class="sure">(0.93)</span></span>' in html


def test_photo_and_change_rank_products_with_the_explanation(client: TestClient) -> None:
    photo = base64.b64encode(_png((200, 0, 0))).decode()
    status, html = _search(client, image=photo, text="in blue", category="dress", limit=3)
    assert status == 200, html
    ids = [part.split('"')[0] for part in html.split('<li class="card" data-product-id="')[1:]]
    assert ids[0] in ("red-dress", "red-dress-copy") and "green-shoe" not in ids
    assert "a red dress, in blue" in html  # the fused text of the composed query
    assert "colour=red" in html


def test_price_and_attribute_filters_reach_the_store(client: TestClient) -> None:
    status, html = _search(client, text="dress", price_min=50, attributes={"colour": "blue"})
    assert status == 200
    assert 'data-product-id="blue-dress"' in html and 'data-product-id="red-dress"' not in html


def test_what_users_type_is_escaped(client: TestClient) -> None:
    attack = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    status, html = _search(client, text=attack)
    assert status == 200
    assert "<script>alert(2)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    status, html = _search(client, text="x", product=attack)  # echoed in the not-found error
    assert status == 404 and "There is no product" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_file_that_is_not_an_image_is_refused_like_the_service_refuses_it(client: TestClient) -> None:
    status, html = _search(client, image=base64.b64encode(b"%PDF-1.4 not a photo").decode(), text="red")
    assert status == 400
    assert "not an image" in html and 'data-error="true"' in html


def test_an_oversized_or_giant_photo_is_refused_before_any_model_runs(client: TestClient) -> None:
    big = base64.b64encode(b"\x89PNG" + b"\0" * (LIMITS.max_bytes + 10)).decode()
    status, html = _search(client, image=big, text="red")
    assert status == 400 and "limit" in html
    huge = base64.b64encode(_png((1, 2, 3), size=1100)).decode()  # 1.21 MP > 1 MP
    status, html = _search(client, image=huge, text="red")
    assert status == 400 and "pixels" in html
    body = b'{"text": "' + b"a" * (LIMITS.max_bytes * 2) + b'"}'
    assert client.post("/search", content=body).status_code == 400


def test_bad_form_fields_are_named(client: TestClient) -> None:
    status, html = _search(client, text="red", limit=0)
    assert status == 400 and "The number of results: should be greater than or equal to 1." in html
    status, html = _search(client, text="red", price_min=10, price_max=5)
    assert status == 400 and "price" in html
    status, html = _search(client)  # an empty form: said in the page's words, not the API's
    assert status == 400 and "Add a photo, pick a product, or describe what you are looking for" in html
    assert "nearGrounded" not in html
    status, html = _search(client, text="red", limit="many")
    assert status == 400 and "The number of results" in html


def test_a_catalog_product_as_the_reference_leaves_itself_out(client: TestClient) -> None:
    status, html = _search(client, product="red-dress", text="", limit=2)
    assert status == 200
    assert 'data-product-id="red-dress"' not in html
    assert html.count('<li class="card"') == 2
    status, html = _search(client, product="red-dress", image=base64.b64encode(_png((1, 1, 1))).decode())
    assert status == 400 and "not both" in html


def test_product_images_are_served_and_unknown_ids_are_404(client: TestClient) -> None:
    ok = client.get("/product-image", params={"id": "blue-dress"})
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(ok.content)).getpixel((0, 0)) == (0, 0, 200)
    assert client.get("/product-image", params={"id": "nope"}).status_code == 404


def test_duplicates_section_groups_the_near_copies(client: TestClient) -> None:
    response = client.get("/duplicates", params={"threshold": "0.99"})
    assert response.status_code == 200
    groups = response.text.split('class="dup-group"')[1:]
    assert len(groups) == 1
    assert "red-dress" in groups[0] and "red-dress-copy" in groups[0] and "blue-dress" not in groups[0]
    assert client.get("/duplicates", params={"threshold": "abc"}).status_code == 400


def test_a_field_of_another_json_type_is_refused_not_coerced(client: TestClient) -> None:
    # Found by tests/fuzz (schemathesis): "direction_gain": true searched with a gain of 1.0.
    # The error names the field as the page labels it (the page speaks to shoppers).
    status, body = _search(client, text="in blue", direction_gain=True)
    assert status == 400 and "direction gain" in body.lower()
    status, body = _search(client, text="in blue", limit="3")
    assert status == 400 and "number of results" in body.lower()
    status, _ = _search(client, text="in blue", direction_gain=1, limit=3, price_min=0)
    assert status == 200
