"""``grounded duplicates``: near-duplicate listings in the product store, as a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._common import EXIT_OK, STORE, Commands, plugin_settings, service_settings
from schemas.errors import InvalidInputError

_GROUPS_SHOWN = 20


def _run(args: argparse.Namespace) -> int:
    from plugin.search.duplicates import find_duplicates, write_report
    from plugin.session import open_session
    from plugin.store import store_description

    if args.report is not None and args.report.suffix.lower() not in (".jsonl", ".csv"):
        raise InvalidInputError(f"--report: expected a .jsonl or .csv path, got {args.report.name!r}")
    plugin = plugin_settings(args)
    # The stored vectors are compared, nothing is embedded: the embedded table knows their size,
    # Weaviate's listing probe takes it from the model (read once, without the compose models).
    weaviate = plugin.store_backend() == "weaviate"
    with open_session(plugin, service_settings(args), load_model=weaviate, compose_models=False) as session:
        print(f"looking for near-duplicates in {store_description(plugin)}", file=sys.stderr)
        report = find_duplicates(
            session.store,
            session.dimension,
            threshold=args.threshold,
            neighbours=args.neighbours,
            title_threshold=args.title_threshold,
        )
    grouped = sum(len(g.members) for g in report.groups)
    print(
        f"products: {report.products}, groups: {len(report.groups)}, products in groups: {grouped}, "
        f"threshold: {report.threshold}, {report.seconds:.1f} s"
    )
    if report.truncated:
        print(f"  only the first {report.products} products were checked (the store holds more)")
    for number, group in enumerate(report.groups[:_GROUPS_SHOWN], 1):
        print(f"  {number}: " + ", ".join(f"{m.product_id} ({m.similarity:.3f})" for m in group.members))
    if len(report.groups) > _GROUPS_SHOWN:
        print(f"  ... and {len(report.groups) - _GROUPS_SHOWN} more groups (all are in the report)")
    if args.report is not None:
        write_report(report, args.report)
        print(f"report: {args.report}")
    return EXIT_OK


def register(commands: Commands) -> None:
    dup = commands.add(
        "duplicates",
        "find near-duplicate products (image vectors, optionally titles)",
        # The model only tells Weaviate's probe the vector size: nothing is embedded.
        settings=(*STORE, "service", "model"),
    )
    dup.add_argument(
        "--threshold",
        type=float,
        default=0.95,
        help="cosine similarity at and above which two products group",
    )
    dup.add_argument("--neighbours", type=int, default=10, help="nearest products searched per product")
    dup.add_argument(
        "--title-threshold",
        type=float,
        help="also require titles this similar (word overlap 0..1); default: vectors only",
    )
    dup.add_argument("--report", type=Path, help="write the groups here (.jsonl or .csv)")
    dup.set_defaults(run=_run)
