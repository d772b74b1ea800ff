"""The search page (``grounded ui``), fuzzed from an OpenAPI description of its routes.

The page is a Starlette app with no document of its own, so :func:`page_openapi` writes one:
its five routes, with ``POST /search``'s body being :class:`plugin.ui.query.SearchForm`'s own
JSON schema and ``POST /api/search``'s :class:`plugin.ui.query.ApiSearchRequest`'s (so a new field
is fuzzed without touching this file); the API's answers and errors are JSON. The properties: never a 5xx,
every status declared, HTML where HTML is declared. The page runs over the embedded LanceDB
store holding a small catalog, and the fake encoder.
"""

from __future__ import annotations

import base64
import io
import tempfile
from pathlib import Path
from typing import Any

import schemathesis
from PIL import Image
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    status_code_conformance,
)
from starlette.applications import Starlette

from plugin.store import ProductRow
from plugin.store.lance.store import LanceStore
from plugin.ui import UiConfig, create_ui_app
from plugin.ui.query import ApiSearchRequest, SearchForm
from schemas.collection import product_properties
from schemas.errors import STATUS_BY_KIND, ErrorKind
from schemas.product import Product, product_uuid
from tests.support.fake_weaviate import FakeEncoder
from tests.support.fuzz import TALLY, surface_settings
from vectorizer_service.images import ImageLimits

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, negative_data_rejection]
PRODUCTS = {"red-dress": (200, 0, 0), "blue-dress": (0, 0, 200), "green-shoe": (0, 200, 0)}
_HTML = {"text/html": {"schema": {"type": "string"}}}


_ERROR_JSON = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["kind", "message"],
                    "properties": {"kind": {"type": "string"}, "message": {"type": "string"}},
                }
            },
        }
    }
}
_ANSWER_JSON = {
    "application/json": {
        "schema": {
            "type": "object",
            "required": ["hits", "explanation"],
            "properties": {
                "hits": {"type": "array", "items": {"type": "object"}},
                "explanation": {"type": "object"},
                "why_empty": {"type": "array", "items": {"type": "string"}},
            },
        }
    }
}


def _errors(*kinds: ErrorKind, content: dict[str, Any] = _HTML) -> dict[str, Any]:
    return {str(STATUS_BY_KIND[k].http): {"description": k.value, "content": content} for k in kinds}


def page_openapi() -> dict[str, Any]:
    """The page's routes as OpenAPI 3.1; errors are the error fragment (HTML) of their kind."""
    form = SearchForm.model_json_schema(ref_template="#/components/schemas/{model}")
    api = ApiSearchRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = {**form.pop("$defs", {}), **api.pop("$defs", {})}
    ok = {"200": {"description": "the page or fragment", "content": _HTML}}
    image = {"image/png": {"schema": {"type": "string", "format": "binary"}}}
    work = (ErrorKind.INVALID_INPUT, ErrorKind.OVERLOADED, ErrorKind.MODEL_UNAVAILABLE, ErrorKind.NOT_FOUND)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Grounded search page", "version": "1"},
        "paths": {
            "/": {"get": {"operationId": "page", "responses": ok}},
            "/search": {
                "post": {
                    "operationId": "search",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/SearchForm"}}
                        },
                    },
                    "responses": {**ok, **_errors(*work)},
                }
            },
            "/api/search": {
                "post": {
                    "operationId": "apiSearch",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ApiSearchRequest"}}
                        },
                    },
                    "responses": {
                        "200": {"description": "hits and explanation", "content": _ANSWER_JSON},
                        **_errors(*work, content=_ERROR_JSON),
                    },
                }
            },
            "/product-image": {
                "get": {
                    "operationId": "productImage",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "query",
                            "required": True,
                            "schema": {"type": "string"},
                            "examples": {"stored": {"value": "red-dress"}},
                        },
                    ],
                    "responses": {
                        "200": {"description": "the stored photo", "content": image},
                        **_errors(ErrorKind.INVALID_INPUT, ErrorKind.NOT_FOUND),
                    },
                }
            },
            "/duplicates": {
                "get": {
                    "operationId": "duplicates",
                    "parameters": [{"name": "threshold", "in": "query", "schema": {"type": "number"}}],
                    "responses": {**ok, **_errors(ErrorKind.INVALID_INPUT)},
                }
            },
        },
        "components": {"schemas": {"SearchForm": form, "ApiSearchRequest": api, **defs}},
    }


def _png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), rgb).save(buf, format="PNG")
    return buf.getvalue()


def _page(folder: Path) -> Starlette:
    encoder = FakeEncoder()
    store = LanceStore(folder, dimension=encoder.model_info().dimension, collection="FuzzPage")
    store.create_collection()
    rows = []
    for pid, rgb in PRODUCTS.items():
        image = _png(rgb)
        product = Product(id=pid, title=pid.replace("-", " "), category=pid.split("-")[1], price=10.0,
                          attributes={"colour": pid.split("-")[0]})  # fmt: skip
        vector = [float(x) for x in encoder.embed_images([image])[0]]
        properties = product_properties(product, base64.b64encode(image).decode())
        rows.append(ProductRow(str(product_uuid(pid)), properties, vector))
    assert store.upsert(rows) == []
    limits = ImageLimits(max_bytes=20_000, max_pixels=1_000_000)
    return create_ui_app(store, encoder, UiConfig(limits=limits, store_description="fuzz"))


_FOLDER = tempfile.TemporaryDirectory(prefix="grounded-fuzz-page-")
schema = schemathesis.openapi.from_dict(page_openapi())
schema.app = _page(Path(_FOLDER.name))


@schema.parametrize()
# /search, /api/search, /product-image and /duplicates take input; / takes none.
@surface_settings(operations=4)
def test_the_page_answers_every_generated_request_as_documented(case: schemathesis.Case) -> None:
    response = case.call()
    TALLY.record("search page (OpenAPI)", response.status_code)
    case.validate_response(response, checks=CHECKS)
