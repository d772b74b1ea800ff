"""HTTP and gRPC give the same vectors for the same input (fake and tiny real model), and
/compose and ComposeQuery agree."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import grpc
import numpy as np
import pytest
from PIL import Image

from schemas import grounded_pb2 as pb
from tests.support.service import b64, grpc_stub, http_client, image_bytes, service_settings
from vectorizer_service.compose.protocols import Caption, Cutout
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings

TEXTS = ["a red summer dress", "", "blue denim jeans with a long description " * 10]


def images() -> list[bytes]:
    return [image_bytes((220, 20, 20), (40, 30)), image_bytes((20, 20, 220), (24, 48), fmt="JPEG")]


async def vectors_over_both(engine: Engine) -> tuple[dict[str, Any], pb.EmbedResponse]:
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        http = await client.post("/vectorize", json={"texts": TEXTS, "images": [b64(i) for i in images()]})
        assert http.status_code == 200, http.text
        grpc_reply = await stub.Embed(pb.EmbedRequest(texts=TEXTS, images=images()))
    return http.json(), grpc_reply


def assert_same(http: dict[str, Any], reply: pb.EmbedResponse, dimension: int) -> None:
    for key, field in (("textVectors", reply.text_vectors), ("imageVectors", reply.image_vectors)):
        over_grpc = np.array([list(v.values) for v in field], dtype=np.float32)
        over_http = np.array(http[key], dtype=np.float32)
        assert over_http.shape == over_grpc.shape and over_http.shape[1] == dimension
        np.testing.assert_allclose(over_http, over_grpc, rtol=0, atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(over_http, axis=1), 1.0, atol=1e-4)


async def test_http_and_grpc_agree_with_the_fake_model() -> None:
    engine = Engine(service_settings(), embedder=FakeEmbedder(), load_compose_models=False)
    http, reply = await vectors_over_both(engine)
    assert_same(http, reply, 16)


# (served model, torch model whose vectors it must give): each backend, and each ONNX export
# against the torch model it was exported from.
BACKENDS = {
    "open_clip": ("tiny_clip_settings", "tiny_clip_settings"),
    "transformers": ("tiny_hf_clip_settings", "tiny_hf_clip_settings"),
    "onnx-from-open_clip": ("tiny_onnx_settings", "tiny_clip_settings"),
    "onnx-from-transformers": ("tiny_hf_onnx_settings", "tiny_hf_clip_settings"),
}


@pytest.mark.model
@pytest.mark.parametrize("backend", list(BACKENDS))
async def test_http_and_grpc_agree_with_a_tiny_real_model(
    backend: str, request: pytest.FixtureRequest
) -> None:
    served, source = (request.getfixturevalue(name) for name in BACKENDS[backend])
    settings = ServiceSettings(**served, captioner="none", remove_background=False, max_wait_ms=1)
    engine = Engine(settings, load_compose_models=False)
    http, reply = await vectors_over_both(engine)
    assert_same(http, reply, 32)
    # different inputs really give different vectors
    assert not np.allclose(http["imageVectors"][0], http["imageVectors"][1], atol=1e-3)
    # and the service (preprocessing in its decode threads, batching) gives the torch model's own vectors
    from vectorizer_service.runtime.loader import load_embedder

    direct = load_embedder(ServiceSettings(**source))
    decoded = [Image.open(io.BytesIO(data)).convert("RGB") for data in images()]
    np.testing.assert_allclose(http["imageVectors"], direct.encode_images(decoded), atol=1e-5)
    np.testing.assert_allclose(http["textVectors"], direct.encode_texts(TEXTS), atol=1e-5)


class FakeRemover:
    name = "fake-remover"

    def remove(self, images: Sequence[Image.Image]) -> list[Cutout]:
        return [Cutout(image=image, coverage=0.25) for image in images]


class FakeCaptioner:
    name = "fake-captioner"

    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        return [Caption(text="a red shirt", attributes={"color": "red"}) for _ in images]


async def test_compose_over_http_and_grpc_agree() -> None:
    engine = Engine(
        service_settings(captioner="attributes", remove_background=True),
        embedder=FakeEmbedder(),
        remover=FakeRemover(),
        captioner=FakeCaptioner(),
        load_compose_models=False,
    )
    image = image_bytes()
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        http = await client.post("/compose", json={"image": b64(image), "text": "in blue"})
        reply = await stub.ComposeQuery(pb.ComposeQueryRequest(image=image, text="in blue"))
        bad_http = await client.post("/compose", json={"text": "  "})
        bad_options = await client.post("/compose", json={"text": "x", "options": {"image_weight": 2}})
        bad_image = await client.post("/compose", json={"image": "@@", "text": "x"})
        with pytest.raises(grpc.aio.AioRpcError) as bad_grpc:
            await stub.ComposeQuery(
                pb.ComposeQueryRequest(text="x", options=pb.ComposeOptions(image_weight=2))
            )
    assert http.status_code == 200, http.text
    body = http.json()
    np.testing.assert_allclose(body["vector"], list(reply.vector), atol=1e-6)
    assert body["explanation"]["caption"] == reply.explanation.caption == "a red shirt"
    assert body["explanation"]["mask_coverage"] == pytest.approx(0.25)
    assert [t["stage"] for t in body["explanation"]["timings"]] == [
        t.stage for t in reply.explanation.timings
    ]
    assert bad_http.status_code == 400 and "nothing to compose" in bad_http.json()["error"]
    assert bad_options.status_code == 400 and "options.image_weight" in bad_options.json()["error"]
    assert bad_image.status_code == 400 and bad_image.json()["error"].startswith("image: invalid base64")
    assert bad_grpc.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "image_weight" in (bad_grpc.value.details() or "")


async def test_plain_template_switch_reaches_the_pipeline_over_http_and_grpc() -> None:
    engine = Engine(
        service_settings(captioner="attributes", remove_background=False),
        embedder=FakeEmbedder(),
        captioner=FakeCaptioner(),
        load_compose_models=False,
    )
    image = image_bytes()
    plain = pb.ComposeOptions(drop_overridden=False)
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        http = await client.post(
            "/compose", json={"image": b64(image), "text": "in red", "options": {"drop_overridden": False}}
        )
        reply = await stub.ComposeQuery(pb.ComposeQueryRequest(image=image, text="in red", options=plain))
        default = await stub.ComposeQuery(pb.ComposeQueryRequest(image=image, text="in red"))
    assert http.status_code == 200, http.text
    # the caption's "red" stays with the plain template, and is dropped by default
    assert http.json()["explanation"]["fused_text"] == "a photo of a red shirt, in red"
    assert reply.explanation.fused_text == "a photo of a red shirt, in red"
    assert default.explanation.fused_text == "a photo of a shirt, in red"
