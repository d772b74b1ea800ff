"""Caption stage: describe the (cut-out) reference image in words.

When the reference is a stored product, its merchant data comes first: the catalog caption (its
title) and attributes are the caption, and the captioner's zero-shot attributes fill in only the
attributes the catalog does not have. ``ctx.attribute_sources`` says which came from where.

The attribute captioner names only what it is sure of; the stage's note lists what it left out
and why, and an empty caption (nothing sure) leaves the query to the image and the change.
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
    picked_by = zero_shot.sources if zero_shot else {}
    sources = {**{k: picked_by.get(k, ZERO_SHOT) for k in extra}, **dict.fromkeys(catalog, CATALOG)}
    # A merchant's value is data, not a guess: only the zero-shot ones keep a probability.
    sure = zero_shot.probabilities if zero_shot else {}
    probabilities = {k: sure[k] for k in extra if k in sure}
    return Caption(text, {**extra, **catalog}, probabilities=probabilities), sources


class CaptionStage:
    """Runs the configured captioner (attribute or transformers) on the working image, and puts
    a stored product's merchant data first when there is some."""

    name = "caption"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        if ctx.options.fusion_method == "pic2word":
            return "pic2word: the image enters the prompt as its pseudo-word, not as a caption"
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
            filled = sum(1 for s in ctx.attribute_sources.values() if s != CATALOG)
            return f"catalog caption, {len(catalog)} catalog attributes, {filled} zero-shot"
        assert zero_shot is not None  # see skip_reason
        ctx.caption = zero_shot
        ctx.attribute_sources = dict(zero_shot.sources)
        if not zero_shot.text.strip() and zero_shot.guess and not ctx.modification:
            # Nothing sure and no change to search for: the unsure reading beats no query at all.
            ctx.caption = Caption(zero_shot.guess, {}, zero_shot.left_out, zero_shot.guess)
            unsure = "; ".join(zero_shot.left_out)
            return f"nothing sure and no change: the most likely reading, unsure: {unsure}"
        return caption_note(zero_shot)


def caption_note(caption: Caption) -> str:
    """What the stage says: how many attributes were named, and what was left out and why."""
    unsure = "; ".join(caption.left_out)
    if not caption.text.strip():
        if unsure:
            return f"nothing sure, caption left empty: {unsure}"
        return "the captioner returned an empty caption"
    named = f"{len(caption.attributes)} attributes" if caption.attributes else ""
    if named and caption.sources:
        # Which model named them: the trained attribute head, the zero-shot prompts, or both.
        kinds = sorted(set(caption.sources.values()))
        named += f" ({', '.join(kinds)})"
    return "; ".join(part for part in (named, unsure) if part)
