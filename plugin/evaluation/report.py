"""Write an evaluation: a terminal table (rich), ``eval.md``, ``eval.json`` and, for
unlabelled splits, the files the benchmark's evaluation server expects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plugin.evaluation.configs import EvalConfig
from plugin.evaluation.runner import EvalRun

__all__ = ["print_table", "report_dict", "to_markdown", "write_report", "write_submissions"]


def _title(run: EvalRun) -> str:
    d = run.dataset
    cached = ", gallery from cache" if run.gallery_from_cache else ""
    return (
        f"{d.name} {d.split}: {len(d.queries)} queries, {run.gallery_size} gallery images, "
        f"model {run.model.name} ({run.model.pretrained}){cached}"
    )


DIAGNOSTIC_MARK = " (diagnostic)"


def label(config: EvalConfig) -> str:
    """A row's name in the tables: a diagnostic row says so."""
    return config.name + (DIAGNOSTIC_MARK if config.diagnostic else "")


def _legend(run: EvalRun) -> list[str]:
    lines = []
    if any(r.config.default for r in run.results):
        default = next(r.config.name for r in run.results if r.config.default)
        lines.append(
            f"`{default}`: the product's default, a query with no option set (the service's own "
            'defaults); `"default": true` in eval.json.'
        )
    for r in run.results:
        if r.config.diagnostic:
            lines.append(
                f"`{label(r.config)}`: not a method a user can have without merchant data: each "
                "reference's true title and attributes sent as catalog_caption / catalog_attributes, "
                "the default's other options; an upper bound on what a better caption gives."
            )
    return lines + [f"Note: {note}" for note in run.notes]


def _rows(run: EvalRun) -> tuple[list[str], list[list[str]]]:
    header = ["config", *run.columns, "s"]
    rows = [
        [label(r.config), *(f"{r.metrics[c]:.2f}" for c in run.columns), f"{r.seconds:.1f}"]
        for r in run.results
    ]
    return header, rows


def print_table(run: EvalRun) -> None:
    """The table on the terminal: a row per configuration, a column per metric."""
    from rich.console import Console
    from rich.table import Table

    header, rows = _rows(run)
    note = "" if run.dataset.labelled else "\nlabels hidden: rankings written as submission files"
    note += "".join(f"\n{line}" for line in _legend(run))
    # Wide enough for every cell: a benchmark table is never folded or cut with an ellipsis.
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows, strict=True)]
    width = max(80, sum(widths) + 3 * len(widths) + 1)
    title = _title(run)
    # A hidden-label split has no metric columns; without a minimum width its title and caption
    # would be folded into the two narrow columns' width, a few words a line.
    table = Table(
        title=title, caption=f"metrics in %; s: compose seconds{note}", min_width=min(len(title), width)
    )
    for i, name in enumerate(header):
        table.add_column(name, justify="left" if i == 0 else "right", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    Console(width=width).print(table)


def to_markdown(run: EvalRun) -> str:
    """``eval.md``: the same table, plus what each configuration sends."""
    header, rows = _rows(run)
    lines = [f"# {_title(run)}", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    lines += ["", "Metrics in percent; s: seconds spent composing the queries.", ""]
    for line in _legend(run):
        lines += [line, ""]
    lines += ["## Configurations", ""]
    for r in run.results:
        opts = r.config.options.model_dump(exclude_none=True, exclude={"return_cutout"})
        lines.append(f"- `{r.config.name}`: {r.config.description}; options `{json.dumps(opts)}`")
    t = run.timing
    lines += [
        "",
        f"Timing: gallery {t['gallery_s']:.1f} s, queries {t['queries_s']:.1f} s, "
        f"total {t['total_s']:.1f} s.",
    ]
    return "\n".join(lines) + "\n"


def report_dict(run: EvalRun) -> dict[str, Any]:
    """``eval.json``: dataset, split, model, configuration definitions, metrics and timing."""
    d = run.dataset
    return {
        "dataset": d.name,
        "split": d.split,
        "root": str(d.root),
        "labelled": d.labelled,
        "groups": [g for g in d.groups if g],
        "queries": len(d.queries),
        "gallery_size": run.gallery_size,
        "gallery_from_cache": run.gallery_from_cache,
        "exclude_reference": d.exclude_reference,
        "ranking": "exact cosine over the gallery matrix",
        "model": run.model.model_dump(),
        "model_weights": run.weights,
        "columns": run.columns,
        "default_config": next((r.config.name for r in run.results if r.config.default), None),
        "notes": run.notes,
        "configs": [
            {
                "name": r.config.name,
                "default": r.config.default,
                "diagnostic": r.config.diagnostic,
                "description": r.config.description,
                "sends_image": r.config.send_image,
                "sends_text": r.config.send_text,
                "options": r.config.options.model_dump(exclude_none=True, exclude={"return_cutout"}),
                **(
                    {"per_query_options": ["catalog_caption", "catalog_attributes"]}
                    if r.config.reference_truth
                    else {}
                ),
                "metrics": r.metrics,
                "compose_s": round(r.seconds, 3),
                "background_removed": r.background_removed,
                "captioned": r.captioned,
            }
            for r in run.results
        ],
        "timing": run.timing,
    }


def write_submissions(run: EvalRun, out: Path) -> list[Path]:
    """For hidden-label splits, one folder per configuration under ``<out>/submissions/``:
    CIRR's ``recall_submission.json`` (top 50) and ``recall_subset_submission.json`` (top 3),
    CIRCO's ``submission.json`` (query id -> top 50 image ids, as integers), FashionIQ's
    ``submission.json`` (``<category>-<index>`` -> top 50 image names, as the split names them)."""
    if run.dataset.labelled:
        return []
    written: list[Path] = []
    for r in run.results:
        folder = out / "submissions" / r.config.name
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, Any]
        if run.dataset.name == "cirr":
            files = {
                "recall_submission.json": {"version": "rc2", "metric": "recall", **r.rankings},
                "recall_subset_submission.json": {
                    "version": "rc2",
                    "metric": "recall_subset",
                    **r.subset_rankings,
                },
            }
        elif run.dataset.name == "circo":
            files = {
                "submission.json": {
                    q: [int(i) if i.isdigit() else i for i in ids] for q, ids in r.rankings.items()
                }
            }
        else:  # FashionIQ: image names are ASINs, text even when all digits ("0123456789")
            files = {"submission.json": dict(r.rankings)}
        for name, payload in files.items():
            path = folder / name
            path.write_text(json.dumps(payload), encoding="utf-8")
            written.append(path)
    return written


def write_report(run: EvalRun, out: Path) -> list[Path]:
    """Write ``eval.md``, ``eval.json`` and any submission files; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "eval.md", out / "eval.json"
    md.write_text(to_markdown(run), encoding="utf-8")
    js.write_text(json.dumps(report_dict(run), indent=2), encoding="utf-8")
    return [md, js, *write_submissions(run, out)]
