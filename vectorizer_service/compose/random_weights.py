"""Randomly initialised image-to-text captioners saved with ``save_pretrained``.

Tests and benchmarks need a transformers captioner without downloading one. These helpers
build BLIP or GIT from a config with a fixed seed and save model, tokenizer (a small BERT
WordPiece vocabulary written here) and image processor, so that
:func:`~vectorizer_service.compose.hf_captioner.load_transformers_captioner` loads the directory
exactly as it loads a real checkpoint. The captions are gibberish; latency and plumbing are real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import torch

__all__ = ["save_random_captioner"]

_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
_WORDS = (
    "a an the of in on with and photo picture woman man cat dog red blue green black white "
    "dress shirt shoe shoes bag table chair sitting standing wearing holding front background ."
).split()
_BASE_VOCAB_SIZE = 30524
"""BLIP-base's vocabulary size: the benchmark pads the WordPiece list to it so the output
layer, and thus generation cost, matches the real model."""


def _vocab(size: int | None) -> dict[str, int]:
    tokens = _SPECIALS + _WORDS
    if size is not None:
        tokens += [f"[unused{i}]" for i in range(size - len(tokens))]
    return {tok: i for i, tok in enumerate(tokens)}


def _ids() -> dict[str, int]:
    return {"pad_token_id": 0, "bos_token_id": 2, "sep_token_id": 3, "eos_token_id": 3}


def save_random_captioner(
    out_dir: Path, *, kind: Literal["blip", "git"] = "blip", tiny: bool = True, seed: int = 0
) -> str:
    """Save a random BLIP (``BlipForConditionalGeneration``) or GIT (``GitForCausalLM``) with its
    processor into ``out_dir`` and return the directory. ``tiny=False`` gives BLIP-base's shape
    (ViT-B/16 at 384 px, 12-layer BERT decoder) for benchmarks; GIT is tiny only."""
    from transformers import (
        BertTokenizer,
        BlipConfig,
        BlipForConditionalGeneration,
        BlipImageProcessor,
        BlipProcessor,
        CLIPImageProcessor,
        GitConfig,
        GitForCausalLM,
        GitProcessor,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = _vocab(None if tiny else _BASE_VOCAB_SIZE)
    tokenizer = BertTokenizer(vocab=vocab, model_max_length=64)
    small: dict[str, Any] = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    torch.manual_seed(seed)
    model: Any
    if kind == "blip":
        image_size = 32 if tiny else 384
        vision: dict[str, Any] = {**small, "image_size": 32, "patch_size": 8} if tiny else {"image_size": 384}
        text: dict[str, Any] = {**small, "encoder_hidden_size": 32} if tiny else {}
        config = BlipConfig(
            text_config={**text, **_ids(), "vocab_size": len(vocab), "max_position_embeddings": 64},
            vision_config=vision,
        )
        model = BlipForConditionalGeneration(config)
        image_processor: Any = BlipImageProcessor(size={"height": image_size, "width": image_size})
        processor: Any = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)
    else:
        if not tiny:
            raise ValueError("only a tiny random GIT is provided")
        config = GitConfig(
            vision_config={**small, "image_size": 32, "patch_size": 8},
            **small,
            **_ids(),
            vocab_size=len(vocab),
            max_position_embeddings=64,
        )
        model = GitForCausalLM(config)
        image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
        processor = GitProcessor(image_processor=image_processor, tokenizer=tokenizer)
    model.generation_config.max_new_tokens = 20
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return str(out_dir)
