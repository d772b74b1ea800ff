"""Composed-retrieval evaluation (``grounded eval``) on FashionIQ, CIRR and CIRCO, through the
product's own compose path (:class:`~plugin.encoder.protocol.QueryEncoder`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from plugin import lazy_exports
from schemas.errors import InvalidInputError

if TYPE_CHECKING:
    from plugin.evaluation.cache import REMOTE_WEIGHTS, weights_identity
    from plugin.evaluation.choice import Choice, make_choice, read_report, write_choice
    from plugin.evaluation.circo import load_circo
    from plugin.evaluation.cirr import load_cirr
    from plugin.evaluation.configs import (
        BASE_CONFIGS,
        DEFAULT,
        DEFAULT_IMAGE_WEIGHTS,
        DEFAULT_TRUTH,
        SWEEP,
        TRUE_ATTRIBUTES,
        EvalConfig,
        build_configs,
    )
    from plugin.evaluation.dataset import EvalDataset, Query, ReferenceTruth
    from plugin.evaluation.fashioniq import CATEGORIES, load_fashioniq
    from plugin.evaluation.report import print_table, write_report
    from plugin.evaluation.runner import ConfigResult, EvalRun, run_evaluation

__all__ = [
    "BASE_CONFIGS",
    "CATEGORIES",
    "DATASETS",
    "DEFAULT",
    "DEFAULT_IMAGE_WEIGHTS",
    "DEFAULT_TRUTH",
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

# The parser of `grounded eval` reads the configurations' names; the loaders, the runner and the
# report (numpy, tqdm, the compose pipeline) load when a command uses them.
__getattr__ = lazy_exports(
    __name__,
    {
        "REMOTE_WEIGHTS": "plugin.evaluation.cache",
        "weights_identity": "plugin.evaluation.cache",
        "Choice": "plugin.evaluation.choice",
        "make_choice": "plugin.evaluation.choice",
        "read_report": "plugin.evaluation.choice",
        "write_choice": "plugin.evaluation.choice",
        "load_circo": "plugin.evaluation.circo",
        "load_cirr": "plugin.evaluation.cirr",
        "BASE_CONFIGS": "plugin.evaluation.configs",
        "DEFAULT": "plugin.evaluation.configs",
        "DEFAULT_IMAGE_WEIGHTS": "plugin.evaluation.configs",
        "DEFAULT_TRUTH": "plugin.evaluation.configs",
        "SWEEP": "plugin.evaluation.configs",
        "TRUE_ATTRIBUTES": "plugin.evaluation.configs",
        "EvalConfig": "plugin.evaluation.configs",
        "build_configs": "plugin.evaluation.configs",
        "EvalDataset": "plugin.evaluation.dataset",
        "Query": "plugin.evaluation.dataset",
        "ReferenceTruth": "plugin.evaluation.dataset",
        "CATEGORIES": "plugin.evaluation.fashioniq",
        "load_fashioniq": "plugin.evaluation.fashioniq",
        "print_table": "plugin.evaluation.report",
        "write_report": "plugin.evaluation.report",
        "ConfigResult": "plugin.evaluation.runner",
        "EvalRun": "plugin.evaluation.runner",
        "run_evaluation": "plugin.evaluation.runner",
    },
)


def load_dataset(name: str, path: Path, split: str, categories: list[str] | None = None) -> EvalDataset:
    """Load one benchmark split by name (``fashioniq``, ``cirr``, ``circo``)."""
    from plugin.evaluation.circo import load_circo
    from plugin.evaluation.cirr import load_cirr
    from plugin.evaluation.fashioniq import load_fashioniq

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
