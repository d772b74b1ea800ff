"""``grounded demo``: the main job on the embedded store (or the configured Weaviate)."""

from __future__ import annotations

import argparse
from pathlib import Path

from plugin.cli._common import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    MODELS,
    STORE,
    Commands,
    plugin_settings,
    service_settings,
)


def _run(args: argparse.Namespace) -> int:
    from plugin.demo import run_demo

    result = run_demo(
        plugin_settings(args),
        service_settings(args),
        out_dir=args.out,
        random_weights=args.random_weights,
        progress=args.progress,
        limit=args.limit,
    )
    return EXIT_OK if result.ingest.ok else EXIT_ROWS_FAILED


def register(commands: Commands) -> None:
    demo = commands.add(
        "demo",
        "build a product-world catalog, ingest it, run composed queries, write an HTML page",
        settings=(*STORE, "weaviate-collection", *MODELS, "compose", "vocabulary"),
    )
    demo.add_argument("--out", type=Path, help="output folder (default: <data-dir>/demo)")
    demo.add_argument(
        "--random-weights",
        action="store_true",
        help="run a randomly initialised ViT-B-32 instead of a trained model (rankings meaningless)",
    )
    demo.add_argument("--limit", type=int, default=5, help="results per query")
    demo.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    demo.set_defaults(run=_run)
