"""HTTP transport: Weaviate's multi2vec-clip inference contract, plus /compose and /metrics.

A stock Weaviate (``ENABLE_MODULES=multi2vec-clip``, ``CLIP_INFERENCE_API=http://<host>:<port>``)
calls ``/.well-known/ready``, ``/meta`` and ``/vectorize``. Every error body is
``{"error": "<message>"}``: Weaviate reads that field and treats any other body as a parse
failure. Routes only convert messages; one ASGI boundary maps every exception (via
:func:`~vectorizer_service.transports.errors.describe_error`) and records the metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, SecretStr, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from schemas.errors import STATUS_BY_KIND, ErrorKind, InvalidInputError, NotReadyError, item_error
from schemas.wire import ComposeRequest, ModelMeta, VectorizeRequest
from vectorizer_service.engine import Engine
from vectorizer_service.images import base64_to_bytes
from vectorizer_service.metrics import (
    CONTENT_TYPE,
    OUTCOME_CANCELLED,
    OUTCOME_CLIENT_CLOSED,
    OUTCOME_OK,
    ServiceMetrics,
)
from vectorizer_service.settings import ServiceSettings
from vectorizer_service.transports.auth import OPEN_HTTP_PATHS, check_bearer
from vectorizer_service.transports.errors import describe_error, validation_message
from vectorizer_service.transports.openapi import install_openapi
from vectorizer_service.transports.wire_count import MAX_JSON_ELEMENTS, json_elements_exceed

__all__ = ["create_app"]

_M = TypeVar("_M", bound=BaseModel)
_T = TypeVar("_T")

_ROUTES = frozenset(
    {"/.well-known/live", "/.well-known/ready", "/meta", "/vectorize", "//vectorize", "/compose", "/metrics"}
)
_OUTCOME_KEY = "grounded_outcome"
_CLIENT_GONE = 499  # nobody reads it: the client has disconnected

log = logging.getLogger(__name__)

router = APIRouter()


def create_app(engine: Engine, *, manage_engine: bool = True) -> FastAPI:
    """The FastAPI app over ``engine``. With ``manage_engine`` the app's lifespan starts and
    stops the engine; ``serve`` passes ``False`` and starts it itself, so liveness answers
    while the model loads."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if manage_engine:
            await engine.start()
        try:
            yield
        finally:
            if manage_engine:
                await engine.stop()

    app = FastAPI(title="Grounded vectorizer", version="1", lifespan=lifespan)
    app.state.engine = engine
    app.add_middleware(_ErrorBoundary, metrics=engine.metrics, api_key=engine.settings.api_key)
    app.add_exception_handler(StarletteHTTPException, _framework_http_error)
    app.add_exception_handler(RequestValidationError, _framework_validation_error)
    app.include_router(router)
    install_openapi(app)
    return app


# --- routes ---------------------------------------------------------------------------------


# HEAD answers wherever GET does (RFC 9110 9.3.2); uvicorn sends no body for it.
_GET = ["GET", "HEAD"]


@router.api_route("/.well-known/live", methods=_GET, status_code=204)
async def live() -> Response:
    """The process is up (even while the model loads)."""
    return Response(status_code=204)


@router.api_route("/.well-known/ready", methods=_GET, status_code=204)
async def ready(request: Request) -> Response:
    """204 once the model is loaded and warmed up, 503 before."""
    if not _engine(request).ready:
        raise NotReadyError("the model is still loading")
    return Response(status_code=204)


@router.api_route("/meta", methods=_GET, response_model=ModelMeta)
async def meta(request: Request) -> Response:
    """The model the service runs."""
    # The record's fields in declaration order, compact: the same bytes as ever (Weaviate reads them).
    return _json(_engine(request).info.model_dump())


@router.post("/vectorize")
# Weaviate joins inferenceUrl + "/vectorize" as strings (modules/multi2vec-clip/clients/
# vectorizer.go), so an inferenceUrl with a trailing slash calls "//vectorize".
@router.post("//vectorize", include_in_schema=False)
async def vectorize(request: Request) -> Response:
    """``{"texts": [...], "images": [base64...]}`` -> ``{"textVectors", "imageVectors"}``."""
    engine = _engine(request)
    raw = await _read_body(request, engine.settings)
    texts, images = await run_in_threadpool(_vectorize_message, raw, engine)
    result = await _unless_disconnected(request, engine.embed(texts, images))
    if result is None:
        return Response(status_code=_CLIENT_GONE)
    return _json({"textVectors": result.text_vectors.tolist(), "imageVectors": result.image_vectors.tolist()})


@router.post("/compose")
async def compose(request: Request) -> Response:
    """Reference image + requested change -> ``ComposeResult``."""
    engine = _engine(request)
    raw = await _read_body(request, engine.settings)
    body, image = await run_in_threadpool(_compose_message, raw, engine)
    result = await _unless_disconnected(request, engine.compose(image, body.text, body.options))
    if result is None:
        return Response(status_code=_CLIENT_GONE)
    return Response(result.model_dump_json(), media_type="application/json")


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """Prometheus metrics of this engine."""
    return Response(_engine(request).metrics.render(), media_type=CONTENT_TYPE)


# --- message conversion ----------------------------------------------------------------------


def _engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def _json(content: Any, status_code: int = 200) -> Response:
    body = json.dumps(content, separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status_code, media_type="application/json")


async def _read_body(request: Request, settings: ServiceSettings) -> bytes:
    """The body, refusing more than ``max_request_bytes`` without reading them all, and a
    body that takes longer than ``http_read_timeout_s`` to arrive (a client trickling it would
    hold its connection and its memory for ever)."""
    timeout = settings.http_read_timeout_s
    try:
        return await asyncio.wait_for(_body_within(request, settings.max_request_bytes), timeout)
    except asyncio.TimeoutError:
        raise InvalidInputError(f"the request body did not arrive within {timeout:g} s") from None


async def _body_within(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InvalidInputError(f"request body is {declared} bytes, over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InvalidInputError(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


# Parsing a body of up to max_request_bytes (JSON, then base64) is CPU work: a worker thread. The
# JSON parser holds the GIL throughout, so a body with more values than any accepted request is
# refused from a count first (wire_count.json_elements_exceed), which lets the event loop run.


def _vectorize_message(raw: bytes, engine: Engine) -> tuple[list[str], list[bytes]]:
    body = _parse(VectorizeRequest, raw)
    images = [_image_bytes(value, engine, index) for index, value in enumerate(body.images or [])]
    return body.texts or [], images


def _compose_message(raw: bytes, engine: Engine) -> tuple[ComposeRequest, bytes | None]:
    body = _parse(ComposeRequest, raw)
    return body, _image_bytes(body.image, engine) if body.image else None


def _parse(model: type[_M], body: bytes) -> _M:
    if json_elements_exceed(body):
        # Parsing it would hold the GIL, and so every other request, for seconds.
        raise InvalidInputError(
            f"the request body holds more than {MAX_JSON_ELEMENTS} JSON values (strings, list "
            "entries, fields); no accepted request has that many"
        )
    try:
        # Strict: a JSON type other than the declared one is refused, not coerced ("fuse": 0.0 or
        # "fuse": "no" read as false), as the OpenAPI document and the gRPC contract say.
        return model.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise InvalidInputError(validation_message(exc)) from None


def _image_bytes(value: str, engine: Engine, index: int | None = None) -> bytes:
    try:
        return base64_to_bytes(value, engine.settings.max_image_bytes)
    except InvalidInputError as exc:
        if index is None:
            raise InvalidInputError(f"image: {exc.message}") from None
        raise item_error("images", index, exc.message) from None


async def _unless_disconnected(request: Request, work: Coroutine[Any, Any, _T]) -> _T | None:
    """Run ``work`` but cancel it when the client disconnects, so its queued items are skipped
    before inference. Returns ``None`` in that case."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnected(request.receive))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watcher.cancel()
        if not task.done():
            task.cancel()
            request.scope.setdefault("state", {})[_OUTCOME_KEY] = OUTCOME_CANCELLED
    with contextlib.suppress(asyncio.CancelledError):
        return await task
    return None


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


# --- the one error boundary -------------------------------------------------------------------


async def _framework_http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own errors (unknown route, wrong method) in our ``{"error": ...}`` shape."""
    assert isinstance(exc, StarletteHTTPException)
    kind = ErrorKind.NOT_FOUND if exc.status_code == 404 else ErrorKind.INVALID_INPUT
    request.scope.setdefault("state", {})[_OUTCOME_KEY] = kind.value
    return _json({"error": str(exc.detail)}, exc.status_code)


async def _framework_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    request.scope.setdefault("state", {})[_OUTCOME_KEY] = ErrorKind.INVALID_INPUT.value
    message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:3])
    return _json({"error": message or "invalid request"}, STATUS_BY_KIND[ErrorKind.INVALID_INPUT].http)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class _ErrorBoundary:
    """Pure ASGI middleware: checks the API key (when one is set) on every path but the open
    ones (:data:`~vectorizer_service.transports.auth.OPEN_HTTP_PATHS`), maps every exception a
    route raises to ``{"error": ...}`` with the status of its kind, and records requests and
    latency by route and outcome."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics, api_key: SecretStr | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        route = scope["path"] if scope["path"] in _ROUTES else "other"
        started = time.perf_counter()
        response_started = False
        status = 500

        async def send_and_watch(message: Message) -> None:
            nonlocal response_started, status
            if message["type"] == "http.response.start":
                response_started, status = True, message["status"]
            await send(message)

        outcome: str | None = None
        try:
            if scope["path"] not in OPEN_HTTP_PATHS:
                check_bearer(_header(scope, b"authorization"), self.api_key)
            await self.app(scope, receive, send_and_watch)
        except ClientDisconnect:
            # The client went away while sending its body: nobody to answer, nothing wrong here.
            outcome = OUTCOME_CLIENT_CLOSED
            log.info("%s %s: the client closed the connection before sending its whole body",
                     scope["method"], scope["path"])  # fmt: skip
        except Exception as exc:
            reply = describe_error(exc, f"{scope['method']} {scope['path']}")
            outcome = reply.kind.value
            if response_started:
                raise
            response = _json({"error": reply.message}, reply.status.http)
            if reply.kind is ErrorKind.UNAUTHENTICATED:
                response.headers["WWW-Authenticate"] = "Bearer"
            if reply.status.retry_after_s is not None:
                response.headers["Retry-After"] = str(reply.status.retry_after_s)
            await response(scope, receive, send)
        finally:
            if outcome is None:
                state: dict[str, Any] = scope.get("state", {})
                outcome = state.get(_OUTCOME_KEY) or (
                    OUTCOME_OK if status < 400 else ErrorKind.INTERNAL.value
                )
            self.metrics.request_done(route, outcome, time.perf_counter() - started)
