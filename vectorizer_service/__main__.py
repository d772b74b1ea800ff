"""``python -m vectorizer_service``: run the vectorizer service (HTTP + gRPC)."""

from __future__ import annotations

import argparse
import sys

from schemas.errors import GroundedError
from vectorizer_service.serve import add_serve_arguments, serve, settings_from_args


def main(argv: list[str] | None = None) -> int:
    """Parse flags (each mirrors a GROUNDED_* variable), then serve until stopped."""
    parser = argparse.ArgumentParser(
        prog="python -m vectorizer_service",
        description="CLIP vectorizer for Weaviate (multi2vec-clip HTTP contract) with a gRPC API.",
    )
    add_serve_arguments(parser)
    settings = settings_from_args(parser.parse_args(argv))
    try:
        serve(settings)
    except GroundedError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
