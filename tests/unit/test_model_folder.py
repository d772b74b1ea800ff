"""A model folder carries what a query needs: its vocabulary is found without --vocabulary, and
the background-removal weights `grounded models fetch-u2netp` fetched are found without a variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from vectorizer_service.compose.remover import model_file
from vectorizer_service.compose.vocab import vocabulary_path
from vectorizer_service.compose.weights import default_u2net_home
from vectorizer_service.settings import ServiceSettings


def test_the_model_folders_vocabulary_is_used_unless_one_is_given(tmp_path: Path) -> None:
    (tmp_path / "vocabulary.json").write_text("{}", encoding="utf-8")
    assert vocabulary_path(ServiceSettings(model=str(tmp_path))) == tmp_path / "vocabulary.json"
    given = tmp_path / "mine.json"
    assert vocabulary_path(ServiceSettings(model=str(tmp_path), vocabulary=given)) == given
    # A hub model name, or a folder without one: the bundled default.
    assert vocabulary_path(ServiceSettings(model="ViT-B-32")) is None
    assert vocabulary_path(ServiceSettings(model=str(tmp_path / "empty"))) is None


def test_fetched_u2netp_weights_are_found_without_an_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("GROUNDED_U2NET_HOME", "U2NET_HOME"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    home = default_u2net_home()  # where fetch-u2netp writes without --dest
    assert home == tmp_path / ".u2net"
    home.mkdir()
    (home / "u2netp.onnx").write_bytes(b"weights")
    assert model_file(ServiceSettings(rembg_model="u2netp")) == home / "u2netp.onnx"
