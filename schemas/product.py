"""The catalog's product record, as users hand it to ``grounded ingest``."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Fixed namespace: the same product id gives the same object UUID in every store, on every run,
# so a re-run upserts instead of duplicating and an interrupted import resumes.
PRODUCT_NAMESPACE = uuid.UUID("6f0c8a1e-4b7a-5c2d-9e3f-1a2b3c4d5e6f")


class Product(BaseModel):
    """One catalog row. ``image`` is a file path (relative to the image folder), an http(s) URL,
    or raw bytes."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1, max_length=512)
    title: str = Field(min_length=1)
    description: str = ""
    category: str = ""
    brand: str = ""
    price: float | None = Field(default=None, ge=0)
    currency: str = ""
    attributes: dict[str, str] = Field(default_factory=dict)
    image: str | bytes | None = None

    @field_validator("attributes", mode="before")
    @classmethod
    def _attributes_as_strings(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
        return value

    @property
    def uuid(self) -> uuid.UUID:
        return product_uuid(self.id)


def product_uuid(product_id: str) -> uuid.UUID:
    """The deterministic object id of a product (UUIDv5 of its catalog id)."""
    return uuid.uuid5(PRODUCT_NAMESPACE, product_id)
