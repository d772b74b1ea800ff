"""The HTTP transport's OpenAPI document, with the bodies the routes read by hand.

``/vectorize`` and ``/compose`` read their raw body (size-checked, then parsed off the event
loop), so FastAPI cannot see their request models: without this the published document said
they take no body at all, and a client generator or a schema fuzzer had nothing to go on. Here
the wire models of :mod:`schemas.wire` are declared once as the bodies and answers, and every
route lists the error statuses :data:`schemas.errors.STATUS_BY_KIND` can give it.
"""

from __future__ import annotations

import warnings
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from schemas.errors import STATUS_BY_KIND, ErrorKind
from schemas.wire import ComposeRequest, ComposeResult, ErrorResponse, VectorizeRequest, VectorizeResponse

__all__ = ["install_openapi"]

_REF = "#/components/schemas/{model}"
_BODIES: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "/vectorize": (VectorizeRequest, VectorizeResponse),
    "/compose": (ComposeRequest, ComposeResult),
}
_ERRORS_EVERYWHERE = (ErrorKind.INVALID_INPUT, ErrorKind.UNAUTHENTICATED)
"""A malformed request (e.g. a bad header) and a missing key can meet any route."""
_ERRORS_OF_WORK = (ErrorKind.OVERLOADED, ErrorKind.NOT_READY, ErrorKind.MODEL_UNAVAILABLE)
"""What a route that runs the model adds: a full queue or pixel budget, a model not loaded."""
_ERRORS_BY_PATH = {**dict.fromkeys(_BODIES, _ERRORS_OF_WORK), "/.well-known/ready": (ErrorKind.NOT_READY,)}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json_content(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": _ref(model)}}


def _document(app: FastAPI) -> dict[str, Any]:
    with warnings.catch_warnings():
        # GET and HEAD share a route, so FastAPI gives both one operationId; made unique below.
        warnings.filterwarnings("ignore", "Duplicate Operation ID", UserWarning)
        doc = get_openapi(title=app.title, version=app.version, routes=app.routes)
    models = (VectorizeRequest, VectorizeResponse, ComposeRequest, ComposeResult, ErrorResponse)
    modes: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m, "validation") for m in models]
    _, defs = models_json_schema(modes, ref_template=_REF)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(defs.get("$defs", {}))
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            operation["operationId"] = f"{method}{path.replace('/', '_').replace('.', '')}"
            responses = operation.setdefault("responses", {})
            # FastAPI's own 422 never happens: request validation errors answer 400 (http.py).
            responses.pop("422", None)
            for kind in _ERRORS_EVERYWHERE + _ERRORS_BY_PATH.get(path, ()):
                status = str(STATUS_BY_KIND[kind].http)
                responses.setdefault(
                    status, {"description": kind.value, "content": _json_content(ErrorResponse)}
                )
            if path in _BODIES:
                request, answer = _BODIES[path]
                operation["requestBody"] = {"required": True, "content": _json_content(request)}
                responses["200"] = {"description": "OK", "content": _json_content(answer)}
            if path == "/metrics":
                # Prometheus' text format, not the JSON FastAPI assumes for a plain Response.
                text = {"text/plain": {"schema": {"type": "string"}}}
                responses["200"] = {"description": "Prometheus metrics", "content": text}
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve :func:`_document` as the app's ``/openapi.json`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override
