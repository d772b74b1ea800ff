"""``grounded ui``: the search page, a Starlette app over one store and one encoder.

Routes only convert: read the request, call one function (:func:`plugin.ui.query.run_search`,
:func:`plugin.ui.facets.read_facets`, :func:`plugin.search.duplicates.find_duplicates`), render a
template; ``POST /api/search`` answers the same search as JSON for programs
(``grounded search --search-url``). Grounded errors are mapped once, with
:data:`schemas.errors.STATUS_BY_KIND`, to an error fragment the script shows (JSON under
``/api/``); anything else is a generic 500 and a logged traceback.
Templates autoescape, so nothing a user types reaches the page as markup.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from plugin.encoder.protocol import QueryEncoder
from plugin.graphql.guard import BodyTooLargeError, read_body
from plugin.search.empty import explain_empty
from plugin.search.query import reference_image, result_payload
from plugin.store.protocol import ProductStore
from plugin.ui.examples import Example
from plugin.ui.facets import Facets, read_facets
from plugin.ui.query import ApiSearchRequest, filters_of, parse_form, run_search
from plugin.ui.views import cards, explanation_view
from schemas.errors import GroundedError, InvalidInputError, NotFoundError
from vectorizer_service import ImageLimits

__all__ = ["API_PREFIX", "UiConfig", "create_ui_app"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).parent
API_PREFIX = "/api/"
"""Routes under it answer JSON, errors included (``{"error": {"kind", "message"}}``)."""
_BODY_SLACK = 64 * 1024
"""Bytes of a query body beyond its base64 photo (text, filters, switches)."""


@dataclass(frozen=True)
class UiConfig:
    """What the page needs besides the store and the encoder."""

    limits: ImageLimits
    store_description: str = ""
    duplicates: bool = True
    image_weight: float = 0.0
    """The service's default image weight: where the slider starts (each answer then reports the
    weight the server used, and the slider follows it while "server default" is ticked)."""
    remove_background: str = "auto"
    """The service's default background decision (auto, true or false), shown as the default."""
    examples: tuple[Example, ...] = ()
    """Example queries offered to click (the demo's shopper photos); without them the page
    offers a few catalog products as references."""


def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(_HERE / "templates"), autoescape=select_autoescape(default=True)
    )


class _Page:
    def __init__(self, store: ProductStore, encoder: QueryEncoder, config: UiConfig) -> None:
        self.store = store
        self.encoder = encoder
        self.config = config
        self.env = _templates()
        self.facets: Facets | None = None
        # base64 is 4/3 of the photo; the rest of the body is small.
        self.max_body = config.limits.max_bytes * 4 // 3 + _BODY_SLACK

    def render(self, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(self.env.get_template(name).render(**context), status_code=status)

    async def index(self, request: Request) -> Response:
        if self.facets is None:
            self.facets = await run_in_threadpool(read_facets, self.store)
        return self.render(
            "page.html",
            facets=self.facets,
            store=self.config.store_description,
            collection=self.store.spec.name,
            duplicates=self.config.duplicates,
            max_bytes=self.config.limits.max_bytes,
            image_weight=f"{self.config.image_weight:.2f}",
            background_default=self.config.remove_background,
            examples=self.config.examples,
        )

    async def _body(self, request: Request, too_large: str) -> bytes:
        """The request body, refused past ``max_body`` with ``too_large`` (worded for its reader)."""
        try:
            return await read_body(request, self.max_body)
        except BodyTooLargeError:
            raise InvalidInputError(too_large) from None

    async def search(self, request: Request) -> Response:
        limit = self.config.limits.max_bytes
        form = parse_form(await self._body(request, f"This photo is too large: the limit is {limit} bytes."))
        found = await run_in_threadpool(run_search, self.store, self.encoder, form, self.config.limits)
        return self.render(
            "results.html", cards=cards(found.result), explanation=explanation_view(found.result), form=form
        )

    async def api_search(self, request: Request) -> Response:
        """The same search for programs: JSON in (:class:`ApiSearchRequest`), the result as
        :func:`result_payload` out, plus ``why_empty`` (which filter emptied it) when empty."""
        limit = self.config.limits.max_bytes
        body = await self._body(request, f"the request is too large: a photo may have {limit} bytes")
        form = parse_form(body, ApiSearchRequest)
        found = await run_in_threadpool(
            run_search, self.store, self.encoder, form, self.config.limits, cutout=False
        )
        payload = result_payload(found.result)
        if not found.result.hits:
            report = await run_in_threadpool(explain_empty, self.store, filters_of(form))
            payload["why_empty"] = report.report()
        return JSONResponse(payload)

    async def product_image(self, request: Request) -> Response:
        product_id = request.query_params.get("id", "")
        if not product_id:
            raise InvalidInputError("Which product? (?id=...)")
        _, data = await run_in_threadpool(reference_image, self.store, product_id)
        return Response(data, media_type=_media_type(data), headers={"Cache-Control": "max-age=3600"})

    async def example_photo(self, request: Request) -> Response:
        try:
            example = self.config.examples[int(request.query_params.get("n", ""))]
        except (ValueError, IndexError):
            raise NotFoundError("there is no such example") from None
        return Response(
            example.photo, media_type=_media_type(example.photo), headers={"Cache-Control": "max-age=3600"}
        )

    async def duplicates(self, request: Request) -> Response:
        from plugin.search.duplicates import DEFAULT_THRESHOLD, find_duplicates

        try:
            threshold = float(request.query_params.get("threshold", DEFAULT_THRESHOLD))
        except ValueError:
            raise InvalidInputError("threshold must be a number") from None
        report = await run_in_threadpool(find_duplicates, self.store, threshold=threshold)
        return self.render("duplicates.html", report=report)


def _media_type(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = (img.format or "").lower()
    except Exception:  # a stored image PIL cannot read is still served, as bytes
        return "application/octet-stream"
    return f"image/{'jpeg' if fmt == 'jpeg' else fmt}" if fmt else "application/octet-stream"


def _error_handlers(page: _Page) -> dict[Any, Any]:
    # The page's script shows an HTML fragment; a program on /api/ gets JSON it can read.
    def answer(request: Request, status: int, kind: str, message: str) -> Response:
        if request.url.path.startswith(API_PREFIX):
            return JSONResponse({"error": {"kind": kind, "message": message}}, status_code=status)
        return page.render("error.html", status=status, message=message)

    async def grounded(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GroundedError)
        return answer(request, exc.status.http, exc.kind.value, exc.message)

    async def unknown(request: Request, exc: Exception) -> Response:
        log.exception("search page: unexpected error on %s", request.url.path, exc_info=exc)
        return answer(request, 500, "internal", "Something went wrong on our side; please try again.")

    return {GroundedError: grounded, Exception: unknown}


def create_ui_app(store: ProductStore, encoder: QueryEncoder, config: UiConfig) -> Starlette:
    """The page's app. The caller owns ``store`` and ``encoder`` (and closes them)."""
    page = _Page(store, encoder, config)
    routes = [
        Route("/", page.index, methods=["GET"]),
        Route("/search", page.search, methods=["POST"]),
        Route(f"{API_PREFIX}search", page.api_search, methods=["POST"]),
        Route("/product-image", page.product_image, methods=["GET"]),
        Route("/example-photo", page.example_photo, methods=["GET"]),
        Route("/duplicates", page.duplicates, methods=["GET"]),
        Mount("/static", StaticFiles(directory=_HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, exception_handlers=_error_handlers(page))
