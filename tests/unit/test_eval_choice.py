"""The choice table: configurations of several reports ranked by the mean of each report's
headline metric over the criterion reports; the default marked, diagnostic rows never chosen."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plugin.cli import EXIT_OK, EXIT_USAGE, main
from plugin.evaluation import make_choice, read_report
from schemas.errors import InvalidInputError


def _config(name: str, metric: str, value: float, **marks: bool) -> dict[str, Any]:
    return {
        "name": name,
        "default": marks.get("default", False),
        "diagnostic": marks.get("diagnostic", False),
        "metrics": {metric: value, "R@1": 0.0},
        "background_removed": 3,
        "captioned": 2,
    }


def _report(path: Path, dataset: str, values: dict[str, float], labelled: bool = True) -> Path:
    metric = {"cirr": "R@10", "circo": "mAP@10"}[dataset]
    configs = [
        _config(name, metric, value, default=name == "default", diagnostic=name == "true_attributes")
        for name, value in values.items()
    ]
    data = {"dataset": dataset, "split": "val", "labelled": labelled, "queries": 4, "gallery_size": 9,
            "model": {"name": "m"}, "model_weights": "sha256:ab", "configs": configs}  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def reports(tmp_path: Path) -> dict[str, Path]:
    return {
        "shopper": _report(tmp_path / "s.json", "cirr",
                           {"default": 40.0, "text_only": 18.0, "sum+bg": 52.0, "true_attributes": 90.0}),
        "catalog": _report(tmp_path / "c.json", "cirr",
                           {"default": 60.0, "text_only": 18.0, "sum+bg": 72.0, "true_attributes": 95.0}),
        "circo": _report(tmp_path / "o.json", "circo",
                         {"default": 45.0, "text_only": 7.0, "true_attributes": 80.0}),
    }  # fmt: skip


def test_rank_by_the_criterion_mean(reports: dict[str, Path]) -> None:
    choice = make_choice([read_report(k, v) for k, v in reports.items()], ["shopper", "catalog"])
    assert [r.name for r in choice.rows] == ["sum+bg", "default", "text_only", "true_attributes"]
    scores = {r.name: r.score for r in choice.rows}
    assert scores == {"sum+bg": 62.0, "default": 50.0, "text_only": 18.0, "true_attributes": 92.5}
    # the diagnostic row scores highest but is never the choice
    assert choice.best is not None and choice.best.name == "sum+bg"
    assert choice.default is not None and choice.default.name == "default"
    assert choice.rows[0].values == {"shopper": 52.0, "catalog": 72.0, "circo": None}  # not in circo
    # with circo in the score, a row missing from it has none and sinks below the scored rows
    every = make_choice([read_report(k, v) for k, v in reports.items()])
    assert [r.name for r in every.rows] == ["default", "text_only", "sum+bg", "true_attributes"]
    assert every.rows[2].score is None


def test_bad_reports_and_criteria_are_refused(tmp_path: Path, reports: dict[str, Path]) -> None:
    shopper = read_report("shopper", reports["shopper"])
    with pytest.raises(InvalidInputError, match="unknown"):
        make_choice([shopper], ["catalog"])
    with pytest.raises(InvalidInputError, match="must differ"):
        make_choice([shopper, shopper])
    hidden = _report(tmp_path / "h.json", "cirr", {"default": 1.0}, labelled=False)
    with pytest.raises(InvalidInputError, match="hidden labels"):
        read_report("test", hidden)


def test_the_command_writes_the_table(
    tmp_path: Path, reports: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["eval-choice", "--out", str(tmp_path / "val"), "--criterion", "shopper,catalog"]
    for label, path in reports.items():
        args += ["--report", f"{label}={path}"]
    assert main(args) == EXIT_OK
    md = (tmp_path / "val" / "choice.md").read_text()
    assert "| config | shopper R@10 | catalog R@10 | circo mAP@10 | score | vs best |" in md
    assert "| sum+bg | 52.00 | 72.00 | - | 62.00 | +0.00 |" in md
    assert "| default (the default) | 40.00 | 60.00 | 45.00 | 50.00 | -12.00 |" in md
    assert "| true_attributes (diagnostic) |" in md and "Best configuration: `sum+bg`" in md
    assert "the default removed the background for 3 and captioned 2 of 4 references" in md
    saved = json.loads((tmp_path / "val" / "choice.json").read_text())
    assert (saved["best"], saved["default"]) == ("sum+bg", "default")
    assert saved["criterion"] == ["shopper R@10", "catalog R@10"]
    assert "Best configuration" in capsys.readouterr().out
    assert main([*args, "--criterion", "nope"]) == EXIT_USAGE
