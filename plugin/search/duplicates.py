"""Near-duplicate listings: groups of products whose stored vectors (and, optionally, titles)
are closer than a threshold.

Every product's neighbours come from the store's own vector search (LanceDB's or Weaviate's),
``neighbours`` at a time, so the work is one search per product rather than an all-pairs loop
here; pairs over the threshold are joined into groups (union-find: a re-render of a re-colour of
a product lands in the same group as both).

The store protocol has no scan, so the products are listed by one search of up to
:data:`plugin.search.query.MAX_SEARCH_LIMIT` hits (every product of a catalog that size or smaller);
each product's vector is then read with :meth:`ProductStore.product`.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from plugin.search.query import MAX_SEARCH_LIMIT
from plugin.store.export import write_csv
from plugin.store.protocol import ProductStore
from schemas.errors import InvalidInputError

__all__ = [
    "DEFAULT_NEIGHBOURS",
    "DEFAULT_THRESHOLD",
    "DuplicateGroup",
    "DuplicateReport",
    "find_duplicates",
    "title_similarity",
    "write_report",
]

DEFAULT_THRESHOLD = 0.95
"""Cosine similarity of two products' vectors at and above which they are near-duplicates."""

DEFAULT_NEIGHBOURS = 10
"""Nearest products looked at per product (a group larger than this is still found whole,
through its members' own neighbours)."""

_WORD = re.compile(r"\w+")


@dataclass
class DuplicateMember:
    product_id: str
    title: str
    similarity: float
    """Highest similarity to another member of the group."""


@dataclass
class DuplicateGroup:
    members: list[DuplicateMember]


@dataclass
class DuplicateReport:
    threshold: float
    products: int
    groups: list[DuplicateGroup] = field(default_factory=list)
    seconds: float = 0.0
    truncated: bool = False
    """True when the store holds more products than one listing returns (only those were checked)."""


def title_similarity(a: str, b: str) -> float:
    """Word-set Jaccard similarity of two titles, 0..1 (case-insensitive)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)


class _Groups:
    """Union-find over product ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _listing(store: ProductStore, dimension: int) -> list[tuple[str, str]]:
    """(product_id, title) of up to MAX_SEARCH_LIMIT stored products."""
    probe = np.ones(dimension, dtype=np.float32) / np.sqrt(dimension)
    hits = store.search(probe, limit=MAX_SEARCH_LIMIT, return_properties=["product_id", "title"])
    return [(str(h.properties.get("product_id")), str(h.properties.get("title") or "")) for h in hits]


def find_duplicates(
    store: ProductStore,
    dimension: int,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    neighbours: int = DEFAULT_NEIGHBOURS,
    title_threshold: float | None = None,
    progress: Callable[[Iterable[tuple[str, str]]], Iterable[tuple[str, str]]] | None = None,
) -> DuplicateReport:
    """Groups of near-duplicate products, largest first. ``dimension`` is the stored vectors'
    size (the listing searches with a probe of that size).

    ``title_threshold`` (0..1) additionally asks for titles that similar
    (:func:`title_similarity`); ``None`` compares vectors only.
    """
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(f"threshold must be in (0, 1], got {threshold}")
    if neighbours < 1:
        raise InvalidInputError(f"neighbours must be at least 1, got {neighbours}")
    if title_threshold is not None and not 0.0 <= title_threshold <= 1.0:
        raise InvalidInputError(f"title threshold must be in [0, 1], got {title_threshold}")
    started = time.perf_counter()
    count = store.count()
    if count == 0:
        return DuplicateReport(threshold, 0)
    listing = _listing(store, dimension)
    groups = _Groups()
    best: dict[str, float] = {}
    titles: dict[str, str] = {}
    for product_id, title in progress(listing) if progress else listing:
        titles[product_id] = title
        stored = store.product(product_id)
        if stored is None or stored.vector is None:
            continue
        hits = store.search(stored.vector, limit=neighbours + 1, return_properties=["product_id", "title"])
        for hit in hits:
            other = str(hit.properties.get("product_id"))
            similarity = 1.0 - hit.distance
            if other == product_id or similarity < threshold:
                continue
            other_title = str(hit.properties.get("title") or "")
            if title_threshold is not None and title_similarity(title, other_title) < title_threshold:
                continue
            groups.union(product_id, other)
            titles.setdefault(other, other_title)
            for pid in (product_id, other):
                best[pid] = max(best.get(pid, 0.0), similarity)
    members: dict[str, list[DuplicateMember]] = {}
    for pid in sorted(best):
        members.setdefault(groups.find(pid), []).append(
            DuplicateMember(pid, titles.get(pid, ""), round(best[pid], 4))
        )
    ordered = sorted(members.values(), key=lambda m: (-len(m), m[0].product_id))
    return DuplicateReport(
        threshold=threshold,
        products=len(listing),
        groups=[DuplicateGroup(m) for m in ordered],
        seconds=time.perf_counter() - started,
        truncated=count > len(listing),
    )


def _rows(report: DuplicateReport) -> list[dict[str, object]]:
    return [
        {
            "group": g,
            "size": len(group.members),
            "product_id": m.product_id,
            "title": m.title,
            "similarity": m.similarity,
        }
        for g, group in enumerate(report.groups, 1)
        for m in group.members
    ]


def write_report(report: DuplicateReport, path: Path) -> None:
    """One group per line (``.jsonl``, values exact) or one member per row (``.csv``: group,
    size, product_id, title, similarity; text that would start a spreadsheet formula is written
    with a leading single quote, see :mod:`plugin.store.export`)."""
    suffix = path.suffix.lower()
    if suffix not in (".jsonl", ".csv"):
        raise InvalidInputError(f"report: expected a .jsonl or .csv path, got {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".jsonl":
        lines = [
            json.dumps(
                {
                    "group": g,
                    "products": [
                        {"product_id": m.product_id, "title": m.title, "similarity": m.similarity}
                        for m in group.members
                    ],
                },
                ensure_ascii=False,
            )
            for g, group in enumerate(report.groups, 1)
        ]
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        return
    write_csv(path, ["group", "size", "product_id", "title", "similarity"], _rows(report))
