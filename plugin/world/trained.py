"""The model trained here on the product world, shipped in the package (``plugin/world/model``).

It is a small open_clip model trained from scratch by ``grounded train`` on the world's training
catalog (the exact command is in ``card.json``); it loads through the same loader as every other
checkpoint (``--model <dir>``, open_clip's local-dir layout) with the world's vocabulary.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from vectorizer_service import ServiceSettings

__all__ = ["TRAINED_MODEL_DIR", "trained_model_available", "trained_model_card", "trained_model_settings"]

TRAINED_MODEL_DIR = Path(str(resources.files("plugin.world").joinpath("model")))
_WEIGHTS = "open_clip_model.safetensors"
_VOCABULARY = "vocabulary.json"


def trained_model_available(directory: Path = TRAINED_MODEL_DIR) -> bool:
    return (directory / "open_clip_config.json").is_file() and (directory / _WEIGHTS).is_file()


def trained_model_card(directory: Path = TRAINED_MODEL_DIR) -> dict[str, Any]:
    """The training card (data, config, metrics, command), or ``{}`` when there is none."""
    card = directory / "card.json"
    return dict(json.loads(card.read_text(encoding="utf-8"))) if card.is_file() else {}


def trained_model_settings(service: ServiceSettings, directory: Path = TRAINED_MODEL_DIR) -> ServiceSettings:
    """``service`` switched to the world model (open_clip backend, its directory, its vocabulary
    unless one was configured)."""
    update: dict[str, Any] = {"backend": "open_clip", "model": str(directory), "pretrained": ""}
    if service.vocabulary is None and (directory / _VOCABULARY).is_file():
        update["vocabulary"] = directory / _VOCABULARY
    return service.model_copy(update=update)
