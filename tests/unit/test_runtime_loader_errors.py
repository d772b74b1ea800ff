"""Startup failures: one clear ModelUnavailableError naming the model, never a download offline.

No weights are loaded here; every case fails before a model is built.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from schemas.errors import ModelUnavailableError
from vectorizer_service.runtime import load_embedder
from vectorizer_service.runtime.loader import is_offline, resolve_dtype
from vectorizer_service.settings import ServiceSettings


@pytest.fixture(autouse=True)
def no_network_and_empty_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Any connection attempt fails the test; the model caches are empty folders."""
    from huggingface_hub import constants

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the loader tried to reach the network while offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # open_clip's ~/.cache/clip


def _load(**kwargs: Any) -> str:
    settings = ServiceSettings(device="cpu", offline=True, **kwargs)
    with pytest.raises(ModelUnavailableError) as raised:
        load_embedder(settings)
    return raised.value.message


def test_missing_pretrained_tag_offline_names_the_model_and_the_flag() -> None:
    message = _load(model="ViT-B-32", pretrained="openai")
    assert "ViT-B-32" in message and "openai" in message
    assert "--pretrained /path/to/checkpoint.pt" in message


def test_missing_checkpoint_file_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "vitb32.pt"
    message = _load(model="ViT-B-32", pretrained=str(missing))
    assert "ViT-B-32" in message and str(missing) in message and "not found" in message


def test_hub_model_not_in_cache_offline() -> None:
    message = _load(model="hf-hub:grounded-tests/not-cached")
    assert "hf-hub:grounded-tests/not-cached" in message and "offline" in message


def test_local_dir_without_config(tmp_path: Path) -> None:
    message = _load(model=f"local-dir:{tmp_path}")
    assert str(tmp_path) in message and "open_clip_config.json" in message


def test_unknown_architecture_is_named() -> None:
    assert "'ViT-Z-99'" in _load(model="ViT-Z-99", pretrained="openai")


def test_unknown_pretrained_tag_lists_the_known_ones() -> None:
    message = _load(model="ViT-B-32", pretrained="no-such-tag")
    assert "no-such-tag" in message and "laion2b_s34b_b79k" in message


def test_architecture_without_weights_is_refused_not_randomly_initialised() -> None:
    assert "ViT-B-32" in _load(model="ViT-B-32", pretrained="")


def test_transformers_hub_id_not_in_cache_offline() -> None:
    message = _load(backend="transformers", model="openai/clip-vit-base-patch32")
    assert "openai/clip-vit-base-patch32" in message and "save_pretrained directory" in message


def test_transformers_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "clip"
    message = _load(backend="transformers", model=str(missing))
    assert str(missing) in message and "not found" in message


def test_hf_hub_offline_switch_counts_as_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    settings = ServiceSettings(offline=False)
    assert is_offline(settings) is False
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert is_offline(settings) is True


def test_fp16_on_cpu_is_refused_with_the_fix() -> None:
    import torch

    with pytest.raises(ModelUnavailableError, match="--precision fp32"):
        resolve_dtype("fp16", torch.device("cpu"))
    assert resolve_dtype("auto", torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.float16
