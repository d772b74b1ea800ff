"""Background stage: cut the product out of the reference image (rembg)."""

from __future__ import annotations

from vectorizer_service.compose.context import ComposeContext, StageEnv
from vectorizer_service.compose.framing import NEUTRAL_BACKGROUND, frame_subject

MIN_MASK_COVERAGE = 0.01
"""Below this the mask is empty (nothing salient found): the cut-out would be blank."""
MAX_MASK_COVERAGE = 0.98
"""Above this the mask is the whole image: cutting would only blur the edges."""


class BackgroundStage:
    """Replaces the background with a neutral colour, unless the mask is empty or covers
    almost the whole image, in which case the original is kept and the note says why."""

    name = "background"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        if ctx.image is None:
            return "no reference image"
        if not ctx.options.remove_background:
            return "switched off"
        if env.deps.remove_background is None:
            return "no background remover loaded"
        return None

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str:
        assert ctx.image is not None and env.deps.remove_background is not None  # see skip_reason
        cutout = await env.deps.remove_background(ctx.image)
        ctx.mask_coverage = cutout.coverage
        percent = f"{cutout.coverage:.1%}"
        if cutout.coverage < MIN_MASK_COVERAGE:
            ctx.background_note = f"mask is empty ({percent} coverage): kept the original image"
        elif cutout.coverage > MAX_MASK_COVERAGE:
            ctx.background_note = f"mask covers almost the whole image ({percent}): kept the original image"
        else:
            ctx.working_image = cutout.image
            framed = ""
            if cutout.box is not None:
                ctx.working_image = frame_subject(cutout.image, cutout.box, NEUTRAL_BACKGROUND)
                framed = ", framed on the subject"
            ctx.background_removed = True
            ctx.background_note = f"background removed ({percent} of the image kept{framed})"
        return ctx.background_note
