"""``grounded search --search-url URL``: the query sent to a running search page's
``POST /api/search`` (:mod:`plugin.ui.app`), so the command loads neither models nor the store.

Only the standard library here: importing LanceDB alone costs a CLI process ~2 s (docs/guide.md),
and this path exists to skip it. The page validates the query as it validates its own form and
answers with the same JSON as ``grounded search --json`` (:func:`plugin.search.query.result_payload`);
its errors come back as ``{"error": {"kind", "message"}}`` and are raised as our own error of that
kind, so the command exits as it would have locally.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from schemas.errors import InvalidInputError, UpstreamError, error_of_kind

__all__ = ["API_PATH", "TIMEOUT_S", "search_remote"]

API_PATH = "/api/search"
TIMEOUT_S = 120.0
"""How long one query may take on the page's server (a cold model, a loaded CPU)."""
_MAX_ANSWER_BYTES = 64 * 1024 * 1024


def _endpoint(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInputError(f"search_url must be an http(s) URL of a running `grounded ui`, got {url!r}")
    return url.rstrip("/") + API_PATH


def search_remote(url: str, query: dict[str, Any], image: bytes | None) -> dict[str, Any]:
    """Send ``query`` (the fields of :class:`plugin.ui.query.ApiSearchRequest`, without the photo)
    and ``image`` to the page at ``url``; its answer (``hits``, ``explanation``, and
    ``why_empty`` when nothing matched)."""
    body = {k: v for k, v in query.items() if v is not None}
    if image is not None:
        body["image"] = base64.b64encode(image).decode("ascii")
    request = urllib.request.Request(
        _endpoint(url),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Accept": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
            return dict(json.loads(answer.read(_MAX_ANSWER_BYTES)))
    except urllib.error.HTTPError as exc:
        raise _reported(exc, url) from None
    except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise UpstreamError(f"cannot reach the search page at {url}: {reason}") from None
    except json.JSONDecodeError:
        raise UpstreamError(f"{url}{API_PATH} did not answer JSON: is it a `grounded ui`?") from None


def _reported(exc: urllib.error.HTTPError, url: str) -> Exception:
    try:
        error = json.loads(exc.read(_MAX_ANSWER_BYTES))["error"]
        return error_of_kind(str(error["kind"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return UpstreamError(f"{url}{API_PATH} answered HTTP {exc.code}: is it a `grounded ui`?")
