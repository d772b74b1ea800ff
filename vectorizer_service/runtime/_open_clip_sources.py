"""Where an open_clip model's config and weights come from, resolved before anything loads.

open_clip accepts a built-in architecture name with a pretrained tag or checkpoint file,
``hf-hub:org/repo`` and ``local-dir:/path``. Left alone it downloads whatever it lacks, and
for a bare architecture name without weights it silently builds a random model. Resolving the
source here first lets us refuse both offline and fail with one message that says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.errors import ModelUnavailableError
from vectorizer_service.runtime.hub import OFFLINE_HINT, HubAccess

HOW_TO_SUPPLY = (
    "Supply the weights locally: --model <arch> --pretrained /path/to/checkpoint.pt "
    "(.pt/.bin/.safetensors), or --model local-dir:/path/to/dir holding open_clip_config.json "
    f"and the weights, {OFFLINE_HINT}."
)
_HF_HUB = "hf-hub:"
_LOCAL_DIR = "local-dir:"
_CONFIG_FILE = "open_clip_config.json"
# Pretrained-tag preprocessing fields -> create_model_and_transforms keyword arguments.
_PREPROCESS_ARGS = {
    "mean": "image_mean",
    "std": "image_std",
    "interpolation": "image_interpolation",
    "resize_mode": "image_resize_mode",
}
_CHECKPOINT_SUFFIXES = (".pt", ".pth", ".bin", ".safetensors", ".npz")


@dataclass(frozen=True)
class OpenClipSource:
    """Arguments for ``open_clip.create_model_and_transforms`` and ``get_tokenizer``."""

    model_name: str
    pretrained: str = ""
    force_quick_gelu: bool = False
    preprocess_kwargs: dict[str, Any] = field(default_factory=dict)


def resolve(model: str, pretrained: str, *, hub: HubAccess) -> OpenClipSource:
    """Resolve ``--model`` / ``--pretrained`` to local files where needed.

    ``hub`` is asked only when the weights would come from the hub: offline or unreachable,
    only the local cache is used.

    ``model`` may also be a plain directory in the ``local-dir`` layout, or a JSON architecture
    config file (registered under its file stem) used with a ``--pretrained`` checkpoint.
    """
    if model.startswith(_HF_HUB):
        return _resolve_hub(model, hub=hub)
    if model.startswith(_LOCAL_DIR):
        return _resolve_local_dir(model, Path(model[len(_LOCAL_DIR) :]).expanduser())
    as_path = Path(model).expanduser()
    if as_path.is_dir():
        return _resolve_local_dir(model, as_path)
    if as_path.suffix == ".json":
        if not as_path.is_file():
            raise ModelUnavailableError(f"open_clip architecture config {model!r} not found. {HOW_TO_SUPPLY}")
        import open_clip

        open_clip.add_model_config(as_path)
        model = as_path.stem
    return _resolve_named(model, pretrained, hub=hub)


def resolve_open_clip_source(model: str, pretrained: str, *, offline: bool) -> OpenClipSource:
    """:func:`resolve` for callers outside the runtime (training builds its starting model from
    the same sources serving loads): ``offline`` refuses the hub, as ``--offline`` does."""
    return resolve(model, pretrained, hub=HubAccess(offline=offline))


def _resolve_hub(model: str, *, hub: HubAccess) -> OpenClipSource:
    offline_reason = hub.offline_reason
    if offline_reason is None:
        return OpenClipSource(model)  # open_clip downloads config and weights at startup
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    repo_id = model[len(_HF_HUB) :]
    try:
        snapshot = snapshot_download(repo_id, local_files_only=True)
    except LocalEntryNotFoundError as exc:
        raise ModelUnavailableError(
            f"open_clip model {model!r} is not in the local Hugging Face cache and {offline_reason}. "
            f"{HOW_TO_SUPPLY}"
        ) from exc
    return _resolve_local_dir(model, Path(snapshot))


def _resolve_local_dir(model: str, directory: Path) -> OpenClipSource:
    if not (directory / _CONFIG_FILE).is_file():
        raise ModelUnavailableError(
            f"open_clip model {model!r}: no {_CONFIG_FILE} in {directory}. {HOW_TO_SUPPLY}"
        )
    return OpenClipSource(f"{_LOCAL_DIR}{directory}")


def _resolve_named(model: str, pretrained: str, *, hub: HubAccess) -> OpenClipSource:
    import open_clip

    config = open_clip.get_model_config(model)
    if config is None:
        raise ModelUnavailableError(
            f"unknown open_clip model {model!r}; see open_clip.list_models(), or use hf-hub:/local-dir:. "
            f"{HOW_TO_SUPPLY}"
        )
    if not pretrained:
        # open_clip would build a randomly initialised model; serving that is never intended.
        raise ModelUnavailableError(f"open_clip model {model!r} has no weights: {HOW_TO_SUPPLY}")
    checkpoint = Path(pretrained).expanduser()
    if checkpoint.is_file():
        return OpenClipSource(model, str(checkpoint))
    if checkpoint.suffix in _CHECKPOINT_SUFFIXES or os.sep in pretrained:
        raise ModelUnavailableError(
            f"open_clip model {model!r}: checkpoint file {pretrained!r} not found. {HOW_TO_SUPPLY}"
        )

    tag = open_clip.get_pretrained_cfg(model, pretrained)
    if not tag:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(model)) or "none"
        raise ModelUnavailableError(
            f"open_clip model {model!r} has no pretrained tag {pretrained!r} (known: {known}). "
            f"{HOW_TO_SUPPLY}"
        )
    # open_clip only warns when a tag was trained with QuickGELU but the architecture name lacks
    # "-quickgelu" (e.g. ViT-B-32 + openai); the vectors are then subtly wrong, so follow the tag.
    force_quick_gelu = bool(tag.get("quick_gelu", False)) and not config.get("quick_gelu", False)
    preprocess = {arg: tag[key] for key, arg in _PREPROCESS_ARGS.items() if key in tag}
    offline_reason = hub.offline_reason
    if offline_reason is None:
        return OpenClipSource(model, pretrained, force_quick_gelu, preprocess)
    cached = _cached_tag_file(tag)
    if cached is None:
        raise ModelUnavailableError(
            f"open_clip model {model!r} with pretrained {pretrained!r} is not in the local cache and "
            f"{offline_reason}. {HOW_TO_SUPPLY}"
        )
    return OpenClipSource(model, cached, force_quick_gelu, preprocess)


def _cached_tag_file(tag: dict[str, Any]) -> str | None:
    """The already-downloaded checkpoint of a pretrained tag, looked up without the network."""
    if tag.get("file"):
        return str(tag["file"]) if Path(tag["file"]).is_file() else None
    hub = str(tag.get("hf_hub", ""))
    if hub:
        from huggingface_hub import try_to_load_from_cache

        repo_id, filename = os.path.split(hub)
        filename = filename or "open_clip_pytorch_model.bin"
        candidates = [filename[: -len(Path(filename).suffix)] + ".safetensors", filename]
        if filename == "open_clip_pytorch_model.bin":
            candidates.insert(0, "open_clip_model.safetensors")
        for candidate in candidates:
            found = try_to_load_from_cache(repo_id, candidate)
            if isinstance(found, str):
                return found
    url = str(tag.get("url", ""))
    if url:
        # Where open_clip's URL downloader keeps its files.
        path = Path("~/.cache/clip").expanduser() / os.path.basename(url)
        if path.is_file():
            return str(path)
    return None
