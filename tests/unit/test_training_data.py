"""grounded train's data side: catalog loading errors, text renderings, split, batch plan, recall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plugin.training.dataset import (
    load_catalog_examples,
    product_features,
    render_text,
    split_examples,
)
from plugin.training.retrieval import recall_at_k, retrieval_metrics
from plugin.training.sampler import BatchPlan, hard_groups
from schemas.errors import InvalidInputError
from schemas.product import Product
from tests.support.training_catalog import COLOURS, SHAPES, write_catalog


def test_catalog_loads_every_row_with_its_image(tmp_path: Path) -> None:
    data = load_catalog_examples(write_catalog(tmp_path))
    assert len(data.examples) == len(COLOURS) * len(SHAPES) * 2
    assert all(e.image.mode == "RGB" and e.image.size == (40, 40) for e in data.examples)
    assert len(data.sha256) == 64


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ({"id": "p-missing", "title": "t", "image": "nowhere.png"}, "(p-missing): image file not found"),
        ({"id": "p-noimage", "title": "t"}, "(p-noimage): no image"),
        ({"id": "p-url", "title": "t", "image": "https://example.com/a.png"}, "(p-url): image 'https://"),
        ({"id": "p-escape", "title": "t", "image": "../../etc/passwd"}, "(p-escape): image path"),
        ({"id": "p-bad", "price": -1, "image": "x.png"}, "(p-bad): "),
    ],
)
def test_a_bad_row_names_its_row_and_product(tmp_path: Path, row: dict[str, object], expected: str) -> None:
    catalog = write_catalog(tmp_path, copies=1, extra=[row])
    with pytest.raises(InvalidInputError) as err:
        load_catalog_examples(catalog)
    assert f"row {len(COLOURS) * len(SHAPES) + 1} {expected}" in err.value.message


def test_an_undecodable_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "broken.png").write_bytes(b"not a png at all")
    catalog = write_catalog(
        tmp_path, copies=1, extra=[{"id": "p-broken", "title": "t", "image": "broken.png"}]
    )
    with pytest.raises(InvalidInputError, match=r"\(p-broken\): image 'broken.png' cannot be decoded"):
        load_catalog_examples(catalog)


def test_an_empty_catalog_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(InvalidInputError, match="no rows"):
        load_catalog_examples(tmp_path / "empty.jsonl")


def test_images_resolve_against_the_given_folder(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "pics", copies=1)
    moved = tmp_path / "elsewhere" / "catalog.jsonl"
    moved.parent.mkdir()
    moved.write_text(catalog.read_text())
    with pytest.raises(InvalidInputError) as err:
        load_catalog_examples(moved)
    # Every row "not found": the error says where it looked, the usual cause being the folder.
    assert f"(image paths under {moved.parent.resolve()})" in err.value.message
    assert "image file not found" in err.value.message
    assert len(load_catalog_examples(moved, tmp_path / "pics").examples) == len(COLOURS) * len(SHAPES)


def test_split_is_seeded_and_refuses_too_few_rows(tmp_path: Path) -> None:
    examples = load_catalog_examples(write_catalog(tmp_path, copies=1)).examples
    train_a, val_a = split_examples(examples, 0.25, seed=3)
    _, val_b = split_examples(examples, 0.25, seed=3)
    assert [e.product_id for e in val_a] == [e.product_id for e in val_b]
    assert len(val_a) == 3 and len(train_a) == 9
    assert {e.product_id for e in train_a}.isdisjoint(e.product_id for e in val_a)
    with pytest.raises(InvalidInputError, match="too few rows for a split: 12 rows"):
        split_examples(examples, 0.05, seed=0)


def test_texts_vary_over_title_attributes_and_description() -> None:
    product = Product(
        id="p",
        title="Zebra tee",
        description="soft cotton",
        category="t-shirt",
        attributes={"colour": "red", "pattern": "striped"},
    )
    rng = np.random.default_rng(0)
    seen = {render_text(product, rng) for _ in range(600)}
    bare = {
        "Zebra tee",
        "soft cotton",
        "a red striped t-shirt",
        "a striped red t-shirt",
        "a red t-shirt",
        "a striped t-shirt",
        "a t-shirt",
    }
    assert seen == {prefix + text for prefix in ("", "a photo of ", "a product photo of ") for text in bare}
    orange = Product(id="o", title="O", category="bag", attributes={"colour": "orange"})
    assert "an orange bag" in {render_text(orange, rng) for _ in range(100)}
    assert product_features(product) == {"colour": "red", "pattern": "striped", "category": "t-shirt"}


def test_hard_batches_differ_in_exactly_one_attribute(tmp_path: Path) -> None:
    features = [
        {"colour": c, "category": s, "size": z} for c in COLOURS for s in SHAPES for z in ("s", "m", "l")
    ]
    plan = BatchPlan(features, batch_size=4, hard_fraction=1.0, seed=1)
    assert plan.hard_keys == ["category", "colour", "size"]
    varied: set[str] = set()
    for step in range(3 * plan.steps_per_epoch):
        rows, hard = plan.batch(step)
        assert hard and len(rows) == 4 and len(set(rows.tolist())) == 4
        first = features[int(rows[0])]
        second = features[int(rows[1])]
        differing = [k for k in first if first[k] != second[k]]
        assert len(differing) == 1  # the first two rows come from one group
        varied.add(differing[0])
    assert varied == {"category", "colour", "size"}


def test_the_batch_plan_is_a_function_of_seed_and_step() -> None:
    features = [{"colour": c, "category": s} for c in COLOURS for s in SHAPES]
    a = BatchPlan(features, batch_size=3, hard_fraction=0.5, seed=7)
    b = BatchPlan(features, batch_size=3, hard_fraction=0.5, seed=7)
    other = BatchPlan(features, batch_size=3, hard_fraction=0.5, seed=8)
    steps = range(4 * a.steps_per_epoch)
    plan_a = [a.batch(s)[0].tolist() for s in steps]
    assert plan_a == [b.batch(s)[0].tolist() for s in reversed(steps)][::-1]
    assert plan_a != [other.batch(s)[0].tolist() for s in steps]
    assert 0 < sum(a.batch(s)[1] for s in steps) < len(steps)


def test_batch_size_larger_than_the_training_rows_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="--batch-size 8 is larger than the 5 training rows"):
        BatchPlan([{}] * 5, batch_size=8, hard_fraction=0.5, seed=0)


def test_recall_counts_a_hit_within_the_top_k() -> None:
    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8]])
    correct = np.array([[False, False, True], [True, False, False]])
    assert recall_at_k(scores, correct, 1) == 0.0
    assert recall_at_k(scores, correct, 2) == 0.5
    assert recall_at_k(scores, correct, 3) == 1.0


def test_products_with_the_same_title_all_count_as_correct() -> None:
    images = np.eye(3, dtype=np.float32)
    texts = np.array([[0, 1, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)  # rows 0 and 1: one title
    metrics = retrieval_metrics(images, texts, ["red disc", "red disc", "blue square"])
    # Image 0 ties on both titles and the tie goes to the first ("blue square"): a miss.
    assert metrics["image_to_text_R@1"] == pytest.approx(2 / 3)
    assert metrics["text_to_image_R@1"] == 1.0


def test_a_key_nested_under_the_varied_one_is_not_held_fixed() -> None:
    # Each category has its own cuts: varying the category while holding the cut fixed would find
    # no group, so the cut is left free and category batches exist.
    cuts = {"dress": ("a-line", "sheath"), "trousers": ("straight", "wide-leg"), "mug": ("tall", "classic")}
    features = [
        {"category": category, "cut": cut, "colour": colour}
        for category, options in cuts.items()
        for cut in options
        for colour in ("red", "blue")
    ]
    plan = BatchPlan(features, batch_size=3, hard_fraction=1.0, seed=0)
    assert "category" in plan.hard_keys
    groups = hard_groups(features)
    for group in groups["category"]:
        rows = [features[bucket[0]] for bucket in group]
        assert len({r["colour"] for r in rows}) == 1 and len({r["category"] for r in rows}) == len(rows)
    # ... while varying the cut still holds the category fixed.
    for group in groups["cut"]:
        assert len({features[bucket[0]]["category"] for bucket in group}) == 1
