"""What the page asks for, validated at the edge, and the one search call it makes.

A query arrives as JSON (the script reads a dropped photo as base64, so no multipart parser is
needed). The photo is checked exactly as the service checks images (size from the base64 length,
format, pixels and aspect ratio from the header, decodable) before any model runs; then the page
calls :func:`plugin.search.query.near_grounded`, the same function as ``grounded search``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugin.encoder.protocol import QueryEncoder
from plugin.search.query import GroundedResult, near_grounded
from plugin.store.protocol import ProductFilter, ProductStore
from schemas.errors import InvalidInputError
from schemas.wire import MAX_DIRECTION_GAIN, ComposeOptions, FusionMethod
from vectorizer_service import ImageLimits, base64_to_bytes, decode_image

__all__ = ["MAX_RESULTS", "SearchForm", "UiSearch", "parse_form", "run_search"]

MAX_RESULTS = 60
"""Most products one page shows."""

MAX_TEXT_CHARS = 500
"""Longest requested change the page accepts."""


class SearchForm(BaseModel):
    """The page's query: a photo (base64) or a catalog product as the reference, the change,
    filters and the per-stage switches."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    image: str | None = Field(None, description="reference photo, base64 or a data: URL")
    product: str | None = Field(None, max_length=512, description="a catalog product id as the reference")
    text: str = Field("", max_length=MAX_TEXT_CHARS)
    category: str | None = None
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)
    attributes: dict[str, str] = Field(default_factory=dict)
    remove_background: bool | None = None
    """None: the server's default (``auto`` unless configured otherwise)."""
    caption: bool | None = None
    image_weight: float | None = Field(None, ge=0.0, le=1.0)
    fusion_method: FusionMethod | None = None
    direction_gain: float | None = Field(None, ge=0.0, le=MAX_DIRECTION_GAIN)
    limit: int = Field(12, ge=1, le=MAX_RESULTS)


@dataclass
class UiSearch:
    """A search as the page shows it: the form, the result, and the reference photo's bytes."""

    form: SearchForm
    result: GroundedResult
    reference: bytes | None


def parse_form(body: bytes) -> SearchForm:
    """The form from a JSON body; every problem is one :class:`InvalidInputError` line."""
    try:
        # Strict: a value of another JSON type is refused, not coerced ("direction_gain": true
        # read as 1.0); the page's script sends each field with its declared type.
        return SearchForm.model_validate_json(body or b"{}", strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "query"
        raise InvalidInputError(f"{where}: {err['msg']}") from None


def _reference(form: SearchForm, limits: ImageLimits) -> bytes | None:
    if not form.image:
        return None
    data = base64_to_bytes(form.image, limits.max_bytes)
    try:
        decode_image(data, limits)
    except InvalidInputError as exc:
        raise InvalidInputError(f"the uploaded photo: {exc.message}") from None
    return data


def _filters(form: SearchForm) -> ProductFilter:
    attributes = {k: v for k, v in form.attributes.items() if k and v}
    return ProductFilter(
        category=form.category or None,
        price_min=form.price_min,
        price_max=form.price_max,
        attributes=attributes,
    )


def run_search(store: ProductStore, encoder: QueryEncoder, form: SearchForm, limits: ImageLimits) -> UiSearch:
    """Validate the photo, then search through ``near_grounded`` with the page's switches."""
    if form.image and form.product:
        raise InvalidInputError("choose a photo or a catalog product as the reference, not both")
    if form.price_min is not None and form.price_max is not None and form.price_min > form.price_max:
        raise InvalidInputError("the lowest price is above the highest")
    image = _reference(form, limits)
    options = ComposeOptions(
        remove_background=form.remove_background,
        caption=form.caption,
        image_weight=form.image_weight,
        fusion_method=form.fusion_method,
        direction_gain=form.direction_gain,
        return_cutout=image is not None or form.product is not None,
    )
    result = near_grounded(
        store,
        encoder,
        image=image,
        text=form.text,
        filters=_filters(form),
        limit=form.limit,
        options=options,
        product=form.product or None,
    )
    return UiSearch(form=form, result=result, reference=image)
