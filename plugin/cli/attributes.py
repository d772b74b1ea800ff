"""``grounded train-attributes``: train an attribute head into a model folder.

Like ``train-pic2word`` it trains no CLIP weights and writes into the folder it reads; the
captioner of ``grounded serve --model <folder>`` then names categories and attributes with the
head's probes instead of zero-shot prompts (``plugin.training.attribute_head``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._checks import existing_dir, existing_file
from plugin.cli._common import EXIT_OK, Commands
from plugin.cli._runs import add_catalog_arguments, options_from_args


def _decays(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"comma-separated numbers expected, got {text!r}") from exc


def _widths(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"comma-separated integers expected, got {text!r}") from exc


def _run(args: argparse.Namespace) -> int:
    from plugin.training.attribute_head import train_attribute_head
    from plugin.training.attribute_head_options import AttributeHeadOptions
    from vectorizer_service import ATTRIBUTE_HEAD_CONFIG_FILE, ATTRIBUTE_HEAD_WEIGHTS_FILE

    options = options_from_args(AttributeHeadOptions, args)
    result = train_attribute_head(options, command=["grounded", *sys.argv[1:]])
    print(
        f"{len(result.head.probes)} probes ({', '.join(result.head.probes)}) on "
        f"{result.card['data']['views']} views of {result.card['data']['products']} products; "
        f"head: {args.model / ATTRIBUTE_HEAD_WEIGHTS_FILE} "
        f"(card: {args.model / ATTRIBUTE_HEAD_CONFIG_FILE}); "
        f"grounded serve --model {args.model} now captions with it"
    )
    return EXIT_OK


def register(commands: Commands) -> None:
    from plugin.training.attribute_head_options import AttributeHeadOptions

    d = AttributeHeadOptions(catalog=Path(), model=Path())  # the one place defaults live
    cmd = commands.add(
        "train-attributes",
        "train an attribute head (probes on the frozen image vector) from a catalog's "
        "categories and attributes into a model folder",
    )
    add = cmd.add_argument
    add(
        "catalog",
        type=existing_file,
        help="catalog file (.jsonl or .csv): images, category and attributes are used",
    )
    add(
        "--model",
        type=existing_dir,
        required=True,
        help="model folder (local-dir layout); the head is written into it",
    )
    add(
        "--vocabulary",
        type=existing_file,
        help="vocabulary JSON (default: the model folder's vocabulary.json, else bundled)",
    )
    add_catalog_arguments(cmd)
    add("--scene-variants", type=int, default=d.scene_variants, help="shopper-scene views per product")
    add(
        "--real-cutouts",
        type=int,
        default=d.real_cutouts,
        help="of those scenes, how many per product are also cut out by the service's own background "
        "remover (GROUNDED_U2NET_HOME; a few tenths of a second each on a CPU core, cached; 0: the "
        "stand-in only)",
    )
    add(
        "--scene-cache",
        type=Path,
        help="folder of the real cut-outs, kept between runs (default: ~/.cache/grounded/scene-cutouts)",
    )
    add(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of products held out for choices and the card",
    )
    add(
        "--weight-decay",
        dest="weight_decays",
        type=_decays,
        default=d.weight_decays,
        help="L2 penalties tried per probe, comma-separated (held-out products choose)",
    )
    add(
        "--hidden",
        dest="hidden_sizes",
        type=_widths,
        default=d.hidden_sizes,
        help="probe shapes tried per probe, comma-separated: 0 linear, N a hidden layer of N ReLU "
        "units (held-out products choose, with the weight decay)",
    )
    add(
        "--min-probability",
        type=float,
        help="probability a probe's pick must reach to be named, kept in the head (default: the "
        "service's caption_min_probability)",
    )
    add("--seed", type=int, default=d.seed, help="seed of the split and the scenes")
    add("--threads", type=int, help="torch CPU threads")
    add("--device", default=d.device, help="where images are encoded: cpu, cuda or cuda:N")
    add("--offline", action="store_true", help="never touch the model hub")
    cmd.set_defaults(run=_run)
