"""Weaviate's multi2vec-clip HTTP contract, field by field, and our {"error": ...} bodies."""

from __future__ import annotations

import io
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from schemas.errors import GENERIC_INTERNAL_MESSAGE
from schemas.version import package_version
from tests.support.service import b64, http_client, image_bytes, make_engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors


def assert_error(response: httpx.Response, status: int, fragment: str = "") -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert list(body) == ["error"] and isinstance(body["error"], str) and body["error"]
    assert fragment in body["error"]
    message: str = body["error"]
    return message


async def test_live_and_ready_answer_204(client: httpx.AsyncClient) -> None:
    live = await client.get("/.well-known/live")
    ready = await client.get("/.well-known/ready")
    assert (live.status_code, live.content) == (204, b"")
    assert (ready.status_code, ready.content) == (204, b"")


async def test_before_the_model_is_ready_live_is_204_and_ready_503() -> None:
    async with http_client(make_engine(), manage_engine=False) as client:
        assert (await client.get("/.well-known/live")).status_code == 204
        assert_error(await client.get("/.well-known/ready"), 503, "loading")
        assert_error(await client.get("/meta"), 503)
        assert_error(await client.post("/vectorize", json={"texts": ["a"]}), 503)


async def test_meta_describes_the_model(client: httpx.AsyncClient) -> None:
    response = await client.get("/meta")
    assert response.status_code == 200
    assert response.json() == {
        "name": "fake",
        "backend": "fake",
        "pretrained": "",
        "dimension": 16,
        "device": "cpu",
        "dtype": "float32",
        "context_length": 77,
        "text_trimming": False,
        "source_backend": "",
        "version": package_version(),
        "weights_sha256": "",  # a hub (here fake) model: no folder to hash
    }
    # multi2vec-clip's contract: the keys it reads come first, in its order; added ones follow.
    assert list(response.json())[:8] == ["name", "backend", "pretrained", "dimension", "device",
                                         "dtype", "context_length", "text_trimming"]  # fmt: skip


async def test_meta_names_the_installed_version(client: httpx.AsyncClient) -> None:
    from importlib.metadata import version

    assert (await client.get("/meta")).json()["version"] == version("grounded") != ""


async def test_vectorize_answers_one_vector_per_input_in_order(client: httpx.AsyncClient) -> None:
    texts = ["a red dress", "blue jeans", "a green hat"]
    images = [image_bytes((255, 0, 0)), image_bytes((0, 255, 0)), image_bytes((0, 0, 255))]
    response = await client.post("/vectorize", json={"texts": texts, "images": [b64(i) for i in images]})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"textVectors", "imageVectors"}
    reference = FakeEmbedder()
    np.testing.assert_allclose(body["textVectors"], reference.encode_texts(texts), rtol=1e-6)
    decoded = [Image.open(io.BytesIO(i)).convert("RGB") for i in images]
    np.testing.assert_allclose(body["imageVectors"], reference.encode_images(decoded), rtol=1e-6)


@pytest.mark.parametrize(
    ("payload", "n_texts", "n_images"),
    [
        ({}, 0, 0),
        ({"texts": None, "images": None}, 0, 0),
        ({"texts": [], "images": []}, 0, 0),
        ({"texts": ["only text"]}, 1, 0),
        ({"images": None, "texts": ["a", "b"]}, 2, 0),
        ({"images": ["IMAGE"]}, 0, 1),
        ({"texts": [], "images": ["IMAGE"], "unknown": 1}, 0, 1),
    ],
)
async def test_vectorize_fields_may_be_missing_null_or_empty(
    client: httpx.AsyncClient, payload: dict[str, Any], n_texts: int, n_images: int
) -> None:
    if payload.get("images") == ["IMAGE"]:
        payload["images"] = [b64(image_bytes())]
    response = await client.post("/vectorize", json=payload)
    assert response.status_code == 200, response.text
    body = response.json()
    assert len(body["textVectors"]) == n_texts and len(body["imageVectors"]) == n_images
    assert all(len(v) == 16 for v in body["textVectors"] + body["imageVectors"])


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "malformed JSON"),
        (b"", "malformed JSON"),
        (b"[1, 2]", "body: Input should be an object"),
        (b'{"texts": "not a list"}', "texts"),
        (b'{"texts": ["ok", 3]}', "texts[1]"),
        (b'{"images": [null]}', "images[0]"),
    ],
)
async def test_malformed_bodies_and_wrong_types_are_400_with_json(
    client: httpx.AsyncClient, content: bytes, fragment: str
) -> None:
    response = await client.post("/vectorize", content=content, headers={"content-type": "application/json"})
    assert_error(response, 400, fragment)


async def test_framework_errors_use_the_same_body(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/no-such-route"), 404)
    assert_error(await client.get("/vectorize"), 405)


async def test_a_fault_is_500_with_a_generic_message(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(FakeEmbedder):
        fail = False

        def encode_texts(self, texts: Any) -> Vectors:
            if self.fail:
                raise RuntimeError("secret internals")
            return super().encode_texts(texts)

    broken = Broken()
    async with http_client(make_engine(broken)) as client:
        broken.fail = True
        message = assert_error(await client.post("/vectorize", json={"texts": ["x"]}), 500)
        assert message == GENERIC_INTERNAL_MESSAGE
        assert "secret internals" in caplog.text  # the traceback went to the log
        broken.fail = False
        assert (await client.post("/vectorize", json={"texts": ["x"]})).status_code == 200


async def test_metrics_count_requests_by_route_and_outcome(client: httpx.AsyncClient) -> None:
    await client.post("/vectorize", json={"texts": ["a", "b"]})
    await client.post("/vectorize", json={"texts": [1]})
    text = (await client.get("/metrics")).text
    assert 'grounded_requests_total{outcome="ok",route="/vectorize"} 1.0' in text
    assert 'grounded_requests_total{outcome="invalid_input",route="/vectorize"} 1.0' in text
    assert 'grounded_batch_size_count{batcher="texts"}' in text
    assert "grounded_queue_depth" in text


async def test_vectorize_answers_a_double_slash_too(client: httpx.AsyncClient) -> None:
    # Weaviate calls inferenceUrl + "/vectorize"; "http://svc:8000/" gives "//vectorize" (issue 10.7).
    response = await client.post("http://vectorizer//vectorize", json={"texts": ["a red dress"]})
    assert response.status_code == 200
    np.testing.assert_allclose(
        response.json()["textVectors"], FakeEmbedder().encode_texts(["a red dress"]), rtol=1e-6
    )
