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
    from plugin.settings import PluginSettings
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
    categories: list[str] = args.category or []
    category = categories[0] if len(categories) == 1 else categories or None
    plugin = plugin_settings(args)
    if plugin.search_url:
        payload = _remote(args, plugin.search_url, image, category)
    else:
        payload = _local(args, plugin, image, category)
    if args.json:
        print(json.dumps({k: v for k, v in payload.items() if k != "why_empty"}, indent=2, default=str))
    else:
        explanation = payload["explanation"]
        _print_hits(payload["hits"], explanation.get("caption"), explanation.get("fused_text"))
    for line in payload.get("why_empty") or []:
        print(f"  {line}", file=sys.stderr)
    return EXIT_OK if payload["hits"] else EXIT_NO_MATCH


def _local(
    args: argparse.Namespace, plugin: PluginSettings, image: bytes | None, category: str | list[str] | None
) -> dict[str, Any]:
    from plugin.search.query import near_grounded, result_payload
    from plugin.session import open_session
    from plugin.store import ProductFilter

    filters = ProductFilter(
        category=category,
        brand=args.brand,
        price_min=args.price_min,
        price_max=args.price_max,
        attributes=dict(args.attr or []),
    )
    # A text-only query never reaches the background remover or the captioner: skip loading them.
    compose_models = image is not None or args.product is not None
    with open_session(plugin, service_settings(args), compose_models=compose_models) as session:
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
        payload = result_payload(result)
        if not result.hits:
            payload["why_empty"] = _why_empty(session.store, filters)
    return payload


def _remote(
    args: argparse.Namespace, url: str, image: bytes | None, category: str | list[str] | None
) -> dict[str, Any]:
    """The query through a running search page (no model, no store in this process)."""
    from plugin.cli.remote_search import search_remote

    options = compose_options(args)
    query = {
        "product": args.product,
        "text": args.text,
        "category": category,
        "brand": args.brand,
        "price_min": args.price_min,
        "price_max": args.price_max,
        "attributes": dict(args.attr or []),
        "limit": args.limit,
        "include_reference": args.include_reference,
        "remove_background": options.remove_background,
        "caption": options.caption,
        "template": options.template,
        "image_weight": options.image_weight,
        "fusion_method": options.fusion_method,
        "direction_gain": options.direction_gain,
    }
    return search_remote(url, query, image)


def _why_empty(store: ProductStore, filters: ProductFilter) -> list[str]:
    """Which filter emptied the answer (stderr, so that ``--json`` output stays JSON)."""
    from plugin.search.empty import explain_empty

    return explain_empty(store, filters).report()


def _print_hits(hits: Sequence[dict[str, Any]], caption: str | None, fused: str | None) -> None:
    """The hits of a result payload (:func:`plugin.search.query.result_payload`) as a table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(caption=f"caption: {caption or '-'}\nfused text: {fused or '-'}")
    for column in ("#", "product", "title", "category", "price", "similarity"):
        table.add_column(column)
    for rank, hit in enumerate(hits, 1):
        p = hit["properties"]
        price = p.get("price")
        table.add_row(
            str(rank),
            str(p.get("product_id", hit["uuid"])),
            str(p.get("title", "")),
            str(p.get("category", "")),
            f"{price:.2f}" if isinstance(price, int | float) else "-",
            f"{1 - hit['distance']:.3f}",
        )
    Console().print(table if hits else "no products match")


def register(commands: Commands) -> None:
    search = commands.add(
        "search",
        "composed query: a reference image and/or a requested change",
        # One query: nothing to batch.
        settings=(*STORE, "search-server", "service", "model", "limits", "compose", "vocabulary"),
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
