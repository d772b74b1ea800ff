"""The choice table: every configuration across several ``eval.json`` reports (the val splits,
shopper-photo and catalog-photo references), ranked by one score, so that the product's default
is chosen on val and measured once on test (``make world-choose``, ``grounded eval-choice``).

Each report contributes its benchmark's headline metric (:data:`HEADLINE`: CIRR R@10, CIRCO
mAP@10, FashionIQ average R@10). A configuration's score is the mean of that metric over the
criterion reports (by default all of them); a configuration missing from one has no score.
Diagnostic rows (``true_attributes``) are shown but never chosen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.evaluation.dataset import read_json
from schemas.errors import InvalidInputError

__all__ = ["HEADLINE", "Choice", "ChoiceRow", "Report", "make_choice", "read_report", "write_choice"]

HEADLINE = {"cirr": "R@10", "circo": "mAP@10", "fashioniq": "avg R@10"}
"""The metric each benchmark contributes to the choice."""


@dataclass(frozen=True)
class Report:
    """One ``eval.json`` under a short label (``shopper``, ``catalog``...)."""

    label: str
    path: Path
    data: dict[str, Any]

    @property
    def metric(self) -> str:
        return HEADLINE[self.data["dataset"]]

    @property
    def column(self) -> str:
        return f"{self.label} {self.metric}"

    def configs(self) -> dict[str, dict[str, Any]]:
        return {c["name"]: c for c in self.data["configs"]}


@dataclass(frozen=True)
class ChoiceRow:
    name: str
    default: bool
    diagnostic: bool
    values: dict[str, float | None]
    """Report label -> its headline metric (None: the report lacks this configuration)."""
    score: float | None


@dataclass(frozen=True)
class Choice:
    reports: list[Report]
    criterion: list[str]
    rows: list[ChoiceRow]
    """Candidates by score (best first), then the diagnostic rows."""

    @property
    def best(self) -> ChoiceRow | None:
        scored = [r for r in self.rows if not r.diagnostic and r.score is not None]
        return scored[0] if scored else None

    @property
    def default(self) -> ChoiceRow | None:
        return next((r for r in self.rows if r.default), None)


def read_report(label: str, path: Path) -> Report:
    """A labelled ``eval.json``; an unlabelled split or another file is an InvalidInputError."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("configs"), list):
        raise InvalidInputError(f"{path}: not an eval.json written by grounded eval")
    if data.get("dataset") not in HEADLINE:
        raise InvalidInputError(f"{path}: unknown dataset {data.get('dataset')!r}")
    if not data.get("labelled", False):
        raise InvalidInputError(
            f"{path}: split {data.get('split')!r} has hidden labels: nothing to choose by"
        )
    return Report(label, path, data)


def make_choice(reports: Sequence[Report], criterion: Sequence[str] | None = None) -> Choice:
    """Rank every configuration of ``reports`` by its mean headline metric over ``criterion``."""
    labels = [r.label for r in reports]
    if not reports:
        raise InvalidInputError("give at least one report")
    if len(set(labels)) != len(labels):
        raise InvalidInputError(f"report labels must differ: {labels}")
    chosen = list(criterion) if criterion else labels
    unknown = [c for c in chosen if c not in labels]
    if unknown:
        raise InvalidInputError(f"--criterion: unknown {unknown}; the reports are {labels}")
    names: dict[str, dict[str, Any]] = {}
    for report in reports:
        for name, config in report.configs().items():
            names.setdefault(name, config)
    rows: list[ChoiceRow] = []
    for name, first in names.items():
        values: dict[str, float | None] = {}
        for report in reports:
            entry = report.configs().get(name)
            values[report.label] = None if entry is None else float(entry["metrics"][report.metric])
        counted = [values[label] for label in chosen]
        score = None if any(v is None for v in counted) else sum(v or 0.0 for v in counted) / len(counted)
        rows.append(ChoiceRow(name, bool(first.get("default")), bool(first.get("diagnostic")), values, score))
    rows.sort(key=lambda r: (r.diagnostic, r.score is None, -(r.score or 0.0)))
    return Choice(list(reports), chosen, rows)


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _name(row: ChoiceRow) -> str:
    return row.name + (" (diagnostic)" if row.diagnostic else "") + (" (the default)" if row.default else "")


def _summary(choice: Choice) -> list[str]:
    best, default = choice.best, choice.default
    lines = []
    if best is not None:
        lines.append(f"Best configuration: `{best.name}`, score {best.score:.2f}.")
    if default is not None and default.score is not None and best is not None and best.score is not None:
        lines.append(
            f"The default (`{default.name}`: no option set, the service's defaults): score "
            f"{default.score:.2f}, {default.score - best.score:+.2f} from the best."
        )
    for row in choice.rows:
        if row.diagnostic and row.score is not None:
            lines.append(
                f"Upper bound `{row.name}` (diagnostic, needs merchant data): score {row.score:.2f}."
            )
    for report in choice.reports:
        entry = report.configs().get(default.name) if default is not None else None
        if entry is not None:
            lines.append(
                f"`{report.label}`: the default removed the background for {entry['background_removed']} "
                f"and captioned {entry['captioned']} of {report.data['queries']} references."
            )
    return lines


def to_markdown(choice: Choice) -> str:
    """``choice.md``: the table, the summary and where each column came from."""
    metrics = ", ".join(f"{r.label} {r.metric}" for r in choice.reports if r.label in choice.criterion)
    header = ["config", *(r.column for r in choice.reports), "score", "vs best"]
    best = choice.best.score if choice.best is not None else None
    lines = [
        "# Choosing the default",
        "",
        f"Score: the mean of {metrics}. Candidates best first; diagnostic rows last, never chosen.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    for row in choice.rows:
        delta = None if row.score is None or best is None else row.score - best
        cells = [_name(row), *(_cell(row.values[r.label]) for r in choice.reports), _cell(row.score)]
        lines.append("| " + " | ".join([*cells, "-" if delta is None else f"{delta:+.2f}"]) + " |")
    lines += ["", *_summary(choice), "", "## Reports", ""]
    for r in choice.reports:
        d = r.data
        lines.append(
            f"- `{r.label}`: `{r.path}`: {d['dataset']} {d['split']}, {d['queries']} queries, "
            f"{d['gallery_size']} gallery images, model {d['model']['name']} "
            f"(weights {d.get('model_weights') or 'not recorded'})"
        )
    weights = {r.data.get("model_weights") for r in choice.reports}
    if len(weights) > 1:
        lines += ["", "Warning: the reports were made with different model weights."]
    return "\n".join(lines) + "\n"


def to_dict(choice: Choice) -> dict[str, Any]:
    """``choice.json``."""
    return {
        "criterion": [f"{r.label} {r.metric}" for r in choice.reports if r.label in choice.criterion],
        "best": choice.best.name if choice.best is not None else None,
        "default": choice.default.name if choice.default is not None else None,
        "reports": {r.label: str(r.path) for r in choice.reports},
        "rows": [
            {
                "name": r.name,
                "default": r.default,
                "diagnostic": r.diagnostic,
                "values": r.values,
                "score": r.score,
            }
            for r in choice.rows
        ],
    }


def write_choice(choice: Choice, out: Path) -> list[Path]:
    """Write ``choice.md`` and ``choice.json`` under ``out``; returns the paths."""
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "choice.md", out / "choice.json"
    md.write_text(to_markdown(choice), encoding="utf-8")
    js.write_text(json.dumps(to_dict(choice), indent=2) + "\n", encoding="utf-8")
    return [md, js]
