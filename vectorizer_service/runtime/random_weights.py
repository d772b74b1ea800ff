"""Randomly initialised models saved in each backend's real on-disk format.

Tests, the demo and the benchmarks need a model without downloading weights. These helpers
build one from a fixed seed and write it exactly the way real weights are shipped, so that
:func:`vectorizer_service.runtime.loader.load_embedder` loads it through the production path.
Each also writes a ``RANDOM_WEIGHTS`` file into the model's folder
(:mod:`~vectorizer_service.runtime.random_marker`), so that loading the model warns that its
rankings are meaningless.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from vectorizer_service.runtime.random_marker import mark_random

__all__ = [
    "OPEN_CLIP_CONFIG_NAME",
    "OPEN_CLIP_WEIGHTS_NAME",
    "TINY_OPEN_CLIP_CONFIG",
    "clip_bpe_vocab_and_merges",
    "save_random_hf_clip",
    "save_random_hf_siglip",
    "save_random_open_clip",
]

OPEN_CLIP_CONFIG_NAME = "open_clip_config.json"
OPEN_CLIP_WEIGHTS_NAME = "open_clip_model.safetensors"
_CLIP_VOCAB_SIZE = 49408
_CLIP_CONTEXT = 77

TINY_OPEN_CLIP_CONFIG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {
        "context_length": _CLIP_CONTEXT,
        "vocab_size": _CLIP_VOCAB_SIZE,
        "width": 32,
        "heads": 2,
        "layers": 2,
    },
}
"""A CLIP-shaped open_clip architecture small enough for tests: 32-d vectors, 2 layers per
tower, 32x32 images, and the real CLIP tokenizer and 77-token context."""


def _seeded(seed: int) -> torch.Generator:
    # Seed the global generator too: model constructors draw from it, not from a passed generator.
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def _save_state_dict(model: torch.nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    # safetensors refuses shared storage; contiguous clones make each tensor its own.
    tensors = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path))


def save_random_open_clip(arch: str | dict[str, Any], out_dir: Path, *, seed: int = 0) -> tuple[str, str]:
    """Save a randomly initialised open_clip model and return ``(model, pretrained)`` settings.

    ``arch`` is a built-in architecture name (e.g. ``"ViT-B-32"``): the weights go to
    ``out_dir/open_clip_model.safetensors`` and the result is ``(arch, <that file>)``, the same
    shape as ``--model ViT-B-32 --pretrained /models/vitb32.safetensors``. Or ``arch`` is a model
    config dict (like :data:`TINY_OPEN_CLIP_CONFIG`): it is saved in the Hugging Face hub layout
    (``open_clip_config.json`` + weights) and the result is ``("local-dir:<out_dir>", "")``.
    """
    import open_clip

    out_dir.mkdir(parents=True, exist_ok=True)
    _seeded(seed)
    weights = out_dir / OPEN_CLIP_WEIGHTS_NAME
    if isinstance(arch, str):
        model = open_clip.create_model(arch, pretrained=None, device="cpu")
        _save_state_dict(model, weights)
        mark_random(out_dir, f"open_clip {arch}, seed {seed}")
        return arch, str(weights)

    config_name = "_grounded_random_arch"
    config_file = out_dir / f"{config_name}.json"
    config_file.write_text(json.dumps(arch, indent=2))
    open_clip.add_model_config(config_file)
    model = open_clip.create_model(config_name, pretrained=None, device="cpu")
    config_file.unlink()
    _save_state_dict(model, weights)
    preprocess = {"mean": list(model.visual.image_mean), "std": list(model.visual.image_std)}
    (out_dir / OPEN_CLIP_CONFIG_NAME).write_text(
        json.dumps({"model_cfg": arch, "preprocess_cfg": preprocess}, indent=2)
    )
    mark_random(out_dir, f"open_clip config, seed {seed}")
    return f"local-dir:{out_dir}", ""


def clip_bpe_vocab_and_merges() -> tuple[dict[str, int], list[str]]:
    """The real CLIP BPE vocabulary and merges, derived from the file open_clip ships.

    OpenAI's CLIP tokenizer and Hugging Face's ``CLIPTokenizer`` use the same 49408-entry
    vocabulary built the same way (byte symbols, their ``</w>`` forms, merges, two specials),
    so the derived ``vocab.json`` / ``merges.txt`` give identical token ids without a download.
    """
    from open_clip.tokenizer import bytes_to_unicode

    bpe = resources.files("open_clip").joinpath("bpe_simple_vocab_16e6.txt.gz")
    with bpe.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        lines = text.read().split("\n")
    # Same slice as open_clip's SimpleTokenizer: skip the header, keep 49152 - 256 - 2 merges.
    merges = lines[1 : 49152 - 256 - 2 + 1]
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {tok: i for i, tok in enumerate(tokens)}
    return vocab, merges


def save_random_hf_clip(out_dir: Path, *, tiny: bool = True, seed: int = 0) -> str:
    """Save a randomly initialised transformers ``CLIPModel`` with its processor; return the dir.

    The directory is what ``save_pretrained`` writes for a real checkpoint (config, safetensors,
    tokenizer and image-processor files), so ``--backend transformers --model <dir>`` loads it.
    ``tiny=False`` uses the ViT-B/32 shape (for benchmarks), ``tiny=True`` a 32-d, 2-layer one.
    """
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    special = {"bos_token_id": 49406, "eos_token_id": 49407, "pad_token_id": 49407}
    if tiny:
        text = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
        vision = {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        }
        projection_dim, image_size = 32, 32
    else:
        text, vision, projection_dim, image_size = {}, {"patch_size": 32}, 512, 224
    config = CLIPConfig(
        text_config={
            **text,
            **special,
            "vocab_size": _CLIP_VOCAB_SIZE,
            "max_position_embeddings": _CLIP_CONTEXT,
        },
        vision_config=vision,
        projection_dim=projection_dim,
    )
    _seeded(seed)
    model = CLIPModel(config)
    model.save_pretrained(out_dir)

    vocab, merges = clip_bpe_vocab_and_merges()
    pairs = [(a, b) for a, b in (m.split() for m in merges)]
    # The tokenizers backend takes merges as pairs; transformers' annotation only names strings.
    tokenizer = CLIPTokenizer(vocab=vocab, merges=pairs, model_max_length=_CLIP_CONTEXT)  # type: ignore[arg-type]
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size}
    )
    processor = CLIPProcessor(image_processor=image_processor, tokenizer=tokenizer)  # type: ignore[no-untyped-call]
    processor.save_pretrained(out_dir)
    mark_random(out_dir, f"transformers CLIPModel, {'tiny' if tiny else 'ViT-B/32 shape'}, seed {seed}")
    return str(out_dir)


_SIGLIP_CORPUS = (
    "a photo of a red leather shoe",
    "blue denim jacket with long sleeves and two chest pockets",
    "women's waterproof hiking boots in brown, size 38",
    "a cat sitting on a wooden chair next to a cup of coffee",
    "an astronaut in a white space suit holding a flag",
)


def save_random_hf_siglip(out_dir: Path, *, seed: int = 0) -> str:
    """Save a tiny randomly initialised transformers ``SiglipModel`` with its processor.

    SigLIP's real tokenizer is a large SentencePiece model that ships only with the weights, so
    a small one is trained here from a fixed corpus (needs the ``sentencepiece`` package). The
    directory has the ``save_pretrained`` layout: ``--backend transformers --model <dir>``.
    """
    import io

    import sentencepiece as spm
    from transformers import SiglipConfig, SiglipImageProcessor, SiglipModel, SiglipProcessor, SiglipTokenizer

    out_dir.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    # One thread and a fixed corpus keep the trained vocabulary byte-identical across runs.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(_SIGLIP_CORPUS * 20),
        model_writer=buffer,
        vocab_size=256,
        hard_vocab_limit=False,
        model_type="unigram",
        pad_id=0,
        eos_id=1,
        unk_id=2,
        bos_id=-1,
        character_coverage=1.0,
        num_threads=1,
        minloglevel=2,
    )
    vocab_file = out_dir / "spiece.model"
    vocab_file.write_bytes(buffer.getvalue())
    context = 16
    tokenizer = SiglipTokenizer(vocab_file=str(vocab_file), model_max_length=context)
    layers = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 2}
    config = SiglipConfig(
        text_config={
            **layers,
            "vocab_size": len(tokenizer),
            "max_position_embeddings": context,
            "pad_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "bos_token_id": None,
        },
        vision_config={**layers, "image_size": 32, "patch_size": 8},
    )
    _seeded(seed)
    SiglipModel(config).save_pretrained(out_dir)
    image_processor = SiglipImageProcessor(size={"height": 32, "width": 32})
    processor = SiglipProcessor(image_processor=image_processor, tokenizer=tokenizer)  # type: ignore[no-untyped-call]
    processor.save_pretrained(out_dir)
    mark_random(out_dir, f"transformers SiglipModel, tiny, seed {seed}")
    return str(out_dir)
