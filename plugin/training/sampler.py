"""Which rows go into each training batch: random batches, and "hard" batches of near-twins.

A hard batch holds products that agree on every attribute but one (the category counts as an
attribute): pick a key at random, group the rows by the values of all the other keys, and fill
the batch from groups whose members differ in that key, one row per distinct value. The
contrastive loss can then only tell the batch apart by the attribute that differs, which is
what composed queries ("the same, but in green") need the model to see. Nothing here knows any
particular catalog's keys.

The plan is a pure function of ``(seed, epoch)``: batch ``step`` is recomputed from those alone,
so resuming needs only the step number, and two runs with one seed draw identical batches.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from schemas.errors import InvalidInputError

__all__ = ["BatchPlan", "hard_groups"]

_Group = list[list[int]]
"""Rows that agree on all keys but one, bucketed by their value of that key."""


NESTED_SHARE = 0.8
"""A key is nested under another when at least this share of its rows carry a value that occurs
with one value of the other key only (a cut such as "wide-leg" exists for trousers alone)."""


def _nested_under(features: Sequence[Mapping[str, str]], key: str, other: str) -> bool:
    """Whether ``other``'s values mostly determine ``key``'s (``other`` is nested under ``key``)."""
    seen: dict[str, set[str]] = defaultdict(set)
    rows = [row for row in features if other in row and key in row]
    for row in rows:
        seen[row[other]].add(row[key])
    determined = sum(1 for row in rows if len(seen[row[other]]) == 1)
    return bool(rows) and determined >= NESTED_SHARE * len(rows)


def hard_groups(features: Sequence[Mapping[str, str]]) -> dict[str, list[_Group]]:
    """For each key, the groups of rows that share every other key's value (a missing value
    counts as a value) and hold at least two distinct values of the key itself.

    Keys nested under the varied one are not held fixed: holding a category's own cut fixed
    while varying the category would leave no groups at all."""
    keys = sorted({key for row in features for key in row})
    by_key: dict[str, list[_Group]] = {}
    for key in keys:
        others = [k for k in keys if k != key and not _nested_under(features, key, k)]
        buckets: dict[tuple[str, ...], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        for index, row in enumerate(features):
            if key not in row:
                continue
            buckets[tuple(row.get(k, "") for k in others)][row[key]].append(index)
        groups = [list(values.values()) for _, values in sorted(buckets.items()) if len(values) >= 2]
        if groups:
            by_key[key] = groups
    return by_key


class BatchPlan:
    """Batches of row indices for a whole run: ``steps_per_epoch`` batches per epoch."""

    def __init__(
        self,
        features: Sequence[Mapping[str, str]],
        *,
        batch_size: int,
        hard_fraction: float,
        seed: int,
    ) -> None:
        if batch_size < 2:
            raise InvalidInputError(
                f"--batch-size must be at least 2 (a contrastive batch), got {batch_size}"
            )
        if batch_size > len(features):
            raise InvalidInputError(
                f"--batch-size {batch_size} is larger than the {len(features)} training rows"
            )
        if not 0.0 <= hard_fraction <= 1.0:
            raise InvalidInputError(f"--hard-batch-fraction must be in [0, 1], got {hard_fraction}")
        self.size = len(features)
        self.batch_size = batch_size
        self.hard_fraction = hard_fraction
        self.seed = seed
        self.steps_per_epoch = self.size // batch_size
        self._groups = hard_groups(features)
        self._keys = sorted(self._groups)
        self._cached_epoch: int | None = None
        self._cached: list[tuple[np.ndarray, bool]] = []

    @property
    def hard_keys(self) -> list[str]:
        """The keys a hard batch can vary (those with at least one group of differing rows)."""
        return list(self._keys)

    def batch(self, step: int) -> tuple[np.ndarray, bool]:
        """The row indices of batch ``step`` (0-based over the run) and whether it is hard."""
        epoch, position = divmod(step, self.steps_per_epoch)
        if self._cached_epoch != epoch:
            self._cached = self._epoch(epoch)
            self._cached_epoch = epoch
        return self._cached[position]

    def _epoch(self, epoch: int) -> list[tuple[np.ndarray, bool]]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(self.size)
        batches: list[tuple[np.ndarray, bool]] = []
        for position in range(self.steps_per_epoch):
            if self._keys and rng.random() < self.hard_fraction:
                batches.append((self._hard(rng), True))
            else:
                start = position * self.batch_size
                batches.append((order[start : start + self.batch_size], False))
        return batches

    def _hard(self, rng: np.random.Generator) -> np.ndarray:
        key = self._keys[int(rng.integers(len(self._keys)))]
        groups = self._groups[key]
        chosen: list[int] = []
        taken: set[int] = set()
        for g in rng.permutation(len(groups)):
            # One row per distinct value of the varied key: two rows with the same value would be
            # near-duplicates whose texts the loss cannot separate anyway.
            for bucket in groups[g]:
                row = bucket[int(rng.integers(len(bucket)))]
                chosen.append(row)
                taken.add(row)
                if len(chosen) == self.batch_size:
                    return np.asarray(chosen)
        # Not enough near-twins for a whole batch: top it up with random other rows.
        rest = [int(i) for i in rng.permutation(self.size) if int(i) not in taken]
        chosen.extend(rest[: self.batch_size - len(chosen)])
        return np.asarray(chosen)
