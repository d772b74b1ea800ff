"""grounded train on a tiny from-scratch open_clip model: it learns, saves a checkpoint the
production loader serves with the same vectors, is deterministic and resumes exactly."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from plugin.cli import main
from plugin.training import (
    CARD_NAME,
    STATE_NAME,
    WEIGHTS_NAME,
    TrainOptions,
    TrainResult,
    encode_examples,
    train,
)
from plugin.training.checkpoint import save_model
from plugin.training.dataset import load_catalog_examples
from schemas.errors import InvalidInputError
from schemas.vocabulary import parse_vocabulary
from tests.support.training_catalog import write_catalog
from vectorizer_service.runtime import TINY_OPEN_CLIP_CONFIG, load_embedder
from vectorizer_service.settings import ServiceSettings


def _options(catalog: Path, config: Path, out: Path, **overrides: Any) -> TrainOptions:
    base = TrainOptions(
        catalog=catalog, out=out, model=str(config), epochs=2, batch_size=6, warmup_steps=1,
        val_fraction=0.25, device="cpu", progress=False, scene_check=0,
    )  # fmt: skip
    return dataclasses.replace(base, **overrides)


@pytest.fixture(scope="module")
def trained(catalog: Path, tiny_config: Path, tmp_path_factory: pytest.TempPathFactory) -> TrainResult:
    return train(_options(catalog, tiny_config, tmp_path_factory.mktemp("out"), epochs=4), command=["test"])


def _embedder(**settings: Any) -> Any:
    return load_embedder(ServiceSettings(backend="open_clip", device="cpu", offline=True, **settings))


def _vectors(embedder: Any, catalog: Path) -> tuple[np.ndarray, np.ndarray]:
    examples = load_catalog_examples(catalog).examples
    images = embedder.encode_images([e.image for e in examples])
    texts = embedder.encode_texts([e.product.title for e in examples])
    return images, texts


def test_a_few_steps_lower_the_loss(trained: TrainResult) -> None:
    assert trained.steps == trained.total_steps == 12
    assert np.mean(trained.losses[-3:]) < trained.losses[0] - 0.1


def test_the_card_records_data_config_metrics_and_provenance(trained: TrainResult, catalog: Path) -> None:
    out = Path(trained.card["config"]["options"]["out"])
    card = json.loads((out / CARD_NAME).read_text())
    assert card["data"]["rows"] == 24 and card["data"]["held_out_rows"] == 6
    assert card["data"]["hard_batch_keys"] == ["category", "colour"]
    assert len(card["data"]["sha256"]) == 64
    assert card["config"]["model_cfg"] == TINY_OPEN_CLIP_CONFIG and card["config"]["from_scratch"]
    assert set(card["metrics"]["before"]) == set(card["metrics"]["after"]) == {
        "image_to_text_R@1", "image_to_text_R@10", "text_to_image_R@1", "text_to_image_R@10",
    }  # fmt: skip
    assert card["training"]["steps"] == 12 and card["training"]["pairs_per_s"] > 0
    assert card["command"] == ["test"] and card["versions"]["open_clip"]
    assert (out / STATE_NAME).is_file()


@pytest.mark.parametrize("how", ["local-dir", "config+weights"])
def test_the_checkpoint_serves_the_trained_vectors(
    trained: TrainResult, catalog: Path, tiny_config: Path, how: str
) -> None:
    out = Path(trained.card["config"]["options"]["out"])
    if how == "local-dir":  # grounded serve --model <out>
        embedder = _embedder(model=str(out))
    else:  # grounded serve --model <arch> --pretrained <out>/open_clip_model.safetensors
        embedder = _embedder(model=str(tiny_config), pretrained=str(out / WEIGHTS_NAME))
    served_images, served_texts = _vectors(embedder, catalog)
    examples = load_catalog_examples(catalog).examples
    images, texts = encode_examples(trained.starting, trained.model, examples, torch.device("cpu"), 64)
    np.testing.assert_allclose(served_images, images, atol=1e-5)
    np.testing.assert_allclose(served_texts, texts, atol=1e-5)


def test_fp16_weights_are_half_the_size_and_serve_close_vectors(
    trained: TrainResult, catalog: Path, tmp_path: Path
) -> None:
    out = Path(trained.card["config"]["options"]["out"])
    half = tmp_path / "fp16"
    save_model(
        half, trained.model, trained.starting.model_cfg, trained.starting.preprocess_cfg, save_dtype="fp16"
    )
    ratio = (half / WEIGHTS_NAME).stat().st_size / (out / WEIGHTS_NAME).stat().st_size
    assert 0.45 < ratio < 0.55
    full_images, full_texts = _vectors(_embedder(model=str(out)), catalog)
    half_images, half_texts = _vectors(_embedder(model=str(half)), catalog)
    np.testing.assert_allclose(half_images, full_images, atol=1e-2)
    np.testing.assert_allclose(half_texts, full_texts, atol=1e-2)


def test_same_seed_same_losses_and_resume_ends_with_the_same_weights(
    catalog: Path, tiny_config: Path, tmp_path: Path
) -> None:
    whole = train(_options(catalog, tiny_config, tmp_path / "whole"))
    first = train(_options(catalog, tiny_config, tmp_path / "split", stop_after_steps=2))
    assert not first.complete and first.losses == whole.losses[:2]
    resumed = train(_options(catalog, tiny_config, tmp_path / "split", resume=True))
    assert resumed.complete and resumed.losses == whole.losses
    assert resumed.metrics_before == whole.metrics_before
    for (name, a), (_, b) in zip(
        whole.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    other = train(_options(catalog, tiny_config, tmp_path / "other", seed=1, stop_after_steps=1))
    assert other.losses[0] != whole.losses[0]


def test_resume_refuses_changed_options(catalog: Path, tiny_config: Path, tmp_path: Path) -> None:
    train(_options(catalog, tiny_config, tmp_path, stop_after_steps=1))
    with pytest.raises(InvalidInputError, match=r"options differ from the saved run \(lr: 0.0005 -> 0.001\)"):
        train(_options(catalog, tiny_config, tmp_path, resume=True, lr=1e-3))


def test_fine_tuning_with_the_image_tower_locked_changes_only_text(
    trained: TrainResult, catalog: Path, tmp_path: Path
) -> None:
    start = Path(trained.card["config"]["options"]["out"])
    tuned = train(_options(catalog, start, tmp_path, model=str(start), lock_image=True, stop_after_steps=2))
    before, after = trained.model.state_dict(), tuned.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("visual."))
    assert not torch.equal(before["token_embedding.weight"], after["token_embedding.weight"])
    assert not tuned.starting.from_scratch


def test_cli_trains_and_a_bad_catalog_exits_2(
    catalog: Path, tiny_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli"
    common = [
        "--model",
        str(tiny_config),
        "--device",
        "cpu",
        "--no-progress",
        "--batch-size",
        "6",
        "--scene-check",
        "0",
    ]
    assert (
        main(["train", str(catalog), "--out", str(out), "--epochs", "1", "--val-fraction", "0.25", *common])
        == 0
    )
    captured = capsys.readouterr()
    printed = captured.out
    assert "image->text_R@1" in printed and f"grounded serve --model {out}" in printed
    assert (out / WEIGHTS_NAME).is_file()
    # The folder carries the catalog's vocabulary, and the check loads the model from it.
    vocabulary = parse_vocabulary((out / "vocabulary.json").read_text(encoding="utf-8"), "trained")
    assert {c.name for c in vocabulary.categories} == {"square", "disc", "stripe"}
    assert sorted(v.name for v in vocabulary.attributes[0].values) == ["blue", "green", "red", "yellow"]
    assert f"vocabulary: wrote {out / 'vocabulary.json'}" in captured.err
    check = ["vocabulary", str(catalog), "--preview", "--check", "--model", str(out), "--device", "cpu"]
    assert main(check) == 0
    printed = capsys.readouterr().out
    assert "checking on 5 held-out products of 24" in printed and "zero-shot on 5 held-out photos" in printed
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "x1", "title": "t", "image": "missing.png"}) + "\n")
    assert main(["train", str(bad), "--out", str(tmp_path / "bad"), *common]) == 2
    assert "row 1 (x1): image file not found: missing.png" in capsys.readouterr().err


def test_cli_skip_bad_rows_trains_on_the_rest_and_lists_each_skipped_row(
    tiny_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "shop"
    catalog = write_catalog(folder, copies=1, extra=[{"id": 77, "title": "broken", "image": "broken.jpg"}])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 half a jpeg")
    common = [
        str(catalog),
        "--model",
        str(tiny_config),
        "--device",
        "cpu",
        "--no-progress",
        "--scene-check",
        "0",
    ]
    common += ["--batch-size", "4", "--epochs", "1", "--val-fraction", "0.25", "--stop-after-steps", "1"]
    out = tmp_path / "out"
    assert main(["train", *common, "--out", str(out)]) == 2
    assert "pass --skip-bad-rows to train on the 12 usable rows" in capsys.readouterr().err
    assert main(["train", *common, "--out", str(out), "--skip-bad-rows"]) == 0
    printed = capsys.readouterr()
    assert "skipped row 13 (77): image 'broken.jpg' cannot be decoded: not an image" in printed.err
    assert "skipped 1 unusable row(s) of 13" in printed.out
    card = json.loads((out / CARD_NAME).read_text())
    assert card["data"]["rows"] == 12 and card["data"]["catalog_rows"] == 13
    assert card["data"]["skipped_rows"] == [
        {"row": 13, "id": "77", "reason": "image 'broken.jpg' cannot be decoded: not an image "
         "(cannot identify format; accepted: JPEG, PNG, WebP, GIF, BMP)"}
    ]  # fmt: skip
    assert card["data"]["catalog"] == str(catalog.resolve())
    # The file repaired, the same catalog file now trains on other rows: not the run to resume.
    draw_ok = folder / "red-square-0.png"
    (folder / "broken.jpg").write_bytes(draw_ok.read_bytes())
    assert main(["train", *common, "--out", str(out), "--skip-bad-rows", "--resume"]) == 2
    assert "the unusable rows changed since the saved state" in capsys.readouterr().err


def test_a_model_with_a_large_input_trains_on_images_held_at_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import Image

    from plugin.training import trainer as trainer_module

    folder = tmp_path / "photos"
    folder.mkdir()
    rows = []
    for i in range(4):
        Image.new("RGB", (500, 400), (60 * i, 100, 200)).save(folder / f"{i}.jpg")
        rows.append({"id": i, "title": f"photo {i}", "image": f"{i}.jpg"})
    (folder / "catalog.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    big = {**TINY_OPEN_CLIP_CONFIG, "vision_cfg": {**TINY_OPEN_CLIP_CONFIG["vision_cfg"], "image_size": 320}}
    config = tmp_path / "tiny-320.json"
    config.write_text(json.dumps(big))
    held: list[tuple[int, int]] = []
    real = trainer_module.load_catalog_examples

    def spy(*args: Any, **kwargs: Any) -> Any:
        data = real(*args, **kwargs)
        held.extend(e.image.size for e in data.examples)
        return data

    monkeypatch.setattr(trainer_module, "load_catalog_examples", spy)
    options = _options(folder / "catalog.jsonl", config, tmp_path / "out", batch_size=2, val_fraction=0.0)
    train(dataclasses.replace(options, stop_after_steps=1))
    assert held == [(400, 320)] * 4  # not 256: the model's own 320 pixels


def test_the_card_records_the_shopper_scenes(trained: TrainResult) -> None:
    scenes = trained.card["scenes"]
    rows = trained.card["data"]["train_rows"]
    assert scenes["fraction"] == 0.25 and scenes["variants"] == 3
    assert scenes["views"] == 3 * (rows - scenes["rows_without_scenes"]) > 0
    assert 0 < scenes["scene_batches"] < trained.steps or trained.steps < 4
    assert scenes["stand_in_check"] == {"measured": False, "reason": "--scene-check 0"}
    held_out = trained.card["metrics"]["scenes"]
    assert set(held_out) == {"before", "after"} and "image_to_text_R@1" in held_out["after"]


def test_the_stand_in_is_measured_against_the_real_remover(catalog: Path) -> None:
    import os

    from plugin.training.scene_bank import check_stand_in

    home = os.environ.get("GROUNDED_U2NET_HOME")
    if not home or not (Path(home) / "u2netp.onnx").is_file():
        pytest.skip("u2netp weights not found (make weights; GROUNDED_U2NET_HOME)")
    examples = load_catalog_examples(catalog).examples
    check = check_stand_in(examples, 4, seed=0, threads=1)
    assert check["measured"] is True and check["remover"] == "rembg:u2netp"
    assert check["scenes"] >= 1 and 0.0 <= check["mask_iou"] <= 1.0
