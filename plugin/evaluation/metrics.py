"""Retrieval metrics exactly as the benchmarks define them. Pure functions over rankings.

A ranking is a sequence of image ids, best first, already without anything the protocol
excludes (CIRR: the query's own reference). Results are fractions in [0, 1]; the report shows
them as percentages, like the papers.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = ["average_precision_at_k", "map_at_k", "recall_at_k", "recall_subset_at_k"]


def _check(rankings: Sequence[Sequence[str]], relevant: Sequence[Collection[str]], k: int) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if len(rankings) != len(relevant):
        raise ValueError(f"{len(rankings)} rankings but {len(relevant)} relevant sets")


def recall_at_k(rankings: Sequence[Sequence[str]], relevant: Sequence[Collection[str]], k: int) -> float:
    """Recall@K (FashionIQ, CIRR): the share of queries with a relevant image in their top ``k``.

    With one target per query this is the "hit rate" the CIR papers call Recall@K."""
    _check(rankings, relevant, k)
    if not rankings:
        return 0.0
    hits = sum(1 for ranked, rel in zip(rankings, relevant, strict=True) if set(ranked[:k]) & set(rel))
    return hits / len(rankings)


def recall_subset_at_k(
    rankings: Sequence[Sequence[str]],
    relevant: Sequence[Collection[str]],
    subsets: Sequence[Collection[str]],
    k: int,
) -> float:
    """CIRR's Recall_subset@K: Recall@K after keeping, in each ranking, only the images of the
    query's ``img_set.members`` (the reference is already excluded from the ranking)."""
    if len(subsets) != len(rankings):
        raise ValueError(f"{len(rankings)} rankings but {len(subsets)} subsets")
    kept = [
        [image_id for image_id in ranked if image_id in set(subset)]
        for ranked, subset in zip(rankings, subsets, strict=True)
    ]
    return recall_at_k(kept, relevant, k)


def average_precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """CIRCO's AP@K: ``sum_{i<=k} P@i * rel(i) / min(k, |relevant|)``, where ``P@i`` is the
    precision of the first ``i`` results and ``rel(i)`` is 1 when result ``i`` is relevant."""
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    wanted = set(relevant)
    if not wanted:
        return 0.0
    found = 0
    total = 0.0
    for i, image_id in enumerate(ranked[:k], start=1):
        if image_id in wanted:
            found += 1
            total += found / i
    return total / min(k, len(wanted))


def map_at_k(rankings: Sequence[Sequence[str]], relevant: Sequence[Collection[str]], k: int) -> float:
    """CIRCO's mAP@K: the mean of :func:`average_precision_at_k` over the queries."""
    _check(rankings, relevant, k)
    if not rankings:
        return 0.0
    return sum(average_precision_at_k(r, rel, k) for r, rel in zip(rankings, relevant, strict=True)) / len(
        rankings
    )
