"""What the service does with a product vocabulary: find the one to load, and write captions.

The file format itself (its models, validation, the one reader and writer) is
:mod:`schemas.vocabulary`; this module adds the service's behaviour: the bundled default
(``compose/vocabulary/products.json``, or the file ``settings.vocabulary`` points at), a
caption's wording (:func:`render_caption`, :func:`with_article`) and matching a vocabulary
word in a modification (:func:`value_pattern`).
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from schemas.errors import ModelUnavailableError
from schemas.vocabulary import CATEGORY, Vocabulary, parse_vocabulary

if TYPE_CHECKING:
    from vectorizer_service.settings import ServiceSettings

__all__ = [
    "CATEGORY",
    "DEFAULT_VOCABULARY",
    "MODEL_VOCABULARY",
    "Vocabulary",
    "load_vocabulary",
    "render_caption",
    "value_pattern",
    "vocabulary_path",
    "with_article",
]

DEFAULT_VOCABULARY = "products.json"
"""Name of the bundled vocabulary inside the ``compose/vocabulary`` folder."""
MODEL_VOCABULARY = "vocabulary.json"
"""Name of a model folder's own vocabulary (``grounded train`` writes it there)."""


def vocabulary_path(settings: ServiceSettings) -> Path | None:
    """The one rule for which vocabulary a process loads: ``settings.vocabulary`` when given,
    else the ``vocabulary.json`` inside the ``settings.model`` folder when it has one, else None
    (the bundled default). So a model folder carries its vocabulary to every command."""
    if settings.vocabulary is not None:
        return settings.vocabulary
    inside = Path(settings.model).expanduser() / MODEL_VOCABULARY
    return inside if settings.model and inside.is_file() else None


_VOWELS = "aeiou"


def with_article(phrase: str, *, plural: bool = False) -> str:
    """``"red dress"`` -> ``"a red dress"``, ``"orange bag"`` -> ``"an orange bag"``; plurals
    (``"jeans"``) and empty phrases get no article."""
    phrase = phrase.strip()
    if plural or not phrase:
        return phrase
    return f"{'an' if phrase[0].lower() in _VOWELS else 'a'} {phrase}"


def value_pattern(value: str) -> re.Pattern[str]:
    """A case-insensitive whole-phrase matcher for a vocabulary value.

    Words may be joined by spaces or hyphens (``long sleeve`` matches ``long-sleeve``), a plural
    ``s``/``es`` is allowed, and hyphens count as word characters at the edges, so ``red`` does
    not match ``reduced`` or ``red-brown``.
    """
    words = [re.escape(w) for w in value.lower().replace("-", " ").split()]
    return re.compile(r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?:e?s)?(?![\w-])", re.IGNORECASE)


def render_caption(vocabulary: Vocabulary, attributes: dict[str, str], group: str | None = None) -> str:
    """The caption for chosen attributes: ``{"category": "dress", "colour": "red"}`` ->
    ``"a red dress"``. Before-values keep the file's attribute order; the noun is the
    category, else the group's noun, else the vocabulary's ``fallback_noun``."""
    category = vocabulary.category(attributes.get(CATEGORY, ""))
    group_spec = vocabulary.groups.get(category.group if category else group or "")
    if category is not None:
        noun, plural = category.name, category.plural
    elif group_spec is not None:
        noun, plural = group_spec.noun, group_spec.plural
    else:
        noun, plural = vocabulary.fallback_noun, False
    before: list[str] = []
    after: list[str] = []
    for spec in vocabulary.attributes:
        value = spec.value(attributes.get(spec.name, ""))
        if value is None:
            continue
        phrase = spec.phrase_of(value)
        if phrase:
            (before if spec.position_of(value) == "before" else after).append(phrase)
    return " ".join([with_article(" ".join([*before, noun]), plural=plural), *after])


def _vocabulary_source(path: Path | None) -> tuple[str, str]:
    if path is None:
        resource = (
            resources.files("vectorizer_service.compose").joinpath("vocabulary").joinpath(DEFAULT_VOCABULARY)
        )
        return f"bundled vocabulary/{DEFAULT_VOCABULARY}", resource.read_text(encoding="utf-8")
    try:
        return str(path), path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelUnavailableError(
            f"vocabulary {path} cannot be read ({exc.strerror or exc}); check settings.vocabulary "
            "(GROUNDED_VOCABULARY) or leave it unset for the bundled one"
        ) from exc


def load_vocabulary(path: Path | None = None) -> Vocabulary:
    """Load and validate a vocabulary file (``None``: the bundled default).

    Raises :class:`ModelUnavailableError` naming the file and the offending entry, e.g.
    ``vocabulary x.json: attributes.0.values: must have at least 2 items``.
    """
    source, text = _vocabulary_source(path)
    return parse_vocabulary(text, source)
