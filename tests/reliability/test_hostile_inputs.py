"""Issue 14, points 5 and 6: images thin enough to blow up the model's resize, and image
servers that drip their answer, are refused quickly with a reason; nothing else is held up."""

from __future__ import annotations

import base64
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from plugin.ingest.image_fetch import ImageFetcher
from plugin.ingest.pipeline import ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.lance.store import LanceStore
from schemas.errors import InvalidInputError, UpstreamError
from schemas.images import MAX_IMAGE_ASPECT_RATIO
from tests.support.reliability import DIM, NamedFakeEncoder, png, png_header
from vectorizer_service.engine import Engine
from vectorizer_service.images import ImageLimits, decode_image
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.http import create_app

pytestmark = pytest.mark.timeout(60)

LIMITS = ImageLimits(max_bytes=20 * 1024 * 1024, max_pixels=40_000_000)


def test_the_issue_image_is_refused_from_its_header() -> None:
    # 20 x 2,000,000: 40 M pixels, within the pixel limit; resized to a 224 px short side it
    # would be 224 x 22,400,000. Only the header is given: the check must not need the pixels.
    with pytest.raises(InvalidInputError, match=f"more than {MAX_IMAGE_ASPECT_RATIO} times longer"):
        decode_image(png_header(20, 2_000_000), LIMITS)


@pytest.mark.parametrize("size", [(10, 2000), (2000, 10)])
def test_thin_images_are_refused_wide_ones_within_the_ratio_accepted(size: tuple[int, int]) -> None:
    with pytest.raises(InvalidInputError, match="crop or pad it"):
        decode_image(png((1, 2, 3), size), LIMITS)
    assert decode_image(png((1, 2, 3), (400, 20)), LIMITS).size == (400, 20)


async def test_vectorize_answers_400_for_a_thin_image_and_keeps_serving() -> None:
    settings = ServiceSettings(captioner="none", remove_background=False, max_wait_ms=1.0)  # type: ignore[call-arg]
    engine = Engine(settings, embedder=FakeEmbedder(), load_compose_models=False)
    app = create_app(engine)
    thin = base64.b64encode(png_header(20, 2_000_000)).decode()
    good = base64.b64encode(png((9, 9, 9))).decode()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client,
    ):
        bad = await client.post("/vectorize", json={"images": [good, thin]})
        assert bad.status_code == 400
        assert bad.json()["error"].startswith("images[1]: image is 20x2000000")
        ok = await client.post("/vectorize", json={"images": [good]})
        assert ok.status_code == 200 and len(ok.json()["imageVectors"]) == 1


def test_a_thin_catalog_image_fails_its_row_not_the_import(tmp_path: Path) -> None:
    (tmp_path / "ok.png").write_bytes(png((200, 0, 0)))
    (tmp_path / "thin.png").write_bytes(png_header(20, 2_000_000))
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(
        '{"id": "a", "title": "A", "image": "ok.png"}\n{"id": "b", "title": "B", "image": "thin.png"}\n',
        encoding="utf-8",
    )
    store = LanceStore(tmp_path / "data", dimension=DIM)
    report = ingest_catalog(
        catalog, store=store, encoder=NamedFakeEncoder(), settings=PluginSettings(), progress=False
    )
    assert store.count() == 1
    [failure] = report.failures
    assert failure.product_id == "b" and "times longer than it is wide" in failure.reason


@pytest.fixture
def dripping_server() -> Iterator[str]:
    """An HTTP server that sends its status line and headers one byte every 0.2 s."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    stop = threading.Event()

    def serve() -> None:
        with listener:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                for byte in b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nX-Padding: " + b"x" * 200:
                    if stop.wait(0.2):
                        return
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/slow.png"
    stop.set()
    thread.join(5)


def test_a_server_dripping_its_headers_is_cut_off_at_the_total_deadline(dripping_server: str) -> None:
    settings = PluginSettings(image_fetch_timeout_s=1.0, allow_private_image_urls=True)  # type: ignore[call-arg]
    fetcher = ImageFetcher(settings)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamError, match=r"took longer than 1 s"):
            fetcher.load(dripping_server)
    finally:
        fetcher.close()
    # Each byte comes well within the per-read timeout; only a total deadline stops this.
    assert time.monotonic() - started < 3.0
