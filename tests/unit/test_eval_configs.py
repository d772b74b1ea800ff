"""The default's candidates: each fusion method at fixed image weights, the rest left to the service."""

from __future__ import annotations

import pytest

from plugin.evaluation.configs import CANDIDATE_GRID, CANDIDATES, DEFAULT, build_configs
from schemas.errors import InvalidInputError


def test_candidates_are_each_method_at_each_weight_with_the_services_other_defaults() -> None:
    configs = build_configs([CANDIDATES], [])
    assert configs[0].name == DEFAULT
    candidates = configs[1:]
    assert [(c.options.fusion_method, c.options.image_weight) for c in candidates] == list(CANDIDATE_GRID)
    for c in candidates:
        assert c.send_image and c.send_text and not c.diagnostic
        # Background removal and captioning are the service's to decide, as for the default.
        assert c.options.remove_background is None and c.options.caption is None
    assert len({c.signature() for c in candidates}) == len(candidates)


def test_an_unknown_group_lists_the_candidates_among_the_choices() -> None:
    with pytest.raises(InvalidInputError, match="candidates"):
        build_configs(["nope"], [])
