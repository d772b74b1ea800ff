"""Embedding stage: the CLIP text vector of the fused text, optionally mixed with the image."""

from __future__ import annotations

import asyncio

import numpy as np

from schemas.errors import InvalidInputError
from vectorizer_service.compose.context import ComposeContext, StageEnv


def query_text(ctx: ComposeContext) -> str:
    """The text to embed: the fused text, else the modification, else the caption."""
    for text in (ctx.fused_text, ctx.modification, ctx.caption.text if ctx.caption else None):
        if text is not None and text.strip():
            return " ".join(text.split())
    raise InvalidInputError("nothing to compose: the text is empty and there is no caption")


class EmbeddingStage:
    """``normalise((1 - w) * text + w * image)`` with ``w`` the image weight (default 0: text
    only). The image is the working image, so a cut-out product is compared with catalog photos
    rather than with its original background. Always runs: it makes the query vector."""

    name = "embedding"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        return None

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str:
        text = query_text(ctx)
        ctx.fused_text = text
        weight = ctx.options.image_weight if ctx.working_image is not None else 0.0
        ctx.image_weight = weight
        if weight == 0.0:
            text_vector = (await env.deps.encode_texts([text]))[0]
            vector = text_vector
            note = "text only"
        else:
            assert ctx.working_image is not None
            texts, images = await asyncio.gather(
                env.deps.encode_texts([text]), env.deps.encode_images([ctx.working_image])
            )
            text_vector = texts[0]
            vector = (1.0 - weight) * texts[0] + weight * images[0]
            note = f"text mixed with the image at weight {weight:g}"
        if ctx.options.image_weight > 0.0 and ctx.working_image is None:
            note = "no reference image: text only"
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            # Text and image vectors cancel only if they are exact opposites at weight 0.5.
            vector, norm = text_vector, float(np.linalg.norm(text_vector))
        ctx.vector = (np.asarray(vector, dtype=np.float32) / norm).astype(np.float32)
        return note
