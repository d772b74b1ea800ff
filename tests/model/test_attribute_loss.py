"""``grounded train --attribute-loss``: auxiliary heads on the image vector, training only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from plugin.training import TrainOptions, train
from plugin.training.attribute_loss import AttributeLoss
from plugin.training.checkpoint import load_train_state, save_train_state
from schemas.errors import InvalidInputError
from tests.model.test_training import _options as train_options


def _options(catalog: Path, config: Path, out: Path, **overrides: Any) -> TrainOptions:
    """``test_training``'s short run, with the attribute loss on unless overridden."""
    return train_options(catalog, config, out, **{"attribute_loss": 1.0, **overrides})


def test_one_head_per_key_with_two_values_and_missing_values_ignored() -> None:
    rows = [
        {"category": "mug", "colour": "red", "size": "one"},
        {"category": "lamp", "colour": "blue", "size": "one"},
        {"category": "mug"},
    ]
    loss = AttributeLoss(rows, dim=8, weight=0.5)
    assert loss.keys == ["category", "colour"]  # "size" has one value: nothing to learn
    assert loss.labels.tolist() == [[1, 1], [0, 0], [1, -1]]
    assert loss.as_json() == {"weight": 0.5, "keys": {"category": 2, "colour": 2}}


def test_the_heads_learn_and_the_weight_scales_the_loss() -> None:
    torch.manual_seed(0)
    rows = [{"category": c} for c in ("a", "b") * 8]
    features = torch.nn.functional.normalize(torch.randn(16, 8), dim=-1)
    features[::2, 0] += 2.0  # category "a" leans one way
    features = torch.nn.functional.normalize(features, dim=-1)
    index = torch.arange(16)
    half, whole = AttributeLoss(rows, 8, 0.5), AttributeLoss(rows, 8, 1.0)
    whole.load_state_dict(half.state_dict())
    assert torch.allclose(half(features, index) * 2, whole(features, index))
    optimizer = torch.optim.SGD(whole.parameters(), lr=0.5)
    first = whole(features, index).item()
    for _ in range(30):
        optimizer.zero_grad()
        whole(features, index).backward()
        optimizer.step()
    assert whole(features, index).item() < first / 2


def test_training_with_it_records_the_heads_and_resumes_to_the_same_weights(
    catalog: Path, tiny_config: Path, tmp_path: Path
) -> None:
    whole = train(_options(catalog, tiny_config, tmp_path / "whole", epochs=3))
    card = whole.card["attribute_loss"]
    assert card["keys"] == {"category": 3, "colour": 4} and card["weight"] == 1.0
    assert card["loss_last"] < card["loss_first"]
    plain = train(_options(catalog, tiny_config, tmp_path / "plain", epochs=3, attribute_loss=0.0))
    assert "attribute_loss" not in plain.card
    assert plain.losses[0] == whole.losses[0]  # the card's curve is the contrastive loss alone
    assert plain.losses[1:] != whole.losses[1:]  # and the auxiliary loss moved the model
    first = train(_options(catalog, tiny_config, tmp_path / "split", epochs=3, stop_after_steps=4))
    resumed = train(_options(catalog, tiny_config, tmp_path / "split", epochs=3, resume=True))
    assert resumed.losses == whole.losses
    assert resumed.card["attribute_loss"] == card
    for (name, a), (_, b) in zip(
        whole.model.state_dict().items(), resumed.model.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert not first.complete


def test_resume_refuses_another_weight(catalog: Path, tiny_config: Path, tmp_path: Path) -> None:
    train(_options(catalog, tiny_config, tmp_path, stop_after_steps=1))
    with pytest.raises(InvalidInputError, match=r"attribute_loss: 1.0 -> 2.0"):
        train(_options(catalog, tiny_config, tmp_path, resume=True, attribute_loss=2.0))


def test_a_state_saved_before_the_option_resumes_without_it(
    catalog: Path, tiny_config: Path, tmp_path: Path
) -> None:
    train(_options(catalog, tiny_config, tmp_path, attribute_loss=0.0, stop_after_steps=1))
    state = load_train_state(tmp_path)
    del state["trajectory"]["attribute_loss"]  # as an older version saved it
    save_train_state(tmp_path, state)
    assert train(_options(catalog, tiny_config, tmp_path, attribute_loss=0.0, resume=True)).complete
    with pytest.raises(InvalidInputError, match=r"attribute_loss: 0.0 -> 1.0"):
        train(_options(catalog, tiny_config, tmp_path, resume=True))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"attribute_loss": -1.0}, "--attribute-loss must be a finite number >= 0, got -1.0"),
        ({"attribute_loss": float("nan")}, "--attribute-loss must be a finite number >= 0, got nan"),
        (
            {"lock_image": True},
            "--attribute-loss trains the image tower: it cannot be used with --lock-image",
        ),
    ],
)
def test_bad_settings_are_refused_before_loading(
    catalog: Path, tiny_config: Path, tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        _options(catalog, tiny_config, tmp_path, **overrides).validate()
