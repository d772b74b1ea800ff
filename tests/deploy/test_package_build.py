"""The package people install: `python -m build` makes an sdist and a wheel that `twine check`
accepts, and the wheel carries the package data the commands read (the world model and its
vocabulary, the bundled vocabulary, the page's templates and static files) and the LICENSE.

Skipped where `build` (or `twine`) is not installed (`pip install -e ".[dev]"` installs both).
The build runs on a copy of the tracked files, without build isolation (offline, the
environment's setuptools), so the checkout is left as it was.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("build") is None or importlib.util.find_spec("twine") is None,
    reason="`build` and `twine` are not installed (the dev extras)",
)

PACKAGE_DATA = (
    "plugin/world/model/open_clip_model.safetensors",
    "plugin/world/model/open_clip_config.json",
    "plugin/world/model/vocabulary.json",
    "plugin/world/model/card.json",
    "plugin/world/model/attribute_head.safetensors",
    "plugin/world/model/attribute_head.json",
    "vectorizer_service/compose/vocabulary/products.json",
    "plugin/ui/templates/",
    "plugin/ui/static/",
    "plugin/demo/templates/",
    "schemas/grounded.proto",
)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return out


def test_sdist_and_wheel_pass_twine_check(dist: Path) -> None:
    files = sorted(dist.iterdir())
    assert sorted(f.suffix for f in files) == [".gz", ".whl"]
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_wheel_carries_the_package_data_and_the_license(dist: Path) -> None:
    wheel = next(dist.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for wanted in PACKAGE_DATA:
        assert any(n.startswith(wanted) for n in names), f"{wanted} is missing from {wheel.name}"
    assert any(n.endswith(".dist-info/licenses/LICENSE") or n.endswith(".dist-info/LICENSE") for n in names)
