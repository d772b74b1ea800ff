"""``grounded ingest``: import a catalog into the product store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._common import EXIT_OK, EXIT_ROWS_FAILED, Commands, plugin_settings, service_settings
from schemas.errors import InvalidInputError


def _run(args: argparse.Namespace) -> int:
    from plugin.encoder import QueryEncoder
    from plugin.ingest import ingest_catalog
    from plugin.local_encoder import open_encoder
    from plugin.store import open_store, store_description

    plugin = plugin_settings(args)
    if not args.catalog.is_file():
        raise InvalidInputError(f"catalog: no such file: {args.catalog}")
    if args.images is not None and not args.images.is_dir():
        raise InvalidInputError(f"--images: no such folder: {args.images}")
    # Weaviate's multi2vec-clip module embeds objects itself: then no model is loaded here.
    server_side = bool(plugin.weaviate_url) and plugin.vectorization == "weaviate"
    encoder: QueryEncoder | None = None if server_side else open_encoder(plugin, service_settings(args))
    try:
        dimension = encoder.model_info().dimension if encoder is not None else None
        store = open_store(plugin, dimension=dimension)
        try:
            print(f"ingesting {args.catalog} into {store_description(plugin)}", file=sys.stderr)
            report = ingest_catalog(
                args.catalog,
                store=store,
                encoder=encoder,
                settings=plugin,
                image_dir=args.images,
                report_path=args.report,
                batch_size=args.batch_size,
                progress=args.progress,
            )
        finally:
            store.close()
    finally:
        if encoder is not None:
            encoder.close()
    print(
        f"rows: {report.total_rows}, upserted: {report.upserted}, already stored: {report.skipped_existing}, "
        f"failed: {len(report.failures)}, in the store: {report.store_count}"
    )
    for failure in report.failures[:10]:
        print(f"  row {failure.row} ({failure.product_id or 'no id'}): {failure.reason}")
    if report.count_problem:
        print(f"  {report.count_problem}")
    if report.report_path is not None:
        print(f"report: {report.report_path}")
    return EXIT_OK if report.ok else EXIT_ROWS_FAILED


def register(commands: Commands) -> None:
    ingest = commands.add("ingest", "import a catalog (JSONL or CSV) into the product store")
    ingest.add_argument("catalog", type=Path, help="catalog file (.jsonl or .csv)")
    ingest.add_argument("--images", type=Path, help="folder of relative image paths (default: the catalog's)")
    ingest.add_argument("--report", type=Path, help="write the ingest report (JSON lines) here")
    ingest.add_argument("--batch-size", type=int, default=32, help="products per batch")
    ingest.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar"
    )
    ingest.set_defaults(run=_run)
