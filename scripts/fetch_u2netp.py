"""Put rembg's official u2netp.onnx into a folder (same as `grounded models fetch-u2netp --dest`).

Usage: python scripts/fetch_u2netp.py DEST_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from vectorizer_service.compose.weights import fetch_u2netp

if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    path, fetched = fetch_u2netp(Path(sys.argv[1]))
    print(f"wrote {path}" if fetched else f"{path} already present")
