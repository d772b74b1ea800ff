"""Issue 14, point 3: catalogs with bad bytes, a byte-order mark, numeric ids and bad numbers
load every good row and report every bad one with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.ingest.catalog import read_catalog
from plugin.ingest.pipeline import ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.lance.store import LanceStore
from tests.support.reliability import DIM, NamedFakeEncoder, png

pytestmark = pytest.mark.timeout(60)


def _import(catalog: Path, tmp_path: Path) -> tuple[object, LanceStore]:
    (catalog.parent / "img.png").write_bytes(png((200, 10, 10)))
    store = LanceStore(tmp_path / "data", dimension=DIM)
    report = ingest_catalog(
        catalog, store=store, encoder=NamedFakeEncoder(), settings=PluginSettings(), progress=False
    )
    return report, store


def test_a_non_utf8_byte_fails_only_its_jsonl_row(tmp_path: Path) -> None:
    catalog = tmp_path / "c.jsonl"
    catalog.write_bytes(
        b'{"id": "a", "title": "A", "image": "img.png"}\n'
        b'{"id": "b", "title": "caf\xe9", "image": "img.png"}\n'
        b'{"id": "c", "title": "C", "image": "img.png"}\n'
    )
    report, store = _import(catalog, tmp_path)
    assert store.count() == 2
    [failure] = report.failures  # type: ignore[attr-defined]
    assert (failure.row, failure.product_id) == (2, "b")
    assert "not valid UTF-8 (byte 0xe9)" in failure.reason
    assert report.report_path is not None  # type: ignore[attr-defined]


def test_excel_csv_with_a_byte_order_mark_and_a_bad_byte(tmp_path: Path) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_bytes(b"\xef\xbb\xbfid,title,image\nx,X,img.png\ny,caf\xe9,img.png\nz,Z,img.png\n")
    report, store = _import(catalog, tmp_path)
    assert store.count() == 2
    assert [(f.row, f.product_id) for f in report.failures] == [(3, "y")]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"id": "p", "title": "T", "price": Infinity}', "price: Input should be a finite number"),
        ('{"id": "p", "title": "T", "price": NaN}', "price: must be a finite number, got NaN"),
        ('{"id": "p", "title": "T", "attributes": {"size": {"eu": 38}}}', "'size': expected text"),
        ('{"id": "p", "title": "T", "attributes": {"size": null}}', "got null"),
        ('{"id": 1.5, "title": "T"}', "id: expected a string or an integer"),
    ],
)
def test_bad_values_are_refused_with_a_reason(tmp_path: Path, line: str, expected: str) -> None:
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(line + "\n", encoding="utf-8")
    [row] = list(read_catalog(catalog))
    assert row.product is None and row.error is not None
    assert expected in row.error


def test_numeric_ids_and_scalar_attributes_are_accepted(tmp_path: Path) -> None:
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(
        '{"id": 12345, "title": "T", "attributes": {"size": 38, "organic": true}}\n', encoding="utf-8"
    )
    [row] = list(read_catalog(catalog))
    assert row.product is not None
    assert row.product.id == "12345"
    assert row.product.attributes == {"size": "38", "organic": "true"}
