"""The gallery cache's key follows the content of the model's weights and of the gallery's
images, so a model retrained into the same folder, or a regenerated image at the same path, is
never scored with vectors another model or image made."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from plugin.evaluation import build_configs, load_cirr, run_evaluation
from plugin.evaluation import runner as runner_module
from plugin.evaluation.cache import NAMED_WEIGHTS, REMOTE_WEIGHTS, cache_key, weights_identity
from tests.support.eval_layouts import make_image, write_cirr
from tests.support.fake_weaviate.encoder import FakeEncoder


def _model_folder(root: Path, weights: bytes = b"\x00" * 64) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "open_clip_config.json").write_text('{"embed_dim": 8}')
    (root / "open_clip_model.safetensors").write_bytes(weights)
    (root / "vocabulary.json").write_text("{}")
    return root


def test_a_retrained_folder_is_new_weights_an_untouched_one_is_not(tmp_path: Path) -> None:
    folder = _model_folder(tmp_path / "model")
    first = weights_identity(str(folder), "")
    assert first.startswith("sha256:")
    assert weights_identity(f"local-dir:{folder}", "") == first  # the same files, however named
    # the captioner's vocabulary and the training card do not change a gallery vector
    (folder / "vocabulary.json").write_text('{"categories": []}')
    (folder / "card.json").write_text("{}")
    assert weights_identity(str(folder), "") == first
    # retrained in place: same path, same size, other bytes
    (folder / "open_clip_model.safetensors").write_bytes(b"\x01" * 64)
    assert weights_identity(str(folder), "") != first
    # a copy elsewhere holds the same weights
    shutil.copytree(folder, tmp_path / "copy")
    assert weights_identity(str(tmp_path / "copy"), "") == weights_identity(str(folder), "")


def test_a_checkpoint_file_and_named_weights(tmp_path: Path) -> None:
    checkpoint = tmp_path / "ViT-B-32.pt"
    checkpoint.write_bytes(b"one")
    first = weights_identity("ViT-B-32", str(checkpoint))
    checkpoint.write_bytes(b"two")
    assert weights_identity("ViT-B-32", str(checkpoint)) not in (first, NAMED_WEIGHTS)
    # a pretrained tag or hub id names its weights: no file to hash
    assert weights_identity("ViT-B-32", "openai") == NAMED_WEIGHTS
    assert weights_identity("hf-hub:org/model", "") == NAMED_WEIGHTS


def test_the_key_follows_image_content_not_paths() -> None:
    meta = FakeEncoder().model_info()
    gallery = [("a", "1" * 64), ("b", "2" * 64)]
    key = cache_key(meta, "sha256:x", gallery)
    assert cache_key(meta, "sha256:x", list(gallery)) == key
    assert cache_key(meta, "sha256:x", [("a", "1" * 64), ("b", "3" * 64)]) != key  # b re-rendered
    assert cache_key(meta, "sha256:x", gallery[::-1]) != key  # rows are positions
    assert cache_key(meta, "sha256:y", gallery) != key
    assert cache_key(meta, REMOTE_WEIGHTS, gallery) != key


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = runner_module._embed_gallery

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_module, "_embed_gallery", counting)
    return calls


def test_retraining_in_place_or_regenerating_an_image_misses_the_cache(
    tmp_path: Path, counted: list[int]
) -> None:
    root = write_cirr(tmp_path / "cirr")
    folder = _model_folder(tmp_path / "model")
    encoder, cache = FakeEncoder(), tmp_path / "cache"
    configs = [c for c in build_configs(["text_only"], []) if c.name == "text_only"]

    def run() -> bool:
        dataset = load_cirr(root, "val")
        weights = weights_identity(str(folder), "")
        return run_evaluation(
            dataset, encoder, configs, cache_dir=cache, progress=False, weights=weights
        ).gallery_from_cache

    assert [run(), run()] == [False, True]  # unchanged: read back
    (folder / "open_clip_model.safetensors").write_bytes(b"\x02" * 64)  # `make world-model` again
    assert [run(), run()] == [False, True]
    make_image(root / "dev" / "dev-2-0-img2.png", 7)  # the same path, another picture
    assert run() is False
    assert counted == [1, 1, 1]
    assert len(list(cache.glob("cirr-val-*.npy"))) == 3


def test_the_report_names_the_weights_it_measured(tmp_path: Path) -> None:
    root = write_cirr(tmp_path / "cirr")
    configs = [c for c in build_configs(["text_only"], []) if c.name == "text_only"]
    run = run_evaluation(
        load_cirr(root, "val"), FakeEncoder(), configs, cache_dir=tmp_path / "c", progress=False,
        weights=REMOTE_WEIGHTS,
    )  # fmt: skip
    assert run.weights == REMOTE_WEIGHTS
    # without a weights identity the record's files are hashed; the fake names none
    assert run_evaluation(load_cirr(root, "val"), FakeEncoder(), configs, cache_dir=tmp_path / "c",
                          progress=False).weights == NAMED_WEIGHTS  # fmt: skip
    assert np.load(next((tmp_path / "c").glob("*.npy"))).shape[0] == 6
