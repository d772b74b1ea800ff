"""From query vectors to each benchmark's metrics: exact cosine ranking over the gallery
matrix, the benchmark's exclusions, then the pure functions of :mod:`metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from plugin.evaluation import metrics
from plugin.evaluation.dataset import EvalDataset, Query

__all__ = ["SUBMISSION_DEPTH", "Scored", "metric_columns", "rank", "score_config"]

FASHIONIQ_KS = (10, 50)
CIRR_KS = (1, 5, 10, 50)
CIRR_SUBSET_KS = (1, 2, 3)
CIRCO_KS = (5, 10, 25, 50)
SUBMISSION_DEPTH = 50
"""Both evaluation servers (CIRR, CIRCO) take the top 50 of each query."""
CIRR_SUBSET_DEPTH = 3
_QUERY_CHUNK = 256

Matrix = npt.NDArray[np.float32]


@dataclass
class Scored:
    metrics: dict[str, float]
    rankings: dict[str, list[str]] = field(default_factory=dict)
    subset_rankings: dict[str, list[str]] = field(default_factory=dict)


def metric_columns(dataset: EvalDataset) -> list[str]:
    """The table's metric columns for this benchmark, in order."""
    if dataset.name == "fashioniq":
        per_group = [f"{g} R@{k}" for g in dataset.groups for k in FASHIONIQ_KS]
        return [*per_group, *(f"avg R@{k}" for k in FASHIONIQ_KS), "avg"]
    if dataset.name == "cirr":
        columns = [*(f"R@{k}" for k in CIRR_KS), *(f"Rs@{k}" for k in CIRR_SUBSET_KS), "avg"]
        if dataset.queries and all(q.soft_relevant for q in dataset.queries):
            columns.append(f"mAP@{SOFT_MAP_K} soft")
        return columns
    return [f"mAP@{k}" for k in CIRCO_KS]


def rank(
    queries: Matrix, gallery: Matrix, gallery_ids: Sequence[str], exclude: Sequence[int | None], depth: int
) -> list[list[str]]:
    """The top ``depth`` gallery ids of each query by cosine similarity (unit vectors: dot
    product), best first; ``exclude[i]`` is a gallery row query ``i`` may not return. Ties keep
    gallery order, so a ranking is deterministic."""
    out: list[list[str]] = []
    for start in range(0, len(queries), _QUERY_CHUNK):
        scores = queries[start : start + _QUERY_CHUNK] @ gallery.T
        # One spare place, so dropping the excluded row still leaves ``depth`` results.
        order = np.argsort(-scores, axis=1, kind="stable")[:, : depth + 1]
        for row, excluded in zip(order, exclude[start : start + _QUERY_CHUNK], strict=True):
            out.append([gallery_ids[j] for j in row if j != excluded][:depth])
    return out


def _subset_ranking(query: Query, vector: Matrix, gallery: Matrix, index: dict[str, int]) -> list[str]:
    members = [m for m in dict.fromkeys(query.subset) if m != query.reference]
    scores = gallery[[index[m] for m in members]] @ vector
    return [members[j] for j in np.argsort(-scores, kind="stable")]


def score_config(
    dataset: EvalDataset, gallery: Matrix, index: dict[str, int], vectors: Matrix, *, keep_rankings: bool
) -> Scored:
    """Rank every query against its group's gallery and compute the benchmark's metrics (in
    percent). ``keep_rankings`` keeps the top-50 lists (and CIRR's subset top 3) for the
    submission files of unlabelled splits."""
    rankings: dict[str, list[str]] = {}
    by_query = {q.id: i for i, q in enumerate(dataset.queries)}
    for group in dataset.groups:
        ids = list(dataset.galleries[group])
        rows = np.asarray([index[i] for i in ids], dtype=np.int64)
        local = {image_id: j for j, image_id in enumerate(ids)}
        queries = [q for q in dataset.queries if q.group == group]
        if not queries:
            continue
        exclude = [local.get(q.reference) if dataset.exclude_reference else None for q in queries]
        q_vectors = vectors[[by_query[q.id] for q in queries]]
        ranked = rank(q_vectors, gallery[rows], ids, exclude, SUBMISSION_DEPTH)
        rankings.update({q.id: r for q, r in zip(queries, ranked, strict=True)})
    subsets: dict[str, list[str]] = {}
    if dataset.name == "cirr":
        subsets = {q.id: _subset_ranking(q, vectors[by_query[q.id]], gallery, index) for q in dataset.queries}
    values = _metrics(dataset, rankings, subsets) if dataset.labelled else {}
    if not keep_rankings:
        return Scored(values)
    return Scored(values, rankings, {k: v[:CIRR_SUBSET_DEPTH] for k, v in subsets.items()})


SOFT_MAP_K = 10


def _pct(value: float) -> float:
    return round(100.0 * value, 2)


def _metrics(
    dataset: EvalDataset, rankings: dict[str, list[str]], subsets: dict[str, list[str]]
) -> dict[str, float]:
    out: dict[str, float] = {}
    if dataset.name == "fashioniq":
        averages: list[float] = []
        for k in FASHIONIQ_KS:
            per_group = []
            for group in dataset.groups:
                qs = [q for q in dataset.queries if q.group == group]
                value = metrics.recall_at_k([rankings[q.id] for q in qs], [q.targets for q in qs], k)
                out[f"{group} R@{k}"] = _pct(value)
                per_group.append(value)
            averages.append(sum(per_group) / len(per_group))
            out[f"avg R@{k}"] = _pct(averages[-1])
        out["avg"] = _pct(sum(averages) / len(averages))
        return out
    qs = list(dataset.queries)
    ranked = [rankings[q.id] for q in qs]
    relevant = [q.targets for q in qs]
    if dataset.name == "cirr":
        raw = {f"R@{k}": metrics.recall_at_k(ranked, relevant, k) for k in CIRR_KS}
        for k in CIRR_SUBSET_KS:
            raw[f"Rs@{k}"] = metrics.recall_subset_at_k(
                [subsets[q.id] for q in qs], relevant, [q.subset for q in qs], k
            )
        # CIRR's leaderboard "Avg": the mean of Recall@5 and Recall_subset@1.
        raw["avg"] = (raw["R@5"] + raw["Rs@1"]) / 2
        if all(q.soft_relevant for q in qs):
            # Our extension (not an official CIRR metric): CIRCO's mAP over target_soft == 1.
            raw[f"mAP@{SOFT_MAP_K} soft"] = metrics.map_at_k(
                ranked, [q.soft_relevant for q in qs], SOFT_MAP_K
            )
        return {name: _pct(value) for name, value in raw.items()}
    for k in CIRCO_KS:
        out[f"mAP@{k}"] = _pct(metrics.map_at_k(ranked, relevant, k))
    return out
