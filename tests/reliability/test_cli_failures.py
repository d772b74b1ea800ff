"""Issue 14, point 11 (the parts done here): ways out when the weights are missing, bad
arguments refused before any model loads, and a failure summary that says how many it hides."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from plugin.cli import EXIT_ERROR, EXIT_ROWS_FAILED, EXIT_USAGE, main
from tests.support.reliability import png

pytestmark = pytest.mark.timeout(120)


def test_missing_weights_offline_name_the_saved_model_and_init_random(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "data" / "models" / "random-ViT-B-32"
    saved.mkdir(parents=True)
    (saved / "open_clip_model.safetensors").write_bytes(b"")
    catalog = tmp_path / "c.jsonl"
    catalog.write_text('{"id": "a", "title": "A"}\n', encoding="utf-8")
    code = main(
        [
            "ingest",
            str(catalog),
            "--data-dir",
            str(tmp_path / "data"),
            "--offline",
            "--pretrained",
            "nowhere.pt",
        ]
    )
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert f"--model ViT-B-32 --pretrained {saved / 'open_clip_model.safetensors'}" in err
    assert "grounded models init-random --out DIR" in err


@pytest.mark.parametrize(
    ("name", "extra", "message"),
    [
        ("c.xml", [], "unknown format"),
        ("c.jsonl", ["--batch-size", "0"], "--batch-size: must be at least 1"),
    ],
)
def test_bad_arguments_are_refused_before_a_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, extra: list[str], message: str
) -> None:
    catalog = tmp_path / name
    catalog.write_text("{}\n", encoding="utf-8")
    started = time.monotonic()
    # A model that cannot exist: reaching the loader would fail with another message.
    code = main(["ingest", str(catalog), "--model", "local-dir:/nonexistent", "--offline", *extra])
    assert code == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("name", "message"), [("missing.jsonl", "catalog: no such file"), ("c.xml", "unknown format")]
)
def test_train_refuses_a_bad_catalog_path_before_a_model_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    if name != "missing.jsonl":
        (tmp_path / name).write_text("{}\n", encoding="utf-8")
    started = time.monotonic()
    code = main(
        ["train", str(tmp_path / name), "--out", str(tmp_path / "out"), "--model", "local-dir:/nonexistent",
         "--offline"]
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert time.monotonic() - started < 5


def test_failure_summary_counts_what_it_does_not_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tiny_clip_settings: dict[str, str]
) -> None:
    (tmp_path / "ok.png").write_bytes(png((10, 200, 10)))
    lines = [{"id": "good", "title": "fine", "image": "ok.png"}]
    lines += [{"id": f"bad{i}", "title": "no image", "image": f"missing{i}.png"} for i in range(13)]
    catalog = tmp_path / "c.jsonl"
    catalog.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    flags = ["--model", tiny_clip_settings["model"], "--pretrained", tiny_clip_settings["pretrained"]]
    code = main(
        ["ingest", str(catalog), "--data-dir", str(tmp_path / "d"), "--no-progress", "--device", "cpu",
         "--offline", *flags]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == EXIT_ROWS_FAILED
    assert "new: 1, updated: 0, unchanged: 0, failed: 13" in out
    assert "... and 3 more failed rows (all are in the report)" in out
