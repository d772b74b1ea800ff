"""Issue 14, point 11: a command that loads random weights says its rankings are meaningless.

The writers in ``vectorizer_service.runtime.random_weights`` leave a ``RANDOM_WEIGHTS`` file in
the model's folder; the loader warns once per load when it finds one, and never for a folder
without it (the shipped world model, trained weights).
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from plugin.cli import EXIT_OK, main
from tests.support.reliability import png
from vectorizer_service.runtime.random_marker import (
    RANDOM_WEIGHTS_FILE,
    mark_random,
    random_weights_dir,
    random_weights_warning,
)

pytestmark = pytest.mark.timeout(180)

WARNING = "has random weights"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _model_flags(model: str, pretrained: str) -> list[str]:
    return ["--model", model, "--pretrained", pretrained, "--device", "cpu", "--offline"]


def _catalog(tmp_path: Path) -> Path:
    (tmp_path / "red.png").write_bytes(png((200, 10, 10)))
    catalog = tmp_path / "c.jsonl"
    catalog.write_text(json.dumps({"id": "a", "title": "red thing", "image": "red.png"}) + "\n")
    return catalog


def _warnings_of_ingest_then_search(
    tmp_path: Path, flags: list[str], caplog: pytest.LogCaptureFixture
) -> list[list[str]]:
    """The random-weights warnings logged by ``grounded ingest``, then by ``grounded search``
    on the same store. (In-process, pytest holds the log; the subprocess test reads stderr.)"""
    data = ["--data-dir", str(tmp_path / "data")]
    found = []
    for argv in (
        ["ingest", str(_catalog(tmp_path)), "--no-progress", *data, *flags],
        ["search", "--text", "something red", "--json", *data, *flags],
    ):
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert main(argv) == EXIT_OK
        found.append([r.getMessage() for r in caplog.records if WARNING in r.getMessage()])
    return found


def test_search_and_ingest_on_random_weights_warn_once_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tiny_clip_settings: dict[str, Any]
) -> None:
    model_dir = Path(tiny_clip_settings["model"].removeprefix("local-dir:"))
    assert (model_dir / RANDOM_WEIGHTS_FILE).is_file(), "save_random_open_clip must mark its folder"
    flags = _model_flags(tiny_clip_settings["model"], tiny_clip_settings["pretrained"])
    for warnings in _warnings_of_ingest_then_search(tmp_path, flags, caplog):
        assert len(warnings) == 1, warnings
        assert str(model_dir) in warnings[0] and "rankings are meaningless" in warnings[0]


def test_the_same_model_without_the_marker_does_not_warn(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, tiny_clip_settings: dict[str, Any]
) -> None:
    # A copy of the tiny model as if its weights were trained: same files, no marker.
    source = Path(tiny_clip_settings["model"].removeprefix("local-dir:"))
    copy = tmp_path / "trained"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns(RANDOM_WEIGHTS_FILE))
    flags = _model_flags(f"local-dir:{copy}", "")
    assert _warnings_of_ingest_then_search(tmp_path, flags, caplog) == [[], []]


def test_grounded_search_prints_the_warning_on_stderr_once(
    tmp_path: Path, tiny_clip_settings: dict[str, Any]
) -> None:
    flags = _model_flags(tiny_clip_settings["model"], tiny_clip_settings["pretrained"])
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["ingest", str(_catalog(tmp_path)), "--no-progress", *data, *flags]) == EXIT_OK
    # The search in a real process, so that the CLI's own logging setup (not pytest's) is
    # what carries the line to stderr.
    command = [sys.executable, "-c", "import sys; from plugin.cli import main; sys.exit(main())"]
    argv = ["search", "--text", "red", "--json", *data, *flags]
    done = subprocess.run(
        [*command, *argv], cwd=REPO_ROOT, capture_output=True, text=True, timeout=150, check=False
    )
    assert done.returncode == EXIT_OK, done.stderr
    lines = [line for line in done.stderr.splitlines() if WARNING in line]
    assert len(lines) == 1 and lines[0].startswith("WARNING "), done.stderr
    assert "rankings are meaningless" in lines[0]


def test_a_checkpoint_file_beside_the_marker_is_random(tmp_path: Path) -> None:
    # `init-random --arch ViT-B-32` gives --model ViT-B-32 --pretrained DIR/<weights file>.
    weights = tmp_path / "open_clip_model.safetensors"
    weights.write_bytes(b"")
    assert random_weights_dir("ViT-B-32", str(weights)) is None
    mark_random(tmp_path, "test")
    assert random_weights_dir("ViT-B-32", str(weights)) == tmp_path
    assert random_weights_dir(f"local-dir:{tmp_path}", "") == tmp_path
    assert random_weights_dir(str(tmp_path), "") == tmp_path  # a transformers or ONNX folder


def test_a_pretrained_tag_never_reads_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mark_random(tmp_path, "test")
    monkeypatch.chdir(tmp_path)
    assert random_weights_warning("ViT-B-32", "openai") is None


def test_the_shipped_world_model_is_not_random() -> None:
    from plugin.world.trained import TRAINED_MODEL_DIR, trained_model_available

    assert trained_model_available()
    assert random_weights_warning(str(TRAINED_MODEL_DIR), "") is None


def test_the_hf_writers_mark_their_folders(tmp_path: Path, tiny_hf_clip_settings: dict[str, Any]) -> None:
    assert random_weights_dir(tiny_hf_clip_settings["model"], "") is not None


def test_training_over_a_random_folder_removes_the_marker(tmp_path: Path) -> None:
    import torch

    from plugin.training.checkpoint import save_model

    mark_random(tmp_path, "test")
    save_model(tmp_path, torch.nn.Linear(2, 2), {}, {})
    assert random_weights_dir(str(tmp_path), "") is None


def test_the_service_startup_log_warns(
    tiny_clip_settings: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from vectorizer_service.runtime.loader import load_embedder
    from vectorizer_service.settings import ServiceSettings

    with caplog.at_level(logging.WARNING, logger="vectorizer_service"):
        load_embedder(ServiceSettings(**tiny_clip_settings))
    assert [r.levelno for r in caplog.records if WARNING in r.getMessage()] == [logging.WARNING]
