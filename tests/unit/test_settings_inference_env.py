"""ENABLE_CUDA / CUDA_CORE, the variables Weaviate's inference containers (and the official Helm
chart) use, choose the device unless a GROUNDED_* setting or a flag says otherwise."""

from __future__ import annotations

import pytest

from vectorizer_service.settings import ServiceSettings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENABLE_CUDA", "CUDA_CORE", "GROUNDED_DEVICE"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("env", "device"),
    [
        ({}, "auto"),
        ({"ENABLE_CUDA": "0"}, "cpu"),
        ({"ENABLE_CUDA": "false"}, "cpu"),
        ({"ENABLE_CUDA": "1"}, "cuda:0"),
        ({"ENABLE_CUDA": "true"}, "cuda:0"),
        ({"ENABLE_CUDA": "1", "CUDA_CORE": "cuda:1"}, "cuda:1"),
        ({"ENABLE_CUDA": "0", "CUDA_CORE": "cuda:1"}, "cpu"),
        ({"CUDA_CORE": "cuda:1"}, "auto"),
    ],
)
def test_the_charts_variables_choose_the_device(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], device: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert ServiceSettings().device == device


def test_grounded_device_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENABLE_CUDA", "1")
    monkeypatch.setenv("GROUNDED_DEVICE", "cpu")
    assert ServiceSettings().device == "cpu"
    monkeypatch.delenv("GROUNDED_DEVICE")
    assert ServiceSettings(device="cpu").device == "cpu"  # what a --device flag passes
