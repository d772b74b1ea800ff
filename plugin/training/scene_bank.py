"""The shopper scenes of one training run, made once before the first step.

Each training row gets ``variants`` query views (:mod:`plugin.training.scenes`: the product cut
out of its catalog photo, placed in a generated scene, then cut out and framed the way a query
is), drawn from ``(seed, row, variant)``. A *scene batch* - a share ``fraction`` of all batches,
drawn from ``(seed, step)`` - shows every row of the batch as one of its views instead of its
catalog photo; the usual augmentation (crop, rotation, flip, brightness) then applies to either.

Memory: the views are held decoded, at most the catalog photo's size; for the 988-row product
world with 3 variants that is about 130 MB. Making them costs a few milliseconds per view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from PIL import Image

from plugin.training.dataset import Example
from plugin.training.scene_cutout import RealCutouts
from plugin.training.scenes import (
    Scene,
    SceneMaker,
    StandInCheck,
    compare_with_remover,
    product_mask,
    query_view,
)

__all__ = ["SceneBank", "SceneOptions", "check_stand_in"]

_SCENE_STREAM = 2
"""Second seed word of the scene generators (the batch plan uses 0, the augmentation 1)."""
_PICK_STREAM = 3
"""Second seed word of the per-step draw that decides scene batches and picks views."""


@dataclass(frozen=True)
class SceneOptions:
    fraction: float
    """Share of batches shown as scenes (0 turns scenes off)."""
    variants: int
    """Scenes made per training row."""


def _scene(
    example: Example, others: Sequence[Image.Image], seed: int, row: int, variant: int
) -> tuple[Scene, np.random.Generator] | None:
    mask = product_mask(example.image)
    if not mask.any():
        return None
    rng = np.random.default_rng([seed, _SCENE_STREAM, row, variant])
    return SceneMaker().make(example.image, mask, others, rng), rng


class SceneBank:
    """Query views per training row, and the choice of which batches and views use them."""

    def __init__(
        self,
        examples: Sequence[Example],
        options: SceneOptions,
        seed: int,
        *,
        real: RealCutouts | None = None,
        real_variants: int = 0,
    ) -> None:
        """``real``, ``real_variants``: the first ``real_variants`` scenes of each row are also
        shown as the service's remover cuts them out (:mod:`plugin.training.scene_cutout`),
        after the row's stand-in views."""
        self.options = options
        self._seed = seed
        others = [e.image for e in examples]
        self.views: list[list[Image.Image]] = []
        self.real_views: list[int] = []
        """Per row, how many of its views (the last ones) are real cut-outs."""
        for row, example in enumerate(examples):
            made = []
            scenes = []
            for variant in range(options.variants if options.fraction > 0 else 0):
                drawn = _scene(example, others, seed, row, variant)
                if drawn is not None:
                    scene, rng = drawn
                    made.append(query_view(scene, rng))
                    if variant < real_variants:
                        scenes.append(scene.image)
            if real is not None and scenes:
                made += real.views(scenes)
            self.views.append(made)
            self.real_views.append(len(scenes) if real is not None else 0)

    @property
    def rows_without_scenes(self) -> int:
        """Rows whose photo showed no product-sized region on a plain backdrop (no scenes)."""
        return sum(1 for views in self.views if not views) if self.options.fraction > 0 else 0

    def is_scene_batch(self, step: int) -> bool:
        rng = np.random.default_rng([self._seed, _PICK_STREAM, step])
        return bool(rng.random() < self.options.fraction)

    def images(
        self, rows: Sequence[int] | np.ndarray, examples: Sequence[Example], step: int
    ) -> list[Image.Image]:
        """The image each row of batch ``step`` shows: a view in a scene batch (rows without
        views keep their photo), the catalog photo otherwise."""
        rng = np.random.default_rng([self._seed, _PICK_STREAM, step])
        scene_batch = rng.random() < self.options.fraction
        out = []
        for row in rows:
            views = self.views[int(row)]
            out.append(
                views[int(rng.integers(0, len(views)))] if scene_batch and views else examples[int(row)].image
            )
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "fraction": self.options.fraction,
            "variants": self.options.variants,
            "views": sum(len(v) for v in self.views),
            "rows_without_scenes": self.rows_without_scenes,
        }


def held_out_views(examples: Sequence[Example], seed: int) -> list[Example]:
    """One query view per held-out row (rows without one keep their photo): the held-out set
    as a shopper would photograph it, for the card's before/after retrieval figures."""
    others = [e.image for e in examples]
    out = []
    for row, example in enumerate(examples):
        drawn = _scene(example, others, seed + 1, row, 0)
        out.append(example if drawn is None else replace(example, image=query_view(*drawn)))
    return out


def check_stand_in(examples: Sequence[Example], count: int, seed: int, threads: int | None) -> dict[str, Any]:
    """Compare the stand-in with the service's real background remover on ``count`` scenes;
    what the card records (or why nothing was measured)."""
    if count <= 0 or not examples:
        return {"measured": False, "reason": "--scene-check 0"}
    from schemas.errors import GroundedError
    from vectorizer_service import ServiceSettings, load_remover

    try:
        # The environment's settings (GROUNDED_U2NET_HOME, GROUNDED_REMBG_MODEL), on the CPU.
        settings = ServiceSettings.model_validate({"device": "cpu", "remover_threads": threads or 1})
        remover = load_remover(settings)
    except GroundedError as exc:
        return {"measured": False, "reason": str(exc)}
    others = [e.image for e in examples]
    scenes = []
    for row, example in enumerate(examples[:count]):
        drawn = _scene(example, others, seed + 2, row, 0)
        if drawn is not None:
            scenes.append(drawn[0])
    result: StandInCheck = compare_with_remover(scenes, remover, np.random.default_rng([seed, _SCENE_STREAM]))
    return {"measured": True, "remover": remover.name, **result.as_json()}
