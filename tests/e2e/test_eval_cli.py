"""``grounded eval`` end to end on each benchmark's fixture layout, with a tiny random
open_clip model loaded from disk through the production path, and rembg for the +bg rows.

Engine starts and background removals dominate the time, so each layout runs the full table
once on a query or two, and the hidden-label and cache checks share one in-process encoder.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from plugin.cli import EXIT_OK, EXIT_USAGE, main
from plugin.encoder.local import LocalEncoder
from plugin.evaluation import (
    BASE_CONFIGS,
    DEFAULT,
    TRUE_ATTRIBUTES,
    EvalConfig,
    build_configs,
    load_circo,
    load_cirr,
    load_fashioniq,
    run_evaluation,
    write_report,
)
from plugin.evaluation import runner as runner_module
from plugin.evaluation.configs import PIC2WORD_ROWS
from schemas.errors import InvalidInputError
from tests.support.eval_layouts import write_circo, write_cirr, write_fashioniq, write_json
from vectorizer_service.settings import ServiceSettings

WEIGHTS = "0,0.2"
# The fixtures are public layouts: no reference attributes, so no true_attributes row.
# "all" leaves out the Pic2Word rows: they need a mapper in the model folder, so they run when named.
ALL_ROWS = [
    DEFAULT,
    *(c.name for c in BASE_CONFIGS if c.name not in PIC2WORD_ROWS),
    "fusion+bg@0",
    "fusion+bg@0.2",
]


@pytest.fixture(scope="module")
def model_flags(tiny_clip_settings: dict[str, Any], u2net_home: Path) -> list[str]:
    return [
        "--model", tiny_clip_settings["model"], "--pretrained", tiny_clip_settings["pretrained"],
        "--device", "cpu", "--offline", "--u2net-home", str(u2net_home),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def encoder(tiny_clip_settings: dict[str, Any], u2net_home: Path) -> Iterator[LocalEncoder]:
    with LocalEncoder(ServiceSettings(**tiny_clip_settings, u2net_home=u2net_home)) as enc:
        yield enc


def _only(*names: str) -> list[EvalConfig]:
    """Just these rows, without the default every command adds (these tests are about others)."""
    return [c for c in build_configs(list(names), []) if c.name in names]


def _eval(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], *args: str
) -> tuple[str, dict[str, Any]]:
    capsys.readouterr()
    out_dir = tmp_path / "out"
    code = main(["eval", *args, "--image-weights", WEIGHTS, "--out", str(out_dir),
                 "--cache-dir", str(tmp_path / "cache"), "--no-progress", *flags])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == EXIT_OK, printed
    assert (out_dir / "eval.md").is_file()
    report: dict[str, Any] = json.loads((out_dir / "eval.json").read_text())
    return printed, report


def _check_table(printed: str, report: dict[str, Any], columns: list[str], queries: int) -> None:
    assert report["columns"] == columns and report["queries"] == queries
    assert [c["name"] for c in report["configs"]] == ALL_ROWS
    for config in report["configs"]:
        assert set(config["metrics"]) == set(columns)
        assert all(0.0 <= v <= 100.0 for v in config["metrics"].values())
    for name in [*ALL_ROWS, *columns]:
        assert name in printed  # the full table, no name cut short
    by_name = {c["name"]: c for c in report["configs"]}
    # the sweep's weight-0 row is the full pipeline itself: same options, same vectors
    assert by_name["fusion+bg@0"]["metrics"] == by_name["fusion+bg"]["metrics"]
    # the captioner ran for every query of the caption configs and for none of the others
    assert by_name["caption_only"]["captioned"] == queries
    assert by_name["text_only"]["captioned"] == 0 and by_name["image_text_sum"]["captioned"] == 0
    assert by_name["image_only"]["background_removed"] == 0
    assert set(report["timing"]) == {"gallery_s", "queries_s", "total_s"}
    assert report["model"]["dimension"] == 32
    # the product's default leads, marked, with nothing set; the bound is left out, and why
    assert [c["name"] for c in report["configs"] if c["default"]] == [DEFAULT] == [report["default_config"]]
    assert by_name[DEFAULT]["options"] == {} and not any(c["diagnostic"] for c in report["configs"])
    assert report["notes"] and report["notes"][0].startswith(f"{TRUE_ATTRIBUTES} omitted")
    assert report["model_weights"].startswith("sha256:")


def test_fashioniq_full_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_flags: list[str]
) -> None:
    root = write_fashioniq(tmp_path / "fiq")
    printed, report = _eval(capsys, tmp_path, model_flags, "--dataset", "fashioniq", "--root", str(root),
                            "--split", "val", "--limit", "1")  # fmt: skip
    columns = [f"{c} R@{k}" for c in ("dress", "shirt", "toptee") for k in (10, 50)]
    _check_table(printed, report, [*columns, "avg R@10", "avg R@50", "avg"], queries=3)
    # each category's gallery has 4 images, so its target is always within the top 10
    assert all(v == 100.0 for c in report["configs"] for v in c["metrics"].values())
    assert report["gallery_size"] == 12 and report["groups"] == ["dress", "shirt", "toptee"]
    md = (tmp_path / "out" / "eval.md").read_text()
    assert "| config | dress R@10 | dress R@50 |" in md and "| fusion+bg@0.2 |" in md
    # the fixture's shapes on a flat background cut out: the +bg rows really removed it
    by_name = {c["name"]: c for c in report["configs"]}
    assert by_name["image_only+bg"]["background_removed"] == 3


def test_cirr_full_table(capsys: pytest.CaptureFixture[str], tmp_path: Path, model_flags: list[str]) -> None:
    root = write_cirr(tmp_path / "cirr")
    printed, report = _eval(capsys, tmp_path, model_flags, "--dataset", "cirr", "--root", str(root),
                            "--split", "val", "--limit", "2")  # fmt: skip
    # The fixture carries target_soft, so our extension column (CIRCO's mAP over it) is there too.
    columns = ["R@1", "R@5", "R@10", "R@50", "Rs@1", "Rs@2", "Rs@3", "avg", "mAP@10 soft"]
    _check_table(printed, report, columns, queries=2)
    assert report["exclude_reference"] is True
    for config in report["configs"]:
        m = config["metrics"]
        # 6 images minus the reference: 5 candidates, so every target is within R@5
        assert m["R@5"] == m["R@50"] == 100.0
        # the fixture's img_set is the whole gallery: the subset ranking is the full ranking
        assert m["Rs@1"] == m["R@1"] and m["Rs@1"] <= m["Rs@2"] <= m["Rs@3"]
        assert m["avg"] == pytest.approx((m["R@5"] + m["Rs@1"]) / 2, abs=0.01)
        # target_soft holds only the target: the soft mAP is the reciprocal rank of the target
        assert m["mAP@10 soft"] <= m["R@10"]
    # image only would find its own reference first if it were not excluded
    assert {c["name"]: c for c in report["configs"]}["image_only"]["metrics"]["R@1"] == 0.0


def test_circo_full_table(capsys: pytest.CaptureFixture[str], tmp_path: Path, model_flags: list[str]) -> None:
    root = write_circo(tmp_path / "circo")
    printed, report = _eval(capsys, tmp_path, model_flags, "--dataset", "circo", "--root", str(root),
                            "--split", "val")  # fmt: skip
    _check_table(printed, report, ["mAP@5", "mAP@10", "mAP@25", "mAP@50"], queries=2)
    assert report["exclude_reference"] is False and report["gallery_size"] == 6


def test_hidden_labels_write_submission_files(encoder: LocalEncoder, tmp_path: Path) -> None:
    configs = _only("text_only", "fusion")
    cirr = run_evaluation(load_cirr(write_cirr(tmp_path / "cirr"), "test1"), encoder, configs,
                          cache_dir=tmp_path / "cache", progress=False)  # fmt: skip
    assert cirr.columns == [] and all(r.metrics == {} for r in cirr.results)
    written = write_report(cirr, tmp_path / "out-cirr")
    folder = tmp_path / "out-cirr" / "submissions" / "fusion"
    assert folder / "recall_submission.json" in written
    recall = json.loads((folder / "recall_submission.json").read_text())
    subset = json.loads((folder / "recall_subset_submission.json").read_text())
    assert (recall["version"], recall["metric"], subset["metric"]) == ("rc2", "recall", "recall_subset")
    assert set(recall) == {"version", "metric", "20", "21"}
    assert len(recall["20"]) == 5 and "dev-0-0-img0" not in recall["20"]  # its own reference excluded
    assert len(subset["21"]) == 3 and "dev-1-0-img1" not in subset["21"]

    circo = run_evaluation(load_circo(write_circo(tmp_path / "circo"), "test"), encoder, configs[:1],
                           cache_dir=tmp_path / "cache", progress=False)  # fmt: skip
    write_report(circo, tmp_path / "out-circo")
    submission = json.loads(
        (tmp_path / "out-circo" / "submissions" / "text_only" / "submission.json").read_text()
    )
    assert set(submission) == {"0", "1"}
    assert sorted(submission["0"]) == [1, 2, 3, 4, 5, 6]  # integer COCO ids, the whole tiny gallery
    report = json.loads((tmp_path / "out-circo" / "eval.json").read_text())
    assert report["labelled"] is False and report["split"] == "test"


def test_second_run_reads_the_gallery_from_the_cache(
    encoder: LocalEncoder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset = load_cirr(write_cirr(tmp_path / "cirr"), "val")
    configs = _only("text_only")
    calls: list[int] = []
    real = runner_module._embed_gallery

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "_embed_gallery", counting)
    first = run_evaluation(dataset, encoder, configs, cache_dir=tmp_path / "cache", progress=False)
    second = run_evaluation(dataset, encoder, configs, cache_dir=tmp_path / "cache", progress=False)
    assert calls == [1]  # embedded once, then read back
    assert (first.gallery_from_cache, second.gallery_from_cache) == (False, True)
    assert first.results[0].metrics == second.results[0].metrics
    (cached,) = (tmp_path / "cache").glob("cirr-val-*.npy")
    assert np.load(cached).shape == (6, 32)
    # another gallery is another key: one image fewer is embedded afresh
    trimmed = dataclasses.replace(dataset, galleries={"": dataset.galleries[""][:5]}, queries=())
    run_evaluation(trimmed, encoder, [], cache_dir=tmp_path / "cache", progress=False)
    assert calls == [1, 1]


def test_bad_input_exits_with_usage_and_names_the_problem(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_flags: list[str]
) -> None:
    root = write_cirr(tmp_path / "cirr")
    base = ["eval", "--dataset", "cirr", "--root", str(root), "--split", "val", "--no-progress", *model_flags]
    capsys.readouterr()
    assert main([*base, "--configs", "nope"]) == EXIT_USAGE
    assert "--configs: unknown ['nope']" in capsys.readouterr().err
    (root / "captions" / "cap.rc2.val.json").write_text("[{}]")
    assert main(base) == EXIT_USAGE
    assert "cap.rc2.val.json: item 0: missing field 'pairid'" in capsys.readouterr().err


def test_a_broken_gallery_image_is_named_by_its_file(encoder: LocalEncoder, tmp_path: Path) -> None:
    root = write_cirr(tmp_path / "cirr")
    broken = root / "dev" / "dev-3-0-img3.png"
    broken.write_bytes(broken.read_bytes()[:60])  # a download cut short
    dataset = load_cirr(root, "val")
    with pytest.raises(InvalidInputError, match=rf"gallery image {broken}: truncated or corrupt image"):
        run_evaluation(dataset, encoder, _only("text_only"), cache_dir=tmp_path / "c", progress=False)


def test_fashioniq_release_test_split_writes_a_submission(encoder: LocalEncoder, tmp_path: Path) -> None:
    root = write_fashioniq(tmp_path / "fiq")
    (root / "images" / "dress2.png").rename(root / "images" / "0123456789.png")  # an all-digit ASIN
    for category in ("dress", "shirt", "toptee"):
        names = json.loads((root / "image_splits" / f"split.{category}.val.json").read_text())
        names = ["0123456789" if n == "dress2" else n for n in names]
        write_json(root / "image_splits" / f"split.{category}.test.json", names)
        write_json(
            root / "captions" / f"cap.{category}.test.json",
            [{"candidate": names[0], "captions": ["is red", "is long"]}],
        )
    run = run_evaluation(load_fashioniq(root, "test"), encoder, _only("text_only"),
                         cache_dir=tmp_path / "cache", progress=False)  # fmt: skip
    assert run.columns == []
    write_report(run, tmp_path / "out")
    submission = json.loads((tmp_path / "out" / "submissions" / "text_only" / "submission.json").read_text())
    assert set(submission) == {"dress-0", "shirt-0", "toptee-0"}
    assert sorted(submission["dress-0"]) == sorted(["dress0", "dress1", "0123456789", "dress3"])


def test_configs_without_background_removal_need_no_rembg_weights(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip_settings: dict[str, Any]
) -> None:
    root = write_cirr(tmp_path / "cirr")
    flags = ["--model", tiny_clip_settings["model"], "--pretrained", tiny_clip_settings["pretrained"],
             "--device", "cpu", "--offline", "--u2net-home", str(tmp_path / "no-weights-here")]  # fmt: skip
    base = ["eval", "--dataset", "cirr", "--root", str(root), "--split", "val", "--no-progress",
            "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache"), *flags]  # fmt: skip
    capsys.readouterr()
    # The default row always runs and follows the service's defaults: with removal off by
    # default, nothing needs rembg.
    assert main([*base, "--configs", "text_only,fusion", "--no-remove-background"]) == EXIT_OK
    assert "fusion" in capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert report["configs"][0]["name"] == DEFAULT and report["configs"][0]["background_removed"] == 0
    # With removal on by default (the shipped setting) the default row needs them, and says so.
    assert main([*base, "--configs", "text_only,fusion"]) != EXIT_OK
    assert "rembg model file not found" in capsys.readouterr().err


def test_the_default_row_is_always_there_and_marked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, model_flags: list[str]
) -> None:
    root = write_cirr(tmp_path / "cirr")
    printed, report = _eval(capsys, tmp_path, model_flags, "--dataset", "cirr", "--root", str(root),
                            "--split", "val", "--limit", "1", "--configs", "text_only")  # fmt: skip
    assert [(c["name"], c["default"]) for c in report["configs"]] == [(DEFAULT, True), ("text_only", False)]
    # no option set: whatever the service's defaults are, they decide
    assert report["configs"][0]["options"] == {} and report["default_config"] == DEFAULT
    assert "default" in printed and "the product's default" in printed
    assert "`default`: the product's default" in (tmp_path / "out" / "eval.md").read_text()


def test_a_model_retrained_in_place_misses_the_gallery_cache(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_clip_settings: dict[str, Any], u2net_home: Path
) -> None:
    """The issue's case: weights replaced in the same folder, the same --data-dir: the old
    gallery must not be read back."""
    from vectorizer_service.runtime.random_weights import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    source = Path(tiny_clip_settings["model"].removeprefix("local-dir:"))
    folder = tmp_path / "model"
    shutil.copytree(source, folder)
    root = write_cirr(tmp_path / "cirr")
    flags = ["--model", f"local-dir:{folder}", "--pretrained", "", "--device", "cpu", "--offline",
             "--u2net-home", str(u2net_home), "--no-remove-background"]  # fmt: skip

    def cached() -> bool:
        _printed, report = _eval(capsys, tmp_path, flags, "--dataset", "cirr", "--root", str(root),
                                 "--split", "val", "--limit", "1", "--configs", "text_only")  # fmt: skip
        return bool(report["gallery_from_cache"])

    assert [cached(), cached()] == [False, True]
    # other weights (another seed) of the same architecture, copied over the old ones
    model, _ = save_random_open_clip(TINY_OPEN_CLIP_CONFIG, tmp_path / "other", seed=1)
    retrained = Path(model.removeprefix("local-dir:"))
    assert list(retrained.glob("*.safetensors"))
    for weights in retrained.glob("*.safetensors"):
        shutil.copyfile(weights, folder / weights.name)  # `make world-model` writes the same folder
    assert [cached(), cached()] == [False, True]
