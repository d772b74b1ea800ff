"""Turning model features into the protocol's unit-norm float32 rows."""

from __future__ import annotations

import numpy as np
import torch

from vectorizer_service.runtime.protocol import Vectors


def to_unit_float32(features: torch.Tensor) -> Vectors:
    """L2-normalise rows in float32 (fp16 norms lose precision) and hand them to numpy."""
    rows = features.float()
    rows = rows / rows.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    result: Vectors = rows.cpu().numpy().astype(np.float32, copy=False)
    return result
