"""Every option of an attribute-head run (``grounded train-attributes``), validated before loading.

Kept apart from the training module so that the CLI can build its flags without importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from plugin.training.run_options import check_inputs, options_json, raise_first_failure
from schemas.errors import InvalidInputError

__all__ = ["AttributeHeadOptions"]

_MODEL_VOCABULARY = "vocabulary.json"
_MAX_HIDDEN = 1024
"""Wider hidden layers would make the head's file outgrow the model it sits beside."""


@dataclass(frozen=True)
class AttributeHeadOptions:
    """What ``grounded train-attributes`` was asked to do."""

    catalog: Path
    model: Path
    """The model folder: read, and the head written into it."""
    vocabulary: Path | None = None
    """Default: the model folder's ``vocabulary.json`` (what the service loads), else the bundled one."""
    images: Path | None = None
    skip_bad_rows: bool = False
    scene_variants: int = 4
    """Shopper-scene views per product, beside its catalog photo (cut out by the stand-in)."""
    real_cutouts: int = 0
    """Of those scenes, how many per product are also shown as the service's own background
    remover cuts them out (:mod:`plugin.training.scene_cutout`; a few tenths of a second each,
    once: they are cached)."""
    scene_cache: Path | None = None
    """Where real cut-outs are kept between runs (default: ``~/.cache/grounded/scene-cutouts``)."""
    val_fraction: float = 0.2
    weight_decays: tuple[float, ...] = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)
    """L2 penalties tried per probe; the held-out products choose."""
    hidden_sizes: tuple[int, ...] = (0,)
    """Probe shapes tried per probe, each with every weight decay: 0 is a linear probe, N a
    hidden layer of N ReLU units; the held-out products choose."""
    min_probability: float | None = None
    """Recorded in the head: the probability its picks must reach to be named (None: the
    service's ``caption_min_probability``)."""
    seed: int = 0
    threads: int | None = None
    device: str = "cpu"
    offline: bool = False

    def validate(self) -> None:
        """Raise :class:`InvalidInputError` naming the first option out of range."""
        raise_first_failure(
            [
                (self.scene_variants >= 0, f"--scene-variants must be >= 0, got {self.scene_variants}"),
                (
                    0 <= self.real_cutouts <= self.scene_variants,
                    f"--real-cutouts must be in [0, --scene-variants {self.scene_variants}], "
                    f"got {self.real_cutouts}",
                ),
                (0.0 < self.val_fraction < 1.0, f"--val-fraction must be in (0, 1), got {self.val_fraction}"),
                (bool(self.weight_decays), "--weight-decay needs at least one value"),
                (
                    all(w >= 0 for w in self.weight_decays),
                    f"--weight-decay must be >= 0, got {self.weight_decays}",
                ),
                (bool(self.hidden_sizes), "--hidden needs at least one value"),
                (
                    all(0 <= h <= _MAX_HIDDEN for h in self.hidden_sizes),
                    f"--hidden must be in [0, {_MAX_HIDDEN}], got {self.hidden_sizes}",
                ),
                (
                    self.min_probability is None or 0.0 <= self.min_probability <= 1.0,
                    f"--min-probability must be in [0, 1], got {self.min_probability}",
                ),
                (
                    self.threads is None or self.threads >= 1,
                    f"--threads must be at least 1, got {self.threads}",
                ),
            ]
        )
        if not self.model.is_dir():
            raise InvalidInputError(f"--model {self.model}: not a model folder (the head is written into it)")
        check_inputs(self.catalog, self.images)

    def scene_cache_dir(self) -> Path:
        """Where this run keeps its real cut-outs."""
        if self.scene_cache is not None:
            return self.scene_cache.expanduser()
        from vectorizer_service import default_cache_dir

        return default_cache_dir(None) / "scene-cutouts"

    def vocabulary_file(self) -> Path | None:
        """The vocabulary the service would load with this model folder."""
        if self.vocabulary is not None:
            return self.vocabulary
        inside = self.model / _MODEL_VOCABULARY
        return inside if inside.is_file() else None

    def as_json(self) -> dict[str, Any]:
        """The options as plain JSON values (paths as strings), for the card."""
        return options_json(self)
