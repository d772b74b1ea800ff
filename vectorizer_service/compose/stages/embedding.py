"""Embedding stage: the CLIP text vector of the query text, combined with the reference image's
vector by the request's fusion method (the vector math: :mod:`vectorizer_service.compose.vector_fusion`)."""

from __future__ import annotations

import asyncio

import numpy as np

from schemas.errors import InvalidInputError
from schemas.wire import PIC2WORD_METHODS
from vectorizer_service.compose.context import ComposeContext, ResolvedOptions, StageEnv
from vectorizer_service.compose.fusion import kept_caption
from vectorizer_service.compose.pic2word import pic2word_prompt
from vectorizer_service.compose.vector_fusion import (
    ENSEMBLE_SHARES,
    SLERP_LINEAR_ABOVE,
    Vector,
    cosine,
    direction,
    ensemble,
    image_anchor,
    slerp,
)
from vectorizer_service.runtime.protocol import Vectors

_NO_VECTORS: Vectors = np.zeros((0, 0), dtype=np.float32)


def query_text(ctx: ComposeContext) -> str:
    """The text to embed: the fused text, else the modification, else the caption."""
    for text in (ctx.fused_text, ctx.modification, ctx.caption.text if ctx.caption else None):
        if text is not None and text.strip():
            return " ".join(text.split())
    raise InvalidInputError("nothing to compose: the text is empty and there is no caption")


class EmbeddingStage:
    """The query vector from the text vector ``t``, the image vector ``v`` (of the working image,
    so a cut-out product is compared with catalog photos rather than with its original
    background) and, for ``direction``, the reference text's vector ``r``:

    * ``image_anchor`` (default): ``normalise((1 - w) * t + w * v)``;
    * ``direction``: ``normalise(w * normalise(v + g * D) + (1 - w) * normalise(r + g * D))``, ``D = t - r``;
    * ``slerp``: the point ``w`` of the way from ``t`` to ``v`` on the unit sphere;
    * ``pic2word`` / ``pic2word_caption``: ``t(prompt)`` with the prompt's ``*`` read from the
      trained mapper's token for ``v`` (the image weight does not apply: the image is a word);
    * ``ensemble``: ``normalise(p + w * v + 0.5 * t + 0.25 * m)`` over unit vectors, ``p`` the
      ``pic2word`` vector (left out without a mapper or an image), ``t`` the fused text's (the
      abstaining caption and the change), ``m`` the change's alone
      (:data:`~vectorizer_service.compose.vector_fusion.ENSEMBLE_SHARES`; ``w`` 0 by default);

    with ``w`` the image weight (0 without an image: the image is then not encoded) and ``g``
    the direction gain. The note says which method ran, its parameters, and any fallback.
    Always runs: it makes the query vector."""

    name = "embedding"

    def skip_reason(self, ctx: ComposeContext, env: StageEnv) -> str | None:
        return None

    async def run(self, ctx: ComposeContext, env: StageEnv) -> str:
        if ctx.options.fusion_method == "ensemble":
            return await _ensemble(ctx, env)
        if ctx.options.fusion_method in PIC2WORD_METHODS and ctx.working_image is not None:
            return await _pic2word(ctx, env)
        text = query_text(ctx)
        ctx.fused_text = text
        options = ctx.options
        weight = options.image_weight if ctx.working_image is not None else 0.0
        ctx.image_weight = weight
        reference = ctx.reference_text if options.fusion_method == "direction" else None
        texts = [text] if reference is None or reference == text else [text, reference]
        image: Vector | None = None
        text_vectors: Vectors
        if weight > 0.0:
            assert ctx.working_image is not None
            text_vectors, images = await asyncio.gather(
                env.deps.encode_texts(texts), env.deps.encode_images([ctx.working_image])
            )
            image = images[0]
        else:
            text_vectors = await env.deps.encode_texts(texts)
        t = text_vectors[0]
        if options.fusion_method == "direction":
            r = None if reference is None else text_vectors[len(texts) - 1]
            ctx.vector = direction(t, r, image, weight, options.direction_gain)
            return _direction_note(ctx, options, weight)
        if options.fusion_method == "slerp":
            ctx.vector = slerp(t, image, weight)
            return _slerp_note(options, t, image, weight)
        ctx.vector = image_anchor(t, image, weight)
        return _anchor_note(options, weight)


async def _pic2word(ctx: ComposeContext, env: StageEnv) -> str:
    """The prompt around the pseudo-word, embedded with the image's mapped token as ``*``."""
    options, caption, dropped = ctx.options, None, {}
    if options.fusion_method == "pic2word_caption" and ctx.caption is not None and options.fuse:
        kept = kept_caption(
            ctx.caption, ctx.modification, env.vocabulary, drop_overridden=options.drop_overridden
        )
        caption, dropped = kept.text, kept.dropped
    prompt = pic2word_prompt(options.pic2word_template, caption, ctx.modification)
    encode = env.deps.encode_pseudo_word
    assert encode is not None and ctx.working_image is not None  # the pipeline checked both
    image = (await env.deps.encode_images([ctx.working_image]))[0]
    ctx.vector = (await encode([(image, prompt)]))[0]
    ctx.fused_text, ctx.image_weight = prompt, 1.0
    note = f"{options.fusion_method}: t({prompt!r}) with * = mapper(image vector)"
    if dropped:
        note += "; dropped caption attributes the modification overrides: " + ", ".join(
            f"{name}={value}" for name, value in dropped.items()
        )
    elif options.fusion_method == "pic2word_caption" and not caption:
        note += "; no caption, so the pic2word prompt"
    return note


async def _ensemble(ctx: ComposeContext, env: StageEnv) -> str:
    """Pic2Word's vector (when a mapper is loaded and there is an image) summed with the fused
    text's (what the caption was sure of, and the change), the change's, and the image's own at
    the image weight: the word reads the image, the caption the attributes it is sure of. The
    fused text is the fusion stage's; a part that does not exist (no mapper, fusion off, no
    change, weight 0) is left out and the note says so."""
    shares, encode = ENSEMBLE_SHARES, env.deps.encode_pseudo_word
    fused = " ".join((ctx.fused_text or "").split())
    texts = [text for text in dict.fromkeys((fused, ctx.modification)) if text]
    weight = ctx.options.image_weight if ctx.working_image is not None else 0.0
    prompt, word, image = None, None, None
    if ctx.working_image is not None and (weight > 0.0 or encode is not None):
        image = (await env.deps.encode_images([ctx.working_image]))[0]
    if encode is not None and image is not None:
        prompt = pic2word_prompt(ctx.options.pic2word_template, None, ctx.modification)
        pseudo, vectors = await asyncio.gather(encode([(image, prompt)]), _texts(env, texts))
        word = pseudo[0]
    else:
        vectors = await _texts(env, texts)
    if word is None and not texts and weight == 0.0:
        raise InvalidInputError("nothing to compose: the text is empty and there is no caption")
    by_text = dict(zip(texts, vectors, strict=True))
    ctx.vector = ensemble(
        [
            (shares["pic2word"], word),
            (weight, image),
            (shares["caption"], by_text.get(fused)),
            (shares["change"], by_text.get(ctx.modification)),
        ]
    )
    # The explanation shows the caption's text (what a shopper can read); the note has the prompt.
    ctx.fused_text = fused or ctx.modification or prompt
    ctx.image_weight = weight
    parts = [f"t({prompt!r}) with * = mapper(image vector)"] if prompt is not None else []
    if weight > 0.0:
        parts.append(f"{weight:g} * v(image)")
    if fused:
        parts.append(f"{shares['caption']:g} * t({fused!r})")
    if ctx.modification:
        parts.append(f"{shares['change']:g} * t({ctx.modification!r})")
    note = "ensemble: normalise(" + " + ".join(parts) + ")"
    if word is None:
        why = "no reference image" if ctx.working_image is None else env.deps.pic2word_problem
        note += f"; no Pic2Word term: {why}"
    return note


async def _texts(env: StageEnv, texts: list[str]) -> Vectors:
    return await env.deps.encode_texts(texts) if texts else _NO_VECTORS


def _text_only(options: ResolvedOptions, weight: float) -> str | None:
    """The note when the image takes no part, or None when it does."""
    if weight > 0.0:
        return None
    return "no reference image: text only" if options.image_weight > 0.0 else "text only"


def _anchor_note(options: ResolvedOptions, weight: float) -> str:
    return _text_only(options, weight) or f"text mixed with the image at weight {weight:g}"


def _slerp_note(options: ResolvedOptions, text: Vector, image: Vector | None, weight: float) -> str:
    alone = _text_only(options, weight)
    if alone is not None or image is None:
        return f"slerp: {alone}"
    cos = cosine(text, image)
    if abs(cos) > SLERP_LINEAR_ABOVE:
        return f"slerp at image weight {weight:g}: image and text almost parallel (cos {cos:.4f}), linear"
    return f"slerp from the text towards the image at weight {weight:g} (cos {cos:.3f})"


def _direction_note(ctx: ComposeContext, options: ResolvedOptions, weight: float) -> str:
    head = f"direction at gain {options.direction_gain:g}, image weight {weight:g}"
    if ctx.reference_text is None:
        why = "fusion switched off" if not options.fuse else "no caption"
        change = f"{why}, so no reference text: D = t(query text), the image plus the change"
    elif ctx.reference_text == ctx.fused_text:
        change = "empty change: D = 0"
    else:
        change = f"D = t(fused text) - t({ctx.reference_text!r})"
    parts = [head, change]
    if weight == 0.0:
        alone = "no reference image" if options.image_weight > 0.0 else "image weight 0"
        parts.append(f"{alone}: the text side only, normalise(r + g * D)")
    return "; ".join(parts)
