"""An auxiliary attribute loss for ``grounded train`` (``--attribute-loss W``).

Contrastive training alone teaches the image vector whatever tells a product's photo from the
other titles in its batch. On a catalog's studio photos that is enough to name the category;
on a shopper's cut-out (half a sleeve lost, a shadow kept) it is often not: the linear probes of
``grounded train-attributes`` read the world's held-out scene views' category at 82 % against
96 % on catalog photos. This loss adds, during training only, one linear head per catalog key
(the category and each attribute) on the unit image vector, and the cross-entropy of every head
against the product's own value, weighted by ``W`` beside the contrastive loss. Scene batches
carry it too, so the vector learns to keep the category of a badly cut-out product.

The heads are thrown away with the run (they are not the attribute head, which
``grounded train-attributes`` fits afterwards on the trained vector, calibrated and gated);
they live in the train state so a resumed run ends with the same weights.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["AttributeLoss"]

_SCALE = 16.0
"""The unit vector is scaled before the heads: unit-norm inputs give a freshly initialised
linear head logits of a few hundredths, and a cross-entropy that barely moves for hundreds of
steps."""


class AttributeLoss(torch.nn.Module):
    """One linear head per key with at least two values among the training rows."""

    def __init__(self, features: Sequence[Mapping[str, str]], dim: int, weight: float) -> None:
        super().__init__()
        self.weight = weight
        keys = sorted({key for row in features for key in row})
        self.values: dict[str, list[str]] = {}
        for key in keys:
            values = sorted({row[key] for row in features if key in row})
            if len(values) >= 2:  # one value teaches nothing
                self.values[key] = values
        self.keys = list(self.values)
        labels = [
            [self.values[key].index(row[key]) if key in row else -1 for key in self.keys] for row in features
        ]
        self.labels: torch.Tensor
        self.register_buffer(
            "labels", torch.tensor(labels, dtype=torch.long).reshape(len(features), len(self.keys))
        )
        self.heads = torch.nn.ModuleList(torch.nn.Linear(dim, len(self.values[key])) for key in self.keys)

    def forward(self, image_features: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``weight`` × the mean over keys of each head's cross-entropy on the batch's ``rows``
        (training-row indices) that have a value for the key."""
        scaled = image_features.float() * _SCALE
        targets = self.labels[rows]
        total = image_features.new_zeros((), dtype=torch.float32)
        counted = 0
        for k, head in enumerate(self.heads):
            known = targets[:, k] >= 0
            if bool(known.any()):
                total = total + torch.nn.functional.cross_entropy(head(scaled[known]), targets[known, k])
                counted += 1
        return total * (self.weight / max(counted, 1))

    def as_json(self) -> dict[str, Any]:
        return {"weight": self.weight, "keys": {key: len(v) for key, v in self.values.items()}}
