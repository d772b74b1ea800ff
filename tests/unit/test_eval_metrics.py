"""Benchmark metrics on constructed rankings; every expected value is worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from plugin.evaluation.metrics import average_precision_at_k, map_at_k, recall_at_k, recall_subset_at_k
from plugin.evaluation.scoring import rank

RANKINGS = [
    ["a", "b", "c", "d", "e"],  # target c at rank 3
    ["e", "d", "c", "b", "a"],  # target e at rank 1
    ["b", "c", "d", "e", "a"],  # target a at rank 5
    ["a", "b", "c", "d", "e"],  # target z never retrieved
]
TARGETS = [{"c"}, {"e"}, {"a"}, {"z"}]


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        (1, 1 / 4),  # only query 2 (e at rank 1)
        (2, 1 / 4),  # still only query 2
        (3, 2 / 4),  # + query 1 (c at rank 3)
        (5, 3 / 4),  # + query 3 (a at rank 5); query 4 never hits
        (50, 3 / 4),  # k beyond the ranking length changes nothing
    ],
)
def test_recall_at_k(k: int, expected: float) -> None:
    assert recall_at_k(RANKINGS, TARGETS, k) == pytest.approx(expected)


def test_recall_subset_at_k_keeps_only_the_subset() -> None:
    rankings = [["x", "a", "y", "b", "c"], ["a", "b", "c", "x", "y"]]
    targets = [{"b"}, {"c"}]
    subsets = [{"a", "b", "c"}, {"c", "x", "y"}]
    # query 1 filtered to its subset: [a, b, c] -> b at subset rank 2
    # query 2 filtered: [c, x, y] -> c at subset rank 1
    assert recall_subset_at_k(rankings, targets, subsets, 1) == pytest.approx(1 / 2)  # only query 2
    assert recall_subset_at_k(rankings, targets, subsets, 2) == pytest.approx(2 / 2)
    # without the filter, b is at rank 4 and c at rank 3: Recall@2 would be 0
    assert recall_at_k(rankings, targets, 2) == 0.0


def test_average_precision_at_k_by_hand() -> None:
    ranked = ["r1", "n1", "r2", "n2", "r3", "n3"]
    relevant = {"r1", "r2", "r3", "r4"}
    # hits at ranks 1, 3, 5: precisions 1/1, 2/3, 3/5
    # AP@5 = (1 + 2/3 + 3/5) / min(5, 4) = (15/15 + 10/15 + 9/15) / 4 = (34/15) / 4 = 34/60
    assert average_precision_at_k(ranked, relevant, 5) == pytest.approx(34 / 60)
    # AP@2: one hit at rank 1 -> 1 / min(2, 4) = 1/2
    assert average_precision_at_k(ranked, relevant, 2) == pytest.approx(1 / 2)
    # AP@1: 1 / min(1, 4) = 1
    assert average_precision_at_k(ranked, relevant, 1) == pytest.approx(1.0)
    # one relevant image, found at rank 2: (1/2) / min(5, 1) = 1/2
    assert average_precision_at_k(["x", "g"], {"g"}, 5) == pytest.approx(1 / 2)


def test_map_at_k_is_the_mean_over_queries() -> None:
    rankings = [["g1", "x", "g2"], ["x", "y", "z"], ["g", "x", "y"]]
    relevant = [{"g1", "g2"}, {"g"}, {"g"}]
    # q1: hits at 1 and 3 -> (1 + 2/3) / min(3, 2) = (5/3) / 2 = 5/6
    # q2: no hit -> 0;  q3: hit at 1 -> 1 / min(3, 1) = 1
    # mAP@3 = (5/6 + 0 + 1) / 3 = (11/6) / 3 = 11/18
    assert map_at_k(rankings, relevant, 3) == pytest.approx(11 / 18)


def test_bad_arguments_are_errors() -> None:
    with pytest.raises(ValueError, match="k must be at least 1"):
        recall_at_k(RANKINGS, TARGETS, 0)
    with pytest.raises(ValueError, match="4 rankings but 1"):
        map_at_k(RANKINGS, [{"a"}], 5)


def test_rank_orders_by_cosine_and_drops_the_excluded_image() -> None:
    gallery = np.asarray([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)  # unit rows
    queries = np.asarray([[1, 0], [0, 1]], dtype=np.float32)
    ids = ["a", "b", "c", "d"]
    # query 1 scores: a 1.0, b 0.8, c 0.0, d -1.0; with a excluded -> b, c, d
    # query 2 scores: a 0.0, b 0.6, c 1.0, d 0.0 -> c, b, then a and d tie (gallery order)
    assert rank(queries, gallery, ids, [0, None], depth=3) == [["b", "c", "d"], ["c", "b", "a"]]
