"""``grounded duplicates``: near-duplicate listings in the product store, as a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._checks import positive_int
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
    # The stored vectors are compared, nothing is embedded: no model is loaded.
    with open_session(plugin, service_settings(args), load_model=False) as session:
        print(f"looking for near-duplicates in {store_description(plugin)}", file=sys.stderr)
        report = find_duplicates(
            session.store,
            threshold=args.threshold,
            neighbours=args.neighbours,
            title_threshold=args.title_threshold,
            exact_limit=plugin.duplicates_exact_limit,
            progress=args.progress,
        )
    grouped = sum(len(g.members) for g in report.groups)
    print(
        f"products: {report.products}, groups: {len(report.groups)}, products in groups: {grouped}, "
        f"threshold: {report.threshold}, {report.method}, {report.seconds:.1f} s"
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
        settings=(*STORE, "duplicates"),
    )
    dup.add_argument(
        "--threshold",
        type=float,
        default=0.95,
        help="cosine similarity at and above which two products group",
    )
    dup.add_argument(
        "--neighbours",
        type=positive_int,
        default=10,
        help="nearest products searched per product (catalogs over --duplicates-exact-limit)",
    )
    dup.add_argument(
        "--title-threshold",
        type=float,
        help="also require titles this similar (word overlap 0..1); default: vectors only",
    )
    dup.add_argument("--report", type=Path, help="write the groups here (.jsonl or .csv)")
    dup.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar (stderr)"
    )
    dup.set_defaults(run=_run)
