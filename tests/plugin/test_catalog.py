"""Reading JSONL and CSV catalogs: row numbers, attributes columns, per-row errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.catalog import count_rows, read_catalog
from schemas.errors import InvalidInputError

pytestmark = pytest.mark.plugin


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
