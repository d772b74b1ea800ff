"""The package people install: `python -m build` makes an sdist and a wheel that `twine check`
accepts, and the wheel carries the package data the commands read (the world model and its
vocabulary, the bundled vocabulary, the page's templates and static files) and the LICENSE.

Skipped where `build` (or `twine`) is not installed (`pip install -e ".[dev]"` installs both).
The build runs on a copy of the tracked files, without build isolation (offline, the
environment's setuptools), so the checkout is left as it was.

Then ``grounded demo`` from the wheel alone: the wheel is installed with ``--no-deps`` into a
fresh venv whose dependencies come from this environment's site-packages (a ``.pth`` line, so
this environment's editable install of the checkout is *not* seen), and the demo runs offline
from outside the checkout: the world model, its vocabulary and the templates it reads are the
wheel's.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import site
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
    "plugin/world/model/remover.onnx",
    "plugin/world/model/remover.json",
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


@pytest.fixture(scope="module")
def wheel_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("wheel-venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    (purelib,) = Path(venv, "lib").glob("python*/site-packages")
    # The dependencies: this environment's site-packages, added as a plain path. Its .pth files
    # (the editable install of the checkout among them) are not processed from there.
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    wheel = next(dist.glob("*.whl"))
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return venv


def test_grounded_demo_runs_from_the_wheel_in_a_fresh_venv(
    wheel_venv: Path, u2net_home: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(
        HF_HUB_OFFLINE="1", GROUNDED_U2NET_HOME=str(u2net_home), GROUNDED_DATA_DIR=str(tmp_path / "data")
    )
    where = subprocess.run(
        [str(wheel_venv / "bin" / "python"), "-c", "import plugin, vectorizer_service; "
         "print(plugin.__file__); print(vectorizer_service.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    for path in where.stdout.split():
        assert Path(path).is_relative_to(wheel_venv), where.stdout  # the wheel's code, not the checkout's
    demo = subprocess.run(
        [str(wheel_venv / "bin" / "grounded"), "demo", "--offline", "--no-progress", "--limit", "3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output
    assert "product-world model" in output  # offline: the world model that ships in the wheel
    # At least one query's first hit meets it: the shipped model answers, not noise.
    assert re.search(r"a product that meets the query ranked first in [1-9]\d* of \d+ queries", output), (
        output
    )
    page = tmp_path / "data" / "demo" / "index.html"
    assert page.is_file() and "Grounded demo" in page.read_text(encoding="utf-8")
    assert (tmp_path / "data" / "demo" / "examples" / "examples.json").is_file()
