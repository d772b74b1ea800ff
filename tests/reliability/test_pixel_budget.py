"""Issue 22, failure 1: 677-byte JPEGs whose headers claim 6000 x 6000 pixels were decoded and
held all at once (1 image 1.63 GB, 48 images killed the process). Now every decode reserves its
pixels from one budget before allocating them, large JPEGs decode at a reduced scale, and a
request that would take the pixels in flight over the budget is refused as overload (429 with
Retry-After, gRPC RESOURCE_EXHAUSTED), never a 5xx."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Sequence
from typing import Any

import grpc
import pytest
from PIL import Image

from schemas import grounded_pb2 as pb
from schemas.errors import InvalidInputError
from tests.support.reliability import big_jpeg, jpeg_header
from tests.support.service import b64, grpc_stub, http_client, make_engine
from vectorizer_service.admission import PixelBudget
from vectorizer_service.images import SERVICE_DRAFT_SIDE, ImageLimits, decode_image
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors

pytestmark = pytest.mark.timeout(60)

LIMITS = ImageLimits(max_bytes=20 * 1024 * 1024, max_pixels=40_000_000)
DRAFTED = 750 * 750
"""A 6000 x 6000 JPEG decoded at 1/8 scale, the reduction SERVICE_DRAFT_SIDE allows."""


class SlowEmbedder(FakeEmbedder):
    """The fake model, 30 ms per batch: requests overlap, as they do on a real model."""

    def encode_prepared(self, images: Sequence[bytes]) -> Vectors:
        time.sleep(0.03)
        return super().encode_prepared(images)

    def encode_texts(self, texts: Sequence[str]) -> Vectors:
        time.sleep(0.03)
        return super().encode_texts(texts)


class Recorder:
    """A :class:`~vectorizer_service.images.PixelHold` that remembers what it was told."""

    def __init__(self) -> None:
        self.admitted: list[int] = []
        self.kept: list[int] = []

    def admit(self, pixels: int) -> None:
        self.admitted.append(pixels)

    def keep(self, pixels: int) -> None:
        self.kept.append(pixels)


def service_decode(data: bytes, hold: Any = None) -> Image.Image:
    side = SERVICE_DRAFT_SIDE
    return decode_image(data, LIMITS, draft_side=side, shrink_side=side, hold=hold)


def test_a_huge_jpeg_header_decodes_at_reduced_scale() -> None:
    hold = Recorder()
    image = service_decode(big_jpeg(6000, 6000), hold)
    assert image.size == (750, 750) and image.mode == "RGB"
    # The reservation is made from the header, at the reduced size, before the pixels exist.
    assert hold.admitted == [DRAFTED] and hold.kept == [DRAFTED]
    # The attack file: under 1 KB, a 6000 x 6000 claim; it costs the reduced size too.
    attack = jpeg_header(6000, 6000)
    assert len(attack) < 1024
    hold = Recorder()
    assert service_decode(attack, hold).size == (750, 750)
    assert hold.admitted == [DRAFTED]


def test_other_formats_count_in_full_while_decoding_then_keep_a_reduced_copy() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), (10, 200, 30)).save(buffer, format="PNG")
    hold = Recorder()
    image = service_decode(buffer.getvalue(), hold)
    # No reduced-scale PNG decoding: the whole image is admitted; then it is reduced by 4
    # (shorter side 500 >= 448), and only that is kept.
    assert hold.admitted == [3000 * 2000]
    assert image.size == (750, 500) and hold.kept == [750 * 500]
    assert image.getpixel((10, 10)) == (10, 200, 30)


def test_a_reduced_image_keeps_its_orientation() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed turned 90 degrees clockwise
    buffer = io.BytesIO()
    Image.new("RGB", (2000, 1000), (1, 2, 3)).save(buffer, format="PNG", exif=exif)
    assert service_decode(buffer.getvalue()).size == (500, 1000)


def test_a_refused_reservation_allocates_nothing() -> None:
    budget = PixelBudget(1000)
    with (
        pytest.raises(InvalidInputError, match="more than the service's whole decoded-pixel budget"),
        budget.admission() as admission,
    ):
        service_decode(jpeg_header(6000, 6000), admission)
    assert budget.in_flight == 0 and budget.peak == 0


def test_an_admission_gives_back_what_a_reduced_image_does_not_keep() -> None:
    budget = PixelBudget(10_000)
    with budget.admission() as admission:
        admission.admit(8000)
        admission.keep(2000)
        assert budget.in_flight == 2000
        admission.admit(8000)  # fits now that the first image was reduced
        assert budget.in_flight == 10_000 and budget.peak == 10_000
    assert budget.in_flight == 0


async def test_concurrent_huge_header_jpegs_are_served_or_refused_as_overload_within_the_budget() -> None:
    budget = 2 * DRAFTED + 1000  # room for two decoded attack images at once
    engine = make_engine(SlowEmbedder(), pixel_budget=budget, max_queue=4096)
    attack = b64(jpeg_header(6000, 6000))
    valid = b64(big_jpeg(6000, 6000))
    async with http_client(engine) as client:
        requests = [
            client.post("/vectorize", json={"images": [attack] * 4})
            if i % 3 == 0
            else client.post("/compose", json={"image": valid if i % 2 else attack, "text": "in blue"})
            for i in range(48)
        ]
        answers = await asyncio.gather(*requests)
        statuses = [a.status_code for a in answers]
        assert set(statuses) <= {200, 429}, statuses
        assert 429 in statuses and 200 in statuses, statuses
        for answer in answers:
            if answer.status_code == 429:
                assert answer.headers["retry-after"] == "1"
                assert "budget" in answer.json()["error"]
        # Never more pixels in flight than the budget, and all given back at the end.
        assert 0 < engine.pixel_budget.peak <= budget
        assert engine.pixel_budget.in_flight == 0
        assert engine.pixel_budget.refused == statuses.count(429)
        # Served afterwards: the overload was transient.
        again = await client.post("/vectorize", json={"images": [attack]})
        assert again.status_code == 200 and len(again.json()["imageVectors"]) == 1


async def test_a_request_holds_one_decoded_image_at_a_time() -> None:
    # 48 attack images in one request (the 44 KB request): decoded one by one, each
    # dropped once the model's input is made, so the request never holds two.
    engine = make_engine(pixel_budget=DRAFTED)
    async with http_client(engine) as client:
        answer = await client.post("/vectorize", json={"images": [b64(jpeg_header(6000, 6000))] * 48})
    assert answer.status_code == 200 and len(answer.json()["imageVectors"]) == 48
    assert engine.pixel_budget.peak == DRAFTED


async def test_an_image_larger_than_the_whole_budget_is_the_callers_error() -> None:
    engine = make_engine(pixel_budget=100_000)
    async with http_client(engine) as client:
        answer = await client.post("/vectorize", json={"images": [b64(big_jpeg(1000, 1000))]})
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("images[0]: image decodes to")


async def test_grpc_refuses_overload_as_resource_exhausted() -> None:
    budget = DRAFTED + 1000  # one decoded attack image at a time
    engine = make_engine(SlowEmbedder(), pixel_budget=budget, max_queue=4096)
    attack = jpeg_header(6000, 6000)
    async with http_client(engine), grpc_stub(engine) as (stub, _, _):
        calls = [stub.ComposeQuery(pb.ComposeQueryRequest(image=attack, text="in red")) for _ in range(16)]
        results = await asyncio.gather(*calls, return_exceptions=True)
    codes = [r.code() if isinstance(r, grpc.aio.AioRpcError) else grpc.StatusCode.OK for r in results]
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.RESOURCE_EXHAUSTED}, codes
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes and grpc.StatusCode.OK in codes
    assert engine.pixel_budget.peak <= budget and engine.pixel_budget.in_flight == 0
