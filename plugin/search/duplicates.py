"""Near-duplicate listings: groups of products whose stored vectors (and, optionally, titles)
are closer than a threshold.

The products come from the store's scan (:meth:`ProductStore.iter_vectors`: every product once,
with its vector and title, whatever the catalog's size). Pairs over the threshold
(:mod:`plugin.search.similar_pairs`) are found

* exactly when the catalog has at most ``exact_limit`` products (its unit vectors are held in
  memory: 1M x 512 float32 is 2 GB, plus the cells' bookkeeping, ~4 GB in all at 1M, and one
  block of at most :data:`~plugin.search.similar_pairs.BLOCK_BYTES` per thread): matrix
  products cell by cell around k-means centroids, skipping only pairs that provably cannot
  reach the threshold (:mod:`plugin.search.pair_cells`), so the pairs are those of comparing
  every pair;
* above that, from each product's ``neighbours`` nearest products by the store's own ANN index,
  one search per product as the scan goes (memory: one scan batch and the pairs found).

Pairs are joined into groups (union-find: a re-render of a re-colour of a product lands in the
same group as both). A progress bar with its ETA goes to stderr when asked for.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from plugin.search.similar_pairs import BLOCK_BYTES, PairBlock, exact_pairs, neighbour_pairs, unit_rows
from plugin.store.export import write_csv
from plugin.store.protocol import SCAN_BATCH, ProductStore
from schemas.errors import InvalidInputError

__all__ = [
    "DEFAULT_EXACT_LIMIT",
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
"""Nearest products looked at per product above ``exact_limit`` (a group larger than this is
still found whole, through its members' own neighbours)."""

DEFAULT_EXACT_LIMIT = 1_000_000
"""Products up to which the pairs are found exactly; above it, each product's neighbours come
from the store's ANN index. Measured at 1M x 512 through the store (docs/scale.md): 325-492 s
and 6.3 GB peak on 2 shared cores, against ~2 h estimated for the ANN path. The work per row
grows with n on a catalog like the benchmark's (a row meets more cells as they shrink), and
memory with n, so 2M would be well past an hour and ~14 GB: not measured, hence the limit."""

_WORD = re.compile(r"\w+")
_PROPERTIES = ("product_id", "title")


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
    """Products compared: every stored product that has a vector."""
    groups: list[DuplicateGroup] = field(default_factory=list)
    seconds: float = 0.0
    truncated: bool = False
    """Whether only part of the catalog was compared. The scan reads every product, so this is
    False; kept for readers of earlier reports."""
    method: str = "exact"
    """``exact`` (all pairs) or ``neighbours`` (k nearest by the store's ANN index)."""


def title_similarity(a: str, b: str) -> float:
    """Word-set Jaccard similarity of two titles, 0..1 (case-insensitive)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    if not wa and not wb:
        return 1.0
    return len(wa & wb) / len(wa | wb)


class _Groups:
    """Union-find over row indices."""

    def __init__(self) -> None:
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class _Rows:
    """The products seen, by row index: catalog id and title."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.titles: list[str] = []
        self._by_uuid: dict[str, int] = {}

    def add(self, uuid: str, properties: dict[str, object]) -> int:
        self._by_uuid[uuid] = len(self.ids)
        self.ids.append(str(properties.get("product_id")))
        self.titles.append(str(properties.get("title") or ""))
        return len(self.ids) - 1

    def row(self, uuid: str, properties: dict[str, object]) -> int:
        found = self._by_uuid.get(uuid)
        return found if found is not None else self.add(uuid, properties)


def _bar(progress: bool, total: int, desc: str) -> tqdm:  # type: ignore[type-arg]  # generic in stubs only
    return tqdm(total=total, desc=desc, unit="product", disable=not progress, file=sys.stderr, smoothing=0.1)


def _read_all(store: ProductStore, count: int, rows: _Rows, progress: bool) -> np.ndarray:
    """Every product's unit vector, row ``i`` that of ``rows.ids[i]``."""
    unit: np.ndarray | None = None
    filled = 0
    with _bar(progress, count, "reading") as bar:
        for batch in store.iter_vectors(batch_size=SCAN_BATCH, properties=_PROPERTIES):
            n = len(batch)
            if unit is None:
                unit = np.empty((max(count, n), batch.vectors.shape[1]), dtype=np.float32)
            if filled + n > unit.shape[0]:  # written since the count
                unit = np.concatenate([unit, np.empty((filled + n, unit.shape[1]), np.float32)])
            unit[filled : filled + n] = batch.vectors
            for i, uid in enumerate(batch.uuids):
                rows.add(uid, {name: values[i] for name, values in batch.properties.items()})
            filled += n
            bar.update(n)
    if unit is None:
        return np.empty((0, 0), dtype=np.float32)
    return unit_rows(unit[:filled])


def _join(
    block: PairBlock,
    rows: _Rows,
    groups: _Groups,
    best: dict[int, float],
    title_threshold: float | None,
) -> None:
    pairs = zip(block.first.tolist(), block.second.tolist(), block.similarity.tolist(), strict=True)
    for a, b, value in pairs:
        if title_threshold is not None and title_similarity(rows.titles[a], rows.titles[b]) < title_threshold:
            continue
        groups.union(a, b)
        for r in (a, b):
            best[r] = max(best.get(r, 0.0), value)


def find_duplicates(
    store: ProductStore,
    dimension: int | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    neighbours: int = DEFAULT_NEIGHBOURS,
    title_threshold: float | None = None,
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    progress: bool = False,
    block_bytes: int = BLOCK_BYTES,
) -> DuplicateReport:
    """Groups of near-duplicate products, largest first; within a group, members by product id.

    Up to ``exact_limit`` products every pair is compared; above it each product's
    ``neighbours`` nearest by the store's search. ``title_threshold`` (0..1) additionally asks
    for titles that similar (:func:`title_similarity`); ``None`` compares vectors only.
    ``progress`` draws a bar with an ETA on stderr. ``dimension`` is not needed (the scan reads
    the stored vectors): it is accepted for callers of the search-based version.
    """
    if not 0.0 < threshold <= 1.0:
        raise InvalidInputError(f"threshold must be in (0, 1], got {threshold}")
    if neighbours < 1:
        raise InvalidInputError(f"neighbours must be at least 1, got {neighbours}")
    if title_threshold is not None and not 0.0 <= title_threshold <= 1.0:
        raise InvalidInputError(f"title threshold must be in [0, 1], got {title_threshold}")
    if exact_limit < 0:
        raise InvalidInputError(f"exact limit must be at least 0, got {exact_limit}")
    started = time.perf_counter()
    count = store.count()
    if count == 0:
        return DuplicateReport(threshold, 0)
    rows, groups = _Rows(), _Groups()
    best: dict[int, float] = {}
    if count <= exact_limit:
        method = "exact"
        unit = _read_all(store, count, rows, progress)
        products = unit.shape[0]
        # Two bars: at 1M the centroids and the assignment take ~4 minutes before any row is
        # compared, and one bar would stand at 0 with no ETA all that time.
        with _bar(progress, products, "cells") as cells, _bar(progress, products, "comparing") as bar:
            pairs = exact_pairs(
                unit, threshold, block_bytes=block_bytes, done=bar.update, assigned=cells.update
            )
            for block in pairs:
                _join(block, rows, groups, best, title_threshold)
        del unit
    else:
        method, products = "neighbours", 0
        with _bar(progress, count, "searching") as bar:
            for batch in store.iter_vectors(batch_size=SCAN_BATCH, properties=_PROPERTIES):
                block = neighbour_pairs(store, batch, threshold, neighbours, _PROPERTIES, rows.row)
                _join(block, rows, groups, best, title_threshold)
                products += len(batch)
                bar.update(len(batch))
    members: dict[int, list[DuplicateMember]] = {}
    for r in sorted(best, key=lambda r: rows.ids[r]):
        members.setdefault(groups.find(r), []).append(
            DuplicateMember(rows.ids[r], rows.titles[r], round(best[r], 4))
        )
    ordered = sorted(members.values(), key=lambda m: (-len(m), m[0].product_id))
    return DuplicateReport(
        threshold=threshold,
        products=products,
        groups=[DuplicateGroup(m) for m in ordered],
        seconds=time.perf_counter() - started,
        method=method,
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
