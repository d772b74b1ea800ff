"""``grounded train-pic2word``: train a Pic2Word mapper into a model folder.

Its own command rather than ``grounded train --pic2word``: it trains no CLIP weights, writes into
the model folder it reads (no ``--out``), and has the paper's optimiser defaults, so few of
``train``'s options would apply.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._checks import existing_dir, existing_file, positive_int
from plugin.cli._common import EXIT_OK, Commands
from plugin.cli._runs import add_catalog_arguments, add_run_arguments, options_from_args, print_resume_hint


def _run(args: argparse.Namespace) -> int:
    from plugin.training.pic2word import train_pic2word
    from plugin.training.pic2word_options import Pic2WordOptions
    from vectorizer_service import PIC2WORD_CONFIG_FILE, PIC2WORD_WEIGHTS_FILE

    options = options_from_args(Pic2WordOptions, args)
    result = train_pic2word(options, command=["grounded", *sys.argv[1:]])
    training, metrics = result.card["training"], result.card["metrics"]
    print(
        f"steps: {result.steps}/{result.total_steps}, loss {training['loss_first']:.4f} -> "
        f"{training['loss_last']:.4f}; images encoded in {training['encode_s']:.1f} s, "
        f"trained in {training['train_s']:.1f} s; prompt->image R@1 {metrics['prompt_to_image_R@1']:.3f}"
    )
    print_resume_hint(args, result.complete)
    print(
        f"mapper: {args.model / PIC2WORD_WEIGHTS_FILE} (card: {args.model / PIC2WORD_CONFIG_FILE}); "
        f"serve with: grounded serve --model {args.model}, then fusion_method pic2word"
    )
    return EXIT_OK


def register(commands: Commands) -> None:
    from plugin.training.pic2word_options import Pic2WordOptions

    d = Pic2WordOptions(catalog=Path(), model=Path())  # the one place defaults live
    cmd = commands.add(
        "train-pic2word",
        "train a Pic2Word mapper (image vector -> pseudo-word) into a model folder, CLIP frozen",
    )
    add = cmd.add_argument
    add(
        "catalog",
        type=existing_file,
        help="catalog file (.jsonl or .csv), as for grounded ingest; images only are used",
    )
    add(
        "--model",
        type=existing_dir,
        required=True,
        help="model folder (local-dir layout); the mapper is written into it",
    )
    add_catalog_arguments(cmd)
    add("--epochs", type=positive_int, default=d.epochs, help="passes over the catalog's images")
    add("--batch-size", type=int, default=d.batch_size, help="images per contrastive batch")
    add("--lr", type=float, default=d.lr, help="peak learning rate (the paper's 1e-4)")
    add("--weight-decay", type=float, default=d.weight_decay, help="AdamW weight decay")
    add("--warmup-steps", type=int, default=d.warmup_steps, help="linear warmup steps before cosine decay")
    add("--hidden", type=int, default=d.hidden, help="the mapper's hidden width")
    add("--dropout", type=float, default=d.dropout, help="the mapper's dropout")
    add_run_arguments(cmd, d, "<model>/pic2word-state.pt")
    cmd.set_defaults(run=_run)
