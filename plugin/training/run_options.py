"""What every training command's options share: range checks, the input check, the card's JSON
and the resume guard.

``grounded train`` and ``grounded train-pic2word`` (and any later head trained into a model
folder) differ in what they train, not in how a run is checked, recorded and resumed: that part
lives here once, as functions over the options dataclasses (no base class to inherit from).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from schemas.errors import InvalidInputError

__all__ = [
    "RunOptions",
    "check_inputs",
    "check_trajectory",
    "options_json",
    "raise_first_failure",
    "run_checks",
    "session_end",
    "trajectory_of",
]


class RunOptions(Protocol):
    """The options every training run has (read-only: the options are frozen dataclasses)."""

    @property
    def epochs(self) -> int: ...
    @property
    def lr(self) -> float: ...
    @property
    def weight_decay(self) -> float: ...
    @property
    def warmup_steps(self) -> int: ...
    @property
    def save_every(self) -> int: ...
    @property
    def threads(self) -> int | None: ...
    @property
    def stop_after_steps(self) -> int | None: ...


def run_checks(options: RunOptions) -> list[tuple[bool, str]]:
    """The range checks every run shares, as (ok, message) pairs in flag order."""
    o = options
    return [
        (o.epochs >= 1, f"--epochs must be at least 1, got {o.epochs}"),
        (o.lr > 0, f"--lr must be positive, got {o.lr}"),
        (o.weight_decay >= 0, f"--weight-decay must be >= 0, got {o.weight_decay}"),
        (o.warmup_steps >= 0, f"--warmup-steps must be >= 0, got {o.warmup_steps}"),
        (o.save_every >= 1, f"--save-every must be at least 1, got {o.save_every}"),
        (o.threads is None or o.threads >= 1, f"--threads must be at least 1, got {o.threads}"),
        (
            o.stop_after_steps is None or o.stop_after_steps >= 1,
            f"--stop-after-steps must be at least 1, got {o.stop_after_steps}",
        ),
    ]


def raise_first_failure(checks: Iterable[tuple[bool, str]]) -> None:
    """Raise :class:`InvalidInputError` with the message of the first failed check."""
    for ok, message in checks:
        if not ok:
            raise InvalidInputError(message)


def check_inputs(catalog: Path, images: Path | None) -> None:
    """Refuse a missing image folder, a missing catalog or an unknown format now, before any model
    loads (a pretrained one takes seconds, a download minutes); the rows are read later."""
    if images is not None and not images.is_dir():
        raise InvalidInputError(f"--images: no such folder: {images}")
    from plugin.ingest.catalog import read_catalog

    read_catalog(catalog)


def options_json(options: Any) -> dict[str, Any]:
    """A dataclass of options as plain JSON values (paths as strings), for the card."""
    return {
        field.name: str(value) if isinstance(value, Path) else value
        for field in dataclasses.fields(options)
        for value in [getattr(options, field.name)]
    }


def trajectory_of(options: Any, fields: Sequence[str]) -> dict[str, Any]:
    """The options among ``fields``: those that decide the weights a run ends with."""
    values = options_json(options)
    return {name: values[name] for name in fields}


def check_trajectory(state: Mapping[str, Any], now: Mapping[str, Any], catalog_sha256: str) -> None:
    """Refuse to resume ``state`` on another catalog or with other trajectory options: the run
    would not end with the weights of one that never stopped."""
    if state.get("catalog_sha256") != catalog_sha256:
        raise InvalidInputError("--resume: the catalog changed since the saved state (sha256 differs)")
    saved = state.get("trajectory", {})
    changed = [f"{k}: {saved.get(k)!r} -> {now[k]!r}" for k in now if saved.get(k) != now[k]]
    if changed:
        raise InvalidInputError(
            "--resume: options differ from the saved run (" + "; ".join(changed) + "); rerun with them"
        )


def session_end(step: int, total_steps: int, stop_after_steps: int | None) -> int:
    """The step this session stops at: the end, or ``stop_after_steps`` further on."""
    return total_steps if stop_after_steps is None else min(total_steps, step + stop_after_steps)
