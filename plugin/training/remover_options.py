"""Every option of a remover fine-tune (``grounded train-remover``), validated before loading.

Kept apart from the training module so that the CLI can build its flags without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.training.run_options import check_inputs, options_json, raise_first_failure
from schemas.errors import InvalidInputError

__all__ = ["RemoverOptions"]


@dataclass(frozen=True)
class RemoverOptions:
    """What ``grounded train-remover`` was asked to do."""

    catalog: Path
    model: Path
    """The model folder the tuned remover is written into (``remover.onnx``, ``remover.json``)."""
    images: Path | None = None
    skip_bad_rows: bool = False
    base: str = "u2netp"
    """The rembg model fine-tuned, read from the service's folder (``GROUNDED_U2NET_HOME``)."""
    input_size: int = 160
    """Side of the square the remover sees, in training and then in serving: a shop's query
    photos are small, and u2netp at 160 px costs a quarter of its 320 px."""
    combine: str = "intersect"
    """How the service uses the tuned remover: ``intersect`` (its mask and the base's at its own
    side, the smaller of the two per pixel: the base knows real photos' backgrounds, the tuned one
    the catalog's products) or ``alone``."""
    scene_variants: int = 2
    """Generated scenes per product, each with its true mask."""
    steps: int = 200
    batch_size: int = 8
    lr: float = 1e-4
    val_fraction: float = 0.1
    """Share of products held out: their scenes measure the masks before and after (the card)."""
    seed: int = 0
    threads: int | None = None

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` naming the first option out of range."""
        raise_first_failure(
            [
                (32 <= self.input_size <= 1024, f"--input-size must be in [32, 1024], got {self.input_size}"),
                (self.input_size % 32 == 0, f"--input-size must be a multiple of 32, got {self.input_size}"),
                (
                    self.combine in ("intersect", "alone"),
                    f"--combine must be intersect or alone, got {self.combine!r}",
                ),
                (self.scene_variants >= 1, f"--scene-variants must be >= 1, got {self.scene_variants}"),
                (self.steps >= 1, f"--steps must be >= 1, got {self.steps}"),
                (self.batch_size >= 1, f"--batch-size must be >= 1, got {self.batch_size}"),
                (self.lr > 0, f"--lr must be > 0, got {self.lr}"),
                (0.0 < self.val_fraction < 1.0, f"--val-fraction must be in (0, 1), got {self.val_fraction}"),
                (
                    self.threads is None or self.threads >= 1,
                    f"--threads must be at least 1, got {self.threads}",
                ),
            ]
        )
        if not self.model.is_dir():
            raise InvalidInputError(
                f"--model {self.model}: not a model folder (the tuned remover is written into it)"
            )
        check_inputs(self.catalog, self.images)

    def as_json(self) -> dict[str, Any]:
        """The options as plain JSON values (paths as strings), for the card."""
        return options_json(self)
