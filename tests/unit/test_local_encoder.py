"""LocalEncoder: the service's Engine in this process, behind the synchronous QueryEncoder API."""

from __future__ import annotations

import io
import threading

import numpy as np
import pytest
from PIL import Image

from plugin.encoder import LocalEncoder, open_encoder
from plugin.settings import PluginSettings
from schemas.errors import InvalidInputError, ModelUnavailableError
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings


def _png(colour: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def encoder() -> LocalEncoder:
    settings = ServiceSettings(max_items_per_request=2, captioner="none", remove_background=False)
    fake = FakeEmbedder(dimension=8)
    with LocalEncoder(settings, engine=Engine(settings, embedder=fake, load_compose_models=False)) as enc:
        yield enc  # type: ignore[misc]


def test_embeds_more_items_than_one_request_allows_in_order(encoder: LocalEncoder) -> None:
    texts = ["a", "b", "c", "d", "e"]
    vectors = encoder.embed_texts(texts)
    assert vectors.shape == (5, 8) and vectors.dtype == np.float32
    expected = FakeEmbedder(dimension=8).encode_texts(texts)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    images = encoder.embed_images([_png("red"), _png("blue"), _png("red")])
    np.testing.assert_allclose(images[0], images[2], atol=1e-6)
    assert not np.allclose(images[0], images[1])
    assert encoder.embed_texts([]).shape == (0, 8)


def test_model_info_and_engine_errors_pass_through(encoder: LocalEncoder) -> None:
    assert encoder.model_info().dimension == 8
    with pytest.raises(InvalidInputError, match=r"images\[0\]"):
        encoder.embed_images([b"not an image"])


def test_close_stops_the_engine_thread() -> None:
    settings = ServiceSettings(captioner="none", remove_background=False)
    enc = LocalEncoder(settings, engine=Engine(settings, embedder=FakeEmbedder(), load_compose_models=False))
    enc.close()
    enc.close()
    assert not enc.engine.ready
    assert not any(t.name == "grounded-engine" for t in threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        enc.embed_texts(["x"])


def test_unloadable_model_raises_and_leaves_no_thread() -> None:
    settings = ServiceSettings(model="no-such-architecture", pretrained="", offline=True, device="cpu")
    with pytest.raises(ModelUnavailableError):
        LocalEncoder(settings)
    assert not any(t.name == "grounded-engine" for t in threading.enumerate())


def test_open_encoder_picks_grpc_when_a_service_address_is_set() -> None:
    from plugin.encoder.grpc import GrpcEncoder

    enc = open_encoder(PluginSettings(service_address="127.0.0.1:1"), ServiceSettings())
    try:
        assert isinstance(enc, GrpcEncoder)
    finally:
        enc.close()
