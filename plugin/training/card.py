"""The model card of a training run: data, config, metrics, provenance, as plain JSON."""

from __future__ import annotations

import platform
from typing import Any

from plugin.training.dataset import CatalogData
from plugin.training.model_source import StartingModel
from plugin.training.options import TrainOptions
from plugin.training.retrieval import RECALL_KS
from plugin.training.sampler import BatchPlan

__all__ = ["HELD_OUT_TEXT", "build_card", "format_metrics", "loss_curve"]

HELD_OUT_TEXT = "title"
"""Which rendering of a held-out product the retrieval metrics use as its text."""
_CURVE_POINTS = 100


def loss_curve(losses: list[float], points: int = _CURVE_POINTS) -> list[list[float]]:
    """``[step, loss]`` pairs, at most ``points`` of them, evenly spread, last step included."""
    if not losses:
        return []
    stride = max(1, -(-len(losses) // points))
    picked = list(range(0, len(losses), stride))
    if picked[-1] != len(losses) - 1:
        picked.append(len(losses) - 1)
    return [[i + 1, round(losses[i], 6)] for i in picked]


def _versions() -> dict[str, str]:
    import open_clip
    import torch

    return {
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
        "python": platform.python_version(),
    }


def build_card(
    options: TrainOptions,
    *,
    data: CatalogData,
    train_rows: int,
    val_rows: int,
    plan: BatchPlan,
    starting: StartingModel,
    device: str,
    steps: int,
    total_steps: int,
    losses: list[float],
    hard_batches: int,
    metrics_before: dict[str, float] | None,
    metrics_after: dict[str, float] | None,
    scenes: dict[str, Any],
    train_s: float,
    wall_s: float,
    pairs_per_s: float,
    command: list[str] | None,
) -> dict[str, Any]:
    """Everything needed to tell what a checkpoint was trained on and how, and how well."""
    return {
        "data": {
            # Absolute: the card is read later, from elsewhere, than the command was typed.
            "catalog": str(data.path.resolve()),
            "sha256": data.sha256,
            "images": str((options.images if options.images is not None else data.path.parent).resolve()),
            "rows": len(data.examples),
            "catalog_rows": len(data.examples) + len(data.skipped),
            "skipped_rows": [s.as_json() for s in data.skipped],
            "train_rows": train_rows,
            "held_out_rows": val_rows,
            "hard_batch_keys": plan.hard_keys,
        },
        "config": {
            "options": options.as_json(),
            "model_cfg": starting.model_cfg,
            "preprocess_cfg": starting.preprocess_cfg,
            "from_scratch": starting.from_scratch,
            "device": device,
            "steps_per_epoch": plan.steps_per_epoch,
            "total_steps": total_steps,
        },
        "metrics": {
            "held_out_text": HELD_OUT_TEXT,
            "before": metrics_before,
            "after": metrics_after,
            "scenes": scenes.get("metrics"),
        },
        "scenes": {k: v for k, v in scenes.items() if k != "metrics"},
        "training": {
            "steps": steps,
            "complete": steps >= total_steps,
            "hard_batches": hard_batches,
            "loss_first": losses[0] if losses else None,
            "loss_last": losses[-1] if losses else None,
            "loss_curve": loss_curve(losses),
            "train_s": round(train_s, 3),
            "wall_s": round(wall_s, 3),
            "pairs_per_s": round(pairs_per_s, 2),
        },
        "command": command,
        "versions": _versions(),
    }


def format_metrics(
    before: dict[str, float] | None, after: dict[str, float] | None, title: str = "held-out retrieval"
) -> str:
    """A small table of held-out retrieval before and after training (or a line saying why not)."""
    if before is None or after is None:
        return "no held-out split (--val-fraction 0): retrieval not measured"
    names = [f"{d}_R@{k}" for d in ("image_to_text", "text_to_image") for k in RECALL_KS]
    width = max(22, len(title))
    lines = [f"{title:<{width}} {'before':>8} {'after':>8}"]
    for name in names:
        label = name.replace("image_to_text", "image->text").replace("text_to_image", "text->image")
        lines.append(f"{label:<{width}} {before[name]:>8.3f} {after[name]:>8.3f}")
    return "\n".join(lines)
