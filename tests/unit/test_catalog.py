"""Reading JSONL and CSV catalogs: row numbers, attributes columns, per-row errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.ingest.catalog import count_rows, read_catalog
from schemas.errors import InvalidInputError


def test_jsonl_rows_keep_line_numbers_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "a", "title": "A", "attributes": {"size": 38}}\n\n[1, 2]\n'
        '{"id": "b"}\n{"id": "c", "title": "C", "colour": "red"}\n'
    )
    rows = list(read_catalog(path))
    assert [r.row for r in rows] == [1, 3, 4, 5]
    assert rows[0].product is not None and rows[0].product.attributes == {"size": "38"}
    assert rows[1].error == "expected a JSON object, got list"
    assert rows[2].product_id == "b" and rows[2].error is not None and "title" in rows[2].error
    assert rows[3].error is not None and "colour" in rows[3].error
    assert count_rows(path) == 4


def test_csv_attribute_columns_and_json_column(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(
        "id,title,price,attributes,attr_colour,attr_size\n"
        'a,A,12.5,"{""fit"": ""slim"", ""colour"": ""blue""}",red,\n'
        "b,B,,,,M\n"
        "c,C,cheap,,,\n"
        "d,D,1,{bad,,\n"
    )
    rows = list(read_catalog(path))
    assert [r.row for r in rows] == [2, 3, 4, 5]
    a, b, c, d = rows
    assert a.product is not None and a.product.attributes == {"fit": "slim", "colour": "red"}
    assert a.product.price == 12.5
    assert b.product is not None and b.product.price is None and b.product.attributes == {"size": "M"}
    assert c.product is None and c.error is not None and c.error.startswith("price:")
    assert d.error is not None and "attributes: bad JSON" in d.error


def test_unknown_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.xml"
    path.write_text("<x/>")
    with pytest.raises(InvalidInputError, match="unknown format"):
        read_catalog(path)


def test_excel_semicolon_csv_with_decimal_commas(tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" in a German or French locale: BOM, CRLF, ';' between cells, decimal
    # commas, a quoted cell holding both separators and a line break.
    path = tmp_path / "export.csv"
    path.write_bytes(
        "\ufeffid;title;description;price;attr_farbe\r\n"
        '1;Kleid;"rot; lang,\r\nmit Ärmeln";49,90;rot\r\n'
        "2;Hemd;;12;blau\r\n"
        "3;Jacke;;1.234,50;\r\n".encode()
    )
    rows = list(read_catalog(path))
    first, second, third = rows
    assert first.product is not None and first.product.id == "1"
    assert first.product.description == "rot; lang,\r\nmit Ärmeln"
    assert first.product.price == 49.9 and first.product.attributes == {"farbe": "rot"}
    assert second.product is not None and second.product.price == 12.0
    # Only a plain decimal comma is rewritten; anything else stays a per-row error.
    assert third.product is None and third.error is not None and third.error.startswith("price:")


@pytest.mark.parametrize(
    ("header", "line"),
    [
        ("id\ttitle\tprice", "a\tA, the first\t1.5"),
        ("id,title,price", 'a,"A; the first",1.5'),
        ('"id;x;y;z",title,price', "a,A,1.5"),
    ],
    ids=["tabs", "a-semicolon-in-a-cell", "semicolons-in-quoted-header-cells"],
)
def test_the_separator_is_read_from_the_header(tmp_path: Path, header: str, line: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(f"{header}\n{line}\n")
    (row,) = list(read_catalog(path))
    assert row.error is None or "title" not in row.error  # the title column was found
    if header.startswith('"'):  # comma-separated: the first column is named "id;x;y;z"
        assert row.error is not None and "id: Field required" in row.error
    else:
        assert row.product is not None and row.product.price == 1.5 and row.product.title.startswith("A")


def test_csv_rows_of_empty_cells_are_blank_lines(tmp_path: Path) -> None:
    # What a spreadsheet exports below its data once cells there were touched.
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,title,image\r\na,A,a.png\r\n,,\r\n , ,\r\nb,B,b.png\r\n,,\r\n,,,,\r\n")
    rows = list(read_catalog(path))
    assert [(r.row, r.product.id if r.product else r.error) for r in rows] == [(2, "a"), (5, "b")]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_count_rows_counts_old_mac_line_ends_as_the_readers_do(tmp_path: Path, suffix: str) -> None:
    # Found by tests/fuzz: the readers end a line at a lone "\r" (universal newlines), the count
    # did not, so the progress bar's total was below the rows read.
    path = tmp_path / f"c{suffix}"
    if suffix == ".csv":
        path.write_bytes(b"id,title\ra,A\rb,B\r\nc,C\n")
    else:
        path.write_bytes(
            b'{"id": "a", "title": "A"}\r{"id": "b", "title": "B"}\r\n\r{"id": "c", "title": "C"}'
        )
    rows = list(read_catalog(path))
    assert [r.product.id for r in rows if r.product is not None] == ["a", "b", "c"]
    assert count_rows(path) == 3
