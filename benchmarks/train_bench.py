"""Training throughput of ``grounded train``: pairs/s at two batch sizes on this machine.

    python benchmarks/train_bench.py            # small from-scratch config, ~1 minute on 2 cores
    python benchmarks/train_bench.py --quick    # smoke test, seconds

Runs the real trainer (catalog decode once, colour-safe augmentation, tokenising, forward,
ClipLoss, backward, AdamW step) on a synthetic catalog of coloured shapes, with a small
open_clip config trained from scratch (64-d, 64-pixel images, 2 layers per tower). pairs/s is
measured over the training loop only (not loading or held-out evaluation), after one warm-up
run; the ratio compares the larger batch to the smaller one in the same run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from plugin.training import TrainOptions, train  # noqa: E402
from tests.support.training_catalog import write_catalog  # noqa: E402

SMALL_CONFIG: dict[str, Any] = {
    "embed_dim": 64,
    "vision_cfg": {"image_size": 64, "layers": 2, "width": 64, "head_width": 32, "patch_size": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def _pairs_per_s(
    catalog: Path, config: Path, out: Path, batch_size: int, steps: int, device: str, threads: int | None
) -> float:
    options = TrainOptions(
        catalog=catalog, out=out, model=str(config), epochs=1000, batch_size=batch_size,
        val_fraction=0.0, warmup_steps=1, device=device, progress=False,
        stop_after_steps=steps, threads=threads,
    )  # fmt: skip
    return float(train(options, echo=lambda _: None).card["training"]["pairs_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="few steps (smoke test)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--batch-sizes", type=int, nargs=2, default=[16, 64], metavar=("SMALL", "LARGE"))
    args = parser.parse_args()
    steps = 2 if args.quick else 8
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        catalog = write_catalog(root / "catalog", copies=12)  # 144 products
        config = root / "small-bench.json"
        config.write_text(json.dumps(SMALL_CONFIG))
        _pairs_per_s(catalog, config, root / "warmup", args.batch_sizes[0], 1, args.device, args.threads)
        rates = {
            size: _pairs_per_s(catalog, config, root / f"b{size}", size, steps, args.device, args.threads)
            for size in args.batch_sizes
        }
    small, large = args.batch_sizes
    where = f"device {args.device}, {torch.get_num_threads()} torch threads"
    print(f"grounded train, small from-scratch config, {steps} steps per batch size, {where}")
    print(f"{'batch size':>10} {'pairs/s':>10}")
    for size, rate in rates.items():
        print(f"{size:>10} {rate:>10.1f}")
    print(f"ratio {large}/{small}: {rates[large] / rates[small]:.2f}x")


if __name__ == "__main__":
    main()
