"""The model files the settings name, checked before anything loads.

Loading a model imports torch and open_clip (seconds) before the loader looks for its files, so a
mistyped ``--model local-dir:...`` or ``--pretrained`` path used to be answered after 10-30 s.
:func:`model_files_problem` looks only at the paths, in milliseconds; the loader still decides
everything else (a named model missing from the cache, a corrupt checkpoint).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["model_files_problem"]

_LOCAL_DIR = "local-dir:"
_OPEN_CLIP_CONFIG = "open_clip_config.json"
_WEIGHT_SUFFIXES = frozenset({".pt", ".pth", ".bin", ".safetensors", ".ckpt"})
_PATH_PREFIXES = ("/", "./", "../", "~")
"""How a path is told from a name: a hub id (``openai/clip-vit-base-patch32``) has a slash too."""


def _looks_like_path(value: str) -> bool:
    return value.startswith(_PATH_PREFIXES)


def model_files_problem(model: str, pretrained: str) -> str | None:
    """Why the files ``model`` / ``pretrained`` name cannot be loaded (a folder or file that is
    not there, a ``local-dir`` without its config), or ``None`` when the paths are there or the
    settings name no local file (a model name, a pretrained tag, a hub id)."""
    if model.startswith(_LOCAL_DIR):
        folder = Path(model[len(_LOCAL_DIR) :]).expanduser()
        if not folder.is_dir():
            return f"--model {model}: no such folder: {folder}"
        if not (folder / _OPEN_CLIP_CONFIG).is_file():
            return f"--model {model}: no {_OPEN_CLIP_CONFIG} in {folder}"
    elif (_looks_like_path(model) or model.endswith(".json")) and not Path(model).expanduser().exists():
        return f"--model {model}: no such file or folder"
    weights = Path(pretrained).expanduser()
    if (
        pretrained
        and (_looks_like_path(pretrained) or weights.suffix in _WEIGHT_SUFFIXES)
        and not weights.is_file()
    ):
        return f"--pretrained {pretrained}: no such file"
    return None
