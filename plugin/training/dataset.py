"""A training set from a product catalog: decoded images with several text renderings each.

The catalog is the one ``grounded ingest`` reads (:func:`plugin.ingest.catalog.read_catalog`), and image
paths resolve the same way: relative to the image folder (default: the catalog's folder), never
outside it. Training reads local files only: a URL row is an error, because a training run must
be reproducible from the catalog's hash and the files beside it, and must not start downloading
thousands of images (download them once, then train).

Images are decoded once into memory (as serving decodes them, :mod:`plugin.training.images`),
shrunk to a working size: re-decoding files every epoch would dominate a CPU run.

Rows are checked the way ``grounded ingest`` checks them, with the same reasons: a row that is not
a valid product, has no image or an unusable one, or repeats an earlier row's product id is
unusable. By default any unusable row stops the load; with ``skip_bad_rows`` those rows are left
out and each is returned with its reason, for the run's output and card.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from plugin.ingest.catalog import read_catalog
from plugin.ingest.image_fetch import ImageFetcher, is_url
from plugin.settings import PluginSettings
from plugin.training.images import WORKING_SIDE, decode_for_training
from schemas.errors import GroundedError, InvalidInputError
from schemas.product import Product
from vectorizer_service import with_article

__all__ = [
    "CATEGORY_KEY",
    "MAX_PROBLEMS_SHOWN",
    "CatalogData",
    "Example",
    "SkippedRow",
    "attribute_text",
    "held_out_products",
    "load_catalog_examples",
    "product_features",
    "render_text",
    "split_examples",
]

CATEGORY_KEY = "category"
"""The pseudo-attribute under which a product's category joins its attributes (hard batches)."""
MAX_PROBLEMS_SHOWN = 5
"""Unusable rows named in the error that stops a load (the count says how many more)."""


@dataclass(frozen=True)
class Example:
    """One product ready for training: its decoded image and the data its texts come from."""

    row: int
    product: Product
    image: Image.Image

    @property
    def product_id(self) -> str:
        return self.product.id


@dataclass(frozen=True)
class SkippedRow:
    """A catalog row left out of training (``skip_bad_rows``), and why."""

    row: int
    product_id: str | None
    reason: str

    def describe(self) -> str:
        return f"row {self.row} ({self.product_id or 'no id'}): {self.reason}"

    def as_json(self) -> dict[str, object]:
        return {"row": self.row, "id": self.product_id, "reason": self.reason}


@dataclass(frozen=True)
class CatalogData:
    """Every usable row of a catalog, what identifies the catalog (path, hash), and the rows
    left out (empty unless ``skip_bad_rows``)."""

    path: Path
    sha256: str
    examples: list[Example]
    skipped: list[SkippedRow] = field(default_factory=list)


def held_out_products(count: int, fraction: float, seed: int) -> np.ndarray:
    """A seeded held-out mask over ``count`` products (at least one product on each side):
    what the commands that write into a model folder measure themselves on."""
    order = np.random.default_rng(seed).permutation(count)
    held = min(max(1, round(count * fraction)), count - 1)
    mask = np.zeros(count, dtype=bool)
    mask[order[:held]] = True
    return mask


def product_features(product: Product) -> dict[str, str]:
    """The product's attributes plus its category (under :data:`CATEGORY_KEY`), empty values
    left out: the keys hard batches vary one at a time."""
    features = {key: value for key, value in product.attributes.items() if value}
    if product.category and CATEGORY_KEY not in features:
        features[CATEGORY_KEY] = product.category
    return features


def attribute_text(product: Product, order: Sequence[str] | None = None) -> str | None:
    """``"a red striped cotton t-shirt"``: the attribute values (in ``order`` of their keys, else
    the catalog's) followed by the category; ``None`` when the product has neither."""
    values = [value for key, value in product.attributes.items() if value and key != CATEGORY_KEY]
    if order is not None:
        by_key = {key: value for key, value in product.attributes.items() if value and key != CATEGORY_KEY}
        values = [by_key[key] for key in order if key in by_key]
    words = [*values, product.category] if product.category else values
    if not words:
        return None
    return with_article(" ".join(words))


PROMPT_PREFIXES = ("", "a photo of ", "a product photo of ")
"""Drawn for every text: zero-shot prompts (the attribute captioner's, CLIP's) wrap phrases in
these, so the text tower learns that the wrapper does not change what is described."""


def render_text(product: Product, rng: np.random.Generator) -> str:
    """One of the product's renderings, chosen at random: its title; all its attribute values in
    a random order with its category; a random subset of them (each kept with probability 1/2)
    with its category; or its description when it has one, behind a random prompt prefix.
    Varied wordings keep the text tower from learning one phrasing per product, and partial
    renderings ("a red t-shirt") are what zero-shot prompts for one attribute look like."""
    keys = [key for key, value in product.attributes.items() if value and key != CATEGORY_KEY]
    order = [keys[i] for i in rng.permutation(len(keys))]
    candidates = [product.title]
    attributes = attribute_text(product, order)
    if attributes is not None:
        candidates.append(attributes)
        kept = [key for key in order if rng.random() < 0.5]
        partial = attribute_text(product, kept)
        if partial is not None:
            candidates.append(partial)
    if product.description:
        candidates.append(product.description)
    text = candidates[int(rng.integers(len(candidates)))]
    return PROMPT_PREFIXES[int(rng.integers(len(PROMPT_PREFIXES)))] + text


def _decode(fetcher: ImageFetcher, product: Product, working_side: int) -> Image.Image:
    if product.image is None or product.image in ("", b""):
        raise InvalidInputError("no image")
    if isinstance(product.image, str) and is_url(product.image):
        raise InvalidInputError(
            f"image {product.image!r} is a URL; grounded train reads local files only "
            "(download the images, then point --images at their folder)"
        )
    data = fetcher.load(product.image)
    shown = product.image if isinstance(product.image, str) else f"<{len(product.image)} bytes>"
    try:
        return decode_for_training(data, max_pixels=fetcher.max_image_pixels, working_side=working_side)
    except InvalidInputError as exc:
        raise InvalidInputError(f"image {shown!r} cannot be decoded: {exc.message}") from exc


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_catalog_examples(
    catalog: Path,
    image_dir: Path | None = None,
    *,
    skip_bad_rows: bool = False,
    working_side: int = WORKING_SIDE,
) -> CatalogData:
    """Read and decode every row of ``catalog``, each image held at most ``working_side``
    pixels on its shorter side.

    Any unusable row (bad JSON or fields, no image, missing or undecodable file, a URL, a
    product id seen on an earlier row) fails the whole load with one :class:`InvalidInputError`
    naming the rows and product ids: training on a silently shrunken catalog would make its
    card lie about the data. With ``skip_bad_rows`` those rows are left out instead, each
    listed in :attr:`CatalogData.skipped` with its reason.
    """
    folder = image_dir if image_dir is not None else catalog.parent
    if not folder.is_dir():
        raise InvalidInputError(f"image folder not found: {folder}")
    # The ingest limits (file size, pixels) apply; their GROUNDED_* variables are read as for ingest.
    fetcher = ImageFetcher(PluginSettings.model_validate({}), image_dir=folder)
    examples: list[Example] = []
    problems: list[SkippedRow] = []
    first_row: dict[str, int] = {}
    try:
        for row in read_catalog(catalog):
            if row.product is None:
                problems.append(SkippedRow(row.row, row.product_id, row.error or "unreadable row"))
                continue
            product_id = row.product.id
            if product_id in first_row:
                # As ingest: one product, one row (a repeat would also leak into the held-out split).
                reason = f"duplicate product id (first on row {first_row[product_id]})"
                problems.append(SkippedRow(row.row, product_id, reason))
                continue
            first_row[product_id] = row.row
            try:
                examples.append(Example(row.row, row.product, _decode(fetcher, row.product, working_side)))
            except GroundedError as exc:
                problems.append(SkippedRow(row.row, product_id, exc.message))
    finally:
        fetcher.close()
    if problems and not skip_bad_rows:
        shown = "; ".join(p.describe() for p in problems[:MAX_PROBLEMS_SHOWN])
        more = (
            f" (and {len(problems) - MAX_PROBLEMS_SHOWN} more)" if len(problems) > MAX_PROBLEMS_SHOWN else ""
        )
        hint = (
            f"; fix them, or pass --skip-bad-rows to train on the {len(examples)} usable rows"
            if examples
            else ""
        )
        # The folder is named because "not found" on every row usually means the wrong --images.
        raise InvalidInputError(
            f"catalog {catalog} (image paths under {folder.resolve()}): {len(problems)} unusable "
            f"row(s): {shown}{more}{hint}"
        )
    if not examples:
        reason = f"all {len(problems)} rows are unusable" if problems else "no rows"
        raise InvalidInputError(f"catalog {catalog}: {reason}")
    return CatalogData(catalog, _file_sha256(catalog), examples, problems)


def split_examples(
    examples: Sequence[Example], val_fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """A seeded split of the rows into (train, held-out). With ``val_fraction`` 0 nothing is
    held out; otherwise both parts need at least two rows (a contrastive batch, a ranking)."""
    if not 0.0 <= val_fraction < 1.0:
        raise InvalidInputError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    order = np.random.default_rng(seed).permutation(len(examples))
    n_val = round(len(examples) * val_fraction)
    if (val_fraction > 0 and n_val < 2) or len(examples) - n_val < 2:
        raise InvalidInputError(
            f"too few rows for a split: {len(examples)} rows with --val-fraction {val_fraction} leave "
            f"{len(examples) - n_val} for training and {n_val} held out; each needs at least 2"
        )
    val = [examples[i] for i in sorted(order[:n_val])]
    train = [examples[i] for i in sorted(order[n_val:])]
    return train, val
