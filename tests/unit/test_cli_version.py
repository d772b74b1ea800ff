"""`grounded --version` prints the installed package's version and exits 0."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from plugin.cli import main


def test_version_is_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"grounded {version('grounded')}"
