"""Composed-retrieval evaluation (``grounded eval``) on FashionIQ, CIRR and CIRCO, through the
product's own compose path (:class:`~plugin.encoder.protocol.QueryEncoder`)."""

from pathlib import Path

from plugin.evaluation.cache import REMOTE_WEIGHTS, weights_identity
from plugin.evaluation.choice import Choice, make_choice, read_report, write_choice
from plugin.evaluation.circo import load_circo
from plugin.evaluation.cirr import load_cirr
from plugin.evaluation.configs import (
    BASE_CONFIGS,
    DEFAULT,
    DEFAULT_IMAGE_WEIGHTS,
    SWEEP,
    TRUE_ATTRIBUTES,
    EvalConfig,
    build_configs,
)
from plugin.evaluation.dataset import EvalDataset, Query, ReferenceTruth
from plugin.evaluation.fashioniq import CATEGORIES, load_fashioniq
from plugin.evaluation.report import print_table, write_report
from plugin.evaluation.runner import ConfigResult, EvalRun, run_evaluation
from schemas.errors import InvalidInputError

__all__ = [
    "BASE_CONFIGS",
    "CATEGORIES",
    "DATASETS",
    "DEFAULT",
    "DEFAULT_IMAGE_WEIGHTS",
    "REMOTE_WEIGHTS",
    "SWEEP",
    "TRUE_ATTRIBUTES",
    "Choice",
    "ConfigResult",
    "EvalConfig",
    "EvalDataset",
    "EvalRun",
    "Query",
    "ReferenceTruth",
    "build_configs",
    "load_circo",
    "load_cirr",
    "load_dataset",
    "load_fashioniq",
    "make_choice",
    "print_table",
    "read_report",
    "run_evaluation",
    "weights_identity",
    "write_choice",
    "write_report",
]

DATASETS = ("fashioniq", "cirr", "circo")


def load_dataset(name: str, path: Path, split: str, categories: list[str] | None = None) -> EvalDataset:
    """Load one benchmark split by name (``fashioniq``, ``cirr``, ``circo``)."""
    if not path.is_dir():
        raise InvalidInputError(f"--root: no such folder: {path}")
    if name == "fashioniq":
        dataset = load_fashioniq(path, split, categories)
    elif categories:
        raise InvalidInputError("--categories applies to fashioniq only")
    elif name == "cirr":
        dataset = load_cirr(path, split)
    elif name == "circo":
        dataset = load_circo(path, split)
    else:
        raise InvalidInputError(f"--dataset: unknown {name!r}; choose from {list(DATASETS)}")
    # An empty captions file would score 0 (or, averaged over FashionIQ's categories, pull the
    # mean down) as if the model had missed every query.
    empty = [g for g in dataset.groups if not any(q.group == g for q in dataset.queries)]
    if empty:
        which = f" for {', '.join(empty)}" if empty != [""] else ""
        raise InvalidInputError(f"{name} {split}: the captions have no queries{which}")
    return dataset
