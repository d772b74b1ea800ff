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
    *("a", "an", "the", "of", "in", "on", "with", "and", "photo", "picture", "."),
    *("woman", "man", "cat", "dog", "red", "blue", "green", "black", "white", "dress", "shirt"),
    *("shoe", "shoes", "bag", "table", "chair", "sitting", "standing", "wearing", "holding"),
)
_BASE_VOCAB_SIZE = 30524
"""BLIP-base's vocabulary size: the benchmark pads the WordPiece list to it so the output
layer, and thus generation cost, matches the real model."""


def _vocab(size: int | None) -> dict[str, int]:
    tokens = [*_SPECIALS, *_WORDS]
    if size is not None:
        tokens += [f"[unused{i}]" for i in range(size - len(tokens))]
    return {tok: i for i, tok in enumerate(tokens)}


def _ids() -> dict[str, Any]:
    return {"pad_token_id": 0, "bos_token_id": 2, "sep_token_id": 3, "eos_token_id": 3}


_SMALL: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
}


def _blip(tokenizer: Any, vocab_size: int, tiny: bool) -> tuple[Any, Any]:
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    image_size = 32 if tiny else 384
    vision: dict[str, Any] = {**_SMALL, "image_size": 32, "patch_size": 8} if tiny else {"image_size": 384}
    text: dict[str, Any] = {**_SMALL, "encoder_hidden_size": 32} if tiny else {}
    config = BlipConfig(
        text_config={**text, **_ids(), "vocab_size": vocab_size, "max_position_embeddings": 64},
        vision_config=vision,
    )
    image_processor = BlipImageProcessor(size={"height": image_size, "width": image_size})
    processor = BlipProcessor(image_processor=image_processor, tokenizer=tokenizer)  # type: ignore[no-untyped-call]
    return BlipForConditionalGeneration(config), processor


def _git(tokenizer: Any, vocab_size: int) -> tuple[Any, Any]:
    from transformers import CLIPImageProcessor, GitConfig, GitForCausalLM, GitProcessor

    kwargs: dict[str, Any] = {**_SMALL, **_ids(), "vocab_size": vocab_size, "max_position_embeddings": 64}
    config = GitConfig(vision_config={**_SMALL, "image_size": 32, "patch_size": 8}, **kwargs)
    image_processor = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = GitProcessor(image_processor=image_processor, tokenizer=tokenizer)  # type: ignore[no-untyped-call]
    return GitForCausalLM(config), processor


def save_random_captioner(
    out_dir: Path, *, kind: Literal["blip", "git"] = "blip", tiny: bool = True, seed: int = 0
) -> str:
    """Save a random BLIP (``BlipForConditionalGeneration``) or GIT (``GitForCausalLM``) with its
    processor into ``out_dir`` and return the directory. ``tiny=False`` gives BLIP-base's shape
    (ViT-B/16 at 384 px, 12-layer BERT decoder) for benchmarks; GIT is tiny only."""
    from transformers import BertTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    vocab = _vocab(None if tiny else _BASE_VOCAB_SIZE)
    tokenizer = BertTokenizer(vocab=vocab, model_max_length=64)
    torch.manual_seed(seed)
    model: Any
    processor: Any
    if kind == "blip":
        model, processor = _blip(tokenizer, len(vocab), tiny)
    elif tiny:
        model, processor = _git(tokenizer, len(vocab))
    else:
        raise ValueError("only a tiny random GIT is provided")
    model.generation_config.max_new_tokens = 20
    model.save_pretrained(out_dir)
    processor.save_pretrained(out_dir)
    return str(out_dir)
