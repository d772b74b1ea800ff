"""Turning model features into the protocol's unit-norm float32 rows, and reading a model's temperature."""

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


def learned_logit_scale(model: object) -> float | None:
    """``exp(model.logit_scale)``, the temperature CLIP-like models learn in log space (open_clip's
    CLIP and transformers' CLIPModel / SiglipModel alike), or None without one."""
    scale = getattr(model, "logit_scale", None)
    if not isinstance(scale, torch.Tensor) or scale.numel() != 1:
        return None
    return float(scale.detach().float().exp().item())
