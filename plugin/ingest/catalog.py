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

Rows are yielded lazily with their 1-based line number in the file (for CSV the header is line
1; a row whose quoted cell spans lines is numbered by its first line), and a row that cannot be
read becomes a :class:`CatalogRow` with an ``error`` instead of stopping the import. Files are
UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8" writes one); a line holding bytes
that are not UTF-8 is that row's error, and the rows around it still load.

Limits, each one row's error naming the row, the column and the limit (never the file's):
:data:`MAX_TITLE_CHARS` per title, :data:`MAX_FIELD_CHARS` per value (a CSV cell, a JSONL string)
and :data:`MAX_ROW_CHARS` per row (a JSONL line; a CSV row with all its lines). Files are read in
pieces of at most a row, so a giant row is skipped in bounded memory, whatever the process-wide
``csv.field_size_limit`` says. A CSV quote that is never closed (``a,"Red dress,img.png``) is the
error of the row it opens on, and the lines it ran into are read again as rows of their own;
a quoted cell that legitimately spans lines (a description with a line break) still loads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from plugin.ingest.csv_rows import ATTRIBUTE_COLUMN_PREFIX, read_csv
from plugin.ingest.lines import CatalogLines, RowTooLongError
from plugin.ingest.records import (
    CATALOG_ENCODING,
    MAX_FIELD_CHARS,
    MAX_ROW_CHARS,
    MAX_TITLE_CHARS,
    UNDECODABLE,
    CatalogRow,
    product_row,
    undecodable,
    validation_message,
)
from schemas.errors import InvalidInputError

__all__ = [
    "ATTRIBUTE_COLUMN_PREFIX",
    "MAX_FIELD_CHARS",
    "MAX_ROW_CHARS",
    "MAX_TITLE_CHARS",
    "CatalogRow",
    "count_rows",
    "read_catalog",
    "validation_message",
]

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_COUNT_PIECE = 1024 * 1024
_LEADING_ID = re.compile(r'\s*\{\s*"id"\s*:\s*("(?:[^"\\]|\\.){1,512}"|\d{1,64})')


def _readable_id(line: str) -> str | None:
    """The id of a JSONL line with bad bytes elsewhere, to name the row in the report."""
    try:
        data = json.loads(UNDECODABLE.sub("\ufffd", line))
    except json.JSONDecodeError:
        return None
    found = data.get("id") if isinstance(data, dict) else None
    return str(found) if isinstance(found, (str, int)) and "\ufffd" not in str(found) else None


def _leading_id(text: str) -> str | None:
    """The id of a JSONL line too long to parse, when it comes first (``{"id": "p1", ...``)."""
    found = _LEADING_ID.match(text)
    if found is None:
        return None
    try:
        value = json.loads(found.group(1))
    except json.JSONDecodeError:
        return None
    return str(value) if undecodable(str(value)) is None else None


def _jsonl(path: Path) -> Iterator[CatalogRow]:
    with path.open(encoding=CATALOG_ENCODING, errors="surrogateescape") as fh:
        lines = CatalogLines(fh, MAX_ROW_CHARS, quotes=False)
        while True:
            lines.start_row()
            try:
                line = next(lines)
            except StopIteration:
                return
            except RowTooLongError as exc:
                yield CatalogRow(exc.first, None, exc.message, _leading_id(exc.head[0]))
                continue
            number = lines.row[0][0]
            if not line.strip():
                continue
            bad_bytes = undecodable(line)
            if bad_bytes is not None:
                yield CatalogRow(number, None, bad_bytes, _readable_id(line))
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                yield CatalogRow(number, None, f"bad JSON: {exc.msg} at column {exc.colno}")
                continue
            yield product_row(number, data)


def read_catalog(path: Path) -> Iterator[CatalogRow]:
    """Every row of the catalog at ``path`` (``.jsonl``/``.ndjson``/``.json`` or ``.csv``)."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InvalidInputError(f"catalog not found: {path}")
    if suffix == ".csv":
        return read_csv(path)
    if suffix in _JSONL_SUFFIXES:
        return _jsonl(path)
    raise InvalidInputError(f"catalog {path.name}: unknown format {suffix!r} (use .jsonl or .csv)")


def count_rows(path: Path) -> int | None:
    """How many rows ``read_catalog`` will yield at most (for the progress bar): the lines that
    are not blank, counted in pieces (a giant line is never held)."""
    lines = 0
    content = False
    try:
        with path.open("rb") as fh:
            while piece := fh.read(_COUNT_PIECE):
                # The readers open the file with universal newlines: "\r" alone ends a line too. A
                # "\r\n" split between pieces reads as a blank line more, which counts nothing.
                parts = piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
                for part in parts[:-1]:
                    lines += content or bool(part.strip())
                    content = False
                content = content or bool(parts[-1].strip())
    except OSError:
        return None
    lines += content
    return max(lines - 1, 0) if path.suffix.lower() == ".csv" else lines
