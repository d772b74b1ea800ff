"""Contrastive training of open_clip models on a product catalog (``grounded train``).

:func:`train` runs :class:`TrainOptions` end to end and writes a checkpoint in open_clip's
``local-dir`` layout that ``grounded serve --model <out>`` loads unchanged, with a JSON card.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from plugin.training.card import format_metrics
    from plugin.training.checkpoint import CARD_NAME, CONFIG_NAME, STATE_NAME, WEIGHTS_NAME
    from plugin.training.options import TrainOptions
    from plugin.training.trainer import TrainResult, encode_examples, train

__all__ = [
    "CARD_NAME",
    "CONFIG_NAME",
    "STATE_NAME",
    "WEIGHTS_NAME",
    "TrainOptions",
    "TrainResult",
    "encode_examples",
    "format_metrics",
    "train",
]

# Loaded on first use: the trainer imports torch, which `grounded --help` and every other
# command (the CLI registers `train` with TrainOptions' defaults) must not pay for.
_LAZY = {
    "format_metrics": "plugin.training.card",
    "CARD_NAME": "plugin.training.checkpoint",
    "CONFIG_NAME": "plugin.training.checkpoint",
    "STATE_NAME": "plugin.training.checkpoint",
    "WEIGHTS_NAME": "plugin.training.checkpoint",
    "TrainOptions": "plugin.training.options",
    "TrainResult": "plugin.training.trainer",
    "encode_examples": "plugin.training.trainer",
    "train": "plugin.training.trainer",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
