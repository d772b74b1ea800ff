"""``grounded``: the command line of the whole product.

Commands: ``demo`` (the main job), ``ingest``, ``search``, ``serve``, ``graphql`` and
``models init-random``. Every settings flag mirrors a ``GROUNDED_<FIELD>`` variable of
:class:`PluginSettings` or :class:`ServiceSettings` (a flag given wins). Without
``--weaviate-url`` the commands use the embedded LanceDB store in ``--data-dir``; without
``--service-address`` the models run in this process.

Exit codes: 0 success, 1 a Grounded error (model unavailable, upstream failure, ...),
2 bad usage or input, 3 ingestion finished but some rows failed (see the report).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from plugin.settings import PluginSettings
from schemas.errors import ErrorKind, GroundedError, InvalidInputError
from schemas.wire import ComposeOptions
from vectorizer_service.settings import ENV_PREFIX, ServiceSettings
from vectorizer_service.settings_cli import add_settings_arguments, settings_from_args

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_ROWS_FAILED", "EXIT_USAGE", "build_parser", "main"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ROWS_FAILED = 0, 1, 2, 3


# --- settings flags ------------------------------------------------------------------------------


def _add_plugin_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, PluginSettings, "plugin settings")


def _add_service_arguments(parser: argparse.ArgumentParser) -> None:
    add_settings_arguments(parser, ServiceSettings, "service settings")


def _plugin_settings(args: argparse.Namespace) -> PluginSettings:
    return settings_from_args(PluginSettings, args)


def _service_settings(args: argparse.Namespace) -> ServiceSettings:
    return settings_from_args(ServiceSettings, args)


# --- commands ------------------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from plugin.demo import run_demo

    result = run_demo(
        _plugin_settings(args),
        _service_settings(args),
        out_dir=args.out,
        random_weights_fallback=args.random_weights_fallback,
        progress=args.progress,
        limit=args.limit,
    )
    return EXIT_OK if result.ingest.ok else EXIT_ROWS_FAILED


def _cmd_ingest(args: argparse.Namespace) -> int:
    from plugin.encoder import QueryEncoder
    from plugin.ingest import ingest_catalog
    from plugin.local_encoder import open_encoder
    from plugin.store import open_store, store_description

    plugin = _plugin_settings(args)
    if not args.catalog.is_file():
        raise InvalidInputError(f"catalog: no such file: {args.catalog}")
    if args.images is not None and not args.images.is_dir():
        raise InvalidInputError(f"--images: no such folder: {args.images}")
    # Weaviate's multi2vec-clip module embeds objects itself: then no model is loaded here.
    server_side = bool(plugin.weaviate_url) and plugin.vectorization == "weaviate"
    encoder: QueryEncoder | None = None if server_side else open_encoder(plugin, _service_settings(args))
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


def _compose_options(args: argparse.Namespace) -> ComposeOptions:
    """Per-request switches from the service flags given, so they also reach a remote service."""
    return ComposeOptions(
        remove_background=getattr(args, "remove_background", None),
        caption=False if getattr(args, "captioner", None) == "none" else None,
        template=getattr(args, "fusion_template", None),
        image_weight=getattr(args, "image_weight", None),
    )


def _cmd_search(args: argparse.Namespace) -> int:
    from plugin.local_encoder import open_encoder
    from plugin.search import near_grounded
    from plugin.store import ProductFilter, open_store

    if args.image is None and not args.text.strip():
        raise InvalidInputError("search needs --image, --text, or both")
    image: bytes | None = None
    if args.image is not None:
        if not args.image.is_file():
            raise InvalidInputError(f"--image: no such file: {args.image}")
        image = args.image.read_bytes()
    categories: list[str] = args.category or []
    filters = ProductFilter(
        category=categories[0] if len(categories) == 1 else categories or None,
        brand=args.brand,
        price_min=args.price_min,
        price_max=args.price_max,
        attributes=dict(args.attr or []),
    )
    plugin = _plugin_settings(args)
    encoder = open_encoder(plugin, _service_settings(args))
    try:
        store = open_store(plugin, dimension=encoder.model_info().dimension)
        try:
            result = near_grounded(
                store,
                encoder,
                image=image,
                text=args.text,
                filters=filters,
                limit=args.limit,
                options=_compose_options(args),
            )
        finally:
            store.close()
    finally:
        encoder.close()
    if args.json:
        payload = {
            "hits": [
                {"uuid": h.uuid, "distance": h.distance, "properties": h.properties} for h in result.hits
            ],
            "explanation": result.explanation.model_dump(mode="json", exclude={"cutout_png"}),
        }
        print(json.dumps(payload, indent=2, default=str))
        return EXIT_OK
    _print_hits(result.hits, result.explanation.caption, result.explanation.fused_text)
    return EXIT_OK


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


def _cmd_serve(args: argparse.Namespace) -> int:
    from vectorizer_service.serve import serve, settings_from_args

    serve(settings_from_args(args))
    return EXIT_OK


def _cmd_graphql(args: argparse.Namespace) -> int:
    from plugin.graphql import serve_graphql
    from plugin.local_encoder import open_encoder

    plugin = _plugin_settings(args)
    encoder = open_encoder(plugin, _service_settings(args))
    try:
        serve_graphql(plugin, encoder)
    finally:
        encoder.close()
    return EXIT_OK


def _cmd_init_random(args: argparse.Namespace) -> int:
    import open_clip

    from vectorizer_service.runtime.random_weights import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    if args.arch != "tiny" and args.arch not in open_clip.list_models():
        raise InvalidInputError(f"--arch: unknown open_clip architecture {args.arch!r}")
    arch: str | dict[str, Any] = TINY_OPEN_CLIP_CONFIG if args.arch == "tiny" else args.arch
    model, pretrained = save_random_open_clip(arch, args.out, seed=args.seed)
    print(
        f"saved a RANDOMLY INITIALISED {args.arch} (for tests and offline demos: its rankings mean nothing)"
    )
    print(f"  --model {model} --pretrained '{pretrained}'")
    print(f"  {ENV_PREFIX}MODEL={model} {ENV_PREFIX}PRETRAINED='{pretrained}'")
    return EXIT_OK


# --- parser --------------------------------------------------------------------------------------


def _attr(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {value!r}")
    return key.strip(), val.strip()


def build_parser() -> argparse.ArgumentParser:
    """The ``grounded`` argument parser (subcommands, each with its settings flags)."""
    parser = argparse.ArgumentParser(
        prog="grounded",
        allow_abbrev=False,
        description="Multimodal product search and composed image retrieval, embedded or on Weaviate.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, help_text: str, *, plugin: bool = True, service: bool = True
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, allow_abbrev=False)
        if plugin:
            _add_plugin_arguments(sub)
        if service:
            _add_service_arguments(sub)
        return sub

    demo = command("demo", "build a sample catalog, ingest it, run composed queries, write an HTML page")
    demo.add_argument("--out", type=Path, help="output folder (default: <data-dir>/demo)")
    demo.add_argument(
        "--random-weights-fallback",
        action="store_true",
        help="if the model cannot be loaded, use a random-weight ViT-B-32 (rankings meaningless)",
    )
    demo.add_argument("--limit", type=int, default=5, help="results per query")
    demo.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    demo.set_defaults(run=_cmd_demo)

    ingest = command("ingest", "import a catalog (JSONL or CSV) into the product store")
    ingest.add_argument("catalog", type=Path, help="catalog file (.jsonl or .csv)")
    ingest.add_argument("--images", type=Path, help="folder of relative image paths (default: the catalog's)")
    ingest.add_argument("--report", type=Path, help="write the ingest report (JSON lines) here")
    ingest.add_argument("--batch-size", type=int, default=32, help="products per batch")
    ingest.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar"
    )
    ingest.set_defaults(run=_cmd_ingest)

    search = command("search", "composed query: a reference image and/or a requested change")
    search.add_argument("--image", type=Path, help="reference image file")
    search.add_argument("--text", default="", help="the requested change, e.g. 'in blue with long sleeves'")
    search.add_argument("--category", action="append", help="category (repeat for any of several)")
    search.add_argument("--brand", help="brand, matched exactly")
    search.add_argument("--price-min", type=float, help="lowest price")
    search.add_argument("--price-max", type=float, help="highest price")
    search.add_argument(
        "--attr",
        action="append",
        type=_attr,
        metavar="KEY=VALUE",
        help="attribute that must match (repeatable)",
    )
    search.add_argument("--limit", type=int, default=10, help="number of results")
    search.add_argument("--json", action="store_true", help="print JSON instead of a table")
    search.set_defaults(run=_cmd_search)

    serve = command("serve", "run the vectorizer service (HTTP + gRPC)", plugin=False)
    serve.set_defaults(run=_cmd_serve)

    graphql = command("graphql", "run the GraphQL endpoint that rewrites nearGrounded to nearVector")
    graphql.set_defaults(run=_cmd_graphql)

    models = commands.add_parser("models", help="model utilities", allow_abbrev=False)
    model_commands = models.add_subparsers(dest="models_command", required=True, metavar="MODELS_COMMAND")
    init = model_commands.add_parser(
        "init-random", help="save a randomly initialised open_clip model", allow_abbrev=False
    )
    init.add_argument("--arch", default="ViT-B-32", help="open_clip architecture, or 'tiny' for tests")
    init.add_argument("--out", type=Path, required=True, help="folder to write the model to")
    init.add_argument("--seed", type=int, default=0, help="random seed")
    init.set_defaults(run=_cmd_init_random)
    return parser


def _validation_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "settings"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line to stderr and return a non-zero exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        # Offline, the model hub client logs every retry twice; the loader's error says it once.
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.run(args))
    except GroundedError as exc:
        print(f"grounded {args.command}: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE if exc.kind is ErrorKind.INVALID_INPUT else EXIT_ERROR
    except ValidationError as exc:
        print(f"grounded {args.command}: invalid setting: {_validation_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"grounded {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
