"""The prompts of the Pic2Word fusion methods: where the pseudo-word ``*`` (the reference image,
through the trained mapper of :mod:`vectorizer_service.runtime.pic2word`) sits among the words.

* ``pic2word``: ``"a photo of * , {modification}"``, the paper's own prompt;
* ``ensemble``: the ``pic2word`` prompt, when a mapper is loaded; its vector is then summed with
  the caption's fused text (:func:`vectorizer_service.compose.vector_fusion.ensemble`);
* ``pic2word_caption``: the pseudo-word and the caption together,
  :data:`PIC2WORD_CAPTION_TEMPLATE`, ``"a photo of {caption} like * , {modification}"``: the best
  mean R@1/5/10 over the world's two val splits among :data:`PIC2WORD_CAPTION_WORDINGS`
  (docs/composed-queries.md has the table; test never looked at).

A request's ``template`` replaces the method's prompt when it holds a ``*``.
"""

from __future__ import annotations

import re

from schemas.errors import InvalidInputError
from schemas.wire import FusionMethod
from vectorizer_service.compose.fusion import validate_template

__all__ = [
    "PIC2WORD_CAPTION_TEMPLATE",
    "PIC2WORD_CAPTION_WORDINGS",
    "PIC2WORD_TEMPLATE",
    "pic2word_prompt",
    "resolve_pic2word_template",
]

PSEUDO_WORD = "*"  # the same placeholder as the runtime's (a string, so the service core needs no torch)
PIC2WORD_TEMPLATE = "a photo of * , {modification}"
PIC2WORD_CAPTION_WORDINGS: dict[str, str] = {
    "that-is": "a photo of * that is {caption} , {modification}",
    "apposition": "a photo of * , {caption} , {modification}",
    "caption-first": "a photo of {caption} like * , {modification}",
}
"""Wordings of the caption form compared on val (``grounded eval --configs pic2word_wordings``)."""
PIC2WORD_CAPTION_TEMPLATE = PIC2WORD_CAPTION_WORDINGS["caption-first"]

_STAR = re.compile(r"\s*\*\s*")
_DANGLING = " \t,;:-–—"


def resolve_pic2word_template(method: FusionMethod, requested: str | None) -> str:
    """The prompt template of ``method``: the request's when it holds the pseudo-word, else the
    method's own. A requested one must hold ``*`` exactly once; only ``pic2word_caption`` puts
    the caption into the prompt."""
    default = PIC2WORD_CAPTION_TEMPLATE if method == "pic2word_caption" else PIC2WORD_TEMPLATE
    if requested is None or PSEUDO_WORD not in requested:
        return default
    template = validate_template(requested)
    if template.count(PSEUDO_WORD) != 1:
        raise InvalidInputError(f"template {template!r}: a pic2word prompt holds the pseudo-word * once")
    if method != "pic2word_caption" and "{caption}" in template:
        raise InvalidInputError(
            f"template {template!r}: {method} puts no caption into its prompt; use fusion_method "
            "pic2word_caption"
        )
    return template


def _clean(text: str) -> str:
    # A '*' in the user's words would be read as a second pseudo-word.
    return " ".join(text.replace(PSEUDO_WORD, " ").split())


def pic2word_prompt(template: str, caption: str | None, modification: str) -> str:
    """``template`` filled in, its ``*`` standing alone between spaces (``"*,"`` would be one
    other token). No caption: the ``pic2word`` prompt; no modification: the prompt without it."""
    caption, modification = _clean(caption or ""), _clean(modification)
    if "{caption}" in template and not caption:
        template = PIC2WORD_TEMPLATE
    text = " ".join(template.format(caption=caption, modification=modification).split())
    if not modification:
        text = text.strip(_DANGLING)
    return _STAR.sub(f" {PSEUDO_WORD} ", text).strip()
