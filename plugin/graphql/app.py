"""The GraphQL endpoint: Weaviate's ``/v1/graphql`` with ``nearGrounded`` added.

A thin reverse proxy in front of Weaviate. ``POST /v1/graphql`` and ``POST /v1/graphql/batch``
bodies that use ``nearGrounded`` are rewritten (see :mod:`plugin.graphql.rewrite`) and the
explanations are added to Weaviate's answer as ``extensions.grounded``; everything else - other
queries, other ``/v1/*`` paths, and all headers including ``Authorization`` - goes to Weaviate
unchanged, so Weaviate keeps enforcing its own authentication and every existing client keeps
working against this address. Before any model work the caller's credentials are checked with
Weaviate (see :class:`plugin.graphql.guard.CredentialCheck`), and every answer has Weaviate's
shape (see :mod:`plugin.graphql.guard`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from plugin.encoder.protocol import QueryEncoder
from plugin.graphql.guard import (
    PROBE_PATHS,
    BadBodyError,
    BodyTooLargeError,
    CredentialCheck,
    api_key_ok,
    graphql_errors,
    load_json,
    read_body,
    rest_error,
    stays_under_v1,
)
from plugin.graphql.reference import weaviate_reference_lookup
from plugin.graphql.rewrite import ARGUMENT, Rewrite, explanation_json, rewrite_query
from plugin.settings import PluginSettings
from schemas.collection import product_collection
from schemas.errors import GroundedError, InvalidInputError

__all__ = ["create_graphql_app"]

log = logging.getLogger(__name__)

# Hop-by-hop headers (RFC 9110 7.6.1) and the ones httpx recomputes must not be copied across.
_DROP_REQUEST = {
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "proxy-connection",
    "accept-encoding",
    "x-grounded-api-key",
}
_DROP_RESPONSE = {"content-length", "connection", "keep-alive", "transfer-encoding", "content-encoding"}
_TIMEOUT_S = 120.0
# Weaviate answers an unprocessable GraphQL request (e.g. an empty query) with 422.
_UNPROCESSABLE = 422


class _Refused(Exception):
    """Stop handling this request and send ``response`` (already in Weaviate's shape)."""

    def __init__(self, response: Response) -> None:
        self.response = response


class _Proxy:
    def __init__(self, settings: PluginSettings, encoder: QueryEncoder) -> None:
        if not settings.weaviate_url:
            raise InvalidInputError("the GraphQL endpoint needs weaviate_url (GROUNDED_WEAVIATE_URL)")
        self.base_url = settings.weaviate_url.rstrip("/")
        self.encoder = encoder
        self.settings = settings
        self.default_target = product_collection(settings.collection).vector.name
        self.credentials = CredentialCheck(self.base_url, settings.graphql_auth_cache_s)
        self.client: httpx.AsyncClient | None = None

    def _headers(self, request: Request) -> dict[str, str]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST}
        if request.scope.get("grounded.authorization_consumed"):
            headers.pop("authorization", None)
        return headers

    async def forward(self, request: Request, body: bytes, path: str | None = None) -> Response:
        assert self.client is not None
        target = path or request.url.path
        url = self.base_url + target + (f"?{request.url.query}" if request.url.query else "")
        # HEAD is GET without the body (RFC 9110 9.3.2); Weaviate answers HEAD with 405.
        method = "GET" if request.method == "HEAD" else request.method
        try:
            upstream = await self.client.request(method, url, headers=self._headers(request), content=body)
        except httpx.HTTPError as exc:
            log.warning("Weaviate at %s failed: %s", self.base_url, exc)
            return rest_error(502, f"Weaviate is unreachable: {type(exc).__name__}")
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROP_RESPONSE}
        content = b"" if request.method == "HEAD" else upstream.content
        return Response(content, status_code=upstream.status_code, headers=out_headers)

    async def passthrough(self, request: Request) -> Response:
        if not stays_under_v1(request.url.path):
            return rest_error(404, "not found: only paths under /v1/ are served")
        return await self._guarded(request, self.forward)

    async def _body(self, request: Request) -> bytes:
        try:
            return await read_body(request, self.settings.graphql_max_body_bytes)
        except BodyTooLargeError:
            limit = self.settings.graphql_max_body_bytes
            raise _Refused(rest_error(413, f"request body is over the {limit}-byte limit")) from None

    async def _check_credentials(self, request: Request) -> None:
        assert self.client is not None
        try:
            refusal = await self.credentials.refusal(self.client, self._headers(request))
        except httpx.HTTPError as exc:
            log.warning("Weaviate at %s failed: %s", self.base_url, exc)
            raise _Refused(rest_error(502, f"Weaviate is unreachable: {type(exc).__name__}")) from exc
        if refusal is not None:
            raise _Refused(refusal)

    async def _rewrite(self, item: Any, headers: dict[str, str]) -> Rewrite | Response | None:
        """The rewrite of one GraphQL request object, an answer for it, or ``None`` (forward as is)."""
        if not isinstance(item, dict) or not isinstance(item.get("query"), str) or not item["query"].strip():
            return rest_error(_UNPROCESSABLE, "query cannot be empty")
        variables = item.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return rest_error(
                _UNPROCESSABLE, f"expected variables to be an object, received {type(variables).__name__}"
            )
        operation = item.get("operationName")
        try:
            # Composing runs models (or a blocking gRPC call): keep it off the event loop.
            return await run_in_threadpool(
                rewrite_query,
                item["query"],
                variables,
                self.encoder.compose,
                operation_name=operation if isinstance(operation, str) else None,
                default_target=self.default_target,
                max_fields=self.settings.graphql_max_near_grounded,
                # nearGrounded.product reads the product with the caller's own credentials.
                reference=weaviate_reference_lookup(self.base_url, headers),
            )
        except RecursionError:
            return rest_error(400, "the GraphQL query is nested too deeply")
        except GroundedError as exc:
            # Weaviate answers a search that cannot run (a failing vectorizer, a bad argument) as
            # a GraphQL error with HTTP 200; overload and model errors are such failures too.
            return graphql_errors(exc.message)

    async def graphql(self, request: Request) -> Response:
        return await self._guarded(request, self._graphql)

    async def batch(self, request: Request) -> Response:
        return await self._guarded(request, self._batch)

    async def _guarded(
        self, request: Request, handler: Callable[[Request, bytes], Awaitable[Response]]
    ) -> Response:
        try:
            return await handler(request, await self._body(request))
        except _Refused as refused:
            return refused.response
        except ClientDisconnect:
            log.info("%s: the client closed the connection before sending its whole body", request.url.path)
            return Response(status_code=499)  # nobody reads it
        except Exception:
            # No input may produce a non-Weaviate answer; the traceback goes to the log.
            log.exception("GraphQL endpoint failed")
            return rest_error(500, "internal error in the Grounded GraphQL endpoint; see its log")

    async def _graphql(self, request: Request, body: bytes) -> Response:
        if ARGUMENT.encode() not in body:
            return await self.forward(request, body)
        payload = _json_body(body)
        await self._check_credentials(request)
        rewrite = await self._rewrite(payload, self._headers(request))
        if isinstance(rewrite, Response):
            return rewrite
        if rewrite is None:
            return await self.forward(request, body)
        response = await self.forward(request, json.dumps(_rewritten(payload, rewrite)).encode())
        return _with_explanations(response, rewrite)

    def _check_batch_size(self, payload: list[Any]) -> None:
        """One HTTP request runs at most ``graphql_max_near_grounded`` composes, batch or not
        (a batch of 100 queries of 8 each ran 800), in at most ``graphql_max_batch_items``
        queries. Counted before anything runs; a mention in a string literal counts too."""
        items, most = self.settings.graphql_max_batch_items, self.settings.graphql_max_near_grounded
        if len(payload) > items:
            message = f"a batch using {ARGUMENT} holds at most {items} queries, got {len(payload)}"
            raise _Refused(rest_error(400, message))
        total = sum(
            item["query"].count(ARGUMENT)
            for item in payload
            if isinstance(item, dict) and isinstance(item.get("query"), str)
        )
        if total > most:
            message = (
                f"at most {most} {ARGUMENT} fields per request (all queries of a batch together), got {total}"
            )
            raise _Refused(rest_error(400, message))

    async def _batch(self, request: Request, body: bytes) -> Response:
        """``/v1/graphql/batch`` (handlers_graphql.go): a list of requests, a list of answers in
        the same order. Each is rewritten; one that fails gets its error in its own slot, like
        Weaviate's per-request errors, and only the others reach Weaviate."""
        if ARGUMENT.encode() not in body:
            return await self.forward(request, body)
        payload = _json_body(body)
        if not isinstance(payload, list) or not payload:
            return rest_error(_UNPROCESSABLE, "the batch must be a non-empty list of GraphQL requests")
        self._check_batch_size(payload)
        await self._check_credentials(request)
        answers: list[Any] = [None] * len(payload)
        rewrites: dict[int, Rewrite | None] = {}
        for i, item in enumerate(payload):
            outcome = await self._rewrite(item, self._headers(request))
            if isinstance(outcome, Response):
                answers[i] = _batch_error(outcome)
            else:
                rewrites[i] = outcome
        if rewrites:
            sent = [_rewritten(payload[i], r) if r is not None else payload[i] for i, r in rewrites.items()]
            response = await self.forward(request, json.dumps(sent).encode())
            try:
                upstream = json.loads(bytes(response.body))
            except (json.JSONDecodeError, UnicodeDecodeError):
                return response
            if response.status_code != 200 or not isinstance(upstream, list) or len(upstream) != len(sent):
                return response
            for (i, r), answer in zip(rewrites.items(), upstream, strict=True):
                answers[i] = _add_explanations(answer, r) if r is not None else answer
        return JSONResponse(answers)


def _json_body(body: bytes) -> Any:
    try:
        return load_json(body)
    except BadBodyError as exc:
        raise _Refused(rest_error(exc.status, exc.message)) from None


def _rewritten(payload: dict[str, Any], rewrite: Rewrite) -> dict[str, Any]:
    out = dict(payload, query=rewrite.query)
    if rewrite.variables is not None:
        out["variables"] = rewrite.variables
    return out


def _batch_error(response: Response) -> dict[str, Any]:
    """One batch slot's error, as Weaviate reports it inside a batch: ``{"errors": [...]}``."""
    answer = json.loads(bytes(response.body))
    items = answer.get("errors") or answer.get("error") or [{"message": "request failed"}]
    return {"data": None, "errors": items}


def _add_explanations(answer: Any, rewrite: Rewrite) -> Any:
    if isinstance(answer, dict):
        extensions = answer.setdefault("extensions", {}) or {}
        answer["extensions"] = extensions
        extensions["grounded"] = {key: explanation_json(e) for key, e in rewrite.explanations.items()}
    return answer


def _with_explanations(response: Response, rewrite: Rewrite) -> Response:
    try:
        answer: Any = json.loads(bytes(response.body))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response
    if not isinstance(answer, dict):
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        json.dumps(_add_explanations(answer, rewrite)),
        status_code=response.status_code,
        headers=headers,
        media_type="application/json",
    )


class _ApiKeyMiddleware:
    """Refuses every HTTP request without the endpoint's API key (pure ASGI, so bodies stream)."""

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app = app
        self.key = key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] not in PROBE_PATHS:
            accepted, consumed = api_key_ok(Request(scope), self.key)
            if not accepted:
                message = "this endpoint needs its API key (X-Grounded-Api-Key)"
                await rest_error(401, message, {"WWW-Authenticate": "Bearer"})(scope, receive, send)
                return
            scope["grounded.authorization_consumed"] = consumed
        await self.app(scope, receive, send)


def create_graphql_app(settings: PluginSettings, encoder: QueryEncoder) -> Starlette:
    """The ASGI app serving ``/v1/graphql`` and ``/v1/graphql/batch`` (with ``nearGrounded``) and
    proxying the rest of ``/v1/*``; behind the endpoint's API key when one is set."""
    proxy = _Proxy(settings, encoder)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=httpx.Timeout(_TIMEOUT_S)) as client:
            proxy.client = client
            yield
        proxy.client = None

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    routes = [
        Route("/v1/graphql", proxy.graphql, methods=["POST"]),
        Route("/v1/graphql/batch", proxy.batch, methods=["POST"]),
        Route("/v1/{path:path}", proxy.passthrough, methods=methods),
    ]
    key = settings.graphql_api_key
    middleware = [Middleware(_ApiKeyMiddleware, key=key.get_secret_value())] if key is not None else []
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
