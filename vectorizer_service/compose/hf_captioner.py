"""Captioning with a transformers image-to-text model (BLIP, GIT, BLIP-2, ViT-GPT2...).

Any checkpoint that ``AutoModelForImageTextToText`` knows loads by hub id or from a local
``save_pretrained`` directory, together with its ``AutoProcessor``. Captions are free text
(``"a woman in a red dress"``), so the fusion uses them as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from PIL import Image

from schemas.errors import ModelUnavailableError
from vectorizer_service.compose.protocols import Caption
from vectorizer_service.runtime.hub import OFFLINE_HINT, HubAccess
from vectorizer_service.runtime.loader import is_offline, resolve_device, resolve_dtype
from vectorizer_service.settings import ServiceSettings

log = logging.getLogger(__name__)

MAX_NEW_TOKENS = 30
"""Captions are one short sentence; longer generation only costs latency."""


class TransformersCaptioner:
    """A :class:`Captioner` over a transformers image-to-text model (greedy decoding)."""

    def __init__(
        self, model: Any, processor: Any, *, name: str, device: torch.device, dtype: torch.dtype
    ) -> None:
        self._model = model
        self._processor = processor
        self._name = name
        self._device = device
        self._dtype = dtype

    @property
    def name(self) -> str:
        return f"transformers:{self._name}"

    @torch.inference_mode()
    def caption(self, images: Sequence[Image.Image]) -> list[Caption]:
        """One caption per image, generated as one batch."""
        if not images:
            return []
        inputs = self._processor(images=[im.convert("RGB") for im in images], return_tensors="pt")
        inputs = {
            k: v.to(self._device, dtype=self._dtype) if v.is_floating_point() else v.to(self._device)
            for k, v in inputs.items()
        }
        # Greedy and short: deterministic captions and predictable latency.
        ids = self._model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, num_beams=1, do_sample=False)
        texts = self._processor.batch_decode(ids, skip_special_tokens=True)
        return [Caption(text=" ".join(str(t).split())) for t in texts]


def load_transformers_captioner(settings: ServiceSettings) -> TransformersCaptioner:
    """Load ``settings.caption_model`` (hub id or local directory) on the service's device.

    Offline (``settings.offline`` or ``HF_HUB_OFFLINE``), or when a hub id is given and the hub
    cannot be reached, only local files are used. Raises
    :class:`ModelUnavailableError` naming the model and the setting when it cannot be loaded.
    """
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model_id = settings.caption_model
    path = Path(model_id).expanduser()
    is_local = path.is_dir()
    if not is_local and (model_id.startswith(("/", ".", "~")) or model_id.count("/") > 1):
        raise ModelUnavailableError(
            f"caption model directory {model_id!r} not found "
            "(settings.caption_model / GROUNDED_CAPTION_MODEL)"
        )
    device = resolve_device(settings.device)
    dtype = resolve_dtype(settings.precision, device)
    source = str(path) if is_local else model_id
    offline_reason = None if is_local else HubAccess(offline=is_offline(settings)).offline_reason
    local_only = is_local or offline_reason is not None
    try:
        processor = AutoProcessor.from_pretrained(source, local_files_only=local_only)  # type: ignore[no-untyped-call]
        model = AutoModelForImageTextToText.from_pretrained(source, dtype=dtype, local_files_only=local_only)
    except (OSError, ValueError, KeyError) as exc:
        problem = (
            f"is not in the local Hugging Face cache and {offline_reason}"
            if offline_reason is not None
            else f"cannot be loaded ({str(exc).strip().rstrip('.')})"
        )
        raise ModelUnavailableError(
            f"caption model {model_id!r} {problem}; set settings.caption_model (GROUNDED_CAPTION_MODEL) "
            f"to a local save_pretrained directory, {OFFLINE_HINT}"
        ) from exc
    model = model.to(device).eval()  # type: ignore[arg-type]  # transformers' .to() stub is wrong
    log.info("captioner: %s (%s) on %s", model_id, type(model).__name__, device)
    return TransformersCaptioner(model, processor, name=model_id, device=device, dtype=dtype)
