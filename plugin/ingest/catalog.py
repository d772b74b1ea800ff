"""Reading a product catalog: JSON Lines or CSV, one product per line or row.

JSONL: one JSON object per line with the fields of :class:`schemas.product.Product`; blank lines
are skipped. CSV: a header row naming the fields; rows of empty cells (``,,,``, which spreadsheets
leave below the data) are skipped like blank lines. Attributes come either as one ``attributes``
column holding a JSON object (``{"colour": "red"}``) or as ``attr_<name>`` columns
(``attr_colour``), whose empty cells are left out; both may be combined (columns win). An empty
``price`` cell means no price.

CSV cells are separated by commas, or by semicolons or tabs when the header row holds more of
those than commas: Excel writes semicolons wherever the decimal separator is a comma (German,
French, ... locales). In a semicolon-separated file a price with a decimal comma (``49,90``) is
read as ``49.90``, since that is how the same Excel writes numbers there.

Rows are yielded lazily with their 1-based line number in the file (for CSV the header is line 1),
and a row that cannot be read becomes a :class:`CatalogRow` with an ``error`` instead of stopping
the import. Files are UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one);
a line holding bytes that are not UTF-8 is that row's error, and the rows around it still load.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schemas.errors import InvalidInputError
from schemas.product import Product

__all__ = ["ATTRIBUTE_COLUMN_PREFIX", "CatalogRow", "count_rows", "read_catalog", "validation_message"]

ATTRIBUTE_COLUMN_PREFIX = "attr_"
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
# Files are read with errors="surrogateescape": each byte that is not UTF-8 becomes one of these
# code points, so a bad row can be found and reported instead of aborting the whole read.
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_ENCODING = "utf-8-sig"
_CSV_DELIMITERS = (",", ";", "\t")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")


def _undecodable(text: str) -> str | None:
    """The error for a row holding non-UTF-8 bytes, or ``None``."""
    found = _UNDECODABLE.search(text)
    if found is None:
        return None
    byte = ord(found.group()) - 0xDC00
    return f"not valid UTF-8 (byte 0x{byte:02x}); save the catalog as UTF-8"


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


def _product(row: int, data: Any) -> CatalogRow:
    product_id = None
    if isinstance(data, dict) and isinstance(data.get("id"), (str, int)) and data.get("id") != "":
        product_id = str(data["id"])
    if not isinstance(data, dict):
        return CatalogRow(row, None, f"expected a JSON object, got {type(data).__name__}")
    try:
        return CatalogRow(row, Product.model_validate(data), product_id=product_id)
    except ValidationError as exc:
        return CatalogRow(row, None, validation_message(exc), product_id)


def _readable_id(line: str) -> str | None:
    """The id of a JSONL line with bad bytes elsewhere, to name the row in the report."""
    try:
        data = json.loads(_UNDECODABLE.sub("\ufffd", line))
    except json.JSONDecodeError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return str(found) if isinstance(found, (str, int)) and "\ufffd" not in str(found) else None


def _jsonl(path: Path) -> Iterator[CatalogRow]:
    with path.open(encoding=_ENCODING, errors="surrogateescape") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            bad_bytes = _undecodable(line)
            if bad_bytes is not None:
                yield CatalogRow(number, None, bad_bytes, _readable_id(line))
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield CatalogRow(number, None, f"bad JSON: {exc.msg} at column {exc.colno}")
                continue
            yield _product(number, data)


def _delimiter(header: str) -> str:
    """The separator of a CSV file, from its header row: a comma unless semicolons or tabs
    outnumber commas outside quoted cells."""
    counts = dict.fromkeys(_CSV_DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(_CSV_DELIMITERS, key=lambda d: counts[d])  # a tie keeps the comma (listed first)
    return best if counts[best] > 0 else ","


def _csv_record(record: dict[str, Any], delimiter: str = ",") -> dict[str, Any] | str:
    """CSV cells -> a Product-shaped dict, or an error message."""
    data: dict[str, Any] = {}
    attributes: dict[str, str] = {}
    for key, value in record.items():
        if key is None:
            return "more cells than header columns"
        cell = (value or "").strip()
        if key.startswith(ATTRIBUTE_COLUMN_PREFIX):
            if cell:
                attributes[key[len(ATTRIBUTE_COLUMN_PREFIX) :]] = cell
        elif key == "attributes":
            if cell:
                try:
                    parsed = json.loads(cell)
                except json.JSONDecodeError as exc:
                    return f"attributes: bad JSON ({exc.msg})"
                if not isinstance(parsed, dict):
                    return "attributes: expected a JSON object"
                attributes = {**parsed, **attributes}
        elif key == "price":
            if cell:
                decimal_comma = delimiter == ";" and _DECIMAL_COMMA.match(cell)
                data["price"] = cell.replace(",", ".") if decimal_comma else cell
        elif cell or key in ("id", "title"):
            data[key] = cell
    if attributes:
        data["attributes"] = attributes
    return data


def _empty_record(record: dict[Any, Any]) -> bool:
    """A row of empty cells (``,,,``): a blank line, as spreadsheets leave below the data."""
    cells = [v for k, v in record.items() if k is not None]
    extra = record.get(None) or []
    return all(not (cell or "").strip() for cell in [*cells, *extra])


def _csv(path: Path) -> Iterator[CatalogRow]:
    with path.open(encoding=_ENCODING, errors="surrogateescape", newline="") as fh:
        delimiter = _delimiter(fh.readline())
        fh.seek(0)
        reader = csv.DictReader(fh, delimiter=delimiter)
        if not reader.fieldnames:
            return
        header_problem = _undecodable(",".join(reader.fieldnames))
        if header_problem is not None:
            raise InvalidInputError(f"catalog {path.name}: header row is {header_problem}")
        for record in reader:
            number = reader.line_num
            if _empty_record(record):
                continue
            bad_bytes = _undecodable(",".join(str(v) for v in record.values() if v is not None))
            if bad_bytes is not None:
                record_id = record.get("id") or None
                readable_id = record_id if record_id and _undecodable(record_id) is None else None
                yield CatalogRow(number, None, bad_bytes, readable_id)
                continue
            data = _csv_record(record, delimiter)
            if isinstance(data, str):
                yield CatalogRow(number, None, data, record.get("id") or None)
            else:
                yield _product(number, data)


def read_catalog(path: Path) -> Iterator[CatalogRow]:
    """Every row of the catalog at ``path`` (``.jsonl``/``.ndjson``/``.json`` or ``.csv``)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInputError(f"catalog not found: {path}")
    if suffix == ".csv":
        return _csv(path)
    if suffix in _JSONL_SUFFIXES:
        return _jsonl(path)
    raise InvalidInputError(f"catalog {path.name}: unknown format {suffix!r} (use .jsonl or .csv)")


def count_rows(path: Path) -> int | None:
    """How many rows ``read_catalog`` will yield at most (for the progress bar; cheap line count)."""
    try:
        with path.open("rb") as fh:
            lines = sum(1 for line in fh if line.strip())
    except OSError:
        return None
    return max(lines - 1, 0) if path.suffix.lower() == ".csv" else lines
