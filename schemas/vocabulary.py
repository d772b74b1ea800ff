"""The ``grounded-vocabulary/1`` file format: the product vocabulary of the attribute captioner.

A vocabulary is a JSON file (documented in ``docs/composed-queries.md``): groups of categories
(apparel, shoes...), the categories themselves, and attributes (colour, pattern, material...)
whose values are scored zero-shot against an image. The service reads it (its captioner and
the attribute-aware fusion); the plugin writes it (the product world's vocabulary). Both go
through this module: :func:`parse_vocabulary` is the one reader, :func:`write_vocabulary` the
one writer, so a file one side writes is a file the other side reads.
"""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from schemas.errors import ModelUnavailableError

__all__ = [
    "CATEGORY",
    "VOCABULARY_FORMAT",
    "AttributeSpec",
    "CategorySpec",
    "GroupSpec",
    "Position",
    "ValueSpec",
    "Vocabulary",
    "parse_vocabulary",
    "vocabulary_document",
    "write_vocabulary",
]

VocabularyFormat = Literal["grounded-vocabulary/1"]
VOCABULARY_FORMAT: Final[VocabularyFormat] = "grounded-vocabulary/1"
"""The format id every vocabulary file starts with (its ``format`` field)."""

CATEGORY: Final = "category"
"""Key of the category in a caption's attributes; reserved, so no attribute may take the name."""

Position = Literal["before", "after"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GroupSpec(_Strict):
    """A family of categories (apparel, shoes, bags, home)."""

    noun: str = Field(description="generic noun used when no category is confident, e.g. 'bag'")
    plural: bool = False


class CategorySpec(_Strict):
    """One product category (dress, jeans...), a member of a group."""

    name: str
    group: str
    plural: bool = Field(default=False, description="takes no article: 'jeans', not 'a jeans'")
    aliases: tuple[str, ...] = ()


class ValueSpec(_Strict):
    """One value of an attribute. A bare JSON string ``"red"`` is ``{"name": "red"}``."""

    name: str
    aliases: tuple[str, ...] = Field(
        default=(), description="other words a modification may use for this value"
    )
    phrase: str | None = Field(
        default=None, description="text in the caption (default: the attribute's phrase)"
    )
    position: Position | None = Field(default=None, description="overrides the attribute's position")
    prompt: str | None = Field(default=None, description="scoring prompt; {noun} is the group's noun")
    applies_to: tuple[str, ...] | None = Field(
        default=None, description="group or category names (default: all)"
    )


class AttributeSpec(_Strict):
    """One attribute (colour, sleeve...): its values and how a chosen value enters a caption."""

    name: str
    values: tuple[ValueSpec, ...] = Field(min_length=2)
    position: Position = Field(default="before", description="before or after the noun in the caption")
    phrase: str = Field(default="{value}", description="caption text of a value, e.g. 'with {value}s'")
    prompt: str = Field(default="{value} {noun}", description="scoring prompt with {value} and {noun}")
    applies_to: tuple[str, ...] | None = Field(
        default=None, description="group or category names (default: all)"
    )
    min_probability: float = Field(default=0.3, ge=0.0, le=1.0, description="top value's softmax probability")
    min_margin: float = Field(default=0.05, ge=0.0, le=1.0, description="top minus second probability")

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
        """The value called ``name``, or None."""
        return next((v for v in self.values if v.name == name), None)

    def phrase_of(self, value: ValueSpec) -> str:
        """A value's caption text: its own phrase, else the attribute's with ``{value}`` filled."""
        return value.phrase if value.phrase is not None else self.phrase.format(value=value.name)

    def position_of(self, value: ValueSpec) -> Position:
        """A value's place in the caption: its own position, else the attribute's."""
        return value.position or self.position


class Vocabulary(_Strict):
    """A validated vocabulary: see ``docs/composed-queries.md`` for the file format."""

    format: VocabularyFormat
    prompt: str = Field(default="a photo of {}", description="wraps every scoring phrase")
    logit_scale: float = Field(default=100.0, gt=0.0, description="CLIP's temperature for the softmax")
    fallback_noun: str = "product"
    groups: dict[str, GroupSpec] = Field(min_length=1)
    categories: tuple[CategorySpec, ...] = Field(min_length=2)
    category_min_probability: float = Field(default=0.3, ge=0.0, le=1.0)
    category_min_margin: float = Field(default=0.05, ge=0.0, le=1.0)
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
        """The category called ``name``, or None."""
        return self._categories_by_name.get(name)

    def attribute(self, name: str) -> AttributeSpec | None:
        """The attribute called ``name``, or None."""
        return next((a for a in self.attributes if a.name == name), None)

    @staticmethod
    def applies(targets: tuple[str, ...] | None, category: CategorySpec | None, group: str | None) -> bool:
        """Whether an ``applies_to`` list admits this category / group (``None`` admits all)."""
        if targets is None:
            return True
        return (category is not None and category.name in targets) or (group is not None and group in targets)


def parse_vocabulary(text: str, source: str) -> Vocabulary:
    """The one reader: a vocabulary file's text, validated. ``source`` names the file in errors.

    Raises :class:`ModelUnavailableError` naming the file and the offending entry, e.g.
    ``vocabulary x.json: attributes.0.values: must have at least 2 items`` (the captioner
    cannot load without its vocabulary).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelUnavailableError(f"vocabulary {source}: not valid JSON ({exc})") from exc
    try:
        return Vocabulary.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise ModelUnavailableError(f"vocabulary {source}: {problems}") from exc


def vocabulary_document(vocabulary: Vocabulary) -> dict[str, Any]:
    """The JSON document of a vocabulary, as :func:`write_vocabulary` writes it.

    Fields equal to the format's defaults are left out, so a file says only what it chooses;
    :func:`parse_vocabulary` fills them back in, giving an equal :class:`Vocabulary`.
    """
    return vocabulary.model_dump(mode="json", exclude_defaults=True)


def write_vocabulary(vocabulary: Vocabulary, path: Path) -> None:
    """The one writer: ``vocabulary`` as a ``grounded-vocabulary/1`` file at ``path``."""
    path.write_text(json.dumps(vocabulary_document(vocabulary), indent=1) + "\n", encoding="utf-8")
