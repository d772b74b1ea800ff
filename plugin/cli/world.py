"""``grounded world build``: render the product world (catalog, vocabulary, CIRR/CIRCO splits)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._common import EXIT_OK, Commands


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


def register(commands: Commands) -> None:
    world = commands.group("world", "the product world: synthetic products with known attributes")
    build = world.add(
        "build", "render the world and write its catalog, vocabulary and splits", plugin=False, service=False
    )
    build.add_argument("--out", type=Path, required=True, help="folder to write the world to")
    build.add_argument("--seed", type=int, default=0, help="held-out combinations, renders and val queries")
    build.add_argument("--test-seed", type=int, default=1, help="seed of the test queries (their own seed)")
    build.add_argument("--queries", type=int, default=250, help="composed queries per held-out split")
    build.add_argument("--spec", type=Path, help="world definition file (default: the bundled world.json)")
    build.add_argument("--categories", type=int, help="use only the first N categories (small worlds)")
    build.add_argument("--colours", type=int, help="use only the first N colours")
    build.add_argument("--patterns", type=int, help="use only the first N patterns")
    build.set_defaults(run=_build)
