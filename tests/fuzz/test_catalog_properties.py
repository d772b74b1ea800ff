"""The catalog readers (``plugin.ingest``: JSONL and CSV) on generated files: any bytes, and
files made of plausible rows (JSON objects with odd fields, CSV with quotes, delimiters, long
cells, bad UTF-8) cut anywhere.

The property: reading gives rows, each a product or an error that says what is wrong with it
(with its row number), or raises :class:`InvalidInputError` naming the file; never another
exception. A file's rows never number more than its lines.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from plugin.ingest import count_rows, read_catalog
from schemas.errors import InvalidInputError
from tests.support.fuzz import TALLY, property_settings

_FIELDS = ["id", "title", "category", "price", "brand", "image", "attributes", "description", "currency", "x"]
_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=30),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8) | st.integers() | st.none(), max_size=4),
    st.lists(st.integers(), max_size=3),
)  # fmt: skip
_ROW = st.one_of(
    st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=6), _VALUES, max_size=8),
    st.fixed_dictionaries(
        {"id": st.text(min_size=1, max_size=12) | st.integers(), "title": st.text(min_size=1, max_size=20)},
        optional={
            **{k: st.text(max_size=12) for k in ("category", "brand", "description", "currency")},
            "price": st.floats(min_value=0) | st.integers() | st.text(max_size=6),
            "attributes": st.dictionaries(
                st.text(max_size=8), st.text(max_size=8) | st.integers(), max_size=4
            ),
        },
    ),
)
_CELL = st.one_of(
    st.text(max_size=30), st.sampled_from(['"', '""', ",", ";", "\t", "\n", "\r\n", "\ufeff", "nan"])
)


def _jsonl(rows: list[object], junk: list[str]) -> bytes:
    lines = [json.dumps(r) for r in rows] + junk
    return "\n".join(lines).encode("utf-8", "surrogatepass")


def _csv(header: list[str], rows: list[list[str]], delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8", "surrogatepass")


_JSONL = st.builds(_jsonl, st.lists(_ROW | _VALUES, max_size=10), st.lists(st.text(max_size=40), max_size=3))
_CSV = st.builds(
    _csv,
    st.just(["id", "title"]) | st.lists(st.sampled_from(_FIELDS) | st.text(max_size=6), max_size=6),
    st.lists(st.lists(_CELL, max_size=7) | st.tuples(st.integers(), _CELL).map(list), max_size=10),
    st.sampled_from([",", ";", "\t", "|"]),
)


@st.composite
def _damaged(draw: st.DrawFn, files: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(files))
    for _ in range(draw(st.integers(0, 4))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(
                st.sampled_from([0xFF, 0xC3, 0x00, 0x22, 0x0A, 0x2C])
            )
    return bytes(data[: draw(st.integers(0, len(data)))])


def _read(data: bytes, suffix: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"catalog{suffix}"
        path.write_bytes(data)
        try:
            rows = list(read_catalog(path))
        except InvalidInputError as exc:
            assert path.name in exc.message, exc.message
            return "refused"
        lines = count_rows(path)
    assert lines is not None and len(rows) <= max(lines, 1)
    for row in rows:
        assert row.row >= 1
        assert (row.product is None) != (row.error is None), row
        if row.error is not None:
            assert row.error.strip()
    return "some products" if any(r.product is not None for r in rows) else "no products"


@given(st.one_of(_JSONL, _damaged(_JSONL), st.binary(max_size=500)))
@property_settings()
def test_jsonl_reads_as_rows_or_our_error(data: bytes) -> None:
    TALLY.record("catalog reader (JSONL)", _read(data, ".jsonl"))


@given(st.one_of(_CSV, _damaged(_CSV), st.binary(max_size=500)))
@property_settings()
def test_csv_reads_as_rows_or_our_error(data: bytes) -> None:
    TALLY.record("catalog reader (CSV)", _read(data, ".csv"))
