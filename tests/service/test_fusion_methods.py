"""A fusion method chosen per request reaches the pipeline over HTTP and gRPC and changes the
query vector as its formula says; bad choices are refused at the edge of both transports."""

from __future__ import annotations

import io
from typing import Any

import grpc
import numpy as np
import pytest
from PIL import Image

from schemas import grounded_pb2 as pb
from tests.support.service import b64, grpc_stub, http_client, image_bytes, service_settings
from vectorizer_service.compose.fake import FakeCaptioner
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder

FUSED = "a photo of a floral cotton dress, in blue"
REFERENCE = "a photo of a red floral cotton dress"


def unit(x: np.ndarray) -> np.ndarray:
    return np.asarray(x / np.linalg.norm(x))


@pytest.fixture
def engine() -> Engine:
    # Background removal off: the working image is the decoded upload.
    return Engine(
        service_settings(captioner="attributes", remove_background=False),
        embedder=FakeEmbedder(),
        captioner=FakeCaptioner(),
        load_compose_models=False,
    )


async def test_a_method_chosen_per_request_changes_the_vector_as_its_formula_says(engine: Engine) -> None:
    photo = image_bytes((30, 160, 90), (24, 24))
    fake = FakeEmbedder()
    t, r = (fake.encode_texts([text])[0].astype(np.float64) for text in (FUSED, REFERENCE))
    v = fake.encode_images([Image.open(io.BytesIO(photo)).convert("RGB")])[0].astype(np.float64)
    m = fake.encode_texts(["in blue"])[0].astype(np.float64)
    theta = np.arccos(np.dot(t, v))
    expected = {
        # the default, the ensemble without a Pic2Word mapper: the fused text and the change
        "default": unit(0.5 * unit(t) + 0.25 * unit(m)),
        "direction": unit(v + 1.5 * (t - r)),
        "slerp": unit(np.sin(0.25 * theta) * v + np.sin(0.75 * theta) * t),
    }
    direction: dict[str, Any] = {"fusion_method": "direction", "direction_gain": 1.5, "image_weight": 1.0}
    slerp: dict[str, Any] = {"fusion_method": "slerp", "image_weight": 0.25}
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        over_http = {
            name: await client.post(
                "/compose", json={"image": b64(photo), "text": "in blue", "options": options}
            )
            for name, options in (("default", {}), ("direction", direction), ("slerp", slerp))
        }
        over_grpc = {
            name: await stub.ComposeQuery(
                pb.ComposeQueryRequest(image=photo, text="in blue", options=pb.ComposeOptions(**options))
            )
            for name, options in (("default", {}), ("direction", direction), ("slerp", slerp))
        }
    for name, want in expected.items():
        assert over_http[name].status_code == 200, over_http[name].text
        body = over_http[name].json()
        np.testing.assert_allclose(body["vector"], want, atol=1e-5, err_msg=f"HTTP {name}")
        np.testing.assert_allclose(list(over_grpc[name].vector), want, atol=1e-5, err_msg=f"gRPC {name}")
        method = "ensemble" if name == "default" else name
        assert body["explanation"]["fusion_method"] == over_grpc[name].explanation.fusion_method == method
    assert over_http["direction"].json()["explanation"]["direction_gain"] == 1.5
    assert over_grpc["direction"].explanation.direction_gain == pytest.approx(1.5)
    assert not over_grpc["slerp"].explanation.HasField("direction_gain")
    assert "D = t(fused text) - t('a photo of a red floral cotton dress')" in next(
        t.note for t in over_grpc["direction"].explanation.timings if t.stage == "embedding"
    )


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"fusion_method": "average"}, "fusion_method"),
        ({"direction_gain": 9.0}, "direction_gain"),
        ({"direction_gain": -1.0}, "direction_gain"),
    ],
)
async def test_a_bad_method_or_gain_is_refused_by_both_transports(
    engine: Engine, options: dict[str, Any], field: str
) -> None:
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        http = await client.post("/compose", json={"text": "in blue", "options": options})
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ComposeQuery(
                pb.ComposeQueryRequest(text="in blue", options=pb.ComposeOptions(**options))
            )
    assert http.status_code == 400 and f"options.{field}" in http.json()["error"]
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert field in (refused.value.details() or "")
