"""What to do next when a command cannot get a model: the ways out, with the models already on
this machine (``grounded demo`` saves one under ``<data dir>/models``) named as flags."""

from __future__ import annotations

import argparse
from pathlib import Path

from plugin.settings import PluginSettings
from vectorizer_service import RANDOM_WEIGHTS_FILE

__all__ = ["model_hint"]

_OPEN_CLIP_CONFIG = "open_clip_config.json"
_WEIGHTS = "open_clip_model.safetensors"
_RANDOM_PREFIX = "random-"
"""``grounded demo`` saves its random-weight model as ``<data dir>/models/random-<arch>``."""
_MAX_LISTED = 3


def _saved_models(data_dir: Path) -> list[tuple[Path, str]]:
    """Models under ``<data_dir>/models`` and the flags that load each."""
    models = data_dir / "models"
    if not models.is_dir():
        return []
    found = []
    for folder in sorted(models.iterdir()):
        if (folder / _OPEN_CLIP_CONFIG).is_file():
            found.append((folder, f"--model local-dir:{folder} --pretrained ''"))
        elif folder.name.startswith(_RANDOM_PREFIX) and (folder / _WEIGHTS).is_file():
            arch = folder.name[len(_RANDOM_PREFIX) :]
            found.append((folder, f"--model {arch} --pretrained {folder / _WEIGHTS}"))
    return found


def model_hint(args: argparse.Namespace) -> str:
    """How to go on without the configured weights, as the end of the error's one line."""
    data_dir = getattr(args, "data_dir", None) or PluginSettings().data_dir  # type: ignore[call-arg]  # pydantic-settings fills defaults
    ways = []
    for folder, flags in _saved_models(Path(data_dir))[:_MAX_LISTED]:
        random = folder.name.startswith(_RANDOM_PREFIX) or (folder / RANDOM_WEIGHTS_FILE).is_file()
        note = " (random weights: rankings are meaningless)" if random else ""
        ways.append(f"use the model saved in {folder}{note}: {flags}")
    ways.append("make a random-weight model for a dry run: `grounded models init-random --out DIR`")
    return "Ways out: " + "; or ".join(ways) + "."
