"""Every option of a training run, validated once, before any data or model is loaded."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.training.run_options import (
    check_inputs,
    options_json,
    raise_first_failure,
    run_checks,
    trajectory_of,
)

__all__ = ["TRAJECTORY_FIELDS", "TrainOptions"]


@dataclass(frozen=True)
class TrainOptions:
    """What ``grounded train`` was asked to do. Defaults suit fine-tuning a small catalog."""

    catalog: Path
    out: Path
    model: str
    pretrained: str = ""
    images: Path | None = None
    skip_bad_rows: bool = False
    """Train on the usable rows, listing each unusable one (with its reason) in the output and
    the card, instead of stopping at the first load."""
    epochs: int = 10
    batch_size: int = 64
    lr: float = 5e-4
    """Peak learning rate. 1e-3 was measured to collapse a from-scratch model on our catalogs."""
    weight_decay: float = 0.1
    warmup_steps: int = 50
    grad_clip: float = 1.0
    hard_batch_fraction: float = 0.5
    scene_fraction: float = 0.25
    """Share of batches that show each product as a shopper would photograph it, cut out and
    framed the way a query is (:mod:`plugin.training.scene_bank`); 0 turns scenes off."""
    scene_variants: int = 3
    """Scenes made per training row, before the first step."""
    scene_check: int = 32
    """Scenes on which the stand-in cut-out is compared with the real background remover (0: none)."""
    attribute_loss: float = 0.0
    """Weight of the auxiliary attribute loss beside the contrastive one
    (:mod:`plugin.training.attribute_loss`); 0 turns it off."""
    lock_image: bool = False
    lock_text: bool = False
    val_fraction: float = 0.1
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    save_dtype: str = "fp32"
    save_every: int = 200
    """Steps between train-state saves (a save also happens at the end)."""
    resume: bool = False
    stop_after_steps: int | None = None
    """Stop this session after this many steps (state saved; continue with ``resume``)."""
    offline: bool = False
    progress: bool = True
    eval_batch_size: int = 128

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` naming the first option out of range."""
        raise_first_failure(
            [
                *run_checks(self),
                (self.grad_clip > 0, f"--grad-clip must be positive, got {self.grad_clip}"),
                (
                    0.0 <= self.scene_fraction <= 1.0,
                    f"--scene-fraction must be in [0, 1], got {self.scene_fraction}",
                ),
                (self.scene_variants >= 1, f"--scene-variants must be at least 1, got {self.scene_variants}"),
                (
                    math.isfinite(self.attribute_loss) and self.attribute_loss >= 0,
                    f"--attribute-loss must be a finite number >= 0, got {self.attribute_loss}",
                ),
                (
                    not (self.attribute_loss > 0 and self.lock_image),
                    "--attribute-loss trains the image tower: it cannot be used with --lock-image",
                ),
                (self.scene_check >= 0, f"--scene-check must be >= 0, got {self.scene_check}"),
                (
                    self.eval_batch_size >= 1,
                    f"--eval-batch-size must be at least 1, got {self.eval_batch_size}",
                ),
                (
                    self.save_dtype in ("fp32", "fp16"),
                    f"--save-dtype must be fp32 or fp16, got {self.save_dtype!r}",
                ),
                (
                    not (self.lock_image and self.lock_text),
                    "--lock-image and --lock-text together leave nothing to train",
                ),
            ]
        )
        check_inputs(self.catalog, self.images)

    def as_json(self) -> dict[str, Any]:
        """The options as plain JSON values (paths as strings), for the card."""
        return options_json(self)

    def trajectory(self) -> dict[str, Any]:
        """The options that decide the weights a run ends with: a resumed run must match them."""
        return trajectory_of(self, TRAJECTORY_FIELDS)


TRAJECTORY_FIELDS = (
    "model",
    "pretrained",
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_steps",
    "grad_clip",
    "hard_batch_fraction",
    "scene_fraction",
    "scene_variants",
    "attribute_loss",
    "lock_image",
    "lock_text",
    "val_fraction",
    "seed",
)
