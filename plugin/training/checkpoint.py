"""What a training run writes: the servable model, the resumable state, and the card.

``<out>/open_clip_config.json`` + ``<out>/open_clip_model.safetensors`` is open_clip's own
``local-dir`` (and Hugging Face hub) layout, so ``grounded serve --model <out>`` loads it with
no conversion; for a built-in architecture the weights file alone also loads as
``--model ViT-B-32 --pretrained <out>/open_clip_model.safetensors``. ``train-state.pt`` holds
what resuming needs (fp32 weights, optimizer, schedule, step) and is not needed to serve.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from schemas.errors import InvalidInputError
from vectorizer_service import RANDOM_WEIGHTS_FILE

__all__ = [
    "CARD_NAME",
    "CONFIG_NAME",
    "SAVE_DTYPES",
    "STATE_NAME",
    "WEIGHTS_NAME",
    "load_train_state",
    "save_model",
    "save_train_state",
    "write_card",
]

CONFIG_NAME = "open_clip_config.json"
WEIGHTS_NAME = "open_clip_model.safetensors"
STATE_NAME = "train-state.pt"
CARD_NAME = "card.json"
SAVE_DTYPES = {"fp32": torch.float32, "fp16": torch.float16}


def _replace(tmp: Path, final: Path) -> None:
    # Written beside the target, then renamed: an interrupted save never leaves a torn file.
    # safetensors writes owner-only files; a model meant to be shipped gets the usual mode.
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o666 & ~umask)
    os.replace(tmp, final)


def save_model(
    out: Path,
    model: torch.nn.Module,
    model_cfg: dict[str, Any],
    preprocess_cfg: dict[str, Any],
    *,
    save_dtype: str = "fp32",
) -> Path:
    """Write the model in the ``local-dir`` layout; floating tensors cast to ``save_dtype``."""
    from safetensors.torch import save_file

    dtype = SAVE_DTYPES[save_dtype]
    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        key: (value.detach().to(dtype) if value.is_floating_point() else value.detach()).cpu().contiguous()
        for key, value in model.state_dict().items()
    }
    # safetensors refuses tensors sharing storage; clones make each its own.
    tensors = {key: value.clone() for key, value in tensors.items()}
    weights = out / WEIGHTS_NAME
    save_file(tensors, str(weights.with_suffix(".tmp")))
    _replace(weights.with_suffix(".tmp"), weights)
    config = {"model_cfg": model_cfg, "preprocess_cfg": preprocess_cfg}
    (out / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    # Trained over a folder of random weights (`grounded models init-random --out` reused as
    # --out): these weights are trained now, so the loader must stop warning about them.
    (out / RANDOM_WEIGHTS_FILE).unlink(missing_ok=True)
    return weights


def save_train_state(out: Path, state: dict[str, Any], name: str = STATE_NAME) -> Path:
    """Write the resumable state (a dict of tensors, numbers and plain data) atomically."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    _replace(tmp, path)
    return path


def load_train_state(out: Path, name: str = STATE_NAME) -> dict[str, Any]:
    """The state :func:`save_train_state` wrote into ``out``; an error names a missing file."""
    path = out / name
    if not path.is_file():
        raise InvalidInputError(f"--resume: no {name} in {out} (nothing to resume)")
    # Our own file: weights_only would refuse the plain-data dicts (options, RNG states) it holds.
    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    return state


def write_card(out: Path, card: dict[str, Any]) -> Path:
    """Write ``card.json``: data, config, metrics and provenance of the run."""
    path = out / CARD_NAME
    path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return path
