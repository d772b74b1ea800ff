"""``grounded world build``: render the product world (catalog, vocabulary, CIRR/CIRCO splits)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from plugin.cli._checks import existing_dir, positive_int
from plugin.cli._common import EXIT_OK, MODELS, Commands


def _build(args: argparse.Namespace) -> int:
    from plugin.world import build_world, load_world_spec, restrict

    spec = restrict(
        load_world_spec(args.spec), categories=args.categories, colours=args.colours, patterns=args.patterns
    )
    world = build_world(
        args.out,
        seed=args.seed,
        test_seed=args.test_seed,
        queries=args.queries,
        spec=spec,
        progress=lambda message: print(message, file=sys.stderr),
    )
    print(f"world: {len(world.products)} products in {world.root}")
    print(f"  catalog (all products):  {world.catalog}")
    print(f"  training catalog:        {world.train_catalog}")
    print(f"  vocabulary:              {world.vocabulary}")
    print(f"  CIRR root: {world.root}  (splits val, val-shopper, test, test-shopper)")
    print(f"  CIRCO root: {world.root / 'circo'}  (splits val, test)")
    return EXIT_OK


def _zero_shot(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table
    from tqdm import tqdm

    from plugin.cli._common import plugin_settings, service_settings
    from plugin.encoder import open_encoder
    from plugin.world.zero_shot import zero_shot_accuracy

    service = service_settings(args)
    if service.vocabulary is None and (args.root / "vocabulary.json").is_file():
        service = service.model_copy(update={"vocabulary": args.root / "vocabulary.json"})
    encoder = open_encoder(plugin_settings(args), service)

    def bar(items: Sequence[Any]) -> Iterable[Any]:
        wrapped: Iterable[Any] = tqdm(items, desc="photos")
        return wrapped

    try:
        reports = [
            zero_shot_accuracy(
                encoder,
                args.root,
                args.split,
                photos=photos,
                limit=args.limit,
                progress=bar if args.progress else None,
            )
            for photos in ("catalog", "shopper")
        ]
    finally:
        encoder.close()
    table = Table(title=f"zero-shot attributes, held-out split {args.split} (attribute captioner)")
    for column in ("photos", "attribute", "products", "accuracy", "coverage", "precision"):
        table.add_column(column)
    for report in reports:
        for name, s in report.scores.items():
            table.add_row(
                report.photos,
                name,
                str(s.total),
                f"{s.accuracy:.1%}",
                f"{s.coverage:.1%}",
                f"{s.precision:.1%}",
            )
    Console().print(table)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps([r.as_json() for r in reports], indent=1) + "\n", encoding="utf-8")
    return EXIT_OK


def register(commands: Commands) -> None:
    world = commands.group("world", "the product world: synthetic products with known attributes")
    build = world.add("build", "render the world and write its catalog, vocabulary and splits")
    build.add_argument("--out", type=Path, required=True, help="folder to write the world to")
    build.add_argument("--seed", type=int, default=0, help="held-out combinations, renders and val queries")
    build.add_argument("--test-seed", type=int, default=1, help="seed of the test queries (their own seed)")
    build.add_argument("--queries", type=int, default=250, help="composed queries per held-out split")
    build.add_argument("--spec", type=Path, help="world definition file (default: the bundled world.json)")
    build.add_argument("--categories", type=int, help="use only the first N categories (small worlds)")
    build.add_argument("--colours", type=int, help="use only the first N colours")
    build.add_argument("--patterns", type=int, help="use only the first N patterns")
    build.set_defaults(run=_build)
    zero = world.add(
        "zero-shot",
        "zero-shot attribute accuracy of the attribute captioner on held-out products",
        settings=(*MODELS, "compose", "vocabulary"),
    )
    zero.add_argument(
        "--root", type=existing_dir, required=True, help="a world written by `grounded world build`"
    )
    zero.add_argument("--split", default="val", help="held-out split: val (development) or test")
    zero.add_argument("--limit", type=positive_int, help="at most this many photos of each kind")
    zero.add_argument("--out", type=Path, help="also write the scores as JSON here")
    zero.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bar")
    zero.set_defaults(run=_zero_shot)
