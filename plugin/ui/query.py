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
from schemas.errors import InvalidInputError, NotFoundError
from schemas.limits import MAX_TEMPLATE_CHARS
from schemas.wire import (
    MAX_DIRECTION_GAIN,
    BackgroundChoice,
    ComposeOptions,
    FusionMethod,
)
from vectorizer_service import ImageLimits, base64_to_bytes, decode_image

__all__ = [
    "MAX_API_RESULTS",
    "MAX_RESULTS",
    "ApiSearchRequest",
    "SearchForm",
    "UiSearch",
    "filters_of",
    "parse_form",
    "run_search",
]

MAX_RESULTS = 60
"""Most products one page shows."""

MAX_API_RESULTS = 1_000
"""Most products one ``/api/search`` answer carries."""

MAX_TEXT_CHARS = 500
"""Longest requested change the page accepts."""

_FIELD_NAMES = {
    "image": "the photo",
    "product": "the product id",
    "text": "the change",
    "category": "the category",
    "price_min": "the lowest price",
    "price_max": "the highest price",
    "attributes": "the filters",
    "image_weight": "the image weight",
    "direction_gain": "the direction gain",
    "fusion_method": "the fusion method",
    "limit": "the number of results",
    "brand": "the brand",
    "include_reference": "include the reference",
    "template": "the fusion template",
}
"""The form's fields as the page labels them: an error names what the shopper sees."""
NOTHING_TO_SEARCH = "Add a photo, pick a product, or describe what you are looking for."


class SearchForm(BaseModel):
    """The page's query: a photo (base64) or a catalog product as the reference, the change,
    filters and the per-stage switches."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    image: str | None = Field(None, description="reference photo, base64 or a data: URL")
    product: str | None = Field(None, max_length=512, description="a catalog product id as the reference")
    text: str = Field("", max_length=MAX_TEXT_CHARS)
    category: str | list[str] | None = Field(None, description="a category, or any of several")
    brand: str | None = None
    price_min: float | None = Field(None, ge=0)
    price_max: float | None = Field(None, ge=0)
    attributes: dict[str, str] = Field(default_factory=dict)
    remove_background: BackgroundChoice | None = None
    """None: the server's default (``auto`` unless configured otherwise); "auto" asks for the
    per-photo decision whatever the default."""
    caption: bool | None = None
    image_weight: float | None = Field(None, ge=0.0, le=1.0)
    fusion_method: FusionMethod | None = None
    direction_gain: float | None = Field(None, ge=0.0, le=MAX_DIRECTION_GAIN)
    limit: int = Field(12, ge=1, le=MAX_RESULTS)
    include_reference: bool = Field(False, description="with a product: it may be a result itself")
    template: str | None = Field(None, max_length=MAX_TEMPLATE_CHARS, description="the fusion template")


class ApiSearchRequest(SearchForm):
    """``POST /api/search``: the page's query for programs (``grounded search --search-url``),
    with the store's own result limit."""

    limit: int = Field(10, ge=1, le=MAX_API_RESULTS)


@dataclass
class UiSearch:
    """A search as the page shows it: the form, the result, and the reference photo's bytes."""

    form: SearchForm
    result: GroundedResult
    reference: bytes | None


def parse_form(body: bytes, model: type[SearchForm] = SearchForm) -> SearchForm:
    """The form (or ``model``, e.g. :class:`ApiSearchRequest`) from a JSON body; every problem is
    one :class:`InvalidInputError` line."""
    try:
        # Strict: a value of another JSON type is refused, not coerced ("direction_gain": true
        # read as 1.0); the page's script sends each field with its declared type.
        return model.model_validate_json(body or b"{}", strict=True)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else ""
        where = _FIELD_NAMES.get(field, field or "the query")
        message = str(err["msg"]).replace("Input should be", "should be")
        raise InvalidInputError(f"{where[0].upper()}{where[1:]}: {message}.") from None


def _reference(form: SearchForm, limits: ImageLimits) -> bytes | None:
    if not form.image:
        return None
    try:
        data = base64_to_bytes(form.image, limits.max_bytes)
        decode_image(data, limits)
    except InvalidInputError as exc:
        raise InvalidInputError(f"The uploaded photo could not be used: {exc.message}.") from None
    return data


def filters_of(form: SearchForm) -> ProductFilter:
    """The store filter the form asks for (empty attribute keys or values dropped)."""
    attributes = {k: v for k, v in form.attributes.items() if k and v}
    return ProductFilter(
        category=form.category or None,
        brand=form.brand or None,
        price_min=form.price_min,
        price_max=form.price_max,
        attributes=attributes,
    )


def run_search(
    store: ProductStore, encoder: QueryEncoder, form: SearchForm, limits: ImageLimits, *, cutout: bool = True
) -> UiSearch:
    """Validate the photo, then search through ``near_grounded`` with the page's switches.

    Errors are worded for shoppers (the page shows them as they are), not in the API's terms."""
    if not (form.image or form.product or form.text):
        raise InvalidInputError(NOTHING_TO_SEARCH)
    if form.image and form.product:
        raise InvalidInputError("Choose a photo or a catalog product as the reference, not both.")
    if form.price_min is not None and form.price_max is not None and form.price_min > form.price_max:
        raise InvalidInputError("The lowest price is above the highest price.")
    image = _reference(form, limits)
    options = ComposeOptions(
        remove_background=form.remove_background,
        caption=form.caption,
        image_weight=form.image_weight,
        fusion_method=form.fusion_method,
        direction_gain=form.direction_gain,
        template=form.template or None,
        return_cutout=cutout and (image is not None or form.product is not None),
    )
    try:
        result = near_grounded(
            store,
            encoder,
            image=image,
            text=form.text,
            filters=filters_of(form),
            limit=form.limit,
            options=options,
            product=form.product or None,
            include_reference=form.include_reference,
        )
    except NotFoundError:
        if not form.product:
            raise
        raise NotFoundError(
            f"There is no product {form.product!r} in this catalog: "
            "pick one from the results or the examples."
        ) from None
    return UiSearch(form=form, result=result, reference=image)
