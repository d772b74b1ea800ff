"""Fusion stage: merge caption and modification through the template."""

from __future__ import annotations

from schemas.wire import PIC2WORD_METHODS
from vectorizer_service.compose.context import ComposeContext, StageEnv
from vectorizer_service.compose.fusion import fuse, reference_text


class FusionStage:
    """Writes ``ctx.fused_text`` and ``ctx.reference_text`` (the caption without the change, for
    the direction fusion method); when switched off the embedding stage uses the modification
    alone (or the caption when there is no modification) and there is no reference text."""

    name = "fusion"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        if ctx.options.fusion_method in PIC2WORD_METHODS:
            return "pic2word methods: the embedding stage writes the prompt around the pseudo-word"
        if not ctx.options.fuse:
            return "switched off: the query text is the modification alone"
        return None

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str:
        fusion = fuse(
            ctx.caption,
            ctx.modification,
            ctx.options.template,
            env.vocabulary,
            drop_overridden=ctx.options.drop_overridden,
        )
        ctx.fused_text = fusion.text
        ctx.reference_text = reference_text(ctx.caption, ctx.modification, ctx.options.template)
        if fusion.dropped:
            dropped = ", ".join(f"{name}={value}" for name, value in fusion.dropped.items())
            return f"dropped caption attributes the modification overrides: {dropped}"
        if ctx.caption is None or not ctx.caption.text.strip():
            return "no caption: the modification alone"
        if not ctx.modification.strip():
            return "empty modification: the caption alone"
        return ""
