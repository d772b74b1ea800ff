"""``build_world``: render the product world and write its catalog, vocabulary and splits."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from plugin.world.layouts import CIRCO_DIR, REFERENCE_ATTRIBUTES_FILE, shopper_name, write_circo, write_cirr
from plugin.world.products import Split, WorldProduct, enumerate_products, product_rng
from plugin.world.queries import CompositionQuery, make_queries
from plugin.world.render import catalog_photo, shopper_photo
from plugin.world.spec import WorldSpec, load_world_spec
from plugin.world.vocabulary import make_vocabulary
from schemas.errors import InvalidInputError
from schemas.vocabulary import write_vocabulary

__all__ = ["DEFAULT_QUERIES", "DEFAULT_SEED", "DEFAULT_TEST_SEED", "World", "build_world", "restrict"]

DEFAULT_SEED = 0
DEFAULT_TEST_SEED = 1
"""The test split's queries come from their own seed (and their own wordings)."""
DEFAULT_QUERIES = 250
CATALOG_FILE = "catalog.jsonl"
TRAIN_CATALOG_FILE = "catalog-train.jsonl"
VOCABULARY_FILE = "vocabulary.json"
MANIFEST_FILE = "world.json"


@dataclass
class World:
    """What :func:`build_world` wrote, for callers and tests."""

    root: Path
    spec: WorldSpec
    products: list[WorldProduct]
    queries: dict[str, list[CompositionQuery]] = field(default_factory=dict)

    @property
    def catalog(self) -> Path:
        return self.root / CATALOG_FILE

    @property
    def train_catalog(self) -> Path:
        return self.root / TRAIN_CATALOG_FILE

    @property
    def vocabulary(self) -> Path:
        return self.root / VOCABULARY_FILE

    def catalog_image(self, product_id: str) -> Path:
        return self.root / "catalog" / f"{product_id}.png"

    def shopper_image(self, split: str, query: CompositionQuery) -> Path:
        return self.root / "shopper" / f"{shopper_name(split, query)}.png"


def restrict(
    spec: WorldSpec, *, categories: int | None = None, colours: int | None = None, patterns: int | None = None
) -> WorldSpec:
    """A smaller world with the first N categories / colours / patterns (tests, quick demos)."""
    return replace_spec(
        spec,
        categories=spec.categories[:categories] if categories else spec.categories,
        colours=spec.colours[:colours] if colours else spec.colours,
        patterns=spec.patterns[:patterns] if patterns else spec.patterns,
    )


def replace_spec(spec: WorldSpec, **changes: object) -> WorldSpec:
    return WorldSpec.model_validate({**spec.model_dump(), **changes})


def _jsonl(path: Path, rows: Sequence[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def build_world(
    out: Path,
    *,
    seed: int = DEFAULT_SEED,
    test_seed: int = DEFAULT_TEST_SEED,
    queries: int = DEFAULT_QUERIES,
    spec: WorldSpec | None = None,
    splits: Sequence[Split] = ("val", "test"),
    progress: Callable[[str], None] | None = None,
) -> World:
    """Render every product and write the world under ``out`` (see ``docs/product-world.md``).

    Deterministic: the same arguments give byte-identical files. ``seed`` fixes the held-out
    combinations, the renders and the val queries; ``test_seed`` the test queries.
    """
    if queries < 1:
        raise InvalidInputError(f"queries must be at least 1, got {queries}")
    started = time.perf_counter()
    spec = spec or load_world_spec()
    out.mkdir(parents=True, exist_ok=True)
    products = enumerate_products(spec, seed)
    say = progress or (lambda _message: None)
    catalog_paths: dict[str, str] = {}
    (out / "catalog").mkdir(exist_ok=True)
    for product in products:
        relative = f"catalog/{product.id}.png"
        catalog_photo(product.look(spec), product_rng(seed, product.id, "catalog")).save(out / relative)
        catalog_paths[product.id] = relative
    say(f"rendered {len(products)} catalog photos")
    records = [p.record(spec, catalog_paths[p.id]) for p in products]
    titles = {str(r["id"]): str(r["title"]) for r in records}
    _jsonl(out / CATALOG_FILE, records)
    _jsonl(
        out / TRAIN_CATALOG_FILE, [r for r, p in zip(records, products, strict=True) if p.split == "train"]
    )
    write_vocabulary(make_vocabulary(spec), out / VOCABULARY_FILE)

    world = World(out, spec, products)
    for stale in (out / REFERENCE_ATTRIBUTES_FILE, out / CIRCO_DIR / REFERENCE_ATTRIBUTES_FILE):
        stale.unlink(missing_ok=True)  # each split adds its references: start from none
    (out / "shopper").mkdir(exist_ok=True)
    for split in splits:
        split_seed = test_seed if split == "test" else seed
        made = make_queries(spec, products, split, queries, split_seed)
        shopper_paths = {}
        for q in made:
            name = shopper_name(split, q)
            rng = product_rng(split_seed, name, "shopper")
            shopper_photo(q.reference.look(spec), rng).save(out / "shopper" / f"{name}.png")
            shopper_paths[name] = f"shopper/{name}.png"
        write_cirr(out, split, made, products, catalog_paths, shopper_paths, titles)
        write_circo(out, split, made, products, catalog_paths, titles)
        world.queries[split] = made
        say(f"wrote {len(made)} {split} queries (CIRR and CIRCO layouts, catalog and shopper references)")
    counts = Counter(p.split for p in products)
    manifest = {
        "format": "grounded-world/1",
        "seed": seed,
        "test_seed": test_seed,
        "products": len(products),
        "products_by_split": dict(sorted(counts.items())),
        "categories": [c.name for c in spec.categories],
        "colours": [c.name for c in spec.colours],
        "patterns": [p.name for p in spec.patterns],
        "held_out_combinations": {
            split: sorted({"/".join(p.combination) for p in products if p.split == split})
            for split in ("val", "test")
        },
        "queries": {split: len(q) for split, q in world.queries.items()},
        "files": {
            "catalog": CATALOG_FILE,
            "train_catalog": TRAIN_CATALOG_FILE,
            "vocabulary": VOCABULARY_FILE,
            "cirr_root": ".",
            "circo_root": "circo",
        },
        "seconds": round(time.perf_counter() - started, 1),
    }
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return world
