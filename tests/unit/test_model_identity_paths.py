"""One model folder spelled two ways is one vector space (plugin.store.fingerprint): a table
``grounded demo`` built with the folder's absolute path is searched with a relative one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from plugin.store.fingerprint import model_mismatch, same_vector_space


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    model = tmp_path / "models" / "world"
    model.mkdir(parents=True)
    (tmp_path / "other").mkdir()
    monkeypatch.chdir(tmp_path)
    return model


def test_an_absolute_and_a_relative_path_to_one_folder_are_one_model(folder: Path) -> None:
    absolute = f"open_clip:{folder}::128"
    assert same_vector_space(absolute, "open_clip:models/world::128")
    assert same_vector_space("open_clip:local-dir:models/world::128", absolute)
    assert model_mismatch(absolute, None, "open_clip:./models/../models/world::128", None) is None


def test_other_folders_backends_tags_or_sizes_stay_different(folder: Path) -> None:
    absolute = f"open_clip:{folder}::128"
    assert not same_vector_space(absolute, "open_clip:other::128")
    assert not same_vector_space(absolute, "open_clip:models/world::512")
    assert not same_vector_space(absolute, "transformers:models/world::128")
    assert not same_vector_space(absolute, "open_clip:models/world:openai:128")
    # A folder that does not exist here cannot be shown to be the same one.
    assert not same_vector_space("open_clip:gone/world::128", f"open_clip:{Path.cwd()}/gone/world::128")
    assert not same_vector_space("open_clip:ViT-B-32:openai:512", "open_clip:ViT-B-32:laion2b:512")
    assert os.path.isdir(folder)


def test_the_weights_hash_still_tells_a_retrained_folder_apart(folder: Path) -> None:
    problem = model_mismatch(
        f"open_clip:{folder}::128", "sha256:aa", "open_clip:models/world::128", "sha256:bb"
    )
    assert problem is not None and "retrained" in problem
