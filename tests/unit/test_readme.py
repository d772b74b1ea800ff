"""The README's front door stays a front door: its first commands are `make demo` and `make test`,
both real targets, `make demo` installs only the demo's extras (not the dev tools), and the page
stays short enough to read (the long sections live in docs/)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
MAX_LINES = 150


def test_the_first_commands_are_make_demo_and_make_test() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert first_block
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]
    targets = set(re.findall(r"^([a-z-]+):", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE))
    assert {"demo", "test"} <= targets


def test_the_readme_is_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) < MAX_LINES


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_demo_installs_the_torch_extra_and_make_test_the_dev_tools(tmp_path: Path) -> None:
    # A dry run in an empty folder: what each would install into a fresh .venv.
    shutil.copy(REPO_ROOT / "Makefile", tmp_path)
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)

    def installs(target: str) -> list[str]:
        plan = subprocess.run(
            ["make", "-n", target], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True
        ).stdout
        return re.findall(r'pip install --quiet -e "\.\[([a-z,]+)\]"', plan)

    assert installs("demo") == ["torch"]
    assert installs("test")[0] == "dev"
