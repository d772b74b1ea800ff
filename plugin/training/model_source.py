"""The open_clip model a training run starts from, and the config it is saved with.

``--model`` takes the same values ``grounded serve`` does, resolved by the service's own
resolver so that a name means the same thing to both: a built-in architecture with
``--pretrained TAG|FILE`` (fine-tune), a local directory in open_clip's ``local-dir`` layout
(fine-tune a checkpoint we or the hub wrote), or a JSON architecture file. A JSON file without
``--pretrained`` is the one case serving refuses and training wants: a model from scratch.
"""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from schemas.errors import InvalidInputError, ModelUnavailableError

# The service's resolver, shared on purpose: one meaning of --model/--pretrained for serving
# and training, including its offline checks and QuickGELU fix-up.
from vectorizer_service import resolve_open_clip_source

__all__ = ["StartingModel", "load_starting_model"]


class _ExpectedRandomInit(logging.Filter):
    """Drops open_clip's "initialized randomly" warning: from scratch, that is the point."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "initialized randomly" not in record.getMessage()


@dataclass
class StartingModel:
    """A freshly built open_clip model (train mode, CPU, fp32) and what saving it needs."""

    model: Any
    preprocess: Callable[[Any], torch.Tensor]
    """The model's evaluation preprocessing: what serving applies."""
    tokenizer: Callable[[list[str]], torch.Tensor]
    model_cfg: dict[str, Any]
    preprocess_cfg: dict[str, Any]
    from_scratch: bool

    @property
    def image_size(self) -> int:
        size = self.preprocess_cfg.get("size", 224)
        return int(size[0] if isinstance(size, list | tuple) else size)


def _json_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"--model {path}: not a readable JSON model config ({exc})") from exc
    cfg = data.get("model_cfg", data) if isinstance(data, dict) else None
    if not isinstance(cfg, dict) or "vision_cfg" not in cfg or "text_cfg" not in cfg:
        raise InvalidInputError(
            f"--model {path}: an open_clip model config needs embed_dim, vision_cfg and text_cfg"
        )
    return cfg


def load_starting_model(model: str, pretrained: str, *, offline: bool) -> StartingModel:
    """Build the model named by ``model``/``pretrained`` (see the module docstring)."""
    import open_clip
    from open_clip.model import get_model_preprocess_cfg

    as_path = Path(model).expanduser()
    from_scratch = as_path.suffix == ".json" and not pretrained
    if from_scratch:
        if not as_path.is_file():
            raise InvalidInputError(f"--model {model}: model config file not found")
        model_cfg = _json_config(as_path)
        open_clip.add_model_config(as_path)  # registered under its file stem, as serving does
        name, weights, quick_gelu, extra = as_path.stem, None, False, {}
    else:
        source = resolve_open_clip_source(model, pretrained, offline=offline)
        name, weights = source.model_name, source.pretrained or None
        quick_gelu, extra = source.force_quick_gelu, source.preprocess_kwargs
        found = open_clip.get_model_config(name)
        if found is None:
            raise ModelUnavailableError(f"open_clip model {model!r}: no architecture config found")
        model_cfg = copy.deepcopy(found)
    quiet = _ExpectedRandomInit()
    if from_scratch:
        logging.getLogger().addFilter(quiet)  # open_clip logs through the root logger
    try:
        net, _, preprocess = open_clip.create_model_and_transforms(
            name, pretrained=weights, device="cpu", precision="fp32", force_quick_gelu=quick_gelu, **extra
        )
        tokenizer = open_clip.get_tokenizer(name)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise ModelUnavailableError(f"cannot build open_clip model {model!r}: {exc}") from exc
    finally:
        logging.getLogger().removeFilter(quiet)
    if quick_gelu:
        # Saved with the activation it was trained with, so the output loads right by name alone.
        model_cfg["quick_gelu"] = True
    preprocess_cfg = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in get_model_preprocess_cfg(net).items()
    }
    net.train()
    return StartingModel(net, preprocess, tokenizer, model_cfg, preprocess_cfg, from_scratch)
