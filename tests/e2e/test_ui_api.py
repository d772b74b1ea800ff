"""The search page's JSON API (``POST /api/search``) and ``grounded search --search-url``, which
sends its query there: the same answer as the in-process search, errors as JSON of our kinds,
the reason an answer is empty, and a command that imports neither LanceDB nor torch."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from plugin.cli import main
from plugin.search.query import near_grounded, result_payload
from plugin.store import ProductFilter
from plugin.ui import UiConfig, create_ui_app
from schemas.wire import ComposeOptions
from tests.e2e.test_ui import CATALOG, LIMITS, _png, catalog_store
from tests.e2e.test_ui import client as page_client
from tests.support.fake_weaviate import FakeEncoder
from tests.support.live_app import LiveApp

REPO = Path(__file__).resolve().parents[2]

client = page_client  # the page over the four-product catalog of test_ui


@pytest.fixture
def live(client: TestClient) -> Iterator[str]:
    with LiveApp(client.app) as app:
        yield app.url


def _api(client: TestClient, **body: object) -> tuple[int, dict]:
    response = client.post("/api/search", content=json.dumps(body))
    return response.status_code, response.json()


def test_the_api_answers_json_hits_and_the_explanation(client: TestClient) -> None:
    photo = _png(CATALOG[2][1])  # the blue dress's colour
    status, answer = _api(client, image=base64.b64encode(photo).decode(), text="a dress", limit=3)
    assert status == 200
    hits = answer["hits"]
    assert hits[0]["properties"]["product_id"] == "blue-dress"
    assert set(answer) == {"hits", "explanation"}
    assert "cutout_png" not in answer["explanation"]


def test_the_api_payload_is_the_cli_json_payload(tmp_path: Path) -> None:
    encoder = FakeEncoder()
    store = catalog_store(tmp_path, encoder)
    with TestClient(create_ui_app(store, encoder, UiConfig(limits=LIMITS))) as api:
        status, answer = _api(api, text="red", category=["dress", "shoes"], price_max=60.0, limit=4)
    direct = near_grounded(
        store,
        encoder,
        image=None,
        text="red",
        filters=ProductFilter(category=["dress", "shoes"], price_max=60.0),
        limit=4,
        options=ComposeOptions(),
    )
    assert status == 200
    assert answer == json.loads(json.dumps(result_payload(direct), default=str))
    store.close()


def test_api_errors_are_json_of_our_kinds(client: TestClient) -> None:
    status, answer = _api(client, text="x", limit=0)
    assert status == 400 and answer["error"]["kind"] == "invalid_input"
    assert "number of results" in answer["error"]["message"]
    status, answer = _api(client, product="no-such-product", text="in blue")
    assert status == 404 and answer["error"]["kind"] == "not_found"
    assert "no-such-product" in answer["error"]["message"]
    status, answer = _api(client, image="bm90IGFuIGltYWdl", text="x")  # "not an image"
    assert status == 400 and "photo" in answer["error"]["message"]
    # The page's own form keeps answering HTML.
    assert (
        client.post("/search", content=json.dumps({"limit": 0}))
        .headers["content-type"]
        .startswith("text/html")
    )


def test_an_empty_api_answer_says_which_filter_emptied_it(client: TestClient) -> None:
    status, answer = _api(client, text="dress", category="hats")
    assert status == 200 and answer["hits"] == []
    assert any("hats" in line for line in answer["why_empty"])


def test_search_url_sends_the_query_to_the_page(
    live: str, client: TestClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(_png(CATALOG[3][1]))
    code = main(
        ["search", "--search-url", live, "--image", str(photo), "--text", "x", "--limit", "2", "--json"]
    )
    printed = json.loads(capsys.readouterr().out)
    _, answer = _api(client, image=base64.b64encode(photo.read_bytes()).decode(), text="x", limit=2)
    assert code == 0
    assert [h["uuid"] for h in printed["hits"]] == [h["uuid"] for h in answer["hits"]]
    assert printed["hits"][0]["properties"]["product_id"] == "green-shoe"


def test_search_url_exits_as_a_local_search_would(live: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--search-url", live, "--text", "dress", "--category", "hats"]) == 4
    assert "hats" in capsys.readouterr().err
    # A refusal by the page is our error of that kind, its message printed.
    assert main(["search", "--search-url", live, "--product", "nope", "--text", "blue"]) == 1
    assert "nope" in capsys.readouterr().err


def test_search_url_nobody_listens_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--search-url", "http://127.0.0.1:9", "--text", "dress"]) == 1
    assert "cannot reach the search page at http://127.0.0.1:9" in capsys.readouterr().err
    assert main(["search", "--search-url", "ftp://somewhere", "--text", "dress"]) != 0
    assert "http(s) URL" in capsys.readouterr().err


def test_search_url_loads_neither_the_store_nor_a_model(live: str) -> None:
    probe = (
        "import sys\n"
        "from plugin.cli import main\n"
        f"code = main(['search', '--search-url', {live!r}, '--text', 'dress', '--json'])\n"
        "heavy = sorted(m for m in ('lancedb', 'torch', 'onnxruntime', 'open_clip') if m in sys.modules)\n"
        "print('HEAVY', heavy, code)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert "HEAVY [] 0" in out
