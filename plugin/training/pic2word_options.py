"""Every option of a Pic2Word mapper run (``grounded train-pic2word``), validated before loading."""

from __future__ import annotations

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
from schemas.errors import InvalidInputError

__all__ = ["PIC2WORD_STATE_NAME", "PIC2WORD_TRAJECTORY_FIELDS", "Pic2WordOptions"]

PIC2WORD_STATE_NAME = "pic2word-state.pt"
"""The resumable state, beside the mapper in the model folder (not needed to serve)."""


@dataclass(frozen=True)
class Pic2WordOptions:
    """What ``grounded train-pic2word`` was asked to do. The optimiser's values are the paper's;
    epochs and batch size suit a catalog of about a thousand images on a 2-core CPU."""

    catalog: Path
    model: Path
    """The model folder (open_clip ``local-dir`` layout): read, and the mapper written into it."""
    images: Path | None = None
    skip_bad_rows: bool = False
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-4
    weight_decay: float = 0.1
    warmup_steps: int = 100
    hidden: int = 512
    """The mapper's hidden width (the paper's 512)."""
    dropout: float = 0.1
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    save_every: int = 500
    """Steps between state saves (a save also happens at the end)."""
    resume: bool = False
    stop_after_steps: int | None = None
    """Stop this session after this many steps (state saved; continue with ``resume``)."""
    offline: bool = False
    progress: bool = True

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` naming the first option out of range."""
        raise_first_failure(
            [
                *run_checks(self),
                (self.batch_size >= 2, f"--batch-size must be at least 2, got {self.batch_size}"),
                (self.hidden >= 1, f"--hidden must be at least 1, got {self.hidden}"),
                (0 <= self.dropout < 1, f"--dropout must be in [0, 1), got {self.dropout}"),
            ]
        )
        if not self.model.is_dir():
            raise InvalidInputError(
                f"--model {self.model}: not a model folder (the mapper is written beside the model; "
                "train one with grounded train, or copy a local-dir model)"
            )
        check_inputs(self.catalog, self.images)

    def as_json(self) -> dict[str, Any]:
        """The options as plain JSON values (paths as strings), for the card."""
        return options_json(self)

    def trajectory(self) -> dict[str, Any]:
        """The options that decide the mapper a run ends with: a resumed run must match them."""
        return trajectory_of(self, PIC2WORD_TRAJECTORY_FIELDS)


PIC2WORD_TRAJECTORY_FIELDS = (
    "epochs",
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_steps",
    "hidden",
    "dropout",
    "seed",
)
