"""The product world writes each reference's true product beside its CIRR and CIRCO layouts, in
the form ``grounded eval``'s loaders read for the diagnostic ``true_attributes`` row."""

from __future__ import annotations

import json
from pathlib import Path

from plugin.evaluation import load_circo, load_cirr
from plugin.world import build_world, load_world_spec, restrict


def test_every_reference_carries_its_products_title_and_attributes(tmp_path: Path) -> None:
    spec = restrict(load_world_spec(), categories=3, colours=3, patterns=2)
    world = build_world(tmp_path / "world", spec=spec, queries=8)
    catalog = {r["id"]: r for r in map(json.loads, world.catalog.read_text().splitlines())}
    for split in ("val", "test"):
        for name, dataset in (
            (split, load_cirr(world.root, split)),
            (f"{split}-shopper", load_cirr(world.root, f"{split}-shopper")),
            (f"circo {split}", load_circo(world.root / "circo", split)),
        ):
            assert len(dataset.queries) == 8, name
            for query, made in zip(dataset.queries, world.queries[split], strict=True):
                truth = dataset.reference_truth[query.reference]
                product = catalog[made.reference.id]
                assert truth.caption == product["title"], name
                assert truth.attributes == {"category": product["category"], **product["attributes"]}, name
    # a rebuild with one split starts the files afresh: no reference of a split not built
    again = build_world(tmp_path / "world", spec=spec, queries=8, splits=("val",))
    shopper = json.loads((again.root / "reference_attributes.json").read_text())["images"]
    assert shopper and not [k for k in shopper if k.startswith("shopper-test-")]
