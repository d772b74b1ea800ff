"""Issue 22, failure 2: one request with 200,000 catalog attributes (6 MB) froze HTTP and gRPC for
45 s. Every list and string of a compose or vectorize request now has a limit checked at the
edge, with a 4xx naming the field and the limit, and parsing runs off the event loop, so the
probes keep answering meanwhile."""

from __future__ import annotations

import asyncio
import json
import time

import grpc
import pytest

from plugin.search.query import catalog_options
from plugin.store.protocol import StoredProduct
from schemas import grounded_pb2 as pb
from schemas.limits import (
    MAX_ATTRIBUTE_NAME_CHARS,
    MAX_ATTRIBUTE_VALUE_CHARS,
    MAX_CATALOG_ATTRIBUTES,
    MAX_TEMPLATE_CHARS,
    MAX_VECTORIZE_ITEMS,
)
from tests.support.service import grpc_stub, http_client, make_engine
from vectorizer_service.transports.wire_count import (
    MAX_JSON_ELEMENTS,
    MAX_MESSAGE_ELEMENTS,
    count_elements,
    json_elements_exceed,
)

pytestmark = pytest.mark.timeout(60)

ATTACK_ATTRIBUTES = {f"attribute {i}": "v" * 20 for i in range(200_000)}


async def test_200k_attributes_are_refused_fast_while_the_ready_probe_answers() -> None:
    engine = make_engine()
    body = json.dumps(
        {
            "text": "in blue",
            "options": {"catalog_caption": "a dress", "catalog_attributes": ATTACK_ATTRIBUTES},
        }
    )
    assert len(body) > 6_000_000
    async with http_client(engine) as client:
        probe_latencies: list[float] = []

        async def probe_until(done: asyncio.Event) -> None:
            while not done.is_set():
                started = time.perf_counter()
                ready = await client.get("/.well-known/ready")
                probe_latencies.append(time.perf_counter() - started)
                assert ready.status_code == 204
                await asyncio.sleep(0.005)

        done = asyncio.Event()
        prober = asyncio.create_task(probe_until(done))
        started = time.perf_counter()
        answer = await client.post("/compose", content=body, headers={"content-type": "application/json"})
        elapsed = time.perf_counter() - started
        done.set()
        await prober
    assert answer.status_code == 400
    # Refused from a count of its values, before the parser (which holds the GIL) sees it.
    assert answer.json()["error"].startswith(
        f"the request body holds more than {MAX_JSON_ELEMENTS} JSON values"
    )
    assert elapsed < 1.0
    # The probe answered while the request was parsed (it did not queue behind it).
    assert len(probe_latencies) >= 2 and max(probe_latencies) < 0.25, probe_latencies


@pytest.mark.parametrize(
    ("options", "field", "limit"),
    [
        ({"template": "{caption} " + "x" * MAX_TEMPLATE_CHARS}, "options.template", MAX_TEMPLATE_CHARS),
        (
            {"catalog_caption": "c", "catalog_attributes": {"colour": "r" * (MAX_ATTRIBUTE_VALUE_CHARS + 1)}},
            "options.catalog_attributes.colour",
            MAX_ATTRIBUTE_VALUE_CHARS,
        ),
        (
            {"catalog_caption": "c", "catalog_attributes": {"n" * (MAX_ATTRIBUTE_NAME_CHARS + 1): "red"}},
            "options.catalog_attributes",
            MAX_ATTRIBUTE_NAME_CHARS,
        ),
    ],
)
async def test_each_compose_field_names_its_limit(options: dict[str, object], field: str, limit: int) -> None:
    async with http_client(make_engine()) as client:
        answer = await client.post("/compose", json={"text": "in blue", "options": options})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error.startswith(field) and f"at most {limit} characters" in error, error


async def test_vectorize_lists_have_a_ceiling_and_text_length_a_limit() -> None:
    async with http_client(make_engine(max_text_chars=100)) as client:
        many = await client.post("/vectorize", json={"texts": ["a"] * (MAX_VECTORIZE_ITEMS + 1)})
        long = await client.post("/vectorize", json={"texts": ["ok", "x" * 101]})
        change = await client.post("/compose", json={"text": "x" * 101})
    assert (
        many.status_code == 400
        and f"texts: List should have at most {MAX_VECTORIZE_ITEMS} items" in many.json()["error"]
    )
    assert long.status_code == 400 and long.json()["error"].startswith(
        "texts[1]: 101 characters, over the limit of 100"
    )
    assert change.status_code == 400 and change.json()["error"].startswith("text: 101 characters")


async def test_grpc_refuses_200k_attributes_without_stalling_the_event_loop() -> None:
    engine = make_engine()
    options = pb.ComposeOptions(catalog_caption="a dress")
    options.catalog_attributes.update(ATTACK_ATTRIBUTES)
    # Serialized here: the client shares the server's event loop in this test, and serializing
    # 8 MB is the client's work, not the server's.
    request = pb.ComposeQueryRequest(text="in blue", options=options).SerializeToString()
    async with http_client(engine), grpc_stub(engine) as (_, channel, _):
        compose = channel.unary_unary("/grounded.v1.Vectorizer/ComposeQuery")
        # The server runs on this event loop: how late a 1 ms sleep wakes is how long it was held.
        lags: list[float] = []

        async def watch(done: asyncio.Event) -> None:
            while not done.is_set():
                started = time.perf_counter()
                await asyncio.sleep(0.001)
                lags.append(time.perf_counter() - started)

        done = asyncio.Event()
        watcher = asyncio.create_task(watch(done))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await compose(request)
        done.set()
        await watcher
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    # Refused from the wire bytes, naming the field, without parsing the 200,000 entries (about
    # 1 s of protobuf work that holds the GIL, during which nothing else would answer).
    assert (refused.value.details() or "").startswith(
        f"options.catalog_attributes: the request holds more than {MAX_MESSAGE_ELEMENTS} fields"
    )
    assert max(lags) < 0.3, max(lags)


async def test_grpc_limits_list_entries_before_parsing_on_every_method() -> None:
    engine = make_engine()
    many_texts = pb.EmbedRequest(texts=["a"] * (MAX_MESSAGE_ELEMENTS + 1), request_id="big")
    async with http_client(engine), grpc_stub(engine) as (stub, _, _):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.Embed(many_texts)
        streamed = [
            r
            async for r in stub.EmbedStream(
                iter([many_texts, pb.EmbedRequest(texts=["ok"], request_id="ok")])
            )
        ]
        within = await stub.Embed(pb.EmbedRequest(texts=["a"] * 200))
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert (refused.value.details() or "").startswith("texts: the request holds more than")
    # In a stream, that request fails alone.
    assert streamed[0].error.code == "INVALID_ARGUMENT" and len(streamed[1].text_vectors) == 1
    assert len(within.text_vectors) == 200


async def test_a_request_within_the_value_count_is_judged_by_the_field_limits() -> None:
    attributes = {f"attribute {i}": "v" for i in range(MAX_CATALOG_ATTRIBUTES + 1)}
    async with http_client(make_engine()) as client:
        answer = await client.post(
            "/compose",
            json={"text": "x", "options": {"catalog_caption": "c", "catalog_attributes": attributes}},
        )
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(
        f"options.catalog_attributes: Dictionary should have at most {MAX_CATALOG_ATTRIBUTES} items"
    )


def test_counting_json_values_skips_strings_whatever_they_hold() -> None:
    assert not json_elements_exceed(
        json.dumps({"image": "A" * 1_000_000, "text": 'a, [b] {"c"}'}).encode(), 8
    )
    assert json_elements_exceed(b"[" + b"1," * 100 + b"1]", 100)
    assert not json_elements_exceed(b"[" + b"1," * 99 + b"1]", 100)


def test_counting_the_wire_matches_the_message() -> None:
    options = pb.ComposeOptions(catalog_caption="c", image_weight=0.5)
    options.catalog_attributes.update({"colour": "red", "size": "M"})
    message = pb.ComposeQueryRequest(image=b"\xff" * 100_000, text="in blue", options=options)
    # image, text, options + (caption, weight, 2 attribute entries)
    assert count_elements(message.SerializeToString(), pb.ComposeQueryRequest.DESCRIPTOR) == 7


def test_search_by_product_sends_only_attributes_within_the_limits() -> None:
    attributes = {"colour": "red", "care": "x" * (MAX_ATTRIBUTE_VALUE_CHARS + 1)}
    attributes |= {f"a{i}": "v" for i in range(2 * MAX_CATALOG_ATTRIBUTES)}
    stored = StoredProduct(
        uuid="p1", properties={"title": "T" * 5000, "attributes_json": json.dumps(attributes)}, vector=None
    )
    options = catalog_options(stored, None)
    assert options.catalog_attributes is not None
    assert len(options.catalog_attributes) == MAX_CATALOG_ATTRIBUTES
    assert options.catalog_attributes["colour"] == "red" and "care" not in options.catalog_attributes
    assert options.catalog_caption is not None and len(options.catalog_caption) == 2000
