"""The product vocabulary of the attribute captioner, and the attribute-aware fusion's word list.

A vocabulary is a JSON file (format described in ``docs/composed-queries.md``): groups of
categories (apparel, shoes...), the categories themselves, and attributes (colour, pattern,
material...) whose values are scored zero-shot against the image. The bundled default lives in
``compose/vocabulary/products.json``; ``settings.vocabulary`` points at another file.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.errors import ModelUnavailableError

DEFAULT_VOCABULARY = "products.json"
"""Name of the bundled vocabulary inside the ``compose/vocabulary`` folder."""

CATEGORY = "category"
"""Key of the category in a caption's attributes."""

_VOWELS = "aeiou"

Position = Literal["before", "after"]


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupSpec(_Strict):
    """A family of categories (apparel, shoes, bags, home)."""

    noun: str = Field(description="generic noun used when no category is confident, e.g. 'bag'")
    plural: bool = False


class CategorySpec(_Strict):
    name: str
    group: str
    plural: bool = Field(False, description="takes no article: 'jeans', not 'a jeans'")
    aliases: tuple[str, ...] = ()


class ValueSpec(_Strict):
    """One value of an attribute. A bare JSON string ``"red"`` is ``{"name": "red"}``."""

    name: str
    aliases: tuple[str, ...] = Field((), description="other words a modification may use for this value")
    phrase: str | None = Field(None, description="text in the caption (default: the attribute's phrase)")
    position: Position | None = Field(None, description="overrides the attribute's position")
    prompt: str | None = Field(None, description="scoring prompt; {noun} is the group's noun")
    applies_to: tuple[str, ...] | None = Field(None, description="group or category names (default: all)")


class AttributeSpec(_Strict):
    name: str
    values: tuple[ValueSpec, ...] = Field(min_length=2)
    position: Position = Field("before", description="before or after the noun in the caption")
    phrase: str = Field("{value}", description="caption text of a value, e.g. 'with {value}s'")
    prompt: str = Field("{value} {noun}", description="scoring prompt with {value} and {noun}")
    applies_to: tuple[str, ...] | None = Field(None, description="group or category names (default: all)")
    min_probability: float = Field(0.3, ge=0.0, le=1.0, description="top value's softmax probability")
    min_margin: float = Field(0.05, ge=0.0, le=1.0, description="top minus second probability")

    @field_validator("values", mode="before")
    @classmethod
    def _bare_strings(cls, values: object) -> object:
        if isinstance(values, list):
            return [{"name": v} if isinstance(v, str) else v for v in values]
        return values

    @model_validator(mode="after")
    def _check_templates(self) -> AttributeSpec:
        if "{value}" not in self.phrase:
            raise ValueError(f"phrase {self.phrase!r} must contain {{value}}")
        names = [v.name.lower() for v in self.values]
        if len(set(names)) != len(names):
            raise ValueError("values must be unique")
        return self

    def value(self, name: str) -> ValueSpec | None:
        return next((v for v in self.values if v.name == name), None)

    def phrase_of(self, value: ValueSpec) -> str:
        return value.phrase if value.phrase is not None else self.phrase.format(value=value.name)

    def position_of(self, value: ValueSpec) -> Position:
        return value.position or self.position


class Vocabulary(_Strict):
    """A validated vocabulary: see ``docs/composed-queries.md`` for the file format."""

    format: Literal["grounded-vocabulary/1"]
    prompt: str = Field("a photo of {}", description="wraps every scoring phrase")
    logit_scale: float = Field(100.0, gt=0.0, description="CLIP's temperature for the softmax")
    fallback_noun: str = "product"
    groups: dict[str, GroupSpec] = Field(min_length=1)
    categories: tuple[CategorySpec, ...] = Field(min_length=2)
    category_min_probability: float = Field(0.3, ge=0.0, le=1.0)
    category_min_margin: float = Field(0.05, ge=0.0, le=1.0)
    attributes: tuple[AttributeSpec, ...] = ()

    @model_validator(mode="after")
    def _check_references(self) -> Vocabulary:
        if self.prompt.count("{}") != 1:
            raise ValueError(f"prompt {self.prompt!r} must contain exactly one {{}}")
        names = {c.name for c in self.categories}
        if len(names) != len(self.categories):
            raise ValueError("category names must be unique")
        for c in self.categories:
            if c.group not in self.groups:
                raise ValueError(f"category {c.name!r}: unknown group {c.group!r}")
        known = names | set(self.groups)
        attribute_names = [a.name for a in self.attributes]
        if CATEGORY in attribute_names or len(set(attribute_names)) != len(attribute_names):
            raise ValueError(f"attribute names must be unique and not {CATEGORY!r}")
        for a in self.attributes:
            targets = [*(a.applies_to or ()), *(t for v in a.values for t in v.applies_to or ())]
            unknown = sorted(set(targets) - known)
            if unknown:
                raise ValueError(f"attribute {a.name!r}: applies_to names unknown {unknown}")
        return self

    @cached_property
    def _categories_by_name(self) -> dict[str, CategorySpec]:
        return {c.name: c for c in self.categories}

    def category(self, name: str) -> CategorySpec | None:
        return self._categories_by_name.get(name)

    def attribute(self, name: str) -> AttributeSpec | None:
        return next((a for a in self.attributes if a.name == name), None)

    @staticmethod
    def applies(targets: tuple[str, ...] | None, category: CategorySpec | None, group: str | None) -> bool:
        """Whether an ``applies_to`` list admits this category / group (``None`` admits all)."""
        if targets is None:
            return True
        return (category is not None and category.name in targets) or (group is not None and group in targets)

    def render(self, attributes: dict[str, str], group: str | None = None) -> str:
        """The caption for chosen attributes: ``{"category": "dress", "colour": "red"}`` ->
        ``"a red dress"``. Before-values keep the file's attribute order; the noun is the
        category, else the group's noun, else :attr:`fallback_noun`."""
        category = self.category(attributes.get(CATEGORY, ""))
        group_spec = self.groups.get(category.group if category else group or "")
        if category is not None:
            noun, plural = category.name, category.plural
        elif group_spec is not None:
            noun, plural = group_spec.noun, group_spec.plural
        else:
            noun, plural = self.fallback_noun, False
        before: list[str] = []
        after: list[str] = []
        for spec in self.attributes:
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
    where, text = _vocabulary_source(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelUnavailableError(f"vocabulary {where}: not valid JSON ({exc})") from exc
    try:
        return Vocabulary.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise ModelUnavailableError(f"vocabulary {where}: {problems}") from exc
