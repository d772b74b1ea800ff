"""gRPC on an in-process grpc.aio server (port 0): methods, health, reflection, error codes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from schemas import grounded_pb2 as pb
from schemas import grounded_pb2_grpc as pb_grpc
from schemas.errors import GENERIC_INTERNAL_MESSAGE
from schemas.version import package_version
from tests.support.service import grpc_stub, image_bytes, make_engine
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors

SERVICE = "grounded.v1.Vectorizer"


@pytest.fixture
async def stub(engine: Engine) -> AsyncIterator[pb_grpc.VectorizerStub]:
    async with grpc_stub(engine) as (stub, _, _):
        yield stub


def rows(vectors: Any) -> np.ndarray:
    return np.array([list(v.values) for v in vectors], dtype=np.float32)


async def test_embed_returns_vectors_in_order(stub: pb_grpc.VectorizerStub) -> None:
    texts = ["red dress", "blue jeans"]
    response = await stub.Embed(pb.EmbedRequest(texts=texts, images=[image_bytes()], request_id="r1"))
    assert response.request_id == "r1"
    np.testing.assert_allclose(rows(response.text_vectors), FakeEmbedder().encode_texts(texts), rtol=1e-6)
    assert rows(response.image_vectors).shape == (1, 16)


async def test_embed_with_nothing_is_empty(stub: pb_grpc.VectorizerStub) -> None:
    response = await stub.Embed(pb.EmbedRequest())
    assert len(response.text_vectors) == 0 and len(response.image_vectors) == 0


async def test_embed_stream_answers_each_request_in_order(stub: pb_grpc.VectorizerStub) -> None:
    requests = [pb.EmbedRequest(texts=[f"text {i}"] * (i % 3 + 1), request_id=f"r{i}") for i in range(20)]
    responses = [r async for r in stub.EmbedStream(iter(requests))]
    assert [r.request_id for r in responses] == [f"r{i}" for i in range(20)]
    assert [len(r.text_vectors) for r in responses] == [i % 3 + 1 for i in range(20)]
    np.testing.assert_allclose(rows(responses[7].text_vectors), FakeEmbedder().encode_texts(["text 7"] * 2))


async def test_embed_stream_error_names_the_request_and_the_stream_goes_on(
    stub: pb_grpc.VectorizerStub,
) -> None:
    requests = [
        pb.EmbedRequest(texts=["ok"], request_id="a"),
        pb.EmbedRequest(images=[b"junk"], request_id="b"),
        pb.EmbedRequest(texts=["after"], request_id="c"),
    ]
    responses = [r async for r in stub.EmbedStream(iter(requests))]
    assert [r.request_id for r in responses] == ["a", "b", "c"]
    assert not responses[0].HasField("error") and len(responses[2].text_vectors) == 1
    assert responses[1].error.code == "INVALID_ARGUMENT"
    assert responses[1].error.message == "request 'b': images[0]: not an image " + (
        "(cannot identify format; accepted: JPEG, PNG, WebP, GIF, BMP)"
    )
    assert len(responses[1].image_vectors) == 0


async def test_model_info(stub: pb_grpc.VectorizerStub) -> None:
    info = await stub.GetModelInfo(pb.ModelInfoRequest())
    assert (info.name, info.backend, info.dimension, info.device, info.context_length) == (
        "fake",
        "fake",
        16,
        "cpu",
        77,
    )
    assert info.version == package_version() != ""


@pytest.mark.parametrize(
    ("request_", "fragment"),
    [
        (pb.EmbedRequest(images=[image_bytes(), b"not an image"]), "images[1]: not an image"),
        (pb.EmbedRequest(texts=["x" * 10_001]), "texts[0]: 10001 characters"),
        (pb.EmbedRequest(texts=["x"] * 257), "over the limit of 256 items"),
    ],
)
async def test_bad_input_is_invalid_argument(
    stub: pb_grpc.VectorizerStub, request_: pb.EmbedRequest, fragment: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Embed(request_)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert fragment in (caught.value.details() or "")
    assert len((await stub.Embed(pb.EmbedRequest(texts=["still serving"]))).text_vectors) == 1


async def test_fault_is_internal_with_a_generic_message() -> None:
    class Broken(FakeEmbedder):
        fail = False

        def encode_texts(self, texts: Any) -> Vectors:
            if self.fail:
                raise RuntimeError("secret internals")
            return super().encode_texts(texts)

    broken = Broken()
    engine = make_engine(broken)
    await engine.start()
    async with grpc_stub(engine) as (stub, _, _):
        broken.fail = True
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.Embed(pb.EmbedRequest(texts=["x"]))
    await engine.stop()
    assert caught.value.code() is grpc.StatusCode.INTERNAL
    assert caught.value.details() == GENERIC_INTERNAL_MESSAGE


async def test_health_is_not_serving_until_ready_and_calls_are_unavailable() -> None:
    engine = make_engine()
    async with grpc_stub(engine) as (stub, channel, transport):
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", SERVICE):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.NOT_SERVING
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetModelInfo(pb.ModelInfoRequest())
        assert caught.value.code() is grpc.StatusCode.UNAVAILABLE
        await engine.start()
        await transport.update_health()
        for service in ("", SERVICE):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
    await engine.stop()


async def test_reflection_lists_the_services(engine: Engine) -> None:
    async with grpc_stub(engine) as (_, channel, _):
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        replies = [r async for r in reflection.ServerReflectionInfo(iter([request]))]
    names = {s.name for s in replies[0].list_services_response.service}
    assert {SERVICE, "grpc.health.v1.Health"} <= names
