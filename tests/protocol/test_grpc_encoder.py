"""GrpcEncoder against a fake Vectorizer gRPC servicer (in-process, port 0): bulk streaming,
compose round trip, and errors mapped back to the schemas.errors tree."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
import numpy as np
import pytest

from plugin.encoder.grpc import CHUNK_ITEMS, GrpcEncoder
from schemas import grounded_pb2 as pb
from schemas import grounded_pb2_grpc as pb_grpc
from schemas.errors import InvalidInputError, NotReadyError, OverloadedError
from schemas.wire import ComposeOptions


def vec(seed: str) -> pb.Vector:
    rng = np.random.default_rng(abs(hash(seed)) % 2**32)
    return pb.Vector(values=rng.standard_normal(4).tolist())


class FakeVectorizer(pb_grpc.VectorizerServicer):  # type: ignore[misc]
    def __init__(self) -> None:
        self.embed_sizes: list[int] = []
        self.stream_sizes: list[int] = []
        self.compose_requests: list[pb.ComposeQueryRequest] = []
        self.fail: tuple[grpc.StatusCode, str] | None = None

    def _answer(self, request: pb.EmbedRequest) -> pb.EmbedResponse:
        return pb.EmbedResponse(
            text_vectors=[vec(f"t:{t}") for t in request.texts],
            image_vectors=[vec(f"i:{i!r}") for i in request.images],
            request_id=request.request_id,
        )

    def Embed(self, request: pb.EmbedRequest, context: Any) -> pb.EmbedResponse:
        if self.fail:
            context.abort(*self.fail)
        self.embed_sizes.append(len(request.texts) + len(request.images))
        return self._answer(request)

    def EmbedStream(self, requests: Iterator[pb.EmbedRequest], context: Any) -> Iterator[pb.EmbedResponse]:
        for request in requests:
            self.stream_sizes.append(len(request.texts) + len(request.images))
            yield self._answer(request)

    def GetModelInfo(self, request: Any, context: Any) -> pb.ModelInfoResponse:
        return pb.ModelInfoResponse(
            name="ViT-B-32",
            backend="open_clip",
            pretrained="openai",
            dimension=4,
            device="cpu",
            dtype="float32",
            context_length=77,
            text_trimming=True,
        )

    def ComposeQuery(self, request: pb.ComposeQueryRequest, context: Any) -> pb.ComposeQueryResponse:
        if self.fail:
            context.abort(*self.fail)
        self.compose_requests.append(request)
        return pb.ComposeQueryResponse(
            vector=[0.6, 0.8, 0.0, 0.0],
            explanation=pb.ComposeExplanation(
                caption="a red dress",
                attributes={"colour": "red"},
                modification=request.text,
                fused_text="a photo of a red dress, in blue",
                image_weight=0.3,
                timings=[pb.StageTiming(stage="caption", ms=1.5)],
            ),
        )


@pytest.fixture
def service() -> Iterator[tuple[FakeVectorizer, GrpcEncoder]]:
    servicer = FakeVectorizer()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    pb_grpc.add_VectorizerServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    encoder = GrpcEncoder(f"127.0.0.1:{port}", timeout_s=5)
    yield servicer, encoder
    encoder.close()
    server.stop(grace=None)


def test_bulk_images_stream_in_chunks_and_keep_order(service: tuple[FakeVectorizer, GrpcEncoder]) -> None:
    servicer, encoder = service
    images = [f"img{i}".encode() for i in range(CHUNK_ITEMS * 2 + 5)]
    out = encoder.embed_images(images)
    assert servicer.stream_sizes == [CHUNK_ITEMS, CHUNK_ITEMS, 5]
    assert out.shape == (len(images), 4) and out.dtype == np.float32
    assert np.allclose(out[40], list(vec(f"i:{images[40]!r}").values))


def test_small_text_batch_is_one_unary_call(service: tuple[FakeVectorizer, GrpcEncoder]) -> None:
    servicer, encoder = service
    out = encoder.embed_texts(["a", "b"])
    assert servicer.embed_sizes == [2] and servicer.stream_sizes == []
    assert np.allclose(out[1], list(vec("t:b").values))


def test_compose_sends_the_plain_template_switch(service: tuple[FakeVectorizer, GrpcEncoder]) -> None:
    servicer, encoder = service
    encoder.compose(b"png", "in blue", ComposeOptions(drop_overridden=False))
    (request,) = servicer.compose_requests
    assert request.options.HasField("drop_overridden") and request.options.drop_overridden is False


@pytest.mark.parametrize(
    ("choice", "sent"),
    [(True, {"remove_background": True}), (False, {"remove_background": False}),
     ("auto", {"remove_background_mode": "auto"}), (None, {})],
)  # fmt: skip
def test_compose_sends_the_background_choice_an_older_server_can_read(
    service: tuple[FakeVectorizer, GrpcEncoder], choice: bool | str | None, sent: dict[str, object]
) -> None:
    servicer, encoder = service
    encoder.compose(b"png", "in blue", ComposeOptions(remove_background=choice))  # type: ignore[arg-type]  # parametrized
    (request,) = servicer.compose_requests
    # true / false in the old bool field (an older server honours them); only auto needs the new one
    assert {field.name: value for field, value in request.options.ListFields()} == sent


def test_compose_round_trip(service: tuple[FakeVectorizer, GrpcEncoder]) -> None:
    servicer, encoder = service
    result = encoder.compose(b"png", "in blue", ComposeOptions(caption=False, image_weight=0.25))
    (request,) = servicer.compose_requests
    assert request.image == b"png" and request.text == "in blue"
    assert request.options.HasField("caption") and request.options.caption is False
    assert not request.options.HasField("fuse")  # unset = the server's default
    assert not request.options.HasField("drop_overridden")
    assert request.options.image_weight == pytest.approx(0.25)
    assert result.vector == pytest.approx([0.6, 0.8, 0.0, 0.0])
    assert result.explanation.caption == "a red dress"
    assert result.explanation.attributes == {"colour": "red"}
    assert result.explanation.mask_coverage is None
    assert result.explanation.timings[0].stage == "caption"
    assert encoder.model_info().dimension == 4


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (grpc.StatusCode.INVALID_ARGUMENT, InvalidInputError),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, OverloadedError),
        (grpc.StatusCode.UNAVAILABLE, NotReadyError),
    ],
)
def test_status_codes_map_to_the_error_tree(
    service: tuple[FakeVectorizer, GrpcEncoder], code: grpc.StatusCode, error: type[Exception]
) -> None:
    servicer, encoder = service
    servicer.fail = (code, "images[0]: not an image")
    with pytest.raises(error, match="not an image"):
        encoder.compose(b"x", "in blue")


def test_unreachable_service_is_a_grounded_error() -> None:
    encoder = GrpcEncoder("127.0.0.1:1", timeout_s=2)
    try:
        with pytest.raises(NotReadyError):
            encoder.embed_texts(["a"])
    finally:
        encoder.close()
