"""Fixtures the training tests share (a module that defines its own ``catalog`` keeps it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.training_catalog import write_catalog, write_tiny_config


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("catalog"), copies=2)  # 24 products


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_config(tmp_path_factory.mktemp("arch"))
