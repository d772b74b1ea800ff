"""The demo's catalog: a few hundred products of the product world, and composed queries whose
reference photos are shopper photos (cluttered real backgrounds) of other products.

The queries are drawn from the world's development split (never its test split), so the demo
shows the same kind of query the evaluation measures, without spending the held-out queries.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from plugin.store.protocol import ProductFilter
from plugin.world.backgrounds import BACKGROUNDS, Photo
from plugin.world.build import VOCABULARY_FILE
from plugin.world.products import WorldProduct, enumerate_products, product_rng
from plugin.world.queries import CompositionQuery, make_queries
from plugin.world.render import catalog_photo, shopper_photo
from plugin.world.spec import WorldSpec, load_world_spec
from plugin.world.vocabulary import make_vocabulary
from schemas.product import Product
from schemas.vocabulary import write_vocabulary
from vectorizer_service import with_article

__all__ = ["DEMO_PRODUCTS", "DemoQuery", "SampleCatalog", "build_sample_catalog"]

DEMO_PRODUCTS = 300
"""Catalog size: every product the queries need, then others drawn at random."""
DEMO_SEED = 0
_QUERY_SEED = 20
"""Seed of the demo's own draw of development queries (the evaluation uses other seeds)."""
_CHANGES: tuple[tuple[str, ...], ...] = (
    ("colour",),
    ("pattern",),
    ("category",),
    ("sleeve",),
    ("colour", "pattern"),
)
"""One demo query for each kind of change, in this order."""


@dataclass(frozen=True)
class DemoQuery:
    """One composed query the demo runs: a reference photo, a change in words, and filters."""

    name: str
    text: str
    expected: str
    """The product a working model should rank first (outlined on the page)."""
    reference_png: bytes | None = None
    relevant: tuple[str, ...] = ()
    """Every product that satisfies the query (the expected one first)."""
    filters: ProductFilter = field(default_factory=ProductFilter)


@dataclass(frozen=True)
class SampleCatalog:
    """The written catalog: JSON Lines of products, their images, the queries, provenance."""

    catalog_path: Path
    image_dir: Path
    """The folder the catalog's relative image paths (``catalog/<id>.png``) resolve against."""
    products: list[Product]
    image_paths: dict[str, Path]
    credits: dict[str, Photo]
    queries: list[DemoQuery]
    vocabulary_path: Path


def _png(image: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")  # type: ignore[attr-defined]  # a PIL image
    return buffer.getvalue()


def _pick_queries(spec: WorldSpec, products: list[WorldProduct]) -> list[CompositionQuery]:
    pool = make_queries(spec, products, "val", 400, _QUERY_SEED)
    picked: list[CompositionQuery] = []
    for changes in _CHANGES:
        found = next((q for q in pool if tuple(sorted(q.changed)) == tuple(sorted(changes))), None)
        if found is not None:
            picked.append(found)
    return picked


def _name(spec: WorldSpec, query: CompositionQuery) -> str:
    these = "these" if spec.category_by_name[query.reference.category].plural else "this"
    return f"{these} {query.reference.category}, but: {query.text}"


def build_sample_catalog(
    out_dir: Path, *, size: int = DEMO_PRODUCTS, spec: WorldSpec | None = None
) -> SampleCatalog:
    """Write ``catalog.jsonl``, ``catalog/<id>.png``, ``vocabulary.json`` and ``SOURCES.json``."""
    spec = spec or load_world_spec()
    everything = enumerate_products(spec, DEMO_SEED)
    world_queries = _pick_queries(spec, everything)
    needed: dict[str, None] = {}
    for q in world_queries:
        for pid in (*q.relevant, *q.members):
            needed.setdefault(pid, None)
    rng = product_rng(DEMO_SEED, "demo-catalog")
    others = [p.id for p in everything if p.id not in needed]
    for index in rng.permutation(len(others))[: max(0, size - len(needed))]:
        needed.setdefault(others[int(index)], None)
    by_id = {p.id: p for p in everything}
    chosen = [by_id[pid] for pid in sorted(needed)]

    (out_dir / "catalog").mkdir(parents=True, exist_ok=True)
    products: list[Product] = []
    paths: dict[str, Path] = {}
    for product in chosen:
        relative = f"catalog/{product.id}.png"
        catalog_photo(product.look(spec), product_rng(DEMO_SEED, product.id, "catalog")).save(
            out_dir / relative
        )
        paths[product.id] = out_dir / relative
        products.append(Product.model_validate(product.record(spec, relative)))
    catalog_path = out_dir / "catalog.jsonl"
    catalog_path.write_text("".join(p.model_dump_json(exclude_none=True) + "\n" for p in products))
    vocabulary_path = out_dir / VOCABULARY_FILE
    write_vocabulary(make_vocabulary(spec), vocabulary_path)

    queries = []
    for q in world_queries:
        photo = shopper_photo(q.reference.look(spec), product_rng(_QUERY_SEED, "demo", str(q.pair_id)))
        queries.append(DemoQuery(_name(spec, q), q.text, q.target.id, _png(photo), q.relevant))
    # Filters narrow a query as a shop's facets would: the same colour change, only under a price.
    first = world_queries[0]
    price = float(next(p.price for p in products if p.id == first.target.id) or 0.0)
    queries.append(
        DemoQuery(
            f"{_name(spec, first)} (only {first.target.category}, price at most {price + 1:.0f})",
            first.text,
            first.target.id,
            queries[0].reference_png,
            first.relevant,
            ProductFilter(category=first.target.category, price_max=price + 1),
        )
    )
    t = world_queries[-1].target
    plural = spec.category_by_name[t.category].plural
    text = with_article(f"{t.colour} {t.pattern} {t.category}", plural=plural)
    matching = tuple(
        p.id for p in chosen if (p.category, p.colour, p.pattern) == (t.category, t.colour, t.pattern)
    )
    queries.append(
        DemoQuery(f"text only: {text}", text, t.id, None, (t.id, *(m for m in matching if m != t.id)))
    )

    sources = {
        "world": "plugin/world (rendered products; backgrounds of shopper photos from skimage.data)",
        "photos": [
            {
                "name": p.name,
                "title": p.title,
                "author": p.author,
                "licence": p.licence,
                "origin": p.origin,
                "source": p.source,
            }
            for p in BACKGROUNDS.values()
        ],
    }
    (out_dir / "SOURCES.json").write_text(json.dumps(sources, indent=2, ensure_ascii=False))
    return SampleCatalog(catalog_path, out_dir, products, paths, dict(BACKGROUNDS), queries, vocabulary_path)
