"""``grounded train``: contrastive training of an open_clip model on a catalog."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from plugin.cli._checks import existing_file, positive_int
from plugin.cli._common import EXIT_OK, Commands
from plugin.cli._runs import add_catalog_arguments, add_run_arguments, options_from_args, print_resume_hint


def _run(args: argparse.Namespace) -> int:
    from plugin.training import CARD_NAME, TrainOptions, format_metrics, train

    options = options_from_args(TrainOptions, args)
    # The exact command line as typed (every resolved option is in the card as well).
    result = train(options, command=["grounded", *sys.argv[1:]])
    print(format_metrics(result.metrics_before, result.metrics_after))
    scenes = result.card["metrics"].get("scenes")
    if scenes and scenes.get("before") is not None:
        print(format_metrics(scenes["before"], scenes["after"], title="held-out, as shopper scenes"))
    training = result.card["training"]
    print(
        f"steps: {result.steps}/{result.total_steps}, loss {training['loss_first']:.4f} -> "
        f"{training['loss_last']:.4f}, {training['pairs_per_s']:.1f} pairs/s"
    )
    data = result.card["data"]
    if data["skipped_rows"]:
        print(f"skipped {len(data['skipped_rows'])} unusable row(s) of {data['catalog_rows']} (in the card)")
    print_resume_hint(args, result.complete)
    print(f"model: {args.out} (serve with: grounded serve --model {args.out}); card: {args.out / CARD_NAME}")
    return EXIT_OK


def register(commands: Commands) -> None:
    from plugin.training.options import TrainOptions

    d = TrainOptions(catalog=Path(), out=Path(), model="")  # the one place defaults live
    train = commands.add(
        "train",
        "train or fine-tune an open_clip model on a catalog (contrastive, ClipLoss)",
    )
    add = train.add_argument
    add("catalog", type=existing_file, help="catalog file (.jsonl or .csv), as for grounded ingest")
    add_catalog_arguments(train)
    add("--out", type=Path, required=True, help="output folder (model, card.json, train-state.pt)")
    add("--model", required=True, help="ViT-B-32 (with --pretrained), a local-dir folder, or a JSON config")
    add(
        "--pretrained",
        default="",
        help="pretrained tag or checkpoint file; none with a JSON config = scratch",
    )
    add("--epochs", type=positive_int, default=d.epochs, help="passes over the training rows")
    add("--batch-size", type=positive_int, default=d.batch_size, help="pairs per contrastive batch")
    add("--lr", type=float, default=d.lr, help="peak learning rate (1e-3 collapses from scratch)")
    add("--weight-decay", type=float, default=d.weight_decay, help="AdamW weight decay")
    add("--warmup-steps", type=int, default=d.warmup_steps, help="linear warmup steps before cosine decay")
    add("--grad-clip", type=float, default=d.grad_clip, help="gradient norm clip")
    add(
        "--hard-batch-fraction",
        type=float,
        default=d.hard_batch_fraction,
        help="share of batches of products differing in one attribute",
    )
    add(
        "--scene-fraction",
        type=float,
        default=d.scene_fraction,
        help="share of batches showing products as shopper photos, cut out as queries are (0: off)",
    )
    add(
        "--attribute-loss",
        type=float,
        default=d.attribute_loss,
        help="weight of an auxiliary loss: linear heads on the image vector name each product's "
        "category and attributes, during training only (0: off; docs/training.md)",
    )
    add("--scene-variants", type=int, default=d.scene_variants, help="shopper scenes made per product")
    add(
        "--scene-check",
        type=int,
        default=d.scene_check,
        help="scenes on which the cut-out stand-in is compared with the real background remover (0: none)",
    )
    add("--lock-image", action="store_true", help="freeze the image tower (LiT)")
    add("--lock-text", action="store_true", help="freeze the text tower")
    add("--val-fraction", type=float, default=d.val_fraction, help="held-out share of rows (0: none)")
    add("--save-dtype", choices=("fp32", "fp16"), default=d.save_dtype, help="dtype of the saved weights")
    add_run_arguments(train, d, "<out>/train-state.pt")
    train.set_defaults(run=_run)
