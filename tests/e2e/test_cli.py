"""`grounded ingest` / `search` / `models` on the embedded store with a tiny model from disk."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from plugin.cli import EXIT_ERROR, EXIT_NO_MATCH, EXIT_OK, EXIT_ROWS_FAILED, EXIT_USAGE, main
from plugin.demo import SampleCatalog, build_sample_catalog


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> SampleCatalog:
    return build_sample_catalog(tmp_path_factory.mktemp("catalog"), size=60)


@pytest.fixture(scope="module")
def model_flags(tiny_clip_settings: dict[str, Any], u2net_home: Path) -> list[str]:
    return [
        "--model", tiny_clip_settings["model"], "--pretrained", tiny_clip_settings["pretrained"],
        "--device", "cpu", "--offline", "--u2net-home", str(u2net_home),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def ingested(
    catalog: SampleCatalog, model_flags: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    data_dir = tmp_path_factory.mktemp("data")
    code = main(
        ["ingest", str(catalog.catalog_path), "--data-dir", str(data_dir), "--no-progress", *model_flags]
    )
    assert code == EXIT_OK
    return data_dir


def _json_search(
    capsys: pytest.CaptureFixture[str], data_dir: Path, model_flags: list[str], *extra: str
) -> dict[str, Any]:
    capsys.readouterr()
    code = main(["search", "--data-dir", str(data_dir), "--json", *model_flags, *extra])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    result: dict[str, Any] = json.loads(out)
    return result


def test_ingest_again_resumes_instead_of_duplicating(
    ingested: Path, catalog: SampleCatalog, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = main(
        ["ingest", str(catalog.catalog_path), "--data-dir", str(ingested), "--no-progress", *model_flags]
    )
    out = capsys.readouterr().out
    assert code == EXIT_OK
    n = len(catalog.products)
    assert f"new: 0, updated: 0, unchanged: {n}, failed: 0, in the store: {n}" in out


def test_search_with_image_text_and_filters(
    ingested: Path, catalog: SampleCatalog, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    reference = catalog.products[0]
    image = catalog.image_paths[reference.id]
    colour = reference.attributes["colour"]
    result = _json_search(
        capsys, ingested, model_flags, "--image", str(image), "--text", f"in {colour}",
        "--category", reference.category, "--category", "no-such-category", "--price-max", "1000",
        "--attr", f"colour={colour}", "--limit", "50",
    )  # fmt: skip
    ids = {h["properties"]["product_id"] for h in result["hits"]}
    expected = {
        p.id
        for p in catalog.products
        if p.category == reference.category and p.attributes["colour"] == colour
    }
    assert reference.id in ids and ids == expected
    exp = result["explanation"]
    # a random model is sure of nothing: its caption may be empty, but the stage always ran
    assert exp["modification"] == f"in {colour}" and exp["fused_text"] and exp["caption"] is not None


def test_search_limit_and_order(
    ingested: Path, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    result = _json_search(capsys, ingested, model_flags, "--text", "a red striped dress", "--limit", "3")
    distances = [h["distance"] for h in result["hits"]]
    assert len(distances) == 3 and distances == sorted(distances)


def test_search_prints_a_table_by_default(
    ingested: Path, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["search", "--data-dir", str(ingested), "--text", "a mug", "--limit", "2", *model_flags])
    out = capsys.readouterr().out
    assert code == EXIT_OK
    assert "similarity" in out and "fused text: a mug" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["search", "--attr", "no-equals-sign", "--text", "x"],
        ["search", "--price-min", "cheap", "--text", "x"],
        ["search", "--limit"],
        ["ingest"],
        ["nonsense"],
        ["search", "--imag", "x.png"],  # no abbreviations: they would collide with --image-weight
    ],
)
def test_bad_flags_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == EXIT_USAGE
    assert "usage: grounded" in capsys.readouterr().err


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_missing_image_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--data-dir", str(tmp_path), "--image", str(tmp_path / "nope.png")]) == EXIT_USAGE
    assert "--image: no such file" in _one_error_line(capsys)


def test_search_needs_image_or_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--data-dir", str(tmp_path)]) == EXIT_USAGE
    assert "needs --image or --product, --text, or both" in _one_error_line(capsys)


def test_search_before_ingest_says_what_to_do(
    tmp_path: Path, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "--data-dir", str(tmp_path), "--text", "a cup", *model_flags]) == EXIT_ERROR
    assert "run `grounded ingest`" in _one_error_line(capsys)


def test_invalid_setting_from_env_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GROUNDED_WEAVIATE_GRPC_PORT", "not-a-port")
    assert main(["search", "--data-dir", str(tmp_path), "--text", "a cup"]) == EXIT_USAGE
    assert "invalid setting: weaviate_grpc_port" in _one_error_line(capsys)


def test_unloadable_model_is_one_line(
    u2net_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["search", "--data-dir", str(tmp_path), "--text", "x", "--model", "no-such-architecture",
            "--pretrained", "", "--offline", "--device", "cpu", "--u2net-home", str(u2net_home)]  # fmt: skip
    assert main(argv) == EXIT_ERROR
    _one_error_line(capsys)


def test_ingest_with_bad_rows_exits_3_and_writes_a_report(
    tmp_path: Path, catalog: SampleCatalog, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    good = catalog.catalog_path.read_text().splitlines()[0]
    bad.write_text(
        good + "\n" + json.dumps({"id": "x", "title": "No such image", "image": "missing.jpg"}) + "\n"
    )
    report = tmp_path / "report.jsonl"
    argv = ["ingest", str(bad), "--images", str(catalog.image_dir), "--report", str(report),
            "--data-dir", str(tmp_path / "data"), "--no-progress", *model_flags]  # fmt: skip
    assert main(argv) == EXIT_ROWS_FAILED
    out = capsys.readouterr().out
    assert "new: 1" in out and "failed: 1" in out and "row 2 (x)" in out
    assert report.is_file()


def test_ingest_missing_catalog(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(tmp_path / "none.jsonl"), "--data-dir", str(tmp_path)]) == EXIT_USAGE
    assert "catalog: no such file" in _one_error_line(capsys)


def test_models_init_random_prints_the_flags_to_use(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "init-random", "--arch", "tiny", "--out", str(tmp_path)]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"--model local-dir:{tmp_path}" in out and "RANDOMLY INITIALISED" in out
    assert (tmp_path / "open_clip_model.safetensors").is_file()


def test_models_init_random_rejects_unknown_arch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "init-random", "--arch", "ViT-Nope", "--out", str(tmp_path)]) == EXIT_USAGE
    assert "unknown open_clip architecture" in _one_error_line(capsys)


def test_an_empty_search_names_the_filter_that_emptied_it(
    ingested: Path, catalog: SampleCatalog, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    category = catalog.products[0].category
    capsys.readouterr()
    argv = ["search", "--data-dir", str(ingested), "--text", "a dress", *model_flags,
            "--category", category[:-1], "--price-max", "1000"]  # fmt: skip
    assert main(argv) == EXIT_NO_MATCH
    captured = capsys.readouterr()
    assert "no products match" in captured.out
    n = len(catalog.products)
    missing = category[:-1]
    expected = f"--category {missing}: 0 of {n} products (no product has '{missing}'; closest: {category}"
    assert expected in captured.err
    assert f"--price-max 1000: {n} of {n} products" in captured.err


def test_an_empty_json_search_keeps_stdout_json(
    ingested: Path, model_flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["search", "--data-dir", str(ingested), "--text", "a dress", "--json", *model_flags,
            "--price-min", "100000"]  # fmt: skip
    assert main(argv) == EXIT_NO_MATCH
    captured = capsys.readouterr()
    assert json.loads(captured.out)["hits"] == []
    assert "--price-min 100000: 0 of" in captured.err
