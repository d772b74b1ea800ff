"""Auto-tags that abstain: per attribute, the smallest margin reaching 95% precision on the
catalog's own products; no margin reaching it means no tags for that attribute."""

from __future__ import annotations

from typing import Any

from plugin.ingest.calibration import UNSCORED, Observation, calibrate, calibration_sample
from plugin.ingest.tagging import AutoTagger, Tagged, inferred_json
from schemas.product import Product


def _seen(pairs: list[tuple[float, bool]]) -> list[Observation]:
    return [Observation(m, c) for m, c in pairs]


def test_the_smallest_margin_reaching_the_target_is_chosen() -> None:
    # 20 sure and right, then 5 unsure with 3 wrong: 95% holds down to margin 0.5 only.
    seen = _seen([(0.9, True)] * 19 + [(0.5, True)] + [(0.2, False)] * 3 + [(0.1, True)] * 2)
    chosen = calibrate({"colour": seen})["colour"]
    assert chosen.threshold == 0.5
    assert chosen.precision == 1.0 and chosen.coverage == 20 / 25 and chosen.products == 25


def test_no_margin_reaching_the_target_abstains_everywhere() -> None:
    # Right and wrong alternate all the way down: no margin gets to 95%.
    seen = _seen([(0.9 - i / 100, i % 2 == 0) for i in range(20)] + [(UNSCORED, False)] * 3)
    assert calibrate({"pattern": seen})["pattern"].threshold is None
    # Too few products pass to trust a margin, even at 100%.
    assert calibrate({"cut": _seen([(0.9, True)] * 4)})["cut"].threshold is None


def test_tied_margins_are_judged_together() -> None:
    # At margin 0.7 a threshold passes all six: 5 right of 6 is under 95%.
    seen = _seen([(0.9, True)] * 5 + [(0.7, True)] * 5 + [(0.7, False)])
    assert calibrate({"a": seen})["a"].threshold == 0.9


def test_the_calibration_sample_is_seeded_and_bounded() -> None:
    items = list(range(3000))
    assert calibration_sample(items, 0) == calibration_sample(items, 0)
    assert calibration_sample(items, 0) != calibration_sample(items, 1)
    assert len(calibration_sample(items, 0)) == 500
    assert len(calibration_sample(list(range(10)), 0)) == 5


class _Guess:
    def __init__(self, name: str, value: str, probability: float, margin: float) -> None:
        self.name, self.value, self.probability, self.margin = name, value, probability, margin


def _tagger(calibration: dict[str, Any]) -> AutoTagger:
    tagger = AutoTagger.__new__(AutoTagger)  # the fill rule alone: no model
    tagger.threshold = 0.5
    tagger.calibration = calibration
    return tagger


def test_only_calibrated_attributes_past_their_margin_are_written_and_the_rest_counted() -> None:
    calibration = {
        "colour": calibrate({"colour": _seen([(0.6, True)] * 10)})["colour"],
        "pattern": calibrate({"pattern": _seen([(0.9, False)] * 10)})["pattern"],
    }
    tagger = _tagger(calibration)
    product = Product(id="p1", title="t", attributes={"cut": "a-line"})
    guesses = [
        _Guess("colour", "red", 0.9, 0.7),  # past colour's 0.6: written
        _Guess("pattern", "floral", 0.99, 0.98),  # pattern abstains everywhere
        _Guess("sleeve", "long", 0.99, 0.98),  # not in the catalog's calibration: never
        _Guess("cut", "pencil", 0.99, 0.98),  # the merchant's own: never overwritten, not counted
    ]
    tagged: Tagged = tagger._fill(product, guesses)
    assert tagged.product.attributes == {"cut": "a-line", "colour": "red"}
    assert tagged.abstained == 2
    stored = inferred_json(tagged.inferred)
    assert stored == ('{"colour": {"confidence": 0.9, "margin": 0.7, "source": "zero-shot", "value": "red"}}')
    unsure = tagger._fill(product, [_Guess("colour", "red", 0.9, 0.3)])
    assert unsure.inferred == {} and unsure.abstained == 1
