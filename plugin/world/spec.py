"""The product world's definition, read from ``data/world.json``: shapes, colours, patterns and
wordings as data, so the renderer and the split writer stay small and the world can be changed
without touching code."""

from __future__ import annotations

import json
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from schemas.errors import InvalidInputError

__all__ = ["Attribute", "CategoryDef", "ColourDef", "Part", "WorldSpec", "load_world_spec"]

Attribute = Literal["colour", "pattern", "category", "sleeve"]
"""The attributes a modification may change."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Part(_Strict):
    """One drawing primitive in a 100 x 100 box; ``cut`` parts are removed from the shape."""

    poly: tuple[tuple[float, float], ...] | None = None
    ellipse: tuple[float, float, float, float] | None = None
    rect: tuple[float, float, float, float] | None = None
    cut: bool = False

    @model_validator(mode="after")
    def _one_primitive(self) -> Part:
        given = [p for p in (self.poly, self.ellipse, self.rect) if p is not None]
        if len(given) != 1:
            raise ValueError("a part is exactly one of poly, ellipse or rect")
        if self.poly is not None and len(self.poly) < 3:
            raise ValueError("a poly needs at least 3 points")
        return self


class CategoryDef(_Strict):
    name: str
    group: str
    plural: bool = False
    aliases: tuple[str, ...] = ()
    cuts: dict[str, tuple[Part, ...]] = Field(min_length=2)
    sleeves: dict[str, tuple[Part, ...]] | None = None


class ColourDef(_Strict):
    name: str
    rgb: tuple[int, int, int]
    aliases: tuple[str, ...] = ()


class PatternDef(_Strict):
    name: str
    aliases: tuple[str, ...] = ()


class Wordings(_Strict):
    """Modification phrasings per changed attribute; ``join`` links two changes."""

    colour: tuple[str, ...] = Field(min_length=1)
    pattern: tuple[str, ...] = Field(min_length=1)
    category: tuple[str, ...] = Field(min_length=1)
    sleeve: tuple[str, ...] = Field(min_length=1)
    join: tuple[str, ...] = Field(min_length=1)


class WorldSpec(_Strict):
    format: Literal["grounded-world/1"]
    about: str = ""
    groups: dict[str, str]
    categories: tuple[CategoryDef, ...] = Field(min_length=2)
    colours: tuple[ColourDef, ...] = Field(min_length=2)
    patterns: tuple[PatternDef, ...] = Field(min_length=2)
    brands: tuple[str, ...] = Field(min_length=1)
    titles: dict[str, tuple[str, ...]]
    descriptions: tuple[str, ...] = Field(min_length=1)
    modifications: dict[Literal["development", "test"], Wordings]

    @model_validator(mode="after")
    def _check(self) -> WorldSpec:
        for c in self.categories:
            if c.group not in self.groups:
                raise ValueError(f"category {c.name!r}: unknown group {c.group!r}")
        names = [c.name for c in self.categories]
        if len(set(names)) != len(names):
            raise ValueError("category names must be unique")
        return self

    @cached_property
    def category_by_name(self) -> dict[str, CategoryDef]:
        return {c.name: c for c in self.categories}

    @cached_property
    def colour_by_name(self) -> dict[str, ColourDef]:
        return {c.name: c for c in self.colours}

    @cached_property
    def sleeve_values(self) -> tuple[str, ...]:
        """Every sleeve value any category has, in file order."""
        seen: dict[str, None] = {}
        for c in self.categories:
            for value in c.sleeves or {}:
                seen.setdefault(value, None)
        return tuple(seen)


def load_world_spec(path: Path | None = None) -> WorldSpec:
    """The bundled world (``path=None``) or another file in the same format."""
    where = str(path) if path is not None else "bundled world.json"
    try:
        if path is None:
            text = resources.files("plugin.world").joinpath("data").joinpath("world.json").read_text("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
        return WorldSpec.model_validate(json.loads(text))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"world spec {where}: cannot be read ({exc})") from exc
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise InvalidInputError(f"world spec {where}: {loc}: {err['msg']}") from exc
