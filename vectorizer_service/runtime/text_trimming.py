"""Exact text-batch trimming for open_clip's causal, end-of-text-pooled text towers.

CLIP tokenizers pad every text to the full context (77 tokens), yet product titles are 5 to 20
tokens long. When the text tower's attention is causal and its pooled output is read at the
end-of-text token, every position after that token is dead weight: under a causal mask no
position attends to a later one, so the hidden state at the end-of-text position (and at every
position before it) is the same whether the padding after it is present or not. Cutting each
batch to its longest real sequence therefore gives the same vectors (up to float summation
order) at a fraction of the compute; the attention cost even shrinks quadratically.

Towers that break this argument are left untrimmed: bidirectional attention (SigLIP, a pad
mask), a class token appended at the end (CoCa), or pooling at a fixed position ('first',
'last') or over all positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

__all__ = ["TrimmableTextTower", "find_trimmable_text_tower"]

_EOT_POOLING = ("argmax", "eos")


@dataclass(frozen=True)
class TrimmableTextTower:
    """The parts of an open_clip text tower needed for a trimmed forward pass.

    Both open_clip layouts qualify: the built-in ``CLIP`` keeps these modules on the model
    itself, ``CustomTextCLIP`` in a ``TextTransformer`` at ``model.text``.
    """

    token_embedding: nn.Embedding
    positional_embedding: torch.Tensor
    transformer: nn.Module
    ln_final: nn.Module
    text_projection: nn.Module | torch.Tensor | None
    causal_mask: torch.Tensor
    pool_type: str
    eos_id: int
    """End-of-text token id for ``eos`` pooling (unused, -1, for ``argmax``)."""

    def pool_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """Index of the token each row's vector is read from (its end-of-text token)."""
        if self.pool_type == "argmax":
            # The end-of-text id is the largest id of the CLIP vocabulary.
            return tokens.argmax(dim=-1)
        is_eos: torch.Tensor = tokens.eq(self.eos_id)
        return is_eos.int().argmax(dim=-1)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """Unnormalised text features of ``tokens`` (``[batch, context]``), trimmed to the
        longest real sequence of the batch before the transformer runs."""
        positions = self.pool_positions(tokens)
        length = int(positions.max().item()) + 1
        tokens = tokens[:, :length]
        cast_dtype = self.positional_embedding.dtype
        get_cast_dtype = getattr(self.transformer, "get_cast_dtype", None)
        if callable(get_cast_dtype):
            cast_dtype = get_cast_dtype()
        x = self.token_embedding(tokens).to(cast_dtype)
        x = x + self.positional_embedding[:length].to(cast_dtype)
        x = self.transformer(x, attn_mask=self.causal_mask[:length, :length])
        x = self.ln_final(x)
        pooled: torch.Tensor = x[torch.arange(x.shape[0], device=x.device), positions]
        if isinstance(self.text_projection, nn.Module):
            projected: torch.Tensor = self.text_projection(pooled)
            return projected
        if self.text_projection is not None:
            pooled = pooled @ self.text_projection
        return pooled


def find_trimmable_text_tower(model: nn.Module) -> TrimmableTextTower | None:
    """The model's text tower if trimming it is exact (see the module docstring), else None.

    Support is read from the loaded model itself, not from its name, so custom and hub
    configurations are judged by what they actually compute.
    """
    from open_clip.transformer import TextTransformer

    tower: Any  # open_clip's modules are untyped; the checks below establish the attributes
    text = getattr(model, "text", None)
    if isinstance(text, TextTransformer):
        tower = text
        if text.cls_emb is not None or text.use_pad_mask:
            return None
        pool_type = text.pool_type
        eos_id = getattr(text, "eos_id", None)
    elif hasattr(model, "token_embedding") and hasattr(model, "text_pool_type"):
        tower = model
        pool_type = model.text_pool_type
        eos_id = getattr(model, "text_eos_id", None)
    else:
        return None  # e.g. a Hugging Face text tower inside open_clip (often bidirectional)

    mask = getattr(tower, "attn_mask", None)
    if not isinstance(mask, torch.Tensor) or pool_type not in _EOT_POOLING:
        return None
    if pool_type == "eos" and not isinstance(eos_id, int):
        return None
    if not _is_causal(mask):
        return None
    return TrimmableTextTower(
        token_embedding=tower.token_embedding,
        positional_embedding=tower.positional_embedding,
        transformer=tower.transformer,
        ln_final=tower.ln_final,
        text_projection=tower.text_projection,
        causal_mask=mask,
        pool_type=pool_type,
        eos_id=eos_id if isinstance(eos_id, int) else -1,
    )


def _is_causal(mask: torch.Tensor) -> bool:
    """True for an additive mask that blocks exactly the future positions."""
    if mask.dim() != 2 or mask.shape[0] != mask.shape[1]:
        return False
    future = torch.ones_like(mask, dtype=torch.bool).triu(1)
    blocked = torch.isinf(mask) & (mask < 0)
    return bool(torch.equal(blocked, future))
