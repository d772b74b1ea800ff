"""The product world: a deterministic generator of products with known attributes, their
catalog and shopper photos, a vocabulary, and composed-retrieval splits in the CIRR and CIRCO
layouts, so every stage of Grounded can be measured with a model trained here."""

from plugin.world.build import DEFAULT_QUERIES, DEFAULT_SEED, DEFAULT_TEST_SEED, World, build_world, restrict
from plugin.world.products import WorldProduct, enumerate_products
from plugin.world.queries import CompositionQuery, make_queries
from plugin.world.spec import WorldSpec, load_world_spec

__all__ = [
    "DEFAULT_QUERIES",
    "DEFAULT_SEED",
    "DEFAULT_TEST_SEED",
    "CompositionQuery",
    "World",
    "WorldProduct",
    "WorldSpec",
    "build_world",
    "enumerate_products",
    "load_world_spec",
    "make_queries",
    "restrict",
]
