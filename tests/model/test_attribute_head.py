"""An attribute head trained on a tiny open_clip model through the production path: the command
writes the head and its card, the same seed gives the same head, and a service started on the
folder captions with it (and says so), where without it the captioner is zero-shot."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from plugin.cli import main
from plugin.training.attribute_head import train_attribute_head
from plugin.training.attribute_head_options import AttributeHeadOptions
from schemas.errors import InvalidInputError
from schemas.vocabulary import Vocabulary, write_vocabulary
from schemas.wire import ComposeOptions
from tests.support.service import service_settings
from tests.support.training_catalog import COLOURS, SHAPES, draw, write_catalog
from vectorizer_service import (
    ATTRIBUTE_HEAD_CONFIG_FILE,
    ATTRIBUTE_HEAD_WEIGHTS_FILE,
    load_attribute_head,
)
from vectorizer_service.engine import Engine
from vectorizer_service.runtime import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

VOCABULARY = Vocabulary.model_validate(
    {
        "format": "grounded-vocabulary/1",
        "groups": {"shapes": {"noun": "shape"}},
        "categories": [{"name": s, "group": "shapes"} for s in SHAPES],
        "attributes": [{"name": "colour", "values": list(COLOURS)}],
    }
)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("catalog"), copies=3)  # 36 products


def _model(root: Path) -> Path:
    save_random_open_clip(TINY_OPEN_CLIP_CONFIG, root / "model", seed=3)
    write_vocabulary(VOCABULARY, root / "model" / "vocabulary.json")
    return root / "model"


def _options(catalog: Path, model: Path) -> AttributeHeadOptions:
    return AttributeHeadOptions(catalog=catalog, model=model, scene_variants=1, val_fraction=0.25, seed=1)


@pytest.fixture(scope="module")
def trained(catalog: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = _model(tmp_path_factory.mktemp("trained"))
    train_attribute_head(_options(catalog, model), command=["test"])
    return model


def test_the_head_and_its_card_are_written_and_the_seed_decides_the_weights(
    trained: Path, catalog: Path, tmp_path: Path
) -> None:
    config = json.loads((trained / ATTRIBUTE_HEAD_CONFIG_FILE).read_text(encoding="utf-8"))
    assert set(config["probes"]) == {"category", "colour"}
    card = config["card"]["probes"]["colour"]
    assert card["held_out_catalog"]["rows"] == 9 and card["held_out_scenes"]["rows"] == 9
    assert config["card"]["data"]["scene_views"] == 36
    again = _model(tmp_path)
    train_attribute_head(_options(catalog, again), command=["test"])
    first, second = (load_attribute_head(m, VOCABULARY)[0] for m in (trained, again))
    assert first is not None and second is not None
    for name in ("category", "colour"):
        np.testing.assert_array_equal(first.probes[name].weight, second.probes[name].weight)


def test_the_command_trains_into_the_folder(
    catalog: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = _model(tmp_path)
    args = [
        "train-attributes",
        str(catalog),
        "--model",
        str(model),
        "--scene-variants",
        "0",
        "--weight-decay",
        "1e-3",
        "--hidden",
        "0,8",
    ]
    assert main(args) == 0
    assert (model / ATTRIBUTE_HEAD_WEIGHTS_FILE).is_file()
    config = json.loads((model / ATTRIBUTE_HEAD_CONFIG_FILE).read_text(encoding="utf-8"))
    assert set(config["card"]["probes"]["colour"]["tried"]) == {"linear/0.001", "hidden8/0.001"}
    head, _ = load_attribute_head(model, VOCABULARY)  # whichever shape each probe chose
    assert head is not None and set(head.probes) == {"category", "colour"}
    assert "2 probes (category, colour)" in capsys.readouterr().out
    assert main(["train-attributes", str(catalog), "--model", str(tmp_path / "nothing")]) == 2


async def _captions(model: Path, *, head: bool) -> list[tuple[dict[str, str], dict[str, str]]]:
    settings = service_settings(
        model=str(model), backend="open_clip", device="cpu", offline=True, captioner="attributes",
        caption_min_probability=0.0, attribute_head=head, cache_dir=model / "cache",
    )  # fmt: skip
    engine = Engine(settings)
    await engine.start()
    try:
        out = []
        for colour in COLOURS:
            for shape in SHAPES:
                buffer = io.BytesIO()
                draw(colour, shape).save(buffer, format="PNG")
                result = await engine.compose(
                    buffer.getvalue(), "", ComposeOptions(fusion_method="image_anchor")
                )
                out.append((result.explanation.attributes, result.explanation.attribute_sources))
        return out
    finally:
        await engine.stop()


async def test_a_served_model_captions_with_its_head_and_says_so(trained: Path) -> None:
    with_head = await _captions(trained, head=True)
    zero_shot = await _captions(trained, head=False)
    truth = [{"category": shape, "colour": colour} for colour in COLOURS for shape in SHAPES]
    assert all(set(sources.values()) == {"attribute-head"} for _, sources in with_head if sources)
    assert all(set(sources.values()) <= {"zero-shot"} for _, sources in zero_shot)

    def right(captions: list[tuple[dict[str, str], dict[str, str]]]) -> int:
        return sum(
            attrs.get(k) == v for (attrs, _), t in zip(captions, truth, strict=True) for k, v in t.items()
        )

    # The random tower's prompts say nothing; the head learned the catalog's labels.
    assert [a for a, _ in with_head] != [a for a, _ in zero_shot]
    assert right(with_head) >= 18 > right(zero_shot)


def test_a_bad_real_cutouts_value_fails_before_any_model_loads(
    catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import plugin.training.attribute_head as module

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before the options were checked")

    monkeypatch.setattr(module, "load_starting_model", never)
    monkeypatch.setattr(module, "load_real_cutouts", never)
    model = _model(tmp_path)
    options = AttributeHeadOptions(catalog=catalog, model=model, scene_variants=1, real_cutouts=2)
    with pytest.raises(InvalidInputError, match="--real-cutouts must be in \\[0, --scene-variants 1\\]"):
        train_attribute_head(options)
    assert main(["train-attributes", str(catalog), "--model", str(model), "--real-cutouts", "-1"]) == 2
    assert not (model / ATTRIBUTE_HEAD_WEIGHTS_FILE).exists()


def test_real_cutouts_are_made_once_cached_and_the_seed_decides_the_head(
    catalog: Path, tmp_path: Path, u2net_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROUNDED_U2NET_HOME", str(u2net_home))
    cache = tmp_path / "cutouts"
    heads = []
    for run in ("first", "again"):
        model = _model(tmp_path / run)
        options = replace(_options(catalog, model), real_cutouts=1, scene_cache=cache)
        card = train_attribute_head(options, command=["test"]).card
        heads.append(load_attribute_head(model, VOCABULARY)[0])
        assert card["data"]["real_cutout_views"] == 36 and card["data"]["scene_views"] == 72
        assert card["probes"]["colour"]["held_out_real_cutouts"]["rows"] == 9
        assert card["probes"]["colour"]["held_out_scenes"]["rows"] == 9
        cutouts = card["data"]["real_cutouts"]
        # The first run meets the remover for every scene; the rerun reads them all back.
        assert (cutouts["hits"], cutouts["misses"]) == ((0, 36) if run == "first" else (36, 0))
    assert len(list(cache.rglob("*.png"))) == 36
    first, second = heads
    assert first is not None and second is not None
    for name in ("category", "colour"):
        np.testing.assert_array_equal(first.probes[name].weight, second.probes[name].weight)
