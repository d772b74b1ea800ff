"""Caption stage: describe the (cut-out) reference image in words."""

from __future__ import annotations

from vectorizer_service.compose.context import ComposeContext, StageEnv


class CaptionStage:
    """Runs the configured captioner (attribute or transformers) on the working image."""

    name = "caption"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        if ctx.working_image is None:
            return "no reference image"
        if not ctx.options.caption:
            return "switched off"
        if env.deps.caption is None:
            return "no captioner loaded"
        return None

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str:
        assert ctx.working_image is not None and env.deps.caption is not None  # see skip_reason
        ctx.caption = await env.deps.caption(ctx.working_image)
        if ctx.caption.attributes:
            return f"{len(ctx.caption.attributes)} attributes"
        return "" if ctx.caption.text.strip() else "the captioner returned an empty caption"
