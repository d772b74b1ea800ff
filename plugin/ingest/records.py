"""A catalog row as the readers hand it on: a valid :class:`~schemas.product.Product`, or the
reason it is not one; the limits every row is held to, whatever the file's format."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from schemas.product import MAX_PRODUCT_ID_CHARS, Product

__all__ = [
    "CATALOG_ENCODING",
    "MAX_FIELD_CHARS",
    "MAX_ROW_CHARS",
    "MAX_TITLE_CHARS",
    "UNDECODABLE",
    "CatalogRow",
    "product_row",
    "short_name",
    "undecodable",
    "validation_message",
]

MAX_TITLE_CHARS = 10_000
"""Longest title, in characters: the service's default ``max_text_chars``. Every title is
embedded, and the service refuses a longer text anyway; refusing it when the row is read keeps
giant texts off the wire (a 100 MB title over gRPC used to overflow the message limit and end
the whole import), so the in-process and the gRPC encoder fail such a row alike."""
MAX_FIELD_CHARS = 100_000
"""Longest value, in characters: a CSV cell, or a JSONL string (attribute names and values
included). Ample for a long product description."""
MAX_ROW_CHARS = 1_000_000
"""Longest row, in characters: a JSONL line, or a CSV row with all its lines. Files are read
in pieces of at most this, so memory stays bounded whatever a row holds."""

CATALOG_ENCODING = "utf-8-sig"
"""UTF-8, with or without the byte-order mark Excel's "CSV UTF-8" writes."""
# Files are read with errors="surrogateescape": each byte that is not UTF-8 becomes one of these
# code points, so a bad row can be found and reported instead of aborting the whole read.
UNDECODABLE = re.compile("[\udc80-\udcff]")
_NAME_SHOWN = 80
"""Characters of a field or column name quoted in an error message."""


def undecodable(text: str) -> str | None:
    """The error for a row holding non-UTF-8 bytes, or ``None``."""
    found = UNDECODABLE.search(text)
    if found is None:
        return None
    byte = ord(found.group()) - 0xDC00
    return f"not valid UTF-8 (byte 0x{byte:02x}); save the catalog as UTF-8"


def short_name(name: str) -> str:
    """A field or column name as an error message quotes it (a giant one cut short)."""
    return name if len(name) <= _NAME_SHOWN else name[:_NAME_SHOWN] + "..."


@dataclass(frozen=True)
class CatalogRow:
    """One line of the catalog: a valid product, or the reason it is not one."""

    row: int
    product: Product | None
    error: str | None = None
    product_id: str | None = None


def validation_message(exc: ValidationError) -> str:
    """A short, user-facing summary of a pydantic error: ``price: must be >= 0; title: missing``."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "row"
        parts.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts)


def _too_long(data: dict[str, Any]) -> str | None:
    """The error for a title over :data:`MAX_TITLE_CHARS` or a value over :data:`MAX_FIELD_CHARS`."""
    title = data.get("title")
    if isinstance(title, str) and len(title) > MAX_TITLE_CHARS:
        return f"title: {len(title):,} characters, over the {MAX_TITLE_CHARS:,}-character limit"
    values = [(str(k), v) for k, v in data.items()]
    attributes = data.get("attributes")
    if isinstance(attributes, dict):
        values += [(f"attributes.{k}", v) for k, v in attributes.items()]
        values += [("attributes (a name)", k) for k in attributes]
    for name, value in values:
        if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
            return (
                f"{short_name(name)}: {len(value):,} characters, over the {MAX_FIELD_CHARS:,}-character limit"
            )
    return None


def product_row(row: int, data: Any) -> CatalogRow:
    """Row ``row`` from its fields (a JSON object, or a CSV row's cells by column)."""
    product_id = None
    if isinstance(data, dict) and isinstance(data.get("id"), (str, int)) and data.get("id") != "":
        product_id = str(data["id"])[:MAX_PRODUCT_ID_CHARS]
    if not isinstance(data, dict):
        return CatalogRow(row, None, f"expected a JSON object, got {type(data).__name__}")
    too_long = _too_long(data)
    if too_long is not None:
        return CatalogRow(row, None, too_long, product_id)
    try:
        return CatalogRow(row, Product.model_validate(data), product_id=product_id)
    except ValidationError as exc:
        return CatalogRow(row, None, validation_message(exc), product_id)
