"""Load the composed-query stage models once, at service start."""

from __future__ import annotations

import logging
from pathlib import Path

from schemas.errors import ModelUnavailableError
from vectorizer_service.compose.protocols import BackgroundRemover, Captioner
from vectorizer_service.runtime.protocol import Embedder
from vectorizer_service.settings import ServiceSettings

log = logging.getLogger(__name__)


def load_captioner(settings: ServiceSettings, embedder: Embedder) -> Captioner | None:
    """The captioner ``settings.captioner`` names: the attribute captioner (reusing the
    embedder, with ``settings.vocabulary``), a transformers model, or none.

    The attribute captioner reads its probabilities at ``settings.caption_logit_scale``, else
    at the temperature the model learned (open_clip and transformers checkpoints carry one),
    else at the vocabulary's ``logit_scale``: a fixed CLIP-sized 100 on a model trained to 19
    makes every pick look certain, and no threshold could then tell sure from unsure.

    When the model folder carries a trained attribute head (``attribute_head.safetensors``,
    ``grounded train-attributes``) for this vocabulary and ``settings.attribute_head`` is on, its
    probes replace the zero-shot prompts for what they cover; otherwise the captioner is
    zero-shot, as without one (a head for another vocabulary is logged and left unused)."""
    if settings.captioner == "none":
        return None
    if settings.captioner == "transformers":
        from vectorizer_service.compose.hf_captioner import load_transformers_captioner

        return load_transformers_captioner(settings)
    from vectorizer_service.compose.attribute_head import load_attribute_head
    from vectorizer_service.compose.attributes import AttributeCaptioner, ConfidenceFloor
    from vectorizer_service.compose.prompt_cache import default_cache_dir
    from vectorizer_service.compose.vocab import load_vocabulary, vocabulary_path

    vocabulary = load_vocabulary(vocabulary_path(settings))
    head = None
    folder = Path(settings.model).expanduser()
    if settings.attribute_head and settings.model and folder.is_dir():
        head, why = load_attribute_head(folder, vocabulary)
        log.info("attribute captioner: %s", "attribute head" if head is not None else f"zero-shot ({why})")
    return AttributeCaptioner(
        embedder,
        vocabulary,
        cache_dir=default_cache_dir(settings.cache_dir),
        floor=ConfidenceFloor(settings.caption_min_probability, settings.caption_min_margin),
        logit_scale=settings.caption_logit_scale or getattr(embedder, "logit_scale", None),
        head=head,
    )


def load_stage_models(
    settings: ServiceSettings, embedder: Embedder
) -> tuple[BackgroundRemover | None, Captioner | None]:
    """Build the background remover (rembg ``settings.rembg_model`` from
    ``settings.u2net_home``, never downloaded) and the captioner.

    Raises :class:`~schemas.errors.ModelUnavailableError` when a configured model is missing,
    except for the remover when background removal is off by default
    (``remove_background=False``): then the stage is just unavailable to requests.
    """
    from vectorizer_service.compose.remover import load_remover

    remover: BackgroundRemover | None
    try:
        remover = load_remover(settings)
    except ModelUnavailableError as exc:
        if settings.remove_background:
            raise ModelUnavailableError(exc.message, stage="background removal") from exc
        log.warning("background removal unavailable: %s", exc.message)
        remover = None
    try:
        captioner = load_captioner(settings, embedder)
    except ModelUnavailableError as exc:
        raise ModelUnavailableError(exc.message, stage="captioning") from exc
    return remover, captioner
