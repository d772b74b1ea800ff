"""The one typed context the composed-query stages read and write, and the Stage interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt
from PIL import Image

from schemas.wire import (
    DEFAULT_DIRECTION_GAIN,
    DEFAULT_FUSION_METHOD,
    PIC2WORD_METHODS,
    BackgroundChoice,
    ComposeOptions,
    FusionMethod,
)
from vectorizer_service.compose.fusion import validate_template
from vectorizer_service.compose.pic2word import PIC2WORD_TEMPLATE, resolve_pic2word_template
from vectorizer_service.compose.protocols import Caption, ComposeDeps
from vectorizer_service.compose.vocab import Vocabulary
from vectorizer_service.settings import AUTO_FUSION, AUTO_METHOD, ServiceSettings


@dataclass(frozen=True)
class ResolvedOptions:
    """A request's :class:`ComposeOptions` with every ``None`` replaced by the server default."""

    remove_background: BackgroundChoice
    """True or False: forced; "auto": the background stage decides per photo (studio or not)."""
    caption: bool
    fuse: bool
    template: str
    image_weight: float
    drop_overridden: bool
    return_cutout: bool
    catalog_caption: str | None = None
    catalog_attributes: tuple[tuple[str, str], ...] = ()
    """A stored reference product's merchant data (name, value) pairs: they come first."""
    fusion_method: FusionMethod = DEFAULT_FUSION_METHOD
    direction_gain: float = DEFAULT_DIRECTION_GAIN
    pic2word_template: str = PIC2WORD_TEMPLATE
    """The prompt of the pic2word methods, with the pseudo-word ``*`` (unused by the others)."""

    @classmethod
    def resolve(cls, options: ComposeOptions, settings: ServiceSettings) -> ResolvedOptions:
        """Apply the settings' defaults; raises InvalidInputError for a bad template."""

        def pick(value: bool | None, default: bool) -> bool:
            return default if value is None else value

        chosen = options.fusion_method or settings.fusion_method
        # "auto" is resolved by the engine when its models load; a pipeline built on unresolved
        # settings (no engine) resolves it the same way: the ensemble, with whatever terms it has.
        method: FusionMethod = AUTO_METHOD if chosen == AUTO_FUSION else chosen
        pic2word = method in PIC2WORD_METHODS or method == "ensemble"  # their prompts hold the "*"
        return cls(
            remove_background=(
                settings.remove_background if options.remove_background is None else options.remove_background
            ),
            caption=pick(options.caption, settings.captioner != "none"),
            fuse=pick(options.fuse, True),
            template=validate_template(
                options.template
                if options.template is not None and not (pic2word and "*" in options.template)
                else settings.fusion_template
            ),
            image_weight=settings.image_weight if options.image_weight is None else options.image_weight,
            drop_overridden=pick(options.drop_overridden, True),
            return_cutout=options.return_cutout,
            catalog_caption=" ".join(options.catalog_caption.split()) or None
            if options.catalog_caption
            else None,
            catalog_attributes=tuple(sorted((options.catalog_attributes or {}).items())),
            fusion_method=method,
            direction_gain=(
                settings.direction_gain if options.direction_gain is None else options.direction_gain
            ),
            pic2word_template=(
                resolve_pic2word_template(method, options.template) if pic2word else PIC2WORD_TEMPLATE
            ),
        )


@dataclass
class ComposeContext:
    """What one composed query knows so far; each stage fills in its part."""

    image: Image.Image | None
    """The reference image as received (RGB), or None for a text-only query."""
    modification: str
    options: ResolvedOptions
    working_image: Image.Image | None = None
    """The image later stages look at: the cut-out once the background is removed."""
    mask_coverage: float | None = None
    background_removed: bool = False
    background_note: str = ""
    caption: Caption | None = None
    attribute_sources: dict[str, str] | None = None
    """Per caption attribute: 'catalog' or 'zero-shot' (set when merchant data was given)."""
    fused_text: str | None = None
    reference_text: str | None = None
    """The caption as the template describes it without the change (the direction method's start)."""
    image_weight: float = 0.0
    """The weight of the reference image actually used (0 without an image)."""
    vector: npt.NDArray[np.float32] | None = None

    def __post_init__(self) -> None:
        if self.working_image is None:
            self.working_image = self.image


@dataclass(frozen=True)
class StageEnv:
    """What stages share across requests: the model entry points and the vocabulary."""

    deps: ComposeDeps
    vocabulary: Vocabulary | None


class Stage(Protocol):
    """One step of the pipeline. ``skip_reason`` says why it does not run for this request
    (``None``: it runs); ``run`` does the work and returns a short note for the explanation."""

    name: str

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None: ...

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str: ...
