"""``grounded ingest``: import a catalog into the product store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from plugin.cli._checks import existing_dir, existing_file, fraction, positive_int
from plugin.cli._common import (
    EXIT_OK,
    EXIT_ROWS_FAILED,
    MODELS,
    STORE,
    Commands,
    plugin_settings,
    service_settings,
)
from schemas.errors import InvalidInputError

if TYPE_CHECKING:
    from plugin.encoder.protocol import QueryEncoder
    from plugin.ingest.tagging import AutoTagger

DEFAULT_AUTO_TAG_THRESHOLD = 0.5
"""plugin.ingest.tagging.DEFAULT_THRESHOLD, repeated so that the parser imports no model code."""

_FAILURES_SHOWN = 10
"""Failed rows printed; the report file lists every one."""


def _run(args: argparse.Namespace) -> int:
    # Every argument was checked while parsing, before a model loads (that takes seconds to
    # minutes): the catalog's format, the files, --batch-size and --auto-tag-threshold.
    plugin = plugin_settings(args)
    # Weaviate's multi2vec-clip module embeds objects itself: then no model is loaded here.
    server_side = plugin.store_backend() == "weaviate" and plugin.vectorization == "weaviate"
    service = service_settings(args)

    from plugin.ingest.pipeline import ingest_catalog
    from plugin.session import open_session
    from plugin.store import store_description

    # Ingestion only embeds (auto-tagging too): the background remover and captioner are not
    # loaded; where Weaviate embeds the objects itself, only --auto-tag needs the model here.
    with open_session(
        plugin, service, load_model=not server_side or args.auto_tag, compose_models=False
    ) as session:
        tagger = _tagger(args, session.encoder)
        if args.recreate:
            print(f"dropping collection {plugin.collection!r} first (--recreate)", file=sys.stderr)
            session.store.drop()
        print(f"ingesting {args.catalog} into {store_description(plugin)}", file=sys.stderr)
        report = ingest_catalog(
            args.catalog,
            store=session.store,
            encoder=session.encoder,
            settings=plugin,
            image_dir=args.images,
            report_path=args.report,
            batch_size=args.batch_size,
            progress=args.progress,
            tagger=tagger,
        )
    added = report.upserted - report.updated
    print(
        f"rows: {report.total_rows}, new: {added}, updated: {report.updated}, "
        f"unchanged: {report.skipped_existing}, failed: {len(report.failures)}, "
        f"in the store: {report.store_count}"
    )
    if args.auto_tag:
        print(f"auto-tags: {report.tags_written} written, {report.tags_abstained} abstained (model unsure)")
    if not report.counts_exact:
        print(
            "  (new / updated as read just before each write: if another import wrote the same "
            "products at the same time, both may count them as new)"
        )
    for failure in report.failures[:_FAILURES_SHOWN]:
        print(f"  row {failure.row} ({failure.product_id or 'no id'}): {failure.reason}")
    if len(report.failures) > _FAILURES_SHOWN:
        print(f"  ... and {len(report.failures) - _FAILURES_SHOWN} more failed rows (all are in the report)")
    if report.count_problem:
        print(f"  {report.count_problem}")
    if report.report_path is not None:
        print(f"report: {report.report_path}")
    return EXIT_OK if report.ok else EXIT_ROWS_FAILED


def catalog_file(value: str) -> Path:
    """A catalog file in a format ingestion reads (checked by its name; nothing is read yet)."""
    from plugin.ingest.catalog import read_catalog

    path = existing_file(value)
    try:
        read_catalog(path)
    except InvalidInputError as exc:
        raise InvalidInputError(exc.message.removeprefix("catalog ")) from None
    return path


def _tagger(args: argparse.Namespace, encoder: QueryEncoder | None) -> AutoTagger | None:
    """The catalog's own vocabulary, its margins calibrated on its own products (printed)."""
    from plugin.ingest.catalog import read_catalog
    from plugin.vocabulary import catalog_tagger

    if not args.auto_tag or encoder is None:
        return None
    products = [row.product for row in read_catalog(args.catalog) if row.product is not None]
    try:
        tagger = catalog_tagger(
            encoder, products, args.images or args.catalog.parent, threshold=args.auto_tag_threshold
        )
    except InvalidInputError as exc:
        raise InvalidInputError(f"--auto-tag: {exc.message}") from exc
    for name, c in (tagger.calibration or {}).items():
        chosen = (
            f"margin >= {c.threshold:.3f}: precision {c.precision:.1%} (lower bound {c.lower_bound:.1%}), "
            f"coverage {c.coverage:.1%}"
            if c.threshold is not None
            else "abstains (no margin's precision is surely at the target)"
        )
        print(f"auto-tag {name}: {chosen} on {c.products} calibration products", file=sys.stderr)
    return tagger


def register(commands: Commands) -> None:
    ingest = commands.add(
        "ingest",
        "import a catalog (JSONL or CSV) into the product store",
        # No composed-query models load: only the vocabulary, for --auto-tag.
        settings=(*STORE, "weaviate-collection", "image-fetch", *MODELS, "vocabulary"),
    )
    ingest.add_argument("catalog", type=catalog_file, help="catalog file (.jsonl or .csv)")
    ingest.add_argument(
        "--images", type=existing_dir, help="folder of relative image paths (default: the catalog's)"
    )
    ingest.add_argument("--report", type=Path, help="write the ingest report (JSON lines) here")
    ingest.add_argument("--batch-size", type=positive_int, default=32, help="products per batch")
    ingest.add_argument(
        "--recreate",
        action="store_true",
        help="drop the collection first and rebuild it (e.g. after changing the model)",
    )
    ingest.add_argument(
        "--auto-tag",
        action="store_true",
        help="fill attributes a row lacks from its image, zero-shot, with the catalog's own values and "
        "only where the model is sure (margins calibrated on the catalog; marked inferred)",
    )
    ingest.add_argument(
        "--auto-tag-threshold",
        type=fraction,
        default=DEFAULT_AUTO_TAG_THRESHOLD,
        help=f"probability floor a zero-shot value needs besides its margin ({DEFAULT_AUTO_TAG_THRESHOLD})",
    )
    ingest.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar"
    )
    ingest.set_defaults(run=_run)
