"""``grounded vocabulary``: derive the captioner's vocabulary from a catalog, and check it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from plugin.cli._common import EXIT_OK, MODELS, Commands, plugin_settings, service_settings
from schemas.errors import InvalidInputError

if TYPE_CHECKING:
    from rich.console import Console

    from plugin.vocabulary import CheckReport, DerivedVocabulary
    from schemas.product import Product

DEFAULT_CHECK_FRACTION = 0.2
"""plugin.vocabulary.CHECK_FRACTION, repeated so that the parser imports no model code."""
_DROPS_SHOWN = 20
_CONFUSIONS_SHOWN = 5


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from plugin.ingest.catalog import read_catalog
    from plugin.vocabulary import derive_vocabulary
    from schemas.vocabulary import write_vocabulary

    # Every argument is checked before the catalog is read or a model loads.
    if not args.catalog.is_file():
        raise InvalidInputError(f"catalog: no such file: {args.catalog}")
    rows = read_catalog(args.catalog)
    if args.images is not None and not args.images.is_dir():
        raise InvalidInputError(f"--images: no such folder: {args.images}")
    if not args.preview and args.out is None:
        raise InvalidInputError("--out: where to write the vocabulary (or --preview to only show it)")
    if args.check and not getattr(args, "model", None):
        raise InvalidInputError("--check needs --model FOLDER: the model whose captioner is checked")
    if not 0.0 < args.check_fraction < 1.0:
        raise InvalidInputError(f"--check-fraction must be in (0, 1), got {args.check_fraction}")
    products = [row.product for row in rows if row.product is not None]
    derived = derive_vocabulary(products)
    console = Console()
    _print_derived(console, derived)
    if args.preview:
        console.print("preview only: nothing written")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_vocabulary(derived.vocabulary, args.out)
        console.print(f"wrote {args.out}")
    if args.check:
        report = _check(args, derived, products)
        _print_check(console, report)
    return EXIT_OK


def _check(args: argparse.Namespace, derived: DerivedVocabulary, products: list[Product]) -> CheckReport:
    from plugin.encoder import open_encoder
    from plugin.vocabulary import check_vocabulary, held_out, local_photos
    from plugin.world.trained import trained_model_available, trained_model_settings

    images = args.images or args.catalog.parent
    photos, missing = local_photos(products, images)
    if not photos:
        raise InvalidInputError(f"--check: no product has a readable local photo (under {images})")
    samples = held_out(photos, args.check_fraction, args.seed)
    service = service_settings(args)
    folder = Path(args.model)
    if folder.is_dir() and trained_model_available(folder):
        service = trained_model_settings(service, folder)
    print(
        f"checking on {len(samples)} held-out products of {len(photos)} with a photo "
        f"(seed {args.seed}; {missing} without a local photo)"
    )
    encoder = open_encoder(plugin_settings(args), service, compose_models=False)
    try:
        return check_vocabulary(encoder, derived.vocabulary, samples)
    finally:
        encoder.close()


def _print_derived(console: Console, derived: DerivedVocabulary) -> None:
    from rich.table import Table

    vocabulary = derived.vocabulary
    table = Table(title=f"vocabulary of {derived.products} products", show_lines=False)
    table.add_column("attribute")
    table.add_column("values (products)")
    table.add_column("applies to")
    table.add_row(
        "category",
        ", ".join(f"{name} ({n})" for name, n in derived.category_counts.items()),
        "",
    )
    for attribute in vocabulary.attributes:
        counts = derived.value_counts[attribute.name]
        table.add_row(
            attribute.name,
            ", ".join(f"{v.name} ({counts[v.name]})" for v in attribute.values),
            ", ".join(attribute.applies_to) if attribute.applies_to else "all",
        )
    console.print(table)
    aliased = [c for c in vocabulary.categories if c.aliases]
    if aliased:
        console.print(
            "aliases from titles: " + "; ".join(f"{c.name}: {', '.join(c.aliases)}" for c in aliased)
        )
    for drop in derived.dropped[:_DROPS_SHOWN]:
        what = f"{drop.attribute}={drop.value}" if drop.value is not None else f"attribute {drop.attribute}"
        console.print(f"dropped {what}: {drop.reason}", markup=False)
    if len(derived.dropped) > _DROPS_SHOWN:
        console.print(f"... and {len(derived.dropped) - _DROPS_SHOWN} more dropped")


def _print_check(console: Console, report: CheckReport) -> None:
    from rich.table import Table

    table = Table(
        title=f"zero-shot on {report.products} held-out photos (logit scale {report.logit_scale:.1f})"
    )
    table.add_column("attribute")
    table.add_column("products", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("unscored", justify="right")
    table.add_column("cannot tell apart (mix-ups, share)")
    for name, check in report.attributes.items():
        pairs = check.confusions()[:_CONFUSIONS_SHOWN]
        table.add_row(
            name,
            str(check.total),
            f"{check.accuracy:.1%}",
            str(check.unscored),
            "; ".join(f"{a} / {b} ({n}, {share:.0%})" for a, b, n, share in pairs) or "-",
        )
    console.print(table)


def register(commands: Commands) -> None:
    vocabulary = commands.add(
        "vocabulary",
        "derive the captioner's vocabulary (categories, attributes, aliases) from a catalog",
        settings=MODELS,
    )
    add = vocabulary.add_argument
    add("catalog", type=Path, help="catalog file (.jsonl or .csv), as for grounded ingest")
    add("--out", type=Path, help="vocabulary file to write (e.g. vocabulary.json)")
    add("--images", type=Path, help="folder of relative image paths (default: the catalog's)")
    add("--preview", action="store_true", help="show what would be written; write nothing")
    add(
        "--check",
        action="store_true",
        help="zero-shot accuracy per attribute on held-out catalog photos, with --model FOLDER",
    )
    add(
        "--check-fraction",
        type=float,
        default=DEFAULT_CHECK_FRACTION,
        help=f"held-out share of photographed products for --check ({DEFAULT_CHECK_FRACTION})",
    )
    add("--seed", type=int, default=0, help="seed of the held-out split")
    vocabulary.set_defaults(run=_run)
