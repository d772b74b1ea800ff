"""``grounded train-remover``: fine-tune the background remover into a model folder.

Like ``train-attributes`` it trains no CLIP weights and writes into the folder it names; the
service of ``grounded serve --model <folder>`` then cuts shoppers' photos out with the tuned
remover (``plugin.training.remover``, ``vectorizer_service.compose.model_remover``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._checks import existing_dir, existing_file
from plugin.cli._common import EXIT_OK, Commands
from plugin.cli._runs import add_catalog_arguments, options_from_args


def _run(args: argparse.Namespace) -> int:
    from plugin.training.remover import RemoverOptions, train_remover

    options = options_from_args(RemoverOptions, args)
    result = train_remover(options, command=["grounded", *sys.argv[1:]])
    iou = result.card["held_out_mask_iou"]
    print(
        f"remover tuned on {result.card['data']['training_scenes']} scenes of "
        f"{result.card['data']['products'] - result.card['data']['held_out_products']} products; held-out "
        f"mask IoU {', '.join(f'{k} {v:.3f}' for k, v in iou.items())}; written to {result.path}; "
        f"grounded serve --model {args.model} now cuts photos out with it"
    )
    return EXIT_OK


def register(commands: Commands) -> None:
    from plugin.training.remover_options import RemoverOptions

    d = RemoverOptions(catalog=Path(), model=Path())  # the one place defaults live
    cmd = commands.add(
        "train-remover",
        "fine-tune the background remover (u2netp) on a catalog's products placed in generated "
        "scenes, into a model folder",
    )
    add = cmd.add_argument
    add("catalog", type=existing_file, help="catalog file (.jsonl or .csv): only its images are used")
    add(
        "--model",
        type=existing_dir,
        required=True,
        help="model folder (local-dir layout); remover.onnx and remover.json are written into it",
    )
    add_catalog_arguments(cmd)
    add("--base", default=d.base, help="rembg model tuned, from GROUNDED_U2NET_HOME (u2net family)")
    add(
        "--input-size",
        type=int,
        default=d.input_size,
        help="side the remover sees, in training and in serving (a multiple of 32)",
    )
    add(
        "--combine",
        choices=("intersect", "alone"),
        default=d.combine,
        help="how the service uses it: intersect (the smaller of its mask and the base's, per pixel) "
        "or alone",
    )
    add("--scene-variants", type=int, default=d.scene_variants, help="generated scenes per product")
    add("--steps", type=int, default=d.steps, help="optimizer steps")
    add("--batch-size", type=int, default=d.batch_size, help="scenes per step")
    add("--lr", type=float, default=d.lr, help="Adam learning rate")
    add(
        "--val-fraction",
        type=float,
        default=d.val_fraction,
        help="share of products held out to measure the masks before and after (the card)",
    )
    add("--seed", type=int, default=d.seed, help="seed of the split, the scenes and the batches")
    add("--threads", type=int, help="torch CPU threads")
    cmd.set_defaults(run=_run)
