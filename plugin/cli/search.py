"""``grounded search``: one composed query against the product store."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from plugin.cli._checks import image_file, positive_int
from plugin.cli._common import (
    EXIT_NO_MATCH,
    EXIT_OK,
    STORE,
    Commands,
    attr_pair,
    plugin_settings,
    service_settings,
)
from schemas.errors import InvalidInputError
from schemas.wire import ComposeOptions

if TYPE_CHECKING:
    from plugin.store import ProductFilter, ProductStore


def compose_options(args: argparse.Namespace) -> ComposeOptions:
    """Per-request switches from the service flags given, so they also reach a remote service."""
    return ComposeOptions(
        # true, false or auto, asked of the service per request (a remote one's default may differ).
        remove_background=getattr(args, "remove_background", None),
        caption=False if getattr(args, "captioner", None) == "none" else None,
        template=getattr(args, "fusion_template", None),
        image_weight=getattr(args, "image_weight", None),
        fusion_method=getattr(args, "fusion_method", None),
        direction_gain=getattr(args, "direction_gain", None),
    )


def _run(args: argparse.Namespace) -> int:
    # Every argument is checked before anything loads (--image's header and --limit at parse
    # time, the price range and the model files before this runs: plugin.cli._checks).
    if args.image is None and args.product is None and not args.text.strip():
        raise InvalidInputError("search needs --image or --product, --text, or both")
    image: bytes | None = args.image.read_bytes() if args.image is not None else None

    from plugin.search.query import near_grounded
    from plugin.session import open_session
    from plugin.store import ProductFilter

    categories: list[str] = args.category or []
    filters = ProductFilter(
        category=categories[0] if len(categories) == 1 else categories or None,
        brand=args.brand,
        price_min=args.price_min,
        price_max=args.price_max,
        attributes=dict(args.attr or []),
    )
    # A text-only query never reaches the background remover or the captioner: skip loading them.
    compose_models = image is not None or args.product is not None
    plugin, service = plugin_settings(args), service_settings(args)
    with open_session(plugin, service, compose_models=compose_models) as session:
        result = near_grounded(
            session.store,
            session.encoder,
            image=image,
            text=args.text,
            filters=filters,
            limit=args.limit,
            options=compose_options(args),
            product=args.product,
            include_reference=args.include_reference,
        )
        why = _why_empty(session.store, filters) if not result.hits else []
    if args.json:
        payload = {
            "hits": [
                {"uuid": h.uuid, "distance": h.distance, "properties": h.properties} for h in result.hits
            ],
            "explanation": result.explanation.model_dump(mode="json", exclude={"cutout_png"}),
        }
        print(json.dumps(payload, indent=2, default=str))
    else:
        _print_hits(result.hits, result.explanation.caption, result.explanation.fused_text)
    for line in why:
        print(f"  {line}", file=sys.stderr)
    return EXIT_OK if result.hits else EXIT_NO_MATCH


def _why_empty(store: ProductStore, filters: ProductFilter) -> list[str]:
    """Which filter emptied the answer (stderr, so that ``--json`` output stays JSON)."""
    from plugin.search.empty import explain_empty

    report = explain_empty(store, filters)
    return (["each filter alone:"] if report.filters and report.products else []) + report.lines()


def _print_hits(hits: Sequence[Any], caption: str | None, fused: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(caption=f"caption: {caption or '-'}\nfused text: {fused or '-'}")
    for column in ("#", "product", "title", "category", "price", "similarity"):
        table.add_column(column)
    for rank, hit in enumerate(hits, 1):
        p = hit.properties
        price = p.get("price")
        table.add_row(
            str(rank),
            str(p.get("product_id", hit.uuid)),
            str(p.get("title", "")),
            str(p.get("category", "")),
            f"{price:.2f}" if isinstance(price, int | float) else "-",
            f"{1 - hit.distance:.3f}",
        )
    Console().print(table if hits else "no products match")


def register(commands: Commands) -> None:
    search = commands.add(
        "search",
        "composed query: a reference image and/or a requested change",
        # One query: nothing to batch.
        settings=(*STORE, "service", "model", "limits", "compose", "vocabulary"),
    )
    search.add_argument("--image", type=image_file, help="reference image file (JPEG, PNG, WEBP, GIF, BMP)")
    search.add_argument(
        "--product", metavar="ID", help="a stored product as the reference ('this one, but ...')"
    )
    search.add_argument(
        "--include-reference", action="store_true", help="with --product: the product itself may be a result"
    )
    search.add_argument("--text", default="", help="the requested change, e.g. 'in blue with long sleeves'")
    search.add_argument("--category", action="append", help="category (repeat for any of several)")
    search.add_argument("--brand", help="brand, matched exactly")
    search.add_argument("--price-min", type=float, help="lowest price")
    search.add_argument("--price-max", type=float, help="highest price")
    search.add_argument(
        "--attr",
        action="append",
        type=attr_pair,
        metavar="KEY=VALUE",
        help="attribute that must match (repeatable)",
    )
    search.add_argument("--limit", type=positive_int, default=10, help="number of results (at least 1)")
    search.add_argument("--json", action="store_true", help="print JSON instead of a table")
    search.set_defaults(run=_run)
