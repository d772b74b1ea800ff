"""Contrastive training of open_clip models on a product catalog (``grounded train``).

:func:`train` runs :class:`TrainOptions` end to end and writes a checkpoint in open_clip's
``local-dir`` layout that ``grounded serve --model <out>`` loads unchanged, with a JSON card.
"""

from __future__ import annotations

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
