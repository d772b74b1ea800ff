"""Without internet, startup fails in seconds with the model named, not after a minute of retries.

The hub endpoint (``HF_ENDPOINT``) is pointed at a closed port on the loopback interface, which
is what a machine without internet looks like to huggingface_hub; nothing leaves this machine.
Without the reachability probe each of these loads spends ~25 s per file in hub retries.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from schemas.errors import ModelUnavailableError
from vectorizer_service.runtime import load_embedder
from vectorizer_service.runtime.hub import HubAccess
from vectorizer_service.settings import ServiceSettings

FAST_S = 8.0
"""Well under one huggingface_hub retry cycle (~25 s); leaves room for a busy test machine."""


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


@pytest.fixture(autouse=True)
def unreachable_hub_and_empty_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The hub endpoint refuses connections; the model caches are empty folders; not offline."""
    from huggingface_hub import constants

    endpoint = f"http://127.0.0.1:{_closed_port()}"
    # huggingface_hub reads HF_ENDPOINT once, at import, into these two constants.
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(
        constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}"
    )
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # open_clip's ~/.cache/clip
    yield endpoint


@pytest.fixture(scope="module", autouse=True)
def _imported_model_libraries() -> None:
    """Import the model libraries before any clock starts: only the load itself is timed."""
    import open_clip  # noqa: F401
    import transformers  # noqa: F401
    from transformers import AutoConfig, AutoModel, AutoProcessor  # noqa: F401


def _fails_fast(**kwargs: Any) -> str:
    settings = ServiceSettings(device="cpu", offline=False, **kwargs)
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as raised:
        load_embedder(settings)
    elapsed = time.monotonic() - started
    assert elapsed < FAST_S, f"took {elapsed:.1f}s to fail"
    return raised.value.message


def test_default_open_clip_model_fails_fast_naming_model_and_remedies(
    unreachable_hub_and_empty_caches: str,
) -> None:
    message = _fails_fast(model="ViT-B-32", pretrained="openai")
    assert "'ViT-B-32'" in message and "'openai'" in message
    assert unreachable_hub_and_empty_caches in message and "cannot be reached" in message
    assert "--pretrained /path/to/checkpoint.pt" in message
    assert "GROUNDED_OFFLINE=1" in message and "HF_HUB_OFFLINE=1" in message


def test_open_clip_hub_model_fails_fast() -> None:
    message = _fails_fast(model="hf-hub:grounded-tests/not-cached")
    assert "hf-hub:grounded-tests/not-cached" in message and "cannot be reached" in message


def test_transformers_hub_id_fails_fast() -> None:
    message = _fails_fast(backend="transformers", model="openai/clip-vit-base-patch32")
    assert "openai/clip-vit-base-patch32" in message and "cannot be reached" in message
    assert "save_pretrained directory" in message and "GROUNDED_OFFLINE=1" in message


def test_probe_is_skipped_when_offline_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("probed the hub although the service is offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    reason = HubAccess(offline=True).offline_reason
    assert reason is not None and "offline" in reason


def test_answering_hub_allows_downloads_and_is_probed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any HTTP answer (here a 404) counts as reachable: the load may download."""
    from huggingface_hub import constants

    class Hub(BaseHTTPRequestHandler):
        probes = 0

        def do_HEAD(self) -> None:
            Hub.probes += 1
            self.send_response(404)
            self.end_headers()

        def log_message(self, *_args: Any) -> None:  # keep the test output clean
            pass

    server = HTTPServer(("127.0.0.1", 0), Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        hub = HubAccess(offline=False)
        assert hub.offline_reason is None
        assert hub.offline_reason is None
        assert Hub.probes == 1
    finally:
        server.shutdown()
        server.server_close()


def test_caption_model_hub_id_fails_fast() -> None:
    from vectorizer_service.compose.hf_captioner import load_transformers_captioner

    model_id = "Salesforce/blip-image-captioning-base"
    settings: dict[str, Any] = {"device": "cpu", "offline": False, "caption_model": model_id}
    started = time.monotonic()
    with pytest.raises(ModelUnavailableError) as raised:
        load_transformers_captioner(ServiceSettings(**settings))
    assert time.monotonic() - started < FAST_S
    assert model_id in raised.value.message and "cannot be reached" in raised.value.message
    assert "GROUNDED_OFFLINE=1" in raised.value.message
