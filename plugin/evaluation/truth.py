"""The references' true attributes, where a benchmark knows them, and the diagnostic row that
composes with them as merchant data.

A layout may carry ``reference_attributes.json`` beside its annotations (the CIRR root, the
CIRCO root); the product world writes one (``plugin/world/layouts.py``), a public CIRR or CIRCO
download has none::

    {"format": "grounded-reference-attributes/1",
     "images": {"<image id>": {"caption": "Red striped a-line dress",
                               "attributes": {"category": "dress", "colour": "red", ...}}}}

The ``true_attributes`` row sends, for each query, the default configuration's options (nothing
set: the service's defaults) plus ``catalog_caption`` / ``catalog_attributes`` from this file:
the path a stored product takes through search (``plugin.search.catalog_options``). It is an
upper bound on what a better caption can give, not a method a shopper's photo can have.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from plugin.evaluation.configs import EvalConfig
from plugin.evaluation.dataset import EvalDataset, Query, ReferenceTruth, read_json
from schemas.errors import InvalidInputError
from schemas.wire import ComposeOptions

__all__ = [
    "REFERENCE_ATTRIBUTES_FILE",
    "REFERENCE_ATTRIBUTES_FORMAT",
    "applicable_configs",
    "query_options",
    "read_reference_truth",
]

REFERENCE_ATTRIBUTES_FILE = "reference_attributes.json"
REFERENCE_ATTRIBUTES_FORMAT = "grounded-reference-attributes/1"
_SHOWN = 3


def read_reference_truth(folder: Path) -> dict[str, ReferenceTruth]:
    """``folder/reference_attributes.json`` as image id -> truth; empty when there is none. A
    malformed file is an InvalidInputError naming the file and the image."""
    path = folder / REFERENCE_ATTRIBUTES_FILE
    if not path.is_file():
        return {}
    data = read_json(path)
    if not isinstance(data, dict) or data.get("format") != REFERENCE_ATTRIBUTES_FORMAT:
        raise InvalidInputError(f"{path}: expected an object with format {REFERENCE_ATTRIBUTES_FORMAT!r}")
    images = data.get("images")
    if not isinstance(images, dict):
        raise InvalidInputError(f"{path}: field 'images' must map image ids to objects")
    truth: dict[str, ReferenceTruth] = {}
    for image_id, entry in images.items():
        caption = entry.get("caption") if isinstance(entry, dict) else None
        attributes = entry.get("attributes") if isinstance(entry, dict) else None
        if not isinstance(caption, str) or not caption.strip():
            raise InvalidInputError(f"{path}: image {image_id!r}: 'caption' must be a non-empty string")
        if not isinstance(attributes, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in attributes.items()
        ):
            raise InvalidInputError(f"{path}: image {image_id!r}: 'attributes' must map names to strings")
        truth[str(image_id)] = ReferenceTruth(caption.strip(), dict(attributes))
    return truth


def applicable_configs(
    configs: Sequence[EvalConfig], dataset: EvalDataset
) -> tuple[list[EvalConfig], list[str]]:
    """``configs`` without the rows that need the references' true attributes when the layout
    does not carry them for every query's reference, with a note saying why they were left out."""
    needing = [c for c in configs if c.reference_truth]
    if not needing:
        return list(configs), []
    names = ", ".join(c.name for c in needing)
    source = dataset.reference_truth_source or REFERENCE_ATTRIBUTES_FILE
    if not dataset.reference_truth:
        reason = (
            f"this layout carries no reference attributes ({source} not found; "
            "a benchmark's own download has none)"
        )
    else:
        missing = [q.reference for q in dataset.queries if q.reference not in dataset.reference_truth]
        if not missing:
            return list(configs), []
        shown = ", ".join(repr(m) for m in missing[:_SHOWN])
        reason = (
            f"{len(missing)} of {len(dataset.queries)} query references have no entry in {source} ({shown})"
        )
    return [c for c in configs if not c.reference_truth], [f"{names} omitted: {reason}"]


def query_options(config: EvalConfig, dataset: EvalDataset, query: Query) -> ComposeOptions:
    """The options one query is composed with: the configuration's, plus its reference's true
    caption and attributes as merchant data for a ``reference_truth`` row."""
    if not config.reference_truth:
        return config.options
    truth = dataset.reference_truth[query.reference]
    return config.options.model_copy(
        update={"catalog_caption": truth.caption, "catalog_attributes": dict(truth.attributes)}
    )
