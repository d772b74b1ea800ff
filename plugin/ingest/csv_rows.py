"""Reading a CSV catalog (the format is described in :mod:`plugin.ingest.catalog`).

Rows are read by the csv module in strict mode from :class:`~plugin.ingest.lines.CatalogLines`,
so every row is bounded and a malformed one can be looked at: a quote left open (to the end of
the file, or into a line that is a row of its own) is the error of the row it opens on, and the
lines it ran into are read again as rows; any other malformed quoting is read leniently, as the
csv module does when it is not strict.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from plugin.ingest.lines import CatalogLines, RowTooLongError
from plugin.ingest.records import (
    CATALOG_ENCODING,
    MAX_FIELD_CHARS,
    MAX_ROW_CHARS,
    CatalogRow,
    product_row,
    short_name,
    undecodable,
)
from schemas.errors import InvalidInputError
from schemas.product import MAX_PRODUCT_ID_CHARS

__all__ = ["ATTRIBUTE_COLUMN_PREFIX", "read_csv"]

ATTRIBUTE_COLUMN_PREFIX = "attr_"
_CSV_DELIMITERS = (",", ";", "\t")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_PREFIX_CHARS = 64 * 1024
"""Characters of a row over the limit parsed for the cells before its giant one (its id)."""


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


def _allow_row_sized_cells() -> None:
    """Let the csv module read a cell as long as a row (it is process-wide, 131,072 by default;
    raised, never lowered): a cell over :data:`MAX_FIELD_CHARS` is then parsed, so its error can
    name its column. Memory is bounded by :class:`CatalogLines`, not by this."""
    if csv.field_size_limit() <= MAX_ROW_CHARS:
        csv.field_size_limit(MAX_ROW_CHARS + 1)


def _lenient(lines: list[tuple[int, str]], delimiter: str) -> list[str]:
    """The cells of these lines as the csv module reads a malformed row when it is not strict
    (what this reader accepted before it was)."""
    try:
        return next(csv.reader((text for _, text in lines), delimiter=delimiter), [])
    except csv.Error:
        return []


def _unclosed_quote(lines: list[tuple[int, str]], eof: bool, delimiter: str, width: int) -> str | None:
    """Why a malformed row is a quote left open (it ran to the end of the file, or into a line
    that is a row of its own), or ``None`` (a stray quote, read leniently as before)."""
    first = lines[0][0]
    later = [n for n, text in lines[1:] if width > 1 and len(_lenient([(n, text)], delimiter)) == width]
    if later:
        where = f"line {later[0]}, which looks like a row of its own"
    elif eof:
        where = "the end of the file"
    else:
        return None
    return (
        f"line {first}: a quoted cell opened on this line is not closed before {where} "
        '(close it; a quote inside a quoted cell is written twice: "")'
    )


def _csv_cells(
    lines: CatalogLines, reader: Iterator[list[str]], delimiter: str, header: list[str]
) -> Iterator[tuple[int, list[str], str | None]]:
    """``(first line, cells, error)`` of each row after the header; blank lines are skipped. A row
    with a quote left open is an error, and the lines it ran into are read again as rows."""
    while True:
        lines.start_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except RowTooLongError as exc:
            yield exc.first, *_cut_short(exc, delimiter, header)
            continue
        except csv.Error as exc:
            read = list(lines.row)
            problem = _unclosed_quote(read, "unexpected end of data" in str(exc), delimiter, len(header))
            if problem is not None:
                lines.again(read[1:])
                yield read[0][0], _lenient(read[:1], delimiter), problem
                continue
            cells = _lenient(read, delimiter)
            if not cells:
                yield read[0][0], [], f"cannot be read as CSV ({exc})"
                continue
        if cells:
            yield lines.row[0][0], cells, None


def _cut_short(exc: RowTooLongError, delimiter: str, header: list[str]) -> tuple[list[str], str]:
    """The cells of a row over the limit that precede the column it was in (the id among them,
    when it comes first), and the error naming that column."""
    text = "".join(exc.head)
    # Delimiters outside quotes (the even pieces between quotes) separate its cells so far: no
    # csv parse, which would hold 4 bytes per character of the giant cell.
    index = sum(part.count(delimiter) for part in text.split('"')[::2])
    before = _lenient([(exc.first, text[:_PREFIX_CHARS])], delimiter)
    return before[: min(len(before) - 1, index)], f"column {_column(header, index)}: {exc.message}"


def _column(header: list[str], index: int) -> str:
    if index >= len(header):
        return f"{index + 1} (past the header)"
    return repr(short_name(header[index]))


def _oversized_cell(header: list[str], cells: list[str]) -> str | None:
    for index, cell in enumerate(cells):
        if len(cell) > MAX_FIELD_CHARS:
            return (
                f"column {_column(header, index)} is {len(cell):,} characters, "
                f"over the {MAX_FIELD_CHARS:,}-character limit"
            )
    return None


def _record(header: list[str], cells: list[str]) -> dict[Any, Any]:
    """The cells by column name, as ``csv.DictReader`` gives them: extra cells under ``None``,
    missing ones ``None``."""
    record: dict[Any, Any] = dict(zip(header, cells, strict=False))
    record.update(dict.fromkeys(header[len(cells) :]))
    if len(cells) > len(header):
        record[None] = cells[len(header) :]
    return record


def _known_id(record: dict[Any, Any]) -> str | None:
    found = record.get("id")
    if not isinstance(found, str) or not found or len(found) > MAX_PRODUCT_ID_CHARS:
        return None
    return found if undecodable(found) is None else None


def read_csv(path: Path) -> Iterator[CatalogRow]:
    """Every row of the CSV catalog at ``path`` (see :mod:`plugin.ingest.catalog`)."""
    with path.open(encoding=CATALOG_ENCODING, errors="surrogateescape", newline="") as fh:
        delimiter = _delimiter(fh.readline(MAX_ROW_CHARS))
        fh.seek(0)
        _allow_row_sized_cells()
        lines = CatalogLines(fh, MAX_ROW_CHARS, quotes=True)
        # Strict: a quote closed in the middle of a cell, or never, is an error we can look at.
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        try:
            header = next(reader, [])
        except RowTooLongError as exc:
            raise InvalidInputError(f"catalog {path.name}: header row: {exc.message}") from None
        except csv.Error:
            header = _lenient(lines.row, delimiter)
        if not header:
            return
        header_problem = undecodable(",".join(header))
        if header_problem is not None:
            raise InvalidInputError(f"catalog {path.name}: header row is {header_problem}")
        for number, cells, error in _csv_cells(lines, reader, delimiter, header):
            record = _record(header, cells)
            if error is not None:
                yield CatalogRow(number, None, error, _known_id(record))
                continue
            if _empty_record(record):
                continue
            oversized = _oversized_cell(header, cells)
            if oversized is not None:
                yield CatalogRow(number, None, oversized, _known_id(record))
                continue
            bad_bytes = undecodable(",".join(cells))
            if bad_bytes is not None:
                yield CatalogRow(number, None, bad_bytes, _known_id(record))
                continue
            data = _csv_record(record, delimiter)
            if isinstance(data, str):
                yield CatalogRow(number, None, data, record.get("id") or None)
            else:
                yield product_row(number, data)
