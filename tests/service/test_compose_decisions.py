"""The compose pipeline's own decisions, end to end through the service (HTTP and gRPC over one
engine with fake models): background removal in auto mode keeps a studio photo and says why,
cuts a cluttered one out; the caption stage says what the captioner left out."""

from __future__ import annotations

import io
from collections.abc import Sequence

import grpc
import numpy as np
import pytest
from PIL import Image, ImageDraw

from schemas import grounded_pb2 as pb
from tests.support.service import b64, grpc_stub, http_client, service_settings
from vectorizer_service.compose.fake import FakeRemover
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder

UNSURE = "category unsure: 0.41 handbag / 0.39 backpack - left out"


class UnsureCaptioner:
    name = "unsure"

    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        return [Caption("a red bag", {"colour": "red"}, left_out=(UNSURE,)) for _ in images]


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def studio_photo() -> bytes:
    image = Image.new("RGB", (120, 160), (246, 246, 246))
    ImageDraw.Draw(image).ellipse([25, 30, 95, 135], fill=(30, 60, 200))
    return png(image)


def cluttered_photo() -> bytes:
    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 255, (16, 12, 3), dtype=np.uint8)).resize((120, 160))
    ImageDraw.Draw(image).ellipse([25, 30, 95, 135], fill=(30, 60, 200))
    return png(image)


def auto_engine(remover: FakeRemover) -> Engine:
    return Engine(
        service_settings(captioner="attributes", remove_background="auto"),
        embedder=FakeEmbedder(),
        remover=remover,
        captioner=UnsureCaptioner(),
        load_compose_models=False,
    )


async def test_auto_keeps_a_studio_photo_over_http_and_grpc_and_says_why() -> None:
    remover = FakeRemover()
    engine = auto_engine(remover)
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        warm_up = len(remover.batches)  # the engine runs each model once at start
        http = await client.post("/compose", json={"image": b64(studio_photo()), "text": "in black"})
        reply = await stub.ComposeQuery(pb.ComposeQueryRequest(image=studio_photo(), text="in black"))
    assert http.status_code == 200, http.text
    explanation = http.json()["explanation"]
    assert explanation["background_removed"] is False
    assert explanation["background_note"].startswith("auto: studio photo (border 100% plain, subject spans ")
    assert explanation["background_note"].endswith("of the frame): kept the original image")
    assert reply.explanation.background_note == explanation["background_note"]
    assert len(remover.batches) == warm_up  # the remover never ran for the studio photo
    caption_notes = [t["note"] for t in explanation["timings"] if t["stage"] == "caption"]
    assert caption_notes == [f"1 attributes; {UNSURE}"]
    assert explanation["attributes"] == {"colour": "red"}


async def test_auto_cuts_a_cluttered_photo_out_and_a_request_can_force_it_off() -> None:
    remover = FakeRemover()
    engine = auto_engine(remover)
    async with http_client(engine) as client:
        warm_up = len(remover.batches)
        auto = await client.post("/compose", json={"image": b64(cluttered_photo()), "text": "in black"})
        forced = await client.post(
            "/compose",
            json={
                "image": b64(cluttered_photo()),
                "text": "in black",
                "options": {"remove_background": False},
            },
        )
    assert auto.status_code == 200 and forced.status_code == 200
    note = auto.json()["explanation"]["background_note"]
    assert note.startswith("auto: cluttered photo (border ") and "background removed" in note
    assert auto.json()["explanation"]["background_removed"] is True
    assert forced.json()["explanation"]["background_note"] == "switched off"
    assert len(remover.batches) == warm_up + 1


def forced_engine(remover: FakeRemover, default: bool) -> Engine:
    return Engine(
        service_settings(captioner="attributes", remove_background=default),
        embedder=FakeEmbedder(),
        remover=remover,
        captioner=UnsureCaptioner(),
        load_compose_models=False,
    )


@pytest.mark.parametrize("default", [True, False])
async def test_a_request_asks_for_auto_whatever_the_server_default_over_http_and_grpc(default: bool) -> None:
    remover = FakeRemover()
    engine = forced_engine(remover, default)
    auto = pb.ComposeOptions(remove_background_mode="auto")
    async with http_client(engine) as client, grpc_stub(engine) as (stub, _, _):
        warm_up = len(remover.batches)
        notes: dict[str, list[str]] = {}
        for name, photo in (("studio", studio_photo()), ("cluttered", cluttered_photo())):
            http = await client.post(
                "/compose",
                json={"image": b64(photo), "text": "in black", "options": {"remove_background": "auto"}},
            )
            assert http.status_code == 200, http.text
            reply = await stub.ComposeQuery(
                pb.ComposeQueryRequest(image=photo, text="in black", options=auto)
            )
            notes[name] = [http.json()["explanation"]["background_note"], reply.explanation.background_note]
            removed = [http.json()["explanation"]["background_removed"], reply.explanation.background_removed]
            assert removed == [name == "cluttered"] * 2, name
    for note in notes["studio"]:
        assert note.startswith("auto: studio photo (border ") and note.endswith("kept the original image")
    for note in notes["cluttered"]:
        assert note.startswith("auto: cluttered photo (border ") and "background removed" in note
    # The remover ran for the cluttered photo only (the second request hit the cut-out cache).
    assert len(remover.batches) == warm_up + 1


async def test_the_old_grpc_switch_still_forces_the_stage_and_a_conflict_names_both_fields() -> None:
    engine = auto_engine(FakeRemover())
    async with http_client(engine), grpc_stub(engine) as (stub, _, _):  # the HTTP app starts the engine
        off = await stub.ComposeQuery(
            pb.ComposeQueryRequest(
                image=cluttered_photo(), text="in black", options=pb.ComposeOptions(remove_background=False)
            )
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.ComposeQuery(
                pb.ComposeQueryRequest(
                    image=cluttered_photo(),
                    text="in black",
                    options=pb.ComposeOptions(remove_background=False, remove_background_mode="auto"),
                )
            )
    assert off.explanation.background_note == "switched off"
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "remove_background=false and remove_background_mode='auto' disagree" in (
        raised.value.details() or ""
    )


async def test_http_refuses_a_background_word_it_does_not_know() -> None:
    async with http_client(auto_engine(FakeRemover())) as client:
        reply = await client.post(
            "/compose",
            json={
                "image": b64(studio_photo()),
                "text": "in black",
                "options": {"remove_background": "maybe"},
            },
        )
    assert reply.status_code == 400, reply.text
    assert "remove_background" in reply.json()["error"]
