"""A ``grounded-vocabulary/1`` vocabulary derived from a catalog's own products.

What the catalog already says is the vocabulary: its categories, its attribute keys and their
values. Values are grouped case-insensitively (the most frequent spelling names them); a value
seen fewer than :data:`MIN_COUNT` times, or on under :data:`MIN_SHARE` of the products that have
the attribute, is dropped (a typo or a one-off the captioner would only guess at), and so is a
category seen fewer than :data:`MIN_COUNT` times. An attribute left with fewer than two values,
or with more than :data:`MAX_VALUES` (free text, sizes, SKUs: nothing a photo can tell), is
dropped. Every drop is listed with its reason (:attr:`DerivedVocabulary.dropped`).

Each category is its own group, so attribute prompts name it ("a photo of a red dress"), up to
:data:`MAX_CATEGORY_GROUPS` categories; above that all share one group, "product", to bound the
prompt count. An attribute (or value) seen only on some categories applies to those alone, as
the product world's hand-made vocabulary does for sleeves and cuts.

Aliases come from titles, only where they help: a word in at least :data:`ALIAS_MIN_SHARE` of one
category's titles and at most :data:`ALIAS_MAX_ELSEWHERE` of the others', not already the
category's name nor an attribute value (a title saying "red" says the colour, not the kind).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from schemas.errors import InvalidInputError
from schemas.product import Product
from schemas.vocabulary import (
    CATEGORY,
    VOCABULARY_FORMAT,
    AttributeSpec,
    CategorySpec,
    GroupSpec,
    ValueSpec,
    Vocabulary,
    write_vocabulary,
)

__all__ = [
    "ALIAS_MAX_ELSEWHERE",
    "ALIAS_MIN_SHARE",
    "MAX_CATEGORY_GROUPS",
    "MAX_VALUES",
    "MIN_COUNT",
    "MIN_SHARE",
    "VOCABULARY_FILE",
    "DerivedVocabulary",
    "Dropped",
    "derive_vocabulary",
    "write_model_vocabulary",
]

MIN_COUNT = 2
"""A value or category seen fewer times than this is dropped (a one-off is not a vocabulary)."""
MIN_SHARE = 0.01
"""A value on under this share of the products that have its attribute is dropped."""
MAX_VALUES = 60
"""An attribute with more kept values than this is free text (sizes, SKUs), not a facet."""
MAX_CATEGORY_GROUPS = 50
"""Up to this many categories, each is its own group (prompts name it); above, one group."""
ALIAS_MIN_SHARE = 0.5
"""A title word is a category's alias when at least this share of its titles hold it..."""
ALIAS_MAX_ELSEWHERE = 0.05
"""... and at most this share of the other categories' titles."""
ALIAS_MIN_PRODUCTS = 3
"""Categories with fewer products get no aliases (too few titles to tell)."""
VOCABULARY_FILE = "vocabulary.json"
"""The vocabulary's name inside a model folder, where every command looks for it."""
_SHARED_GROUP = "product"
_WORD = re.compile(r"[^\W\d_][\w'-]*[^\W_]|[^\W\d_]", re.UNICODE)


@dataclass(frozen=True)
class Dropped:
    """Something the catalog has that the vocabulary leaves out, and why."""

    attribute: str
    """``category`` for a category, else the attribute's name."""
    value: str | None
    """None when the whole attribute is dropped."""
    count: int
    reason: str


@dataclass
class DerivedVocabulary:
    """The vocabulary and what it was made from: counts per kept value, every drop."""

    vocabulary: Vocabulary
    products: int
    category_counts: dict[str, int]
    value_counts: dict[str, dict[str, int]]
    """Attribute -> kept value -> products."""
    dropped: list[Dropped] = field(default_factory=list)


def _spelling(counts: Counter[str]) -> str:
    """The most frequent spelling of a case-insensitive group (ties: the first seen)."""
    return counts.most_common(1)[0][0]


class _Tally:
    """Case-insensitive counts of one field's values, each with the categories it was seen on."""

    def __init__(self) -> None:
        self.spellings: dict[str, Counter[str]] = defaultdict(Counter)
        self.categories: dict[str, set[str]] = defaultdict(set)

    def add(self, value: str, category: str) -> None:
        key = value.casefold()
        self.spellings[key][value] += 1
        if category:
            self.categories[key].add(category.casefold())

    def counts(self) -> dict[str, int]:
        return {key: sum(c.values()) for key, c in self.spellings.items()}


def _words(title: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(title) if len(w) >= 3}


def _aliases(
    titles: dict[str, list[str]], names: dict[str, str], reserved: set[str]
) -> dict[str, tuple[str, ...]]:
    """Per category key: title words frequent in its titles and rare in the others'."""
    per_category = {key: Counter(w for t in ts for w in _words(t)) for key, ts in titles.items()}
    total_titles = sum(len(ts) for ts in titles.values())
    total_words: Counter[str] = Counter()
    for counter in per_category.values():
        total_words.update(counter)
    aliases: dict[str, tuple[str, ...]] = {}
    for key, counter in per_category.items():
        count = len(titles[key])
        others = total_titles - count
        if count < ALIAS_MIN_PRODUCTS or others == 0:
            continue
        own = set(_words(names[key])) | {names[key].casefold()}
        found = [
            word
            for word, n in sorted(counter.items(), key=lambda wn: (-wn[1], wn[0]))
            if n / count >= ALIAS_MIN_SHARE
            and (total_words[word] - n) / others <= ALIAS_MAX_ELSEWHERE
            and word not in own
            and word not in reserved
            and word.rstrip("s") not in own
        ]
        if found:
            aliases[key] = tuple(found)
    return aliases


def derive_vocabulary(products: Iterable[Product]) -> DerivedVocabulary:
    """The vocabulary of ``products`` (see the module's rules). Raises :class:`InvalidInputError`
    when the catalog names fewer than two categories, which no vocabulary can be made of."""
    categories = _Tally()
    attributes: dict[str, _Tally] = defaultdict(_Tally)
    key_spellings: dict[str, Counter[str]] = defaultdict(Counter)
    titles: dict[str, list[str]] = defaultdict(list)
    total = 0
    for product in products:
        total += 1
        category = product.category.strip()
        if category:
            categories.add(category, category)
            titles[category.casefold()].append(product.title)
        for key, value in product.attributes.items():
            key, value = key.strip(), value.strip()
            if key and value:
                key_spellings[key.casefold()][key] += 1
                attributes[key.casefold()].add(value, category)
    dropped: list[Dropped] = []
    kept_categories: dict[str, str] = {}
    category_counts: dict[str, int] = {}
    for key, count in sorted(categories.counts().items(), key=lambda kv: (-kv[1], kv[0])):
        name = _spelling(categories.spellings[key])
        if count < MIN_COUNT:
            dropped.append(Dropped(CATEGORY, name, count, f"seen {count} time(s), under {MIN_COUNT}"))
            continue
        kept_categories[key] = name
        category_counts[name] = count
    if len(kept_categories) < 2:
        raise InvalidInputError(
            f"the catalog names {len(kept_categories)} usable categor"
            f"{'y' if len(kept_categories) == 1 else 'ies'} (each seen at least {MIN_COUNT} times): "
            "a vocabulary needs at least two; fill the rows' category field"
        )
    attribute_specs: list[AttributeSpec] = []
    value_counts: dict[str, dict[str, int]] = {}
    reserved: set[str] = set()
    for attribute_key, tally in sorted(attributes.items()):
        name = _spelling(key_spellings[attribute_key])
        if attribute_key == CATEGORY:
            dropped.append(Dropped(name, None, 0, "the name is reserved for the category field"))
            continue
        counts = tally.counts()
        having = sum(counts.values())
        values: list[tuple[str, str, int]] = []
        for key, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            spelled = _spelling(tally.spellings[key])
            if count < MIN_COUNT or count < MIN_SHARE * having:
                why = f"seen {count} time(s)" + (
                    f", under {MIN_COUNT}" if count < MIN_COUNT else f", under {MIN_SHARE:.0%} of {having}"
                )
                dropped.append(Dropped(name, spelled, count, why))
                continue
            values.append((key, spelled, count))
        if len(values) < 2:
            dropped.append(Dropped(name, None, having, f"{len(values)} value(s) kept: nothing to choose"))
            continue
        if len(values) > MAX_VALUES:
            dropped.append(
                Dropped(
                    name, None, having, f"{len(values)} values, over {MAX_VALUES}: free text, not a facet"
                )
            )
            continue
        seen_on = set().union(*(tally.categories[key] for key, _, _ in values)) & set(kept_categories)
        # Seen on every kept category, or on none (rows without one): it applies to all.
        applies = None if seen_on in (set(), set(kept_categories)) else _names(seen_on, kept_categories)
        specs = []
        for key, spelled, _ in values:
            on = tally.categories[key] & set(kept_categories)
            value_applies = _names(on, kept_categories) if on and on != seen_on else None
            specs.append(ValueSpec(name=spelled, applies_to=value_applies))
            reserved.add(key)
            reserved |= _words(spelled)
        attribute_specs.append(AttributeSpec(name=name, values=tuple(specs), applies_to=applies))
        value_counts[name] = {spelled: count for _, spelled, count in values}
    aliases = _aliases({k: titles[k] for k in kept_categories}, kept_categories, reserved)
    per_category = len(kept_categories) <= MAX_CATEGORY_GROUPS
    groups = (
        {name: GroupSpec(noun=name) for name in kept_categories.values()}
        if per_category
        else {_SHARED_GROUP: GroupSpec(noun=_SHARED_GROUP)}
    )
    vocabulary = Vocabulary(
        format=VOCABULARY_FORMAT,
        groups=groups,
        categories=tuple(
            CategorySpec(
                name=name, group=name if per_category else _SHARED_GROUP, aliases=aliases.get(key, ())
            )
            for key, name in kept_categories.items()
        ),
        attributes=tuple(attribute_specs),
    )
    return DerivedVocabulary(vocabulary, total, category_counts, value_counts, dropped)


def _names(keys: set[str], names: dict[str, str]) -> tuple[str, ...]:
    """Category names of ``keys``, in the vocabulary's order."""
    return tuple(name for key, name in names.items() if key in keys)


def write_model_vocabulary(folder: Path, products: Iterable[Product]) -> str:
    """Write the vocabulary derived from ``products`` into a model folder that has none (so the
    folder carries what the captioner needs); a folder's own vocabulary is never replaced.
    Returns one line saying what was done, or why not."""
    path = folder / VOCABULARY_FILE
    if path.exists():
        return f"vocabulary: kept the folder's own {path}"
    try:
        derived = derive_vocabulary(products)
    except InvalidInputError as exc:
        return f"vocabulary: none written ({exc.message})"
    write_vocabulary(derived.vocabulary, path)
    attributes = ", ".join(a.name for a in derived.vocabulary.attributes) or "no attributes"
    return (
        f"vocabulary: wrote {path} ({len(derived.vocabulary.categories)} categories; {attributes}), "
        "derived from the catalog (grounded vocabulary --preview shows how)"
    )
