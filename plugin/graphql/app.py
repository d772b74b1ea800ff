"""The GraphQL endpoint: Weaviate's ``/v1/graphql`` with ``nearGrounded`` added.

A thin reverse proxy in front of Weaviate. ``POST /v1/graphql`` bodies that use ``nearGrounded``
are rewritten (see :mod:`plugin.graphql.rewrite`) and the explanations are added to Weaviate's
answer as ``extensions.grounded``; everything else - other queries, other ``/v1/*`` paths, and all
headers including ``Authorization`` - goes to Weaviate unchanged, so Weaviate keeps enforcing its
own authentication and every existing client keeps working against this address.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from plugin.encoder import QueryEncoder
from plugin.graphql.rewrite import ARGUMENT, Rewrite, explanation_json, rewrite_query
from plugin.settings import PluginSettings
from schemas.errors import GroundedError, InvalidInputError, UpstreamError

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
}
_DROP_RESPONSE = {"content-length", "connection", "keep-alive", "transfer-encoding", "content-encoding"}
_TIMEOUT_S = 120.0


def _graphql_error(error: GroundedError) -> JSONResponse:
    return JSONResponse({"errors": [{"message": error.message}]}, status_code=error.status.http)


class _Proxy:
    def __init__(self, settings: PluginSettings, encoder: QueryEncoder) -> None:
        if not settings.weaviate_url:
            raise InvalidInputError("the GraphQL endpoint needs weaviate_url (GROUNDED_WEAVIATE_URL)")
        self.base_url = settings.weaviate_url.rstrip("/")
        self.encoder = encoder
        self.client: httpx.AsyncClient | None = None

    async def forward(self, request: Request, body: bytes) -> Response:
        assert self.client is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_REQUEST}
        url = self.base_url + request.url.path + (f"?{request.url.query}" if request.url.query else "")
        try:
            upstream = await self.client.request(request.method, url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            log.warning("Weaviate at %s failed: %s", self.base_url, exc)
            return _graphql_error(UpstreamError(f"Weaviate is unreachable: {type(exc).__name__}"))
        out_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _DROP_RESPONSE}
        return Response(upstream.content, status_code=upstream.status_code, headers=out_headers)

    async def passthrough(self, request: Request) -> Response:
        return await self.forward(request, await request.body())

    async def graphql(self, request: Request) -> Response:
        body = await request.body()
        if ARGUMENT.encode() not in body:
            return await self.forward(request, body)
        try:
            payload = json.loads(body)
        except json.JSONDecodeError:
            return await self.forward(request, body)  # Weaviate answers malformed bodies its own way
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return await self.forward(request, body)
        variables = payload.get("variables")
        if variables is not None and not isinstance(variables, dict):
            return _graphql_error(InvalidInputError("variables must be a JSON object"))
        try:
            # Composing runs models (or a blocking gRPC call): keep it off the event loop.
            rewrite: Rewrite | None = await run_in_threadpool(
                rewrite_query, payload["query"], variables, self.encoder.compose
            )
        except GroundedError as exc:
            return _graphql_error(exc)
        if rewrite is None:
            return await self.forward(request, body)
        payload["query"] = rewrite.query
        if rewrite.variables is not None:
            payload["variables"] = rewrite.variables
        response = await self.forward(request, json.dumps(payload).encode())
        return _with_explanations(response, rewrite)


def _with_explanations(response: Response, rewrite: Rewrite) -> Response:
    try:
        answer: Any = json.loads(bytes(response.body))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response
    if not isinstance(answer, dict):
        return response
    extensions = answer.setdefault("extensions", {})
    extensions["grounded"] = {key: explanation_json(e) for key, e in rewrite.explanations.items()}
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(
        json.dumps(answer), status_code=response.status_code, headers=headers, media_type="application/json"
    )


def create_graphql_app(settings: PluginSettings, encoder: QueryEncoder) -> Starlette:
    """The ASGI app serving ``/v1/graphql`` (with ``nearGrounded``) and proxying ``/v1/*``."""
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
        Route("/v1/{path:path}", proxy.passthrough, methods=methods),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
