"""A pic2word query to a service that cannot serve it (the onnx backend, a backend without a
mapper) is refused by both transports with an error naming the problem, before any model runs;
a server whose default method is pic2word does not start without a mapper."""

from __future__ import annotations

import grpc
import pytest

from schemas import grounded_pb2 as pb
from schemas.errors import ModelUnavailableError
from schemas.model_info import ModelInfo
from tests.support.service import b64, grpc_stub, http_client, image_bytes, make_engine
from vectorizer_service.runtime.fake import FakeEmbedder


class OnnxLikeEmbedder(FakeEmbedder):
    """The fake model, describing itself as the onnx backend does."""

    @property
    def info(self) -> ModelInfo:
        return super().info.model_copy(update={"backend": "onnx"})


@pytest.mark.parametrize("method", ["pic2word", "pic2word_caption"])
async def test_the_onnx_backend_refuses_pic2word_naming_the_torch_backend(method: str) -> None:
    embedder = OnnxLikeEmbedder()
    engine = make_engine(embedder)
    photo = image_bytes()
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        http = await client.post(
            "/compose", json={"image": b64(photo), "text": "in blue", "options": {"fusion_method": method}}
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ComposeQuery(
                pb.ComposeQueryRequest(
                    image=photo, text="in blue", options=pb.ComposeOptions(fusion_method=method)
                )
            )
    assert http.status_code == 400
    assert "pic2word needs the torch backend" in http.json()["error"]
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "torch backend" in (refused.value.details() or "")
    assert embedder.image_batches == [1]  # the warm-up only: nothing was encoded for the queries


async def test_a_backend_without_pic2word_refuses_it_and_cannot_default_to_it() -> None:
    async with http_client(make_engine()) as client:
        http = await client.post(
            "/compose", json={"text": "in blue", "options": {"fusion_method": "pic2word"}}
        )
    assert http.status_code == 400 and "Pic2Word mapper" in http.json()["error"]
    engine = make_engine(fusion_method="pic2word")
    with pytest.raises(ModelUnavailableError, match="default fusion method pic2word"):
        await engine.start()
    await engine.stop()
