"""Every rejection of bad input over HTTP: 400, a JSON message naming the item, and the service
keeps serving everyone else."""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator

import httpx
import pytest
from PIL import Image

from tests.support.service import b64, http_client, image_bytes, make_engine

GOOD = b64(image_bytes())


def truncated_png() -> bytes:
    noisy = io.BytesIO()
    Image.effect_noise((32, 32), 60).convert("RGB").save(noisy, format="PNG")
    data = noisy.getvalue()
    return data[: len(data) // 2]


@pytest.fixture
async def limited() -> AsyncIterator[httpx.AsyncClient]:
    engine = make_engine(
        max_items_per_request=4,
        max_text_chars=20,
        max_image_bytes=4000,
        max_image_pixels=64 * 64,
        max_request_bytes=20_000,
    )
    async with http_client(engine) as client:
        yield client


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"images": [GOOD, "@@not base64@@"]}, "images[1]: invalid base64"),
        ({"images": [GOOD, GOOD, b64(b"just some text")]}, "images[2]: not an image"),
        ({"images": [b64(truncated_png())]}, "images[0]: truncated or corrupt image"),
        ({"images": [GOOD, b64(image_bytes(size=(100, 100)))]}, "images[1]: image is 100x100 = 10000 pixels"),
        ({"images": [b64(image_bytes(size=(64, 64), fmt="TIFF"))]}, "images[0]: "),
        ({"images": [""]}, "images[0]: empty image"),
        ({"texts": ["short", "this text is far too long"]}, "texts[1]: 25 characters, over the limit of 20"),
        ({"texts": ["a", "b", "c"], "images": [GOOD, GOOD]}, "over the limit of 4 items per request"),
    ],
)
async def test_bad_items_are_rejected_by_index(
    limited: httpx.AsyncClient, payload: dict[str, list[str]], message: str
) -> None:
    response = await limited.post("/vectorize", json=payload)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    # the service keeps serving
    ok = await limited.post("/vectorize", json={"texts": ["fine"], "images": [GOOD]})
    assert ok.status_code == 200
    assert len(ok.json()["imageVectors"]) == 1


async def test_data_url_prefix_is_accepted(limited: httpx.AsyncClient) -> None:
    response = await limited.post("/vectorize", json={"images": ["data:image/png;base64," + GOOD]})
    assert response.status_code == 200


async def test_an_image_over_the_byte_limit_is_rejected(limited: httpx.AsyncClient) -> None:
    noisy = io.BytesIO()
    Image.effect_noise((60, 60), 80).convert("RGB").save(noisy, format="PNG")
    assert len(noisy.getvalue()) > 4000
    response = await limited.post(
        "/vectorize", json={"images": [GOOD, base64.b64encode(noisy.getvalue()).decode()]}
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("images[1]: ")


async def test_a_body_over_the_request_limit_is_rejected_unread(limited: httpx.AsyncClient) -> None:
    response = await limited.post("/vectorize", json={"texts": ["x" * 19] * 1500})
    assert response.status_code == 400
    assert "over the limit of 20000" in response.json()["error"]


async def test_a_json_value_of_another_type_is_refused_not_coerced() -> None:
    # Found by tests/fuzz (schemathesis): {"options": {"fuse": 0.0}} was read as fuse=false, and
    # "fuse": "no" too, where the document (and gRPC) say boolean. Now a 400 naming the field.
    async with http_client(make_engine()) as client:
        number = await client.post("/compose", json={"text": "in blue", "options": {"fuse": 0.0}})
        word = await client.post("/compose", json={"text": "in blue", "options": {"fuse": "no"}})
        right = await client.post("/compose", json={"text": "in blue", "options": {"fuse": False}})
        weight = await client.post("/compose", json={"text": "in blue", "options": {"image_weight": "0.5"}})
    assert number.status_code == 400 and "options.fuse" in number.json()["error"]
    assert word.status_code == 400 and "options.fuse" in word.json()["error"]
    assert weight.status_code == 400 and "options.image_weight" in weight.json()["error"]
    assert right.status_code == 200
