"""Auto-tags that abstain: per attribute, the smallest margin whose tags surely reach 95%
precision on the catalog's own products (a lower confidence bound, and at the margin itself);
no margin reaching it means no tags for that attribute."""

from __future__ import annotations

import random
from typing import Any

import pytest

from plugin.ingest.calibration import (
    UNSCORED,
    Observation,
    calibrate,
    calibration_sample,
    precision_lower_bound,
)
from plugin.ingest.tagging import AutoTagger, Tagged, inferred_json
from schemas.product import Product


def _seen(pairs: list[tuple[float, bool]]) -> list[Observation]:
    return [Observation(m, c) for m, c in pairs]


def _margins(count: int, top: float = 0.99, step: float = 0.001) -> list[float]:
    return [round(top - i * step, 6) for i in range(count)]


def test_the_lower_bound_is_clopper_pearsons() -> None:
    # 59 right of 59 is the fewest that makes 95 % sure at 95 % confidence: 0.05 ** (1 / 59).
    assert precision_lower_bound(59, 59) == pytest.approx(0.95049, abs=1e-5)
    assert precision_lower_bound(58, 58) < 0.95
    # Known values (scipy.stats.beta.ppf(0.05, k, n - k + 1)).
    assert precision_lower_bound(98, 99) == pytest.approx(0.952979, abs=1e-6)
    assert precision_lower_bound(300, 320) == pytest.approx(0.910474, abs=1e-6)
    assert precision_lower_bound(0, 10) == 0.0
    assert precision_lower_bound(90, 100, confidence=0.99) < precision_lower_bound(90, 100)
    with pytest.raises(ValueError):
        precision_lower_bound(11, 10)


def test_the_smallest_margin_whose_precision_is_sure_is_chosen() -> None:
    # 60 right at the top, then one wrong and 25 right: 85 of 86 (98.8 %) is above 95 %, and
    # the rule the bound replaced went down to the bottom; but 85 of 86 could be luck (bound
    # 94.6 %), while 60 of 60 is sure (95.1 %).
    seen = [(m, True) for m in _margins(60)]
    seen += [(m, i != 0) for i, m in enumerate(_margins(26, top=0.5))]
    chosen = calibrate({"colour": _seen(seen)})["colour"]
    assert chosen.threshold == seen[59][0]
    assert chosen.precision == 1.0 and chosen.coverage == 60 / 86 and chosen.products == 86
    assert chosen.lower_bound == pytest.approx(0.9513, abs=1e-4)
    # Seven more right at the bottom make 92 of 93 sure (95.0 %): the margin goes down to them.
    more = seen + [(m, True) for m in _margins(7, top=0.2)]
    assert calibrate({"colour": _seen(more)})["colour"].threshold == more[-1][0]


def test_a_margin_whose_own_tags_miss_the_target_is_not_chosen_for_its_average() -> None:
    # 400 sure and right, then 100 less sure with one in ten wrong: down to the bottom the tags
    # are 98 % right (bound 96.7 %), carried by the sure ones; a tag below the 400 is right 90 %
    # of the time, and products less sure than the calibration ones would be tagged at that.
    seen = [(m, True) for m in _margins(400)]
    seen += [(m, i % 10 != 0) for i, m in enumerate(_margins(100, top=0.5))]
    assert precision_lower_bound(490, 500) >= 0.95
    chosen = calibrate({"pattern": _seen(seen)})["pattern"]
    assert chosen.threshold == seen[399][0]


def test_no_sure_margin_abstains_everywhere() -> None:
    # Right and wrong alternate all the way down: no margin gets to 95 %.
    seen = _seen([(0.9 - i / 1000, i % 2 == 0) for i in range(200)] + [(UNSCORED, False)] * 3)
    assert calibrate({"pattern": seen})["pattern"].threshold is None
    # A small catalog, all right: 58 products cannot make 95 % sure, 59 can.
    assert calibrate({"cut": _seen([(m, True) for m in _margins(58)])})["cut"].threshold is None
    assert calibrate({"cut": _seen([(m, True) for m in _margins(59)])})["cut"].threshold is not None
    # An attribute no product was scored on.
    assert calibrate({"sleeve": _seen([(UNSCORED, False)] * 80)})["sleeve"].threshold is None


def test_tied_margins_are_judged_together() -> None:
    # At margin 0.7 a threshold passes all: 5 wrong among the 65 tied ones is under 95 %.
    seen = _seen([(0.9, True)] * 80 + [(0.7, True)] * 60 + [(0.7, False)] * 5)
    assert calibrate({"a": seen})["a"].threshold == 0.9


def _chosen(seen: list[Observation], **kwargs: float) -> float:
    threshold = calibrate({"a": seen}, **kwargs)["a"].threshold
    return 2.0 if threshold is None else threshold  # abstaining is the strictest margin


def test_stricter_targets_and_more_wrong_tags_never_lower_the_margin() -> None:
    rng = random.Random(0)
    for _ in range(40):
        # The model is surer where it is right: the chance of a right pick grows with the margin.
        margins = [rng.random() for _ in range(rng.randint(50, 400))]
        seen = _seen([(m, rng.random() < 0.7 + 0.3 * m) for m in margins])
        assert _chosen(seen, target=0.9) <= _chosen(seen) <= _chosen(seen, target=0.98)
        assert _chosen(seen, confidence=0.8) <= _chosen(seen) <= _chosen(seen, confidence=0.99)
        flipped = list(seen)
        i = rng.randrange(len(flipped))
        flipped[i] = Observation(flipped[i].margin, False)
        assert _chosen(flipped) >= _chosen(seen)


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
        "colour": calibrate({"colour": _seen([(0.6, True)] * 60)})["colour"],
        "pattern": calibrate({"pattern": _seen([(0.9, False)] * 60)})["pattern"],
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
