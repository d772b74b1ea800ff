"""Issue 14, point 9: gRPC requests that do not parse are the caller's error
(INVALID_ARGUMENT, with a message that says so), and one bad request of an EmbedStream fails
only itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from schemas import grounded_pb2 as pb
from tests.support.reliability import png
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.grpc import GrpcTransport

pytestmark = pytest.mark.timeout(60)

EMBED = "/grounded.v1.Vectorizer/Embed"
STREAM = "/grounded.v1.Vectorizer/EmbedStream"
CORRUPT = b"\xff\xff\xff\xff"
BAD_UTF8 = b"\x0a\x01\xff"  # field 1 (texts, a string) holding the byte 0xff


def _raw(data: bytes) -> bytes:
    return data


@pytest.fixture
async def channel() -> AsyncIterator[grpc.aio.Channel]:
    settings = ServiceSettings(captioner="none", remove_background=False, max_wait_ms=1.0)  # type: ignore[call-arg]
    engine = Engine(settings, embedder=FakeEmbedder(), load_compose_models=False)
    await engine.start()
    transport = GrpcTransport(engine, "127.0.0.1:0")
    await transport.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{transport.port}") as channel:
            yield channel
    finally:
        await transport.stop(grace=None)
        await engine.stop()


@pytest.mark.parametrize("payload", [CORRUPT, BAD_UTF8], ids=["corrupt", "bad-utf8"])
async def test_a_message_that_does_not_parse_is_invalid_argument(
    channel: grpc.aio.Channel, payload: bytes
) -> None:
    embed = channel.unary_unary(
        EMBED, request_serializer=_raw, response_deserializer=pb.EmbedResponse.FromString
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await embed(payload, timeout=10)
    assert caught.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid message" in (caught.value.details() or "")
    # The service keeps serving.
    ok = await embed(pb.EmbedRequest(texts=["fine"]).SerializeToString(), timeout=10)
    assert len(ok.text_vectors) == 1


async def test_one_bad_request_of_a_stream_fails_only_itself(channel: grpc.aio.Channel) -> None:
    stream = channel.stream_stream(
        STREAM, request_serializer=_raw, response_deserializer=pb.EmbedResponse.FromString
    )
    messages = [
        pb.EmbedRequest(texts=["first"], request_id="1").SerializeToString(),
        BAD_UTF8,
        pb.EmbedRequest(images=[b"not an image"], request_id="3").SerializeToString(),
        pb.EmbedRequest(images=[png((5, 5, 5))], request_id="4").SerializeToString(),
    ]
    answers = [a async for a in stream(iter(messages), timeout=20)]
    assert len(answers) == 4
    assert [a.HasField("error") for a in answers] == [False, True, True, False]
    assert answers[1].error.code == "INVALID_ARGUMENT" and "not a valid message" in answers[1].error.message
    assert answers[2].error.message.startswith("request '3': images[0]: not an image")
    assert answers[3].request_id == "4" and len(answers[3].image_vectors) == 1
