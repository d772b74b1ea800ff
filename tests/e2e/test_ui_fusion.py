"""The search page's fusion controls: the method and gain chosen on the page reach the compose
options, the explanation shows which method ran, and values outside the limits are named."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from plugin.store import ProductRow
from plugin.store.lance.store import LanceStore
from plugin.ui import UiConfig, create_ui_app
from schemas.collection import product_properties
from schemas.product import Product, product_uuid
from schemas.wire import FUSION_METHODS, ComposeOptions, ComposeResult
from tests.support.fake_weaviate import FakeEncoder
from vectorizer_service.images import ImageLimits


class EchoingEncoder(FakeEncoder):
    """The fake encoder, reporting the fusion method and gain it was asked for as a service would."""

    def compose(self, image: bytes | None, text: str, options: Any = None) -> Any:
        result: ComposeResult = super().compose(image, text, options)
        asked = options or ComposeOptions()
        method = asked.fusion_method or "image_anchor"
        gain = (asked.direction_gain or 1.0) if method == "direction" else None
        explanation = result.explanation.model_copy(update={"fusion_method": method, "direction_gain": gain})
        return result.model_copy(update={"explanation": explanation})


def _png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), rgb).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def encoder() -> EchoingEncoder:
    return EchoingEncoder()


@pytest.fixture
def client(tmp_path: Path, encoder: EchoingEncoder) -> Iterator[TestClient]:
    store = LanceStore(tmp_path / "data", dimension=encoder.model_info().dimension, collection="UiFusion")
    store.create_collection()
    image = _png((200, 0, 0))
    product = Product(id="red-dress", title="red dress", category="dress", price=40.0)
    vector = [float(x) for x in encoder.embed_images([image])[0]]
    row = ProductRow(
        str(product_uuid("red-dress")), product_properties(product, base64.b64encode(image).decode()), vector
    )
    assert store.upsert([row]) == []
    app = create_ui_app(
        store, encoder, UiConfig(limits=ImageLimits(50_000, 1_000_000), store_description="t")
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    store.close()


def _search(client: TestClient, **form: object) -> tuple[int, str]:
    response = client.post("/search", content=json.dumps(form))
    return response.status_code, response.text


def test_the_page_offers_the_methods_with_the_server_default_first(client: TestClient) -> None:
    page = client.get("/").text
    assert '<select id="fusion-method">' in page
    options = page.split('<select id="fusion-method">')[1].split("</select>")[0]
    values = [part.split('"')[0] for part in options.split('<option value="')[1:]]
    assert values == ["", *FUSION_METHODS]  # every method the wire accepts, in its order
    assert 'id="direction-gain"' in page


def test_the_chosen_method_and_gain_reach_the_search_and_the_explanation(
    client: TestClient, encoder: EchoingEncoder
) -> None:
    photo = base64.b64encode(_png((200, 0, 0))).decode()
    status, html = _search(client, image=photo, text="in blue", fusion_method="direction", direction_gain=1.4)
    assert status == 200, html
    options = encoder.compose_calls[-1][2]
    assert (options.fusion_method, options.direction_gain) == ("direction", 1.4)
    assert '<dd id="ex-fusion">direction (gain 1.4)</dd>' in html
    status, html = _search(client, image=photo, text="in blue")
    assert encoder.compose_calls[-1][2].fusion_method is None  # unset: the server's default
    assert '<dd id="ex-fusion">image_anchor</dd>' in html


@pytest.mark.parametrize(
    ("field", "value"), [("fusion_method", "average"), ("direction_gain", 10), ("direction_gain", -1)]
)
def test_a_method_or_gain_outside_the_limits_is_named(client: TestClient, field: str, value: object) -> None:
    status, html = _search(client, text="red", **{field: value})
    assert status == 400 and field.replace("_", " ") in html  # named as the page labels it
