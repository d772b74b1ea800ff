"""The demo's scoreboard: how many queries ranked their expected product first, and found it."""

from __future__ import annotations

from plugin.demo.catalog import DemoQuery
from plugin.demo.page import QueryOutcome
from plugin.demo.run import Scoreboard, first_count
from plugin.store.protocol import SearchHit
from schemas.wire import ComposeExplanation


def outcome(expected: str, ranked: list[str], relevant: tuple[str, ...] = ()) -> QueryOutcome:
    hits = [
        SearchHit(uuid=pid, properties={"product_id": pid}, distance=0.1 * i) for i, pid in enumerate(ranked)
    ]
    return QueryOutcome(
        DemoQuery("q", "in blue", expected, relevant=relevant),
        None,
        hits,
        ComposeExplanation(modification="in blue"),
    )


def test_first_found_and_total_are_counted_by_the_expected_product_id() -> None:
    outcomes = [
        outcome("A", ["A", "B"]),  # first
        outcome("B", ["A", "B", "C"], relevant=("B", "A")),  # found at rank 2; A also fits
        outcome("C", ["A", "B"]),  # missed
        outcome("D", []),  # nothing returned
    ]
    assert first_count(outcomes) == Scoreboard(first=1, first_relevant=2, found=2, total=4)
