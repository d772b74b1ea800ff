"""Background stage: cut the product out of the reference image (rembg).

Forced on or off (``remove_background`` true / false), or, in ``auto`` mode (the server
default, or asked for per request), decided per photo: a studio photo (plain border around a framed subject,
:func:`~vectorizer_service.compose.studio.detect_studio`) keeps its background and skips the
remover; any other photo is cut out. The note gives the decision and its evidence.
"""

from __future__ import annotations

import asyncio

from PIL import Image

from schemas.wire import AUTO_BACKGROUND
from vectorizer_service.compose.context import ComposeContext, StageEnv
from vectorizer_service.compose.framing import NEUTRAL_BACKGROUND, frame_subject
from vectorizer_service.compose.protocols import Cutout
from vectorizer_service.compose.studio import detect_studio

MIN_MASK_COVERAGE = 0.01
"""Below this the mask is empty (nothing salient found): the cut-out would be blank."""
MAX_MASK_COVERAGE = 0.98
"""Above this the mask is the whole image: cutting would only blur the edges."""


def cutout_view(cutout: Cutout) -> Image.Image | None:
    """What the model reads of a photo the remover cut out: the cut-out framed on its subject
    (as it is when the remover reports no box), or None when the mask is empty or covers
    almost the whole image and the original photo is kept. Training's real cut-outs of its
    scenes go through this function too, so they are what a query shows."""
    if not MIN_MASK_COVERAGE <= cutout.coverage <= MAX_MASK_COVERAGE:
        return None
    if cutout.box is None:
        return cutout.image
    return frame_subject(cutout.image, cutout.box, NEUTRAL_BACKGROUND)


class BackgroundStage:
    """Replaces the background with a neutral colour, unless the mask is empty or covers
    almost the whole image, in which case the original is kept and the note says why. In
    ``auto`` mode a studio photo is kept as it is, before the remover runs."""

    name = "background"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        if ctx.image is None:
            return "no reference image"
        if ctx.options.remove_background is False:
            return "switched off"
        if env.deps.remove_background is None:
            return "no background remover loaded"
        return None

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str:
        assert ctx.image is not None and env.deps.remove_background is not None  # see skip_reason
        decided = ""
        if ctx.options.remove_background == AUTO_BACKGROUND:
            # Image work scales with the reference's pixels: a worker thread, not the event loop.
            verdict = await asyncio.to_thread(detect_studio, ctx.image)
            if verdict.studio:
                ctx.background_note = f"auto: {verdict.note}: kept the original image"
                return ctx.background_note
            decided = f"auto: {verdict.note}: "
        cutout = await env.deps.remove_background(ctx.image)
        ctx.mask_coverage = cutout.coverage
        percent = f"{cutout.coverage:.1%}"
        if cutout.coverage < MIN_MASK_COVERAGE:
            note = f"mask is empty ({percent} coverage): kept the original image"
        elif cutout.coverage > MAX_MASK_COVERAGE:
            note = f"mask covers almost the whole image ({percent}): kept the original image"
        else:
            ctx.working_image = await asyncio.to_thread(cutout_view, cutout)
            framed = ", framed on the subject" if cutout.box is not None else ""
            ctx.background_removed = True
            note = f"background removed ({percent} of the image kept{framed})"
        ctx.background_note = decided + note
        return ctx.background_note
