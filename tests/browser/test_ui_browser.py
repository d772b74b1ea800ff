"""The search page end to end in a real headless Chromium (Debian's ``chromium``, driven by
Playwright): a catalog ingested through ``ingest_catalog`` with a tiny real model, the page served
by uvicorn, a photo uploaded, a change typed, the results and their explanation read back, a stage
switched off, a hostile query shown as text, and a bad upload's error; then a first visit: the
placeholder names a real product, an empty search is answered in a shopper's words, and an example
photo clicked runs its query, with how sure the caption was. The run leaves a screenshot in
``reports/ui-browser.png``.

Skipped only when Chromium is not installed (``make browser`` installs it).
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

CHROMIUM = Path("/usr/bin/chromium")
REPORTS = Path(__file__).resolve().parents[2] / "reports"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
COLOURS = {"red": (200, 30, 30), "blue": (30, 40, 200), "green": (30, 170, 60), "yellow": (230, 210, 40)}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed: run `make browser`")


def _photo(rgb: tuple[int, int, int], shape: str) -> bytes:
    img = Image.new("RGB", (96, 96), (245, 245, 245))
    px = img.load()
    assert px is not None
    for y in range(96):
        for x in range(96):
            inside = (20 < x < 76 and 10 < y < 86) if shape == "dress" else (10 < x < 86 and 50 < y < 80)
            if inside:
                px[x, y] = rgb
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _catalog(root: Path) -> Path:
    lines = []
    for colour, rgb in COLOURS.items():
        for category in ("dress", "shoes"):
            pid = f"{colour}-{category}"
            (root / f"{pid}.png").write_bytes(_photo(rgb, category))
            lines.append(
                {
                    "id": pid,
                    "title": f"{colour} {category}",
                    "category": category,
                    "price": 20 + 10 * len(lines),
                    "attributes": {"colour": colour},
                    "image": f"{pid}.png",
                }
            )
    path = root / "catalog.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in lines), encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def page_url(
    tmp_path_factory: pytest.TempPathFactory, tiny_clip_settings: dict[str, Any], u2net_home: Path
) -> Iterator[str]:
    import uvicorn

    from plugin.encoder.local import LocalEncoder
    from plugin.ingest.pipeline import ingest_catalog
    from plugin.settings import PluginSettings
    from plugin.store import open_store
    from plugin.store.fingerprint import model_identity
    from plugin.ui import Example, UiConfig, create_ui_app
    from vectorizer_service.images import ImageLimits
    from vectorizer_service.settings import ServiceSettings

    root = tmp_path_factory.mktemp("ui-browser")
    catalog = _catalog(root)
    plugin = PluginSettings(data_dir=root / "data", collection="BrowserTest")
    service = ServiceSettings(
        **tiny_clip_settings, u2net_home=u2net_home, remove_background=True, image_weight=0.3
    )
    encoder = LocalEncoder(service)
    meta = encoder.model_info()
    store = open_store(plugin, dimension=meta.dimension, model=model_identity(meta))
    report = ingest_catalog(catalog, store=store, encoder=encoder, settings=plugin, progress=False)
    assert report.ok and report.store_count == 8
    limits = ImageLimits(service.max_image_bytes, service.max_image_pixels)
    example = Example(_photo((40, 60, 190), "dress"), "in red", "this dress, but: in red")
    config = UiConfig(
        limits=limits,
        store_description="browser test",
        image_weight=0.3,
        remove_background="true",
        examples=(example,),
    )
    app = create_ui_app(store, encoder, config)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the page's server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(timeout=10)
    store.close()
    encoder.close()


def test_upload_query_results_and_a_bad_upload_in_chromium(page_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    photo = tmp_path / "shopper.png"
    photo.write_bytes(_photo((190, 35, 35), "dress"))
    not_an_image = tmp_path / "holiday.png"
    not_an_image.write_bytes(b"%PDF-1.4 this is not a photo")
    hostile = '<img src=x onerror="window.__pwned=1">'
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_url)
            expect(page.locator("header")).to_contain_text("BrowserTest")
            expect(page.locator("#category option")).to_have_count(3)  # any, dress, shoes
            # The controls start at the server's defaults, not at made-up ones.
            expect(page.locator("#image-weight-value")).to_have_text("0.30")
            expect(page.locator("#remove-background option").first).to_contain_text("server default (true)")

            # Upload, type the change, search: ranked products with images, scores, explanation.
            page.set_input_files("#photo", str(photo))
            page.fill("#text", "in blue")
            page.select_option("#category", "dress")
            page.click("#search")
            cards = page.locator("#cards .card")
            expect(cards).to_have_count(4)  # the dresses only: the filter reached the store
            expect(page.locator("#ex-modification")).to_have_text("in blue")
            expect(page.locator("#ex-fused")).to_contain_text("in blue")
            expect(page.locator("img.cutout")).to_be_visible()  # background removal ran
            expect(page.locator("#ex-image-weight")).to_have_text("0.30")  # the weight the server used
            expect(page.locator("#image-weight-value")).to_have_text("0.30")
            scores = [float(s) for s in page.locator("#cards .score").all_text_contents()]
            assert scores == sorted(scores, reverse=True)
            images_loaded = "Array.from(document.querySelectorAll('#cards img'))"
            page.wait_for_function(f"{images_loaded}.every(i => i.complete && i.naturalWidth > 0)")
            REPORTS.mkdir(exist_ok=True)
            page.screenshot(path=str(REPORTS / "ui-browser.png"), full_page=True)

            # A stage switched off searches again: no caption this time.
            page.uncheck("#caption")
            expect(page.locator("#ex-caption")).to_have_text("-")

            # The background switch overrides the server's default for this query: kept, no cut-out.
            page.select_option("#remove-background", "false")
            expect(page.locator("img.cutout")).to_have_count(0)

            # What the user types is shown as text, never run as markup.
            page.fill("#text", hostile)
            page.click("#search")
            expect(page.locator("#ex-modification")).to_have_text(hostile)
            assert page.evaluate("window.__pwned") is None
            assert page.locator("#results img[src='x']").count() == 0

            # A file that is not an image: the service's own check refuses it, the page says why.
            page.set_input_files("#photo", str(not_an_image))
            page.click("#search")
            expect(page.locator("#status.error")).to_contain_text("not an image")
        finally:
            browser.close()


def test_a_first_visit_placeholder_empty_search_and_an_example_in_chromium(page_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_url)
            # The id field suggests a product this catalog has (the smallest id of a category).
            expect(page.locator("#product")).to_have_attribute("placeholder", "e.g. blue-dress")

            # Nothing to search for: the page says what to do, not the API's terms.
            page.click("#search")
            expect(page.locator("#status.error")).to_have_text(
                "Add a photo, pick a product, or describe what you are looking for."
            )

            # An example clicked: its photo becomes the reference and its change is searched.
            page.click("#examples .example")
            expect(page.locator("#text")).to_have_value("in red")
            expect(page.locator("#drop-text")).to_contain_text("example")
            expect(page.locator("#preview")).to_be_visible()
            expect(page.locator("#ex-modification")).to_have_text("in red")
            expect(page.locator("#cards .card")).to_have_count(8)
            # How sure the caption was: the captioner's own account (named or left out, with
            # probabilities), never an empty cell.
            confidence = page.locator("#ex-caption-confidence")
            expect(confidence).not_to_have_text("-")
            assert "unsure" in confidence.inner_text() or "attributes" in confidence.inner_text()
        finally:
            browser.close()
