"""The outcome of ``grounded ingest``: counts, every failed row with its reason, and the JSON
Lines report (one line per failed row, then a summary line)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["IngestReport", "RowFailure", "write_report"]


@dataclass
class RowFailure:
    """One catalog row that is not in the store, and why."""

    row: int
    product_id: str | None
    reason: str


@dataclass
class IngestReport:
    """What an import did: counts, every failed row with its reason, the store's count after."""

    total_rows: int
    upserted: int
    """Rows written: new products plus the ``updated`` ones."""
    skipped_existing: int
    """Rows stored already with the same fingerprint (unchanged): not embedded again."""
    failures: list[RowFailure]
    store_count: int
    report_path: Path | None
    count_problem: str | None = field(default=None)
    """Set when the objects found in the store after the import do not match the input."""
    updated: int = 0
    """Rows that were stored with other content (record, image or model) and were replaced."""
    counts_exact: bool = True
    """False where the store cannot tell what it held at the moment it wrote (Weaviate): new,
    updated and unchanged then follow a read just before each write, and another import
    writing the same products at the same time can make both count them as new."""

    tags_written: int = 0
    """Auto-tags written (``--auto-tag``): missing attributes filled from the photo."""
    tags_abstained: int = 0
    """Missing attributes auto-tagging left empty: the model was not sure enough."""

    @property
    def ok(self) -> bool:
        return not self.failures and self.count_problem is None


def write_report(path: Path, report: IngestReport) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for f in sorted(report.failures, key=lambda f: f.row):
            fh.write(json.dumps({"row": f.row, "product_id": f.product_id, "reason": f.reason}) + "\n")
        summary = {
            "total_rows": report.total_rows,
            "upserted": report.upserted,
            "updated": report.updated,
            "skipped_existing": report.skipped_existing,
            "failed": len(report.failures),
            "store_count": report.store_count,
            "count_problem": report.count_problem,
            "counts_exact": report.counts_exact,
            "tags_written": report.tags_written,
            "tags_abstained": report.tags_abstained,
        }
        fh.write(json.dumps({"summary": summary}) + "\n")
