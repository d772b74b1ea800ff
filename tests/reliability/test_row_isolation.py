"""Issue 22, item 3: every import is row-isolated. A NUL character in an image path, a giant
CSV cell or line, and an unterminated quote are each one row's error in the report; the rows
around them are stored, and reading stays streaming (bounded memory whatever
``csv.field_size_limit`` says)."""

from __future__ import annotations

import csv
import json
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from plugin.ingest.catalog import MAX_FIELD_CHARS, MAX_ROW_CHARS, MAX_TITLE_CHARS, read_catalog
from plugin.ingest.pipeline import IngestReport, ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.lance.store import LanceStore
from tests.support.reliability import DIM, NamedFakeEncoder, png

pytestmark = pytest.mark.timeout(120)


def _import(catalog: Path, tmp_path: Path) -> tuple[IngestReport, set[str]]:
    """Import ``catalog`` (images: ``img.png`` beside it) into a fresh embedded store; the
    report and the ids stored."""
    (catalog.parent / "img.png").write_bytes(png((200, 10, 10)))
    store = LanceStore(tmp_path / "data", dimension=DIM)
    try:
        report = ingest_catalog(
            catalog, store=store, encoder=NamedFakeEncoder(), settings=PluginSettings(), progress=False
        )
        hits = store.search([1.0] * DIM, limit=100, return_properties=["product_id"])
        return report, {str(h.properties["product_id"]) for h in hits}
    finally:
        store.close()


def _reported(report: IngestReport) -> list[dict[str, object]]:
    """The failure lines of the JSONL report on disk."""
    assert report.report_path is not None and report.report_path.is_file()
    lines = [json.loads(line) for line in report.report_path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if "summary" not in line]


@pytest.fixture
def generous_csv_limit() -> Iterator[None]:
    """Whoever raises the process-wide ``csv.field_size_limit`` must not lift our bounds."""
    before = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        yield
    finally:
        csv.field_size_limit(before)


# --- failure 1: a NUL character in an image path --------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_nul_in_an_image_path_fails_only_its_row(tmp_path: Path, fmt: str) -> None:
    catalog = tmp_path / f"c.{fmt}"
    if fmt == "jsonl":
        catalog.write_text(
            '{"id": "a", "title": "A", "image": "img.png"}\n'
            '{"id": "b", "title": "B", "image": "img\\u0000.png"}\n'
            '{"id": "c", "title": "C", "image": "img.png"}\n',
            encoding="utf-8",
        )
    else:
        catalog.write_bytes(b"id,title,image\na,A,img.png\nb,B,img\x00.png\nc,C,img.png\n")
    report, stored = _import(catalog, tmp_path)
    assert stored == {"a", "c"}
    [failure] = report.failures
    assert (failure.row, failure.product_id) == (2 if fmt == "jsonl" else 3, "b")
    assert "NUL" in failure.reason
    assert _reported(report)[0]["product_id"] == "b"


def test_a_nul_in_an_image_url_fails_only_its_row(tmp_path: Path) -> None:
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(
        '{"id": "a", "title": "A", "image": "img.png"}\n'
        '{"id": "b", "title": "B", "image": "http://93.184.216.34/img\\u0000.png"}\n',
        encoding="utf-8",
    )
    report, stored = _import(catalog, tmp_path)
    assert stored == {"a"}
    [failure] = report.failures
    assert (failure.row, failure.product_id) == (2, "b") and "NUL" in failure.reason


@pytest.mark.parametrize(
    "image",
    ["x" * 5000 + ".png", "http://[::1/img.png", "http://a..b/img.png"],
    ids=["path-too-long-for-the-os", "url-that-does-not-parse", "host-idna-refuses"],
)
def test_an_image_reference_the_os_or_a_parser_refuses_fails_only_its_row(tmp_path: Path, image: str) -> None:
    catalog = tmp_path / "c.jsonl"
    rows = [{"id": "a", "title": "A", "image": "img.png"}, {"id": "b", "title": "B", "image": image}]
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report, stored = _import(catalog, tmp_path)
    assert stored == {"a"}
    [failure] = report.failures
    assert (failure.row, failure.product_id) == (2, "b") and len(failure.reason) < 400


# --- failure 2: giant CSV cells and lines ------------------------------------------------------


def test_a_cell_over_the_csv_modules_limit_fails_only_its_row(tmp_path: Path) -> None:
    catalog = tmp_path / "c.csv"
    giant = "x" * 131_073  # one over the csv module's default field limit
    catalog.write_text(
        f"id,title,description,image\na,A,,img.png\nb,B,{giant},img.png\nc,C,,img.png\n", encoding="utf-8"
    )
    report, stored = _import(catalog, tmp_path)
    assert stored == {"a", "c"}
    [failure] = report.failures
    assert (failure.row, failure.product_id) == (3, "b")
    assert "'description'" in failure.reason and f"{MAX_FIELD_CHARS:,}" in failure.reason


def test_the_cell_limit_holds_whatever_csv_field_size_limit_says(
    tmp_path: Path, generous_csv_limit: None
) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text(
        f"id,title,image\na,A,img.png\nb,{'y' * (MAX_FIELD_CHARS + 1)},img.png\n", encoding="utf-8"
    )
    first, second = list(read_catalog(catalog))
    assert first.product is not None
    assert second.product is None and second.error is not None and second.product_id == "b"
    assert "'title'" in second.error and f"{MAX_FIELD_CHARS:,}-character" in second.error


@pytest.mark.parametrize("quoted", [False, True], ids=["one-line", "quoted-multi-line"])
def test_a_giant_row_is_skipped_in_bounded_memory(
    tmp_path: Path, generous_csv_limit: None, quoted: bool
) -> None:
    catalog = tmp_path / "c.csv"
    size = 40 * MAX_ROW_CHARS
    giant = '"' + ("z" * 999 + "\n") * (size // 1000) + '"' if quoted else "z" * size
    catalog.write_text(f"id,title,image\na,A,img.png\nb,{giant},img.png\nc,C,img.png\n", encoding="utf-8")
    tracemalloc.start()
    try:
        rows = list(read_catalog(catalog))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # What a row at the limit costs (the csv module holds 4 bytes a character), not the row's size.
    assert peak < 10 * MAX_ROW_CHARS, f"peak {peak:,} bytes reading a {size:,}-character row"
    assert [r.product.id for r in rows if r.product is not None] == ["a", "c"]
    [bad] = [r for r in rows if r.product is None]
    assert (bad.row, bad.product_id) == (3, "b")
    assert bad.error is not None and bad.error.startswith("column 'title': ")
    assert f"{MAX_ROW_CHARS:,}-character" in bad.error


def test_a_giant_jsonl_line_fails_only_itself(tmp_path: Path) -> None:
    catalog = tmp_path / "c.jsonl"
    giant = json.dumps({"id": "b", "title": "B", "description": "d" * (2 * MAX_ROW_CHARS)})
    catalog.write_text(
        '{"id": "a", "title": "A", "image": "img.png"}\n' + giant + "\n"
        '{"id": "c", "title": "C", "image": "img.png"}\n',
        encoding="utf-8",
    )
    report, stored = _import(catalog, tmp_path)
    assert stored == {"a", "c"}
    [failure] = report.failures
    assert failure.row == 2 and f"{MAX_ROW_CHARS:,}-character" in failure.reason


def test_a_jsonl_value_over_the_field_limit_names_its_field(tmp_path: Path) -> None:
    catalog = tmp_path / "c.jsonl"
    line = {"id": "b", "title": "B", "attributes": {"notes": "n" * (MAX_FIELD_CHARS + 1)}}
    catalog.write_text(json.dumps(line) + "\n", encoding="utf-8")
    [row] = list(read_catalog(catalog))
    assert row.product is None and row.product_id == "b" and row.error is not None
    assert "attributes.notes" in row.error and f"{MAX_FIELD_CHARS:,}" in row.error


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_a_title_over_the_title_limit_is_refused_when_read(tmp_path: Path, fmt: str) -> None:
    catalog = tmp_path / f"c.{fmt}"
    title = "t" * (MAX_TITLE_CHARS + 1)
    if fmt == "jsonl":
        catalog.write_text(json.dumps({"id": "b", "title": title}) + "\n", encoding="utf-8")
    else:
        catalog.write_text(f"id,title\nb,{title}\n", encoding="utf-8")
    [row] = list(read_catalog(catalog))
    assert row.product is None and row.product_id == "b" and row.error is not None
    assert row.error.startswith("title:") and f"{MAX_TITLE_CHARS:,}" in row.error


# --- failure 6: an unterminated quote ----------------------------------------------------------


@pytest.mark.parametrize(
    "rest",
    ["b,Blue,img.png\nc,Green,img.png\n", 'b,Blue,img.png\nc,"Green",img.png\n'],
    ids=["runs-to-the-end", "closed-by-a-later-quote"],
)
def test_an_unterminated_quote_fails_its_row_and_swallows_nothing(tmp_path: Path, rest: str) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text('id,title,image\na,"Red dress,img.png\n' + rest, encoding="utf-8")
    report, stored = _import(catalog, tmp_path)
    assert stored == {"b", "c"}
    [failure] = report.failures
    assert (failure.row, failure.product_id) == (2, "a")
    assert "quote" in failure.reason and "line 2" in failure.reason


def test_a_multi_line_quoted_cell_still_loads(tmp_path: Path) -> None:
    catalog = tmp_path / "c.csv"
    catalog.write_text(
        "id,title,description,image\n"
        'a,A,"Soft cotton.\nMachine washable, dry flat\nor hang, in the shade.",img.png\n'
        'b,B,"Say ""hello""\nto it",img.png\n'
        "c,C,plain,img.png\n",
        encoding="utf-8",
    )
    rows = list(read_catalog(catalog))
    assert [(r.row, r.error) for r in rows] == [(2, None), (5, None), (7, None)]
    assert rows[0].product is not None
    assert rows[0].product.description == "Soft cotton.\nMachine washable, dry flat\nor hang, in the shade."
    assert rows[1].product is not None and rows[1].product.description == 'Say "hello"\nto it'
