"""Pic2Word (Saito et al., CVPR 2023, arXiv 2302.03084): an image vector as one word of a prompt.

A small mapping network turns a CLIP image vector into a token embedding, the *pseudo-word*, and
the frozen text tower reads it in place of the ``*`` of a prompt (``"a photo of * , in blue"``).
This module is the one place the token is injected: training (``grounded train-pic2word``, in
``plugin.training``) and serving (the ``pic2word`` fusion methods) both call
:class:`PseudoWordText`, so a mapper is served exactly as it was trained.

The mapper lives in the model folder beside the CLIP it was trained for:
``pic2word.safetensors`` (weights) and ``pic2word.json`` (its shape, the prompt it was trained
with, and the training card).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from schemas.errors import InvalidInputError, ModelUnavailableError
from vectorizer_service.runtime.folder_identity import check_trained_for, weights_sha256
from vectorizer_service.runtime.text_trimming import TrimmableTextTower, find_trimmable_text_tower

__all__ = [
    "PIC2WORD_CONFIG_FILE",
    "PIC2WORD_TRAIN_PROMPT",
    "PIC2WORD_WEIGHTS_FILE",
    "PSEUDO_WORD",
    "Pic2WordMapper",
    "PseudoWordText",
    "encode_with_pseudo_word",
    "load_pic2word_mapper",
    "save_pic2word_mapper",
]

PIC2WORD_WEIGHTS_FILE = "pic2word.safetensors"
PIC2WORD_CONFIG_FILE = "pic2word.json"
PSEUDO_WORD = "*"
"""The prompt's placeholder. It must stand alone between spaces: CLIP's tokenizer merges runs of
punctuation, so ``"*,"`` is one other token (the paper's prompt writes ``"a photo of * , ..."``)."""
PIC2WORD_TRAIN_PROMPT = "a photo of *"


class Pic2WordMapper(nn.Module):
    """``v -> [Linear -> Dropout -> ReLU] x 2 -> Linear``: image vector to one token embedding
    of the text tower's width, as published (the paper's ``IM2TEXT``, hidden width 512)."""

    def __init__(self, embed_dim: int, token_width: int, hidden: int = 512, dropout: float = 0.1) -> None:
        super().__init__()
        self.embed_dim, self.token_width, self.hidden, self.dropout = embed_dim, token_width, hidden, dropout
        layers: list[nn.Module] = []
        width = embed_dim
        for _ in range(2):
            layers += [nn.Linear(width, hidden), nn.Dropout(dropout), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, token_width))
        self.layers = nn.Sequential(*layers)

    def forward(self, image_vectors: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.layers(image_vectors)
        return out

    def shape(self) -> dict[str, Any]:
        """What rebuilding the module needs (``pic2word.json``'s ``mapper``)."""
        return {
            "embed_dim": self.embed_dim,
            "token_width": self.token_width,
            "hidden": self.hidden,
            "dropout": self.dropout,
        }


def encode_with_pseudo_word(
    tower: TrimmableTextTower,
    tokens: torch.Tensor,
    positions: torch.Tensor,
    words: torch.Tensor,
    *,
    trim: bool = True,
) -> torch.Tensor:
    """open_clip's ``encode_text`` (token embedding + positions -> transformer -> ln_final ->
    pool at end-of-text -> projection), with row ``i``'s token embedding at ``positions[i]``
    replaced by ``words[i]``. Unnormalised; gradients flow into ``words``. ``trim`` cuts the
    batch to its longest real sequence first (exact up to float summation order)."""
    pooled_at = tower.pool_positions(tokens)
    length = int(pooled_at.max().item()) + 1 if trim else tokens.shape[1]
    tokens = tokens[:, :length]
    cast_dtype = tower.positional_embedding.dtype
    get_cast_dtype = getattr(tower.transformer, "get_cast_dtype", None)
    if callable(get_cast_dtype):
        cast_dtype = get_cast_dtype()
    x = tower.token_embedding(tokens)
    rows = torch.arange(x.shape[0], device=x.device)
    x = x.index_put((rows, positions.to(x.device)), words.to(x.dtype))
    x = x.to(cast_dtype) + tower.positional_embedding[:length].to(cast_dtype)
    x = tower.transformer(x, attn_mask=tower.causal_mask[:length, :length])
    x = tower.ln_final(x)
    pooled: torch.Tensor = x[rows, pooled_at]
    if isinstance(tower.text_projection, nn.Module):
        projected: torch.Tensor = tower.text_projection(pooled)
        return projected
    if tower.text_projection is not None:
        pooled = pooled @ tower.text_projection
    return pooled


class PseudoWordText:
    """A model's text tower that reads the ``*`` of each prompt from a given vector.

    Raises :class:`ModelUnavailableError` for a tower the injection does not fit (bidirectional
    attention or no end-of-text pooling: e.g. SigLIP) or a tokenizer without a ``*`` token."""

    def __init__(self, model: nn.Module, tokenizer: Any) -> None:
        tower = find_trimmable_text_tower(model)
        if tower is None:
            raise ModelUnavailableError(
                "Pic2Word needs a CLIP text tower with causal attention pooled at the end-of-text token"
            )
        self.tower = tower
        self.tokenizer = tokenizer
        ids = tokenizer([PSEUDO_WORD])[0].tolist()
        # [start, *, end, pad...]: the one id between the start and end tokens
        inner = [i for i in ids[1:] if i != 0][:-1]
        if len(inner) != 1:
            raise ModelUnavailableError(f"the tokenizer splits {PSEUDO_WORD!r} into {len(inner)} tokens")
        self.token_id = int(inner[0])

    @property
    def token_width(self) -> int:
        return int(self.tower.token_embedding.embedding_dim)

    def tokenize(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """The prompts' tokens and, per prompt, the position of its (first) ``*`` token;
        :class:`InvalidInputError` names a prompt without one (or where truncation cut it)."""
        tokens: torch.Tensor = self.tokenizer(list(prompts))
        found = tokens.eq(self.token_id)
        missing = [p for p, hit in zip(prompts, found.any(dim=1).tolist(), strict=True) if not hit]
        if missing:
            raise InvalidInputError(
                f"prompt {missing[0]!r}: no standalone {PSEUDO_WORD!r} to put the image in"
            )
        return tokens, found.int().argmax(dim=1)

    def encode(self, prompts: Sequence[str], words: torch.Tensor, *, trim: bool = True) -> torch.Tensor:
        """Unnormalised text features of ``prompts`` with ``words[i]`` as prompt ``i``'s ``*``."""
        tokens, positions = self.tokenize(prompts)
        device = self.tower.token_embedding.weight.device
        return encode_with_pseudo_word(self.tower, tokens.to(device), positions, words, trim=trim)


def save_pic2word_mapper(folder: Path, mapper: Pic2WordMapper, *, prompt: str, card: dict[str, Any]) -> Path:
    """Write ``pic2word.safetensors`` and ``pic2word.json`` (shape, prompt, card) into ``folder``."""
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / PIC2WORD_WEIGHTS_FILE
    tmp = weights.with_suffix(".tmp")
    save_file({k: v.detach().float().cpu().contiguous() for k, v in mapper.state_dict().items()}, str(tmp))
    tmp.replace(weights)
    config = {
        "mapper": mapper.shape(),
        "prompt": prompt,
        # The CLIP weights the mapper was trained on: loading refuses it once they change.
        "model_weights_sha256": weights_sha256(folder),
        "card": card,
    }
    (folder / PIC2WORD_CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return weights


def load_pic2word_mapper(folder: Path) -> Pic2WordMapper | None:
    """The mapper saved in ``folder`` (eval mode, CPU, fp32), or None when there is none."""
    weights, config_path = folder / PIC2WORD_WEIGHTS_FILE, folder / PIC2WORD_CONFIG_FILE
    if not weights.is_file():
        return None
    from safetensors.torch import load_file

    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
        shape = config["mapper"]
        mapper = Pic2WordMapper(**shape)
        mapper.load_state_dict(load_file(str(weights)))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise ModelUnavailableError(f"cannot load the Pic2Word mapper in {folder}: {exc}") from exc
    check_trained_for(
        folder,
        config.get("model_weights_sha256"),
        "the Pic2Word mapper",
        f"grounded train-pic2word CATALOG --model {folder}",
    )
    return mapper.eval()
