"""Load the configured embedding model once, at startup; never during a request.

Device ``auto`` picks CUDA when available; precision ``auto`` is fp16 on CUDA and fp32 on CPU.
Offline (``settings.offline`` or ``HF_HUB_OFFLINE=1``) nothing touches the network: weights must
be local files or already in the Hugging Face cache, and a missing one fails startup with one
message naming the model and how to supply it. Online, a load that needs the hub probes it once
first (:mod:`~vectorizer_service.runtime.hub`); an unreachable hub counts as offline for that
load, so a machine without internet fails in seconds instead of retrying for a minute.

torch is imported only for the torch backends: ``--backend onnx`` loads without it.

Weights from a folder marked ``RANDOM_WEIGHTS`` (:mod:`~vectorizer_service.runtime.random_marker`)
load as any other, with one warning: the service's startup log and every CLI command that loads
the model in-process (``grounded search``, ``ingest``, ``demo``...) say its rankings are meaningless.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from schemas.errors import ModelUnavailableError
from vectorizer_service.runtime import _open_clip_sources as sources
from vectorizer_service.runtime.folder_identity import file_sha256, weights_sha256
from vectorizer_service.runtime.hub import OFFLINE_HINT, HubAccess
from vectorizer_service.runtime.protocol import Embedder
from vectorizer_service.runtime.random_marker import random_weights_warning
from vectorizer_service.settings import ServiceSettings

if TYPE_CHECKING:
    import torch

    from vectorizer_service.runtime.pic2word import Pic2WordMapper

__all__ = ["is_offline", "load_embedder", "resolve_device", "resolve_dtype"]

log = logging.getLogger(__name__)


def resolve_device(device: str) -> torch.device:
    """``auto`` is the first CUDA device when there is one, else the CPU."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ModelUnavailableError(
            f"device {device!r} requested but CUDA is not available; use --device cpu"
        )
    return resolved


def resolve_dtype(precision: str, device: torch.device) -> torch.dtype:
    """``auto`` is fp16 on CUDA (half the memory, tensor cores) and fp32 on CPU (where fp16
    matmuls are slow or unsupported)."""
    import torch

    if precision == "auto":
        return torch.float16 if device.type == "cuda" else torch.float32
    if precision == "fp16" and device.type == "cpu":
        raise ModelUnavailableError("precision fp16 needs a CUDA device; use --precision fp32 on CPU")
    return torch.float16 if precision == "fp16" else torch.float32


def is_offline(settings: ServiceSettings) -> bool:
    """Offline when the settings say so or the Hugging Face hub is switched off (HF_HUB_OFFLINE)."""
    from huggingface_hub import constants

    return settings.offline or bool(constants.HF_HUB_OFFLINE)


def load_embedder(settings: ServiceSettings) -> Embedder:
    """Load the model named by ``settings`` with its preprocessing and tokenizer, in eval mode.

    Raises :class:`~schemas.errors.ModelUnavailableError` when the weights cannot be found or
    loaded; the message names the model and how to supply it.
    """
    embedder = _load(settings)
    random = random_weights_warning(settings.model, settings.pretrained)
    if random is not None:
        log.warning(random)
    return embedder


def _load(settings: ServiceSettings) -> Embedder:
    if settings.backend == "onnx" or _is_onnx_export(settings.model):
        # A folder written by `grounded models export-onnx` is served without torch whatever
        # --backend says: the export is the same model, faster to load and to run on a CPU.
        from vectorizer_service.runtime.onnx_backend import load_onnx_embedder

        return load_onnx_embedder(settings)
    import torch

    if settings.torch_threads is not None:
        torch.set_num_threads(settings.torch_threads)
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.precision, device)
    hub = HubAccess(offline=is_offline(settings))
    log.info("loading %s model %s on %s (%s)", settings.backend, settings.model, device, dtype)
    if settings.backend == "open_clip":
        return _load_open_clip(settings, device, dtype, hub)
    return _load_transformers(settings, device, dtype, hub)


def _load_open_clip(
    settings: ServiceSettings, device: torch.device, dtype: torch.dtype, hub: HubAccess
) -> Embedder:
    import open_clip
    import torch

    from vectorizer_service.runtime.open_clip_backend import OpenClipEmbedder

    source = sources.resolve(settings.model, settings.pretrained, hub=hub)
    precision = "fp16" if dtype == torch.float16 else "fp32"
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            source.model_name,
            pretrained=source.pretrained or None,
            device=device,
            precision=precision,
            force_quick_gelu=source.force_quick_gelu,
            **source.preprocess_kwargs,
        )
        tokenizer = open_clip.get_tokenizer(source.model_name)
    except (OSError, RuntimeError, ValueError, KeyError) as exc:
        raise ModelUnavailableError(
            f"cannot load open_clip model {settings.model!r} (pretrained {settings.pretrained!r}): "
            f"{exc}. {sources.HOW_TO_SUPPLY}"
        ) from exc
    model.eval()
    mapper, no_mapper = _pic2word_mapper(settings.model)
    return OpenClipEmbedder(
        model,
        preprocess,  # type: ignore[arg-type]  # open_clip's transforms are untyped callables
        tokenizer,
        name=settings.model,
        # A local-dir or hub model carries its own weights: the --pretrained tag does not apply.
        pretrained=settings.pretrained if source.pretrained else "",
        device=device,
        dtype=dtype,
        trim_text=settings.trim_text,
        mapper=mapper,
        no_mapper=no_mapper,
        weights_sha256=_local_weights_sha256(settings),
    )


def _local_weights_sha256(settings: ServiceSettings) -> str:
    """The hash of a model folder's (or a checkpoint file's) weights; empty for a hub model.

    A folder retrained in place keeps its name, and so its ``vector_space``: the hash is what
    tells a store built with the old weights from a query with the new ones."""
    folder = Path(settings.model.removeprefix("local-dir:")).expanduser()
    if folder.is_dir():
        return weights_sha256(folder) or ""
    checkpoint = Path(settings.pretrained).expanduser() if settings.pretrained else None
    return file_sha256(checkpoint) if checkpoint is not None and checkpoint.is_file() else ""


def _pic2word_mapper(model: str) -> tuple[Pic2WordMapper | None, str]:
    """The Pic2Word mapper saved in the model folder, if any, and else why there is none."""
    from vectorizer_service.runtime.pic2word import PIC2WORD_WEIGHTS_FILE, load_pic2word_mapper

    folder = Path(model.removeprefix("local-dir:")).expanduser()
    if not folder.is_dir():
        return None, (
            f"no Pic2Word mapper: the model {model!r} is not a model folder, and a mapper lives in one "
            f"({PIC2WORD_WEIGHTS_FILE} beside open_clip_config.json); train it with "
            "`grounded train-pic2word CATALOG --model FOLDER`"
        )
    try:
        mapper = load_pic2word_mapper(folder)
    except ModelUnavailableError as exc:
        # Unreadable, or trained for other weights: `auto` falls back to the method without a
        # mapper (said here), an explicit `pic2word` refuses to start with this reason.
        log.warning("%s", exc)
        return None, str(exc)
    if mapper is not None:
        log.info("Pic2Word mapper loaded from %s", folder / PIC2WORD_WEIGHTS_FILE)
    return mapper, (
        f"no Pic2Word mapper loaded: expected {folder / PIC2WORD_WEIGHTS_FILE}; train it with "
        f"`grounded train-pic2word CATALOG --model {folder}`"
    )


_HOW_TO_SUPPLY_HF = (
    f"Pass a local save_pretrained directory (--model /models/clip-vit-base-patch32), {OFFLINE_HINT}."
)


def _load_transformers(
    settings: ServiceSettings, device: torch.device, dtype: torch.dtype, hub: HubAccess
) -> Embedder:
    from transformers import AutoConfig, AutoModel, AutoProcessor

    from vectorizer_service.runtime.transformers_backend import SUPPORTED_MODEL_TYPES, TransformersEmbedder

    model_id = settings.model
    is_local = Path(model_id).expanduser().is_dir()
    if not is_local and _looks_like_path(model_id):
        raise ModelUnavailableError(
            f"transformers model directory {model_id!r} not found. {_HOW_TO_SUPPLY_HF}"
        )
    source = str(Path(model_id).expanduser()) if is_local else model_id
    offline_reason = None if is_local else hub.offline_reason
    kwargs: dict[str, Any] = {"local_files_only": is_local or offline_reason is not None}
    try:
        config = AutoConfig.from_pretrained(source, **kwargs)
        if config.model_type not in SUPPORTED_MODEL_TYPES:
            raise ModelUnavailableError(
                f"transformers model {model_id!r} is a {config.model_type!r} model; "
                f"supported: {', '.join(SUPPORTED_MODEL_TYPES)} (CLIPModel, SiglipModel)"
            )
        model = AutoModel.from_pretrained(source, dtype=dtype, **kwargs)
        processor = AutoProcessor.from_pretrained(source, **kwargs)  # type: ignore[no-untyped-call]
    except (OSError, ValueError, KeyError) as exc:
        if offline_reason is not None:
            problem = f"is not in the local Hugging Face cache and {offline_reason}"
        else:
            problem = f"cannot be loaded ({str(exc).strip().rstrip('.')})"
        raise ModelUnavailableError(
            f"transformers model {model_id!r} {problem}. {_HOW_TO_SUPPLY_HF}"
        ) from exc
    model.to(device).eval()
    return TransformersEmbedder(
        model, processor, name=model_id, device=device, dtype=dtype, trim_text=settings.trim_text
    )


def _is_onnx_export(model: str) -> bool:
    from vectorizer_service.runtime.onnx_manifest import MANIFEST_FILE

    return (Path(model).expanduser() / MANIFEST_FILE).is_file()


def _looks_like_path(value: str) -> bool:
    # Hub ids are "org/name"; anything absolute, relative or deeper is meant as a directory.
    return value.startswith(("/", "./", "../", "~")) or value.count("/") > 1
