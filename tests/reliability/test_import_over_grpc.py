"""Issue 22, item 3 (failure 5): with ``--service-address`` an import is as row-isolated as it is
in-process. A giant title is refused when the row is read, before anything is embedded, so both
encoders fail that row alike; and a chunk the service's gRPC message limit refuses is retried
item by item, so one oversized item can only fail itself.

The service here is ours, on an in-process gRPC server (port 0) with the fake model and a small
``max_request_bytes`` (so a message limit of 128 KiB stands in for the default 64 MiB)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.encoder.grpc import GrpcEncoder
from plugin.encoder.local import LocalEncoder
from plugin.encoder.protocol import QueryEncoder
from plugin.ingest.catalog import MAX_TITLE_CHARS
from plugin.ingest.pipeline import IngestReport, ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.lance.store import LanceStore
from schemas.errors import InvalidInputError
from tests.support.reliability import png
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.grpc import GrpcTransport

pytestmark = pytest.mark.timeout(120)

_MAX_REQUEST_BYTES = 64 * 1024
"""The service's limit in these tests: its gRPC message limit is this + 64 KiB."""


def _settings() -> ServiceSettings:
    return ServiceSettings(  # type: ignore[call-arg]
        captioner="none", remove_background=False, max_wait_ms=1.0, max_request_bytes=_MAX_REQUEST_BYTES
    )


def _engine() -> Engine:
    return Engine(_settings(), embedder=FakeEmbedder(), load_compose_models=False)


@pytest.fixture
def service_address() -> Iterator[str]:
    """Our gRPC service on its own event loop thread, as a separate process would run it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    engine = _engine()

    async def start() -> GrpcTransport:
        await engine.start()
        transport = GrpcTransport(engine, "127.0.0.1:0")
        await transport.start()
        return transport

    transport = asyncio.run_coroutine_threadsafe(start(), loop).result(30)

    async def stop() -> None:
        await transport.stop(grace=None)
        await engine.stop()

    try:
        yield f"127.0.0.1:{transport.port}"
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.fixture(params=["in-process", "grpc"])
def encoder(request: pytest.FixtureRequest) -> Iterator[QueryEncoder]:
    if request.param == "in-process":
        with LocalEncoder(_settings(), engine=_engine()) as local:
            yield local
        return
    address = request.getfixturevalue("service_address")
    remote = GrpcEncoder(address, timeout_s=30)
    try:
        yield remote
    finally:
        remote.close()


def _catalog(folder: Path, rows: list[dict[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "img.png").write_bytes(png((30, 160, 90)))
    path = folder / "catalog.jsonl"
    path.write_text("".join(json.dumps({**r, "image": "img.png"}) + "\n" for r in rows), encoding="utf-8")
    return path


def _import(catalog: Path, data: Path, encoder: QueryEncoder) -> tuple[IngestReport, int]:
    store = LanceStore(data, dimension=encoder.model_info().dimension)
    try:
        report = ingest_catalog(
            catalog, store=store, encoder=encoder, settings=PluginSettings(), progress=False
        )
        return report, store.count()
    finally:
        store.close()


def test_a_giant_title_fails_only_its_row_with_either_encoder(tmp_path: Path, encoder: QueryEncoder) -> None:
    # 200,000 characters: over the title limit, and over the service's gRPC message limit.
    rows = [
        {"id": "a", "title": "A"},
        {"id": "giant", "title": "t" * 200_000},
        {"id": "c", "title": "C"},
    ]
    report, count = _import(_catalog(tmp_path / "cat", rows), tmp_path / "data", encoder)
    assert count == 2 and report.total_rows == 3
    [failure] = report.failures
    assert (failure.row, failure.product_id) == (2, "giant")
    assert failure.reason.startswith("title:") and f"{MAX_TITLE_CHARS:,}" in failure.reason
    assert report.report_path is not None and report.report_path.is_file()


def test_a_chunk_over_the_message_limit_is_retried_item_by_item(tmp_path: Path, service_address: str) -> None:
    # 32 titles of 9,000 characters: each within every limit, together ~288 KB, over the
    # service's 128 KiB message limit.
    rows = [{"id": f"p{i:02d}", "title": f"{i} " + "w" * 9_000} for i in range(32)]
    encoder = GrpcEncoder(service_address, timeout_s=30)
    try:
        report, count = _import(_catalog(tmp_path / "cat", rows), tmp_path / "data", encoder)
    finally:
        encoder.close()
    assert report.ok, report.failures
    assert count == 32 and report.upserted == 32


def test_an_item_over_the_message_limit_is_invalid_input(service_address: str) -> None:
    encoder = GrpcEncoder(service_address, timeout_s=30)
    try:
        with pytest.raises(InvalidInputError, match="larger than"):
            encoder.embed_texts(["x" * 200_000])
        # The channel and the service are fine afterwards.
        assert encoder.embed_texts(["fine"]).shape[0] == 1
    finally:
        encoder.close()
