"""What the GraphQL endpoint checks before it spends model time or forwards a request.

Answers use Weaviate's own shapes (adapters/handlers/rest/handlers_graphql.go): a query that
cannot be run is HTTP 200 with ``{"errors": [{"message": ...}]}`` (what graphql-go answers for a
bad argument), a request that is not a query at all is 422 with ``{"error": [{"message": ...}]}``
(Weaviate's ``ErrorResponse``), so a client that handles Weaviate's errors handles ours.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import OrderedDict
from typing import Any
from urllib.parse import unquote

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = [
    "MAX_JSON_DEPTH",
    "PROBE_PATHS",
    "BadBodyError",
    "BodyTooLargeError",
    "CredentialCheck",
    "api_key_ok",
    "graphql_errors",
    "load_json",
    "read_body",
    "rest_error",
    "stays_under_v1",
]

_API_KEY_HEADER = "x-grounded-api-key"

MAX_JSON_DEPTH = 64
"""Deepest nesting of arrays and objects in a JSON body we parse (variables included). Real
GraphQL variables nest a few levels (a where filter's operands a dozen); 900 levels made the
rewrite recurse out of the stack (a 500), 100,000 made the JSON parser do so."""

PROBE_PATHS = frozenset({"/v1/.well-known/ready", "/v1/.well-known/live"})
"""Weaviate's probes, passed through without the endpoint's API key: Kubernetes sends none."""

_UNPROCESSABLE = 422


class BadBodyError(Exception):
    """The body cannot be used; ``status`` and ``message`` are the answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def load_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The parsed body; :class:`BadBodyError` when it is not JSON (422, as Weaviate answers) or
    nests deeper than ``max_depth`` (400)."""
    too_deep = BadBodyError(400, f"the JSON body is nested more than {max_depth} levels deep")
    try:
        payload = json.loads(body)
    except RecursionError:
        raise too_deep from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadBodyError(_UNPROCESSABLE, "the request body is not JSON") from None
    if _depth_exceeds(payload, max_depth):
        raise too_deep
    return payload


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    # Iterative: the point is that no input can exhaust the stack.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > max_depth:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False


def graphql_errors(message: str) -> JSONResponse:
    """A GraphQL-level failure: HTTP 200 with ``errors``, as Weaviate answers a bad query."""
    return JSONResponse({"errors": [{"message": message}]})


def rest_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A request-level failure in Weaviate's ``ErrorResponse`` shape."""
    return JSONResponse({"error": [{"message": message}]}, status_code=status, headers=headers)


class BodyTooLargeError(Exception):
    """The request body is over the endpoint's limit."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes ``limit`` bytes: a 150 MB query is never held whole."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLargeError
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
    return b"".join(chunks)


def stays_under_v1(path: str) -> bool:
    """Whether ``path`` names something under ``/v1/`` once dot segments are resolved.

    The path arrives percent-decoded, so ``/v1/%2e%2e/admin`` is ``/v1/../admin`` here, and the
    HTTP client would resolve it to ``/admin`` on the way out: any dot segment is refused.
    """
    segments = unquote(path).split("/")
    return path.startswith("/v1/") and not any(s in (".", "..") for s in segments) and "\\" not in path


def api_key_ok(request: Request, key: str) -> tuple[bool, bool]:
    """(accepted, consumed_authorization) for the endpoint's own API key.

    The key goes in ``X-Grounded-Api-Key``, because ``Authorization`` belongs to Weaviate and is
    forwarded to it unchanged. Where Weaviate needs no credentials, ``Authorization: Bearer <key>``
    is accepted too; it is then ours, and not forwarded.
    """
    given = request.headers.get(_API_KEY_HEADER)
    if given is not None:
        return hmac.compare_digest(given.encode(), key.encode()), False
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), key.encode()):
        return True, True
    return False, False


class CredentialCheck:
    """Asks Weaviate whether the caller's credentials are good, before any model work.

    ``GET /v1/meta`` needs an authenticated principal whenever Weaviate has anonymous access
    off (it is a swagger-secured operation, adapters/handlers/rest/handlers_misc.go), so its
    status answers the question; where Weaviate needs no credentials it answers 200 and this
    costs one cached request. Answers are cached for ``ttl_s`` per ``Authorization`` value
    (hashed, never stored in clear), in a bounded LRU.
    """

    def __init__(self, base_url: str, ttl_s: float, max_entries: int = 1024) -> None:
        self._url = base_url + "/v1/meta"
        self._ttl_s = ttl_s
        self._max = max_entries
        self._cache: OrderedDict[str, tuple[float, Response | None]] = OrderedDict()

    async def refusal(self, client: httpx.AsyncClient, headers: dict[str, str]) -> Response | None:
        """Weaviate's own 401/403 answer for these credentials, or ``None`` when they are good."""
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        key = hashlib.sha256(auth.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            self._cache.move_to_end(key)
            return cached[1]
        probe: dict[str, Any] = {"authorization": auth} if auth else {}
        upstream = await client.get(self._url, headers=probe)
        answer: Response | None = None
        if upstream.status_code in (401, 403):
            answer = Response(
                upstream.content,
                status_code=upstream.status_code,
                media_type=upstream.headers.get("content-type", "application/json"),
            )
        self._cache[key] = (now + self._ttl_s, answer)
        self._cache.move_to_end(key)
        while len(self._cache) > self._max:
            self._cache.popitem(last=False)
        return answer
