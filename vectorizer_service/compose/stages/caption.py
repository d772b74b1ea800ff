"""Caption stage: describe the (cut-out) reference image in words.

When the reference is a stored product, its merchant data comes first: the catalog caption (its
title) and attributes are the caption, and the captioner's zero-shot attributes fill in only the
attributes the catalog does not have. ``ctx.attribute_sources`` says which came from where.
"""

from __future__ import annotations

from vectorizer_service.compose.context import ComposeContext, StageEnv
from vectorizer_service.compose.protocols import Caption

CATALOG, ZERO_SHOT = "catalog", "zero-shot"


def merge_catalog(
    catalog_caption: str, catalog: dict[str, str], zero_shot: Caption | None
) -> tuple[Caption, dict[str, str]]:
    """The merchant's caption and attributes, completed by zero-shot attributes it lacks; the
    completed attributes' values lead the text ("red" + "Acme wrap dress"), so fusion can drop
    them when the modification overrides them."""
    extra = {k: v for k, v in (zero_shot.attributes if zero_shot else {}).items() if k not in catalog}
    missing_words = [v for v in extra.values() if v.lower() not in catalog_caption.lower()]
    text = " ".join([*missing_words, catalog_caption])
    sources = {**dict.fromkeys(extra, ZERO_SHOT), **dict.fromkeys(catalog, CATALOG)}
    return Caption(text, {**extra, **catalog}), sources


class CaptionStage:
    """Runs the configured captioner (attribute or transformers) on the working image, and puts
    a stored product's merchant data first when there is some."""

    name = "caption"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        if ctx.options.catalog_caption:
            return None  # merchant data is a caption even with the captioner off
        if ctx.working_image is None:
            return "no reference image"
        if not ctx.options.caption:
            return "switched off"
        if env.deps.caption is None:
            return "no captioner loaded"
        return None

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str:
        zero_shot: Caption | None = None
        if ctx.working_image is not None and ctx.options.caption and env.deps.caption is not None:
            zero_shot = await env.deps.caption(ctx.working_image)
        if ctx.options.catalog_caption:
            catalog = dict(ctx.options.catalog_attributes)
            ctx.caption, ctx.attribute_sources = merge_catalog(
                ctx.options.catalog_caption, catalog, zero_shot
            )
            filled = sum(1 for s in ctx.attribute_sources.values() if s == ZERO_SHOT)
            return f"catalog caption, {len(catalog)} catalog attributes, {filled} zero-shot"
        assert zero_shot is not None  # see skip_reason
        ctx.caption = zero_shot
        if ctx.caption.attributes:
            return f"{len(ctx.caption.attributes)} attributes"
        return "" if ctx.caption.text.strip() else "the captioner returned an empty caption"
