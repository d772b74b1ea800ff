"""Text fusion: merge the reference image's caption with the requested modification.

The default template is ``"a photo of {caption}, {modification}"``. With the attribute
captioner the fusion is attribute aware: when the modification names a value of an attribute
the caption also has (a colour, a material...), the caption's value is dropped instead of being
contradicted: ``"a red floral cotton dress"`` + ``"in blue"`` -> ``"a photo of a floral cotton
dress, in blue"``. Free-text captions (transformers captioners) are used as they are.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

from schemas.errors import InvalidInputError
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.compose.vocab import CATEGORY, Vocabulary, value_pattern, with_article

DEFAULT_TEMPLATE = "a photo of {caption}, {modification}"
TEMPLATE_FIELDS = frozenset({"caption", "modification"})
MAX_TEMPLATE_CHARS = 500

_LEADING_ARTICLE = re.compile(r"^(?:a|an)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Fusion:
    """The fused query text, and which caption attributes the modification overrode."""

    text: str
    dropped: dict[str, str] = field(default_factory=dict)


def validate_template(template: str) -> str:
    """Return ``template`` if it is a usable fusion template, else raise InvalidInputError.

    A template is a ``str.format`` string whose only fields are ``{caption}`` and
    ``{modification}``, each at most once, with ``{modification}`` required (otherwise the
    requested change would be lost). Literal braces are written ``{{`` and ``}}``.
    """
    if len(template) > MAX_TEMPLATE_CHARS:
        raise InvalidInputError(f"template: longer than {MAX_TEMPLATE_CHARS} characters")
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidInputError(f"template {template!r}: {exc}") from exc
    names = [name for _, name, _, _ in parsed if name is not None]
    unknown = sorted({n for n in names if n not in TEMPLATE_FIELDS})
    if unknown:
        shown = ", ".join("{" + n + "}" for n in unknown)
        raise InvalidInputError(
            f"template {template!r}: unknown placeholder {shown}; use {{caption}} and {{modification}}"
        )
    if any(spec or conversion for _, name, spec, conversion in parsed if name is not None):
        raise InvalidInputError(f"template {template!r}: placeholders take no format spec or conversion")
    if "modification" not in names:
        raise InvalidInputError(f"template {template!r}: must contain {{modification}}")
    if len(names) != len(set(names)):
        raise InvalidInputError(f"template {template!r}: each placeholder may appear once")
    return template


def _mentions(text: str, words: list[str]) -> bool:
    return any(value_pattern(w).search(text) for w in words if w.strip())


def _drop_phrase(caption: str, phrase: str) -> str:
    """Remove one whole-word occurrence of ``phrase`` and repair spacing and the article."""
    if not phrase:
        return caption
    had_article = _LEADING_ARTICLE.match(caption) is not None
    pattern = re.compile(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", re.IGNORECASE)
    text = " ".join(pattern.sub(" ", caption, count=1).split())
    if had_article:
        # "an orange bag" minus "orange" must read "a bag", not "an bag".
        text = with_article(_LEADING_ARTICLE.sub("", text))
    return text


def _drop_overridden(caption: Caption, modification: str, vocabulary: Vocabulary | None) -> Fusion:
    """The caption text without the attribute values the modification names another value of
    (or the same value of: restating it once is enough). The category is never dropped: the
    noun anchors the caption."""
    text = caption.text
    dropped: dict[str, str] = {}
    for name, value in caption.attributes.items():
        if name == CATEGORY:
            continue
        spec = vocabulary.attribute(name) if vocabulary is not None else None
        if spec is None:
            # An attribute the vocabulary does not know: only its own value can be matched.
            words, phrase = [value], value
        else:
            words = [w for v in spec.values for w in (v.name, *v.aliases)]
            chosen = spec.value(value)
            phrase = spec.phrase_of(chosen) if chosen is not None else value
        if _mentions(modification, words):
            dropped[name] = value
            text = _drop_phrase(text, phrase)
    return Fusion(text=text, dropped=dropped)


def kept_caption(
    caption: Caption, modification: str, vocabulary: Vocabulary | None, *, drop_overridden: bool = True
) -> Fusion:
    """The caption as :func:`fuse` puts it into the template: without the attributes the
    modification overrides (all of it with ``drop_overridden=False``)."""
    caption_text = " ".join(caption.text.split())
    modification = " ".join(modification.split())
    if not drop_overridden or not modification or not caption_text:
        return Fusion(text=caption_text)
    return _drop_overridden(Caption(caption_text, caption.attributes), modification, vocabulary)


def fuse(
    caption: Caption | None,
    modification: str,
    template: str = DEFAULT_TEMPLATE,
    vocabulary: Vocabulary | None = None,
    *,
    drop_overridden: bool = True,
) -> Fusion:
    """Fuse a caption and a modification into one query text.

    No caption (or an empty one): the modification alone. An empty modification: the caption
    alone. Both: the template, after dropping caption attributes the modification overrides
    (with ``drop_overridden=False`` the whole caption: the plain-template baseline).
    Both empty: InvalidInputError, there is nothing to embed.
    """
    validate_template(template)
    modification = " ".join(modification.split())
    caption_text = " ".join(caption.text.split()) if caption is not None else ""
    if not caption_text:
        if not modification:
            raise InvalidInputError("nothing to compose: the text is empty and there is no caption")
        return Fusion(text=modification)
    if not modification:
        return Fusion(text=caption_text)
    assert caption is not None  # caption_text is non-empty only with a caption
    if not drop_overridden:
        return Fusion(text=" ".join(template.format(caption=caption_text, modification=modification).split()))
    kept = _drop_overridden(Caption(caption_text, caption.attributes), modification, vocabulary)
    text = template.format(caption=kept.text, modification=modification)
    return Fusion(text=" ".join(text.split()), dropped=kept.dropped)


_DANGLING = " \t,;:-–—"
"""What a template leaves at either end of its text when the change is empty ("..., ")."""


def reference_text(
    caption: Caption | None, modification: str, template: str = DEFAULT_TEMPLATE
) -> str | None:
    """The text the ``direction`` fusion method starts from: the reference as the template
    describes it without the change, so ``t(fused) - t(reference)`` is the change alone.

    The whole caption (nothing dropped: the direction must remove the overridden value) in the
    template with an empty modification, dangling separators trimmed
    (``"a photo of a red floral cotton dress"``); the caption alone when the template has no
    ``{caption}``. ``None`` without a caption (no reference to start from). With an empty
    modification the fused text itself: there is no change, the direction is zero.
    """
    caption_text = " ".join(caption.text.split()) if caption is not None else ""
    if not caption_text:
        return None
    modification = " ".join(modification.split())
    if not modification:
        return caption_text  # what fuse() embeds for an empty modification
    filled = " ".join(template.format(caption=caption_text, modification="").split()).strip(_DANGLING)
    return filled if caption_text in filled else caption_text
