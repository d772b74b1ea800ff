"""The catalog's product record, as users hand it to ``grounded ingest``."""

from __future__ import annotations

import math
import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Fixed namespace: the same product id gives the same object UUID in every store, on every run,
# so a re-run upserts instead of duplicating and an interrupted import resumes.
PRODUCT_NAMESPACE = uuid.UUID("6f0c8a1e-4b7a-5c2d-9e3f-1a2b3c4d5e6f")

MAX_PRODUCT_ID_CHARS = 512


def _no_lone_surrogates(value: str) -> str:
    # A JSON "\udc80" escape (or a CSV byte read with surrogateescape) yields a string that is
    # not Unicode text: no store can write it, so refuse it here with a reason.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("not valid Unicode text (contains an unpaired surrogate)") from None
    return value


class Product(BaseModel):
    """One catalog row. ``image`` is a file path (relative to the image folder), an http(s) URL,
    or raw bytes.

    ``id`` may be given as a JSON integer (``12345``) and is stored as its decimal text; other
    types are refused rather than guessed (``1.0`` and ``1`` would be different products).
    ``price`` must be a finite number >= 0. Attribute values are text, numbers or booleans
    (stored as text: ``38``, ``true``); nested objects, lists and nulls are refused.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=MAX_PRODUCT_ID_CHARS)
    title: str = Field(min_length=1)
    description: str = ""
    category: str = ""
    brand: str = ""
    price: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    currency: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    image: str | bytes | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _integer_ids_as_text(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("expected a string or an integer, got a boolean")
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            raise ValueError("expected a string or an integer, got a decimal number")
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_a_number(cls, value: Any) -> Any:
        # pydantic's own message for NaN is "greater than or equal to 0", which misleads.
        if isinstance(value, float) and math.isnan(value):
            raise ValueError("must be a finite number, got NaN")
        if isinstance(value, str) and value.strip().lower() in ("nan", "+nan", "-nan"):
            raise ValueError("must be a finite number, got NaN")
        return value

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes_as_strings(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out: dict[str, str] = {}
        for key, item in value.items():
            if isinstance(item, bool):
                out[str(key)] = "true" if item else "false"
            elif isinstance(item, (str, int)) or (isinstance(item, float) and math.isfinite(item)):
                out[str(key)] = str(item)
            else:
                kind = "null" if item is None else type(item).__name__
                kind = {"dict": "an object", "list": "a list", "float": "a non-finite number"}.get(kind, kind)
                raise ValueError(f"{key!r}: expected text, a number or a boolean, got {kind}")
        return out

    @field_validator("id", "title", "description", "category", "brand", "currency", "image")
    @classmethod
    def _valid_text(cls, value: Any) -> Any:
        return _no_lone_surrogates(value) if isinstance(value, str) else value

    @field_validator("attributes")
    @classmethod
    def _valid_attribute_text(cls, value: dict[str, str]) -> dict[str, str]:
        for key, item in value.items():
            _no_lone_surrogates(key)
            _no_lone_surrogates(item)
        return value

    @property
    def uuid(self) -> uuid.UUID:
        return product_uuid(self.id)


def product_uuid(product_id: str) -> uuid.UUID:
    """The deterministic object id of a product (UUIDv5 of its catalog id)."""
    return uuid.uuid5(PRODUCT_NAMESPACE, product_id)
