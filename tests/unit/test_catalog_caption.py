"""A stored product's merchant data in the compose pipeline: catalog title and attributes first,
zero-shot attributes only where the catalog has none, both shown in the explanation."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from schemas.wire import ComposeOptions
from vectorizer_service.compose.fake import FakeCaptioner, FakeRemover
from vectorizer_service.compose.pipeline import ComposePipeline
from vectorizer_service.compose.protocols import Caption, ComposeDeps
from vectorizer_service.compose.stages.caption import merge_catalog
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings


def test_catalog_attributes_win_and_zero_shot_only_fills_gaps() -> None:
    zero_shot = Caption(
        "a red floral cotton dress", {"colour": "red", "pattern": "floral", "material": "cotton"}
    )
    caption, sources = merge_catalog("Acme wrap dress", {"colour": "navy", "material": "linen"}, zero_shot)
    assert caption.attributes == {"colour": "navy", "material": "linen", "pattern": "floral"}
    assert sources == {"colour": "catalog", "material": "catalog", "pattern": "zero-shot"}
    assert caption.text == "floral Acme wrap dress"  # the merchant's title, completed


def _pipeline(captioner: FakeCaptioner | None) -> ComposePipeline:
    embedder, remover = FakeEmbedder(), FakeRemover()

    async def texts(t: list[str]) -> np.ndarray:
        return embedder.encode_texts(t)

    async def images(i: list[Image.Image]) -> np.ndarray:
        return embedder.encode_images(i)

    async def remove(image: Image.Image):  # type: ignore[no-untyped-def]
        return remover.remove([image])[0]

    async def caption(image: Image.Image) -> Caption:
        assert captioner is not None
        return captioner.caption([image])[0]

    deps = ComposeDeps(
        encode_texts=texts,
        encode_images=images,
        remove_background=remove,
        caption=caption if captioner is not None else None,
    )
    return ComposePipeline(deps, ServiceSettings())


@pytest.fixture
def photo() -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8))


async def test_the_explanation_shows_both_sources_and_fusion_drops_the_overridden_colour(
    photo: Image.Image,
) -> None:
    options = ComposeOptions(catalog_caption="red Acme wrap dress", catalog_attributes={"colour": "red"})
    result = await _pipeline(FakeCaptioner()).run(photo, "in blue", options)
    ex = result.explanation
    assert ex.attribute_sources == {
        "colour": "catalog",
        "pattern": "zero-shot",
        "material": "zero-shot",
        "category": "zero-shot",
    }
    assert ex.attributes["colour"] == "red"
    # The zero-shot values keep their probabilities; the merchant's colour is data, not a guess.
    assert ex.attribute_probabilities == {"pattern": 0.9, "material": 0.8, "category": 0.7}
    assert "Acme wrap dress" in (ex.caption or "")
    assert ex.fused_text is not None and "red" not in ex.fused_text and "blue" in ex.fused_text


async def test_merchant_data_is_a_caption_even_without_a_captioner(photo: Image.Image) -> None:
    options = ComposeOptions(catalog_caption="Acme wrap dress", catalog_attributes={"colour": "red"})
    result = await _pipeline(None).run(photo, "", options)
    assert result.explanation.caption == "Acme wrap dress"
    assert result.explanation.attribute_sources == {"colour": "catalog"}
    assert result.explanation.fused_text == "Acme wrap dress"


def test_merchant_data_survives_the_grpc_wire() -> None:
    from schemas import grounded_pb2 as pb
    from vectorizer_service.transports.grpc import _compose_options

    sent = ComposeOptions(catalog_caption="Acme wrap dress", catalog_attributes={"colour": "red"})
    message = pb.ComposeOptions.FromString(
        pb.ComposeOptions(**sent.model_dump(exclude_none=True)).SerializeToString()
    )
    received = _compose_options(message)
    assert received.catalog_caption == "Acme wrap dress" and received.catalog_attributes == {"colour": "red"}
