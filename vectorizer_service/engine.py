"""The service's core API: embed texts and images, compose queries, describe the model.

Transports (HTTP, gRPC) and the plugin's in-process encoder call only this. It validates input
at the edge (limits, image decoding off the event loop) before anything is queued, then hands
the work to batchers that share one inference thread, so models are never called concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from PIL import Image

from schemas.errors import InvalidInputError, ModelUnavailableError, NotReadyError, item_error
from schemas.version import package_version
from schemas.wire import PIC2WORD_METHODS, ComposeOptions, ComposeResult
from vectorizer_service.admission import Admission, PixelBudget
from vectorizer_service.batching import Batcher, InferenceRunner, gather_all
from vectorizer_service.compose.protocols import BackgroundRemover, Caption, Captioner, ComposeDeps, Cutout
from vectorizer_service.images import SERVICE_DRAFT_SIDE, ImageLimits, decode_image
from vectorizer_service.metrics import ServiceMetrics
from vectorizer_service.runtime.protocol import (
    Embedder,
    ModelInfo,
    PreparedImage,
    PseudoWordEmbedder,
    Vectors,
)
from vectorizer_service.settings import AUTO_FUSION, AUTO_METHOD, ServiceSettings

if TYPE_CHECKING:
    from vectorizer_service.compose.pipeline import ComposePipeline

__all__ = ["EmbedResult", "Engine"]

log = logging.getLogger(__name__)

_Row = np.ndarray[Any, np.dtype[np.float32]]
_WARM_UP_TEXT = "a photo of a product"
_In = TypeVar("_In")
_Out = TypeVar("_Out")


@dataclass(frozen=True)
class EmbedResult:
    """One L2-normalised row per input, in input order; ``(0, dimension)`` when none."""

    text_vectors: Vectors
    image_vectors: Vectors


class Engine:
    """Loads the models once, batches concurrent work, and answers embed / compose calls.

    Components passed in win (tests pass a ``FakeEmbedder``); missing ones are loaded by
    :meth:`start`. ``load_compose_models=False`` keeps the background remover and captioner
    that were passed (possibly none) instead of loading the configured ones.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        embedder: Embedder | None = None,
        remover: BackgroundRemover | None = None,
        captioner: Captioner | None = None,
        *,
        load_compose_models: bool = True,
    ) -> None:
        self.settings = settings
        self.metrics = ServiceMetrics()
        self.image_limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
        self.pixel_budget = PixelBudget(settings.pixel_budget)
        """Decoded pixels held at once, across requests (see :mod:`vectorizer_service.admission`)."""
        self._embedder = embedder
        self._remover = remover
        self._captioner = captioner
        self._load_compose_models = load_compose_models and remover is None and captioner is None
        self._ready = False
        self._runner: InferenceRunner | None = None
        # Background removal runs on its own ONNX Runtime session and thread, so composed
        # queries' cut-outs overlap the embedding model's batches instead of queueing behind them.
        self._remover_runner: InferenceRunner | None = None
        # Decoding releases the GIL; a few threads keep it off the event loop and the model thread.
        self._decoder = ThreadPoolExecutor(
            max_workers=max(2, os.cpu_count() or 1), thread_name_prefix="decode"
        )
        self._texts: Batcher[str, _Row] | None = None
        self._images: Batcher[PreparedImage, _Row] | None = None
        self._cutouts: Batcher[Image.Image, Cutout] | None = None
        self._captions: Batcher[Image.Image, Caption] | None = None
        self._pseudo_words: Batcher[tuple[_Row, str], _Row] | None = None
        self._pipeline: ComposePipeline | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Load missing models on the inference thread, warm them up, start the batchers.
        :attr:`ready` is true afterwards. Raises ``ModelUnavailableError`` when loading fails."""
        if self._ready:
            return
        self._runner = InferenceRunner()
        await self._runner.call(self._load_models)
        await self._runner.call(self._warm_up)
        if self.settings.fusion_method == AUTO_FUSION:
            # The default chosen on val: what the caption is sure of and the change, summed with
            # the image as a pseudo-word when this model has a mapper.
            self.settings = self.settings.model_copy(update={"fusion_method": AUTO_METHOD})
            with_word = "with" if self.pic2word_problem is None else f"without ({self.pic2word_problem})"
            log.info("default fusion method: %s (auto), %s the Pic2Word term", AUTO_METHOD, with_word)
        if self.settings.fusion_method in PIC2WORD_METHODS and self.pic2word_problem is not None:
            raise ModelUnavailableError(
                f"the default fusion method {self.settings.fusion_method} cannot be served: "
                f"{self.pic2word_problem}"
            )
        self._remover_runner = InferenceRunner("background") if self._remover is not None else None
        self._start_batchers(self._runner)
        self._pipeline = self._build_pipeline()
        self._ready = True
        log.info("engine ready: %s", self.info)

    async def stop(self) -> None:
        """Stop the batchers (queued work is cancelled) and release the threads."""
        self._ready = False
        for batcher in (self._texts, self._images, self._cutouts, self._captions, self._pseudo_words):
            if batcher is not None:
                await batcher.stop()
        if self._runner is not None:
            self._runner.shutdown()
            self._runner = None
        if self._remover_runner is not None:
            self._remover_runner.shutdown()
            self._remover_runner = None
        self._decoder.shutdown(wait=False, cancel_futures=True)

    @property
    def ready(self) -> bool:
        """True once the models are loaded and warmed up, until :meth:`stop`."""
        return self._ready

    @property
    def info(self) -> ModelInfo:
        """The embedding model's description; raises ``NotReadyError`` before :meth:`start`."""
        if not self._ready or self._embedder is None:
            raise NotReadyError("the model is still loading")
        info = self._embedder.info
        # The serving code's version, for /meta and GetModelInfo: a client can tell which
        # Grounded answers it (the backends describe the model, not the code around it).
        return info if info.version else info.model_copy(update={"version": package_version()})

    @property
    def pic2word_problem(self) -> str | None:
        """Why the pic2word fusion methods cannot be served here, or None when they can."""
        embedder = self._embedder
        if isinstance(embedder, PseudoWordEmbedder):
            return embedder.pic2word_problem
        backend = embedder.info.backend if embedder is not None else "unknown"
        if backend == "onnx":
            return "pic2word needs the torch backend (--backend open_clip); this service runs the onnx export"
        return f"pic2word needs an open_clip model with a Pic2Word mapper; the {backend} backend has none"

    @property
    def logit_scale(self) -> float | None:
        """The softmax temperature the embedding model learned (None when it has none or is
        not loaded): what the attribute captioner reads its probabilities at."""
        return getattr(self._embedder, "logit_scale", None) if self._embedder is not None else None

    # --- embedding -----------------------------------------------------------------------------

    async def embed(self, texts: Sequence[str], images: Sequence[bytes]) -> EmbedResult:
        """Embed a request's texts and encoded images. Everything is validated (limits, image
        decoding) before anything is queued; a bad item fails the request naming its index."""
        self._require_ready()
        self._check_request(texts, images)
        prepared = await self._run_decoder(self._decode_and_prepare, list(images))
        text_batcher, image_batcher = self._batchers()
        text_futures = text_batcher.enqueue_many(list(texts))
        try:
            image_futures = image_batcher.enqueue_many(prepared)
        except BaseException:
            for future in text_futures:
                future.cancel()
            raise
        rows = await gather_all([*text_futures, *image_futures])
        dim = self._dimension()
        return EmbedResult(_stack(rows[: len(texts)], dim), _stack(rows[len(texts) :], dim))

    async def embed_images_decoded(self, images: Sequence[Image.Image]) -> Vectors:
        """Embed images that are already decoded (RGB ``PIL.Image``)."""
        self._require_ready()
        prepared = await self._run_decoder(self._prepare, list(images))
        _, image_batcher = self._batchers()
        return _stack(await image_batcher.submit_many(prepared), self._dimension())

    async def embed_pseudo_word(self, items: Sequence[tuple[_Row, str]]) -> Vectors:
        """Pic2Word text vectors of ``(image vector, prompt)`` pairs (for compose)."""
        self._require_ready()
        if self._pseudo_words is None:
            raise InvalidInputError(self.pic2word_problem or "no Pic2Word mapper loaded")
        return _stack(await self._pseudo_words.submit_many(list(items)), self._dimension())

    async def embed_texts(self, texts: Sequence[str]) -> Vectors:
        """Embed texts (no per-request limits: for callers inside the service, e.g. compose)."""
        self._require_ready()
        text_batcher, _ = self._batchers()
        return _stack(await text_batcher.submit_many(list(texts)), self._dimension())

    # --- composed query ------------------------------------------------------------------------

    async def compose(self, image: bytes | None, text: str, options: ComposeOptions) -> ComposeResult:
        """Reference image (encoded file) + requested change -> one query vector, explained."""
        self._require_ready()
        if len(text) > self.settings.max_text_chars:
            raise InvalidInputError(
                f"text: {len(text)} characters, over the limit of {self.settings.max_text_chars}"
            )
        assert self._pipeline is not None  # built by start(), which _require_ready() checked
        # The reference is held through every stage, so its pixels stay reserved until the end.
        with self.pixel_budget.admission() as admission:
            reference = (
                await self._run_decoder(_decode_reference, image, self.image_limits, admission)
                if image
                else None
            )
            return await self._pipeline.run(reference, text, options)

    # --- internals -----------------------------------------------------------------------------

    def _require_ready(self) -> None:
        if not self._ready:
            raise NotReadyError("the model is still loading")

    def _check_request(self, texts: Sequence[str], images: Sequence[bytes]) -> None:
        limit = self.settings.max_items_per_request
        if len(texts) + len(images) > limit:
            raise InvalidInputError(
                f"{len(texts)} texts + {len(images)} images is over the limit of {limit} items per request"
            )
        max_chars = self.settings.max_text_chars
        for index, text in enumerate(texts):
            if len(text) > max_chars:
                raise item_error("texts", index, f"{len(text)} characters, over the limit of {max_chars}")
        size = sum(len(t) for t in texts) + sum(len(i) for i in images)
        if size > self.settings.max_request_bytes:
            raise InvalidInputError(
                f"request is {size} bytes, over the limit of {self.settings.max_request_bytes}"
            )

    def _prepare(self, images: list[Image.Image]) -> list[PreparedImage]:
        # The model's preprocessing runs here, in the decode threads, in parallel with the
        # inference thread, which then spends its time on the model alone.
        assert self._embedder is not None
        return [self._embedder.prepare_image(image) for image in images]

    def _decode_and_prepare(self, images: list[bytes]) -> list[PreparedImage]:
        # One image at a time, each decoded image dropped once prepared: a request holds at
        # most one decoded image, not all of them, and its pixels are reserved only meanwhile.
        prepared: list[PreparedImage] = []
        for index, data in enumerate(images):
            with self.pixel_budget.admission() as admission:
                try:
                    image = _decode(data, self.image_limits, admission)
                except InvalidInputError as exc:
                    raise item_error("images", index, exc.message) from None
                prepared.append(self._prepare([image])[0])
                del image
        return prepared

    async def _run_decoder(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._decoder, fn, *args)

    def _batchers(self) -> tuple[Batcher[str, _Row], Batcher[PreparedImage, _Row]]:
        if self._texts is None or self._images is None:
            raise NotReadyError("the model is still loading")
        return self._texts, self._images

    def _dimension(self) -> int:
        return self.info.dimension

    def _load_models(self) -> None:
        """Runs on the inference thread, so torch's per-thread state is set where it is used."""
        if self._embedder is None:
            from vectorizer_service.runtime.loader import load_embedder

            self._embedder = load_embedder(self.settings)
        if self._load_compose_models:
            from vectorizer_service.compose.factory import load_stage_models

            self._remover, self._captioner = load_stage_models(self.settings, self._embedder)

    def _warm_up(self) -> None:
        """One call per model, so the first request does not pay for lazy initialisation."""
        assert self._embedder is not None
        image = Image.new("RGB", (64, 64), (255, 255, 255))
        self._embedder.encode_texts([_WARM_UP_TEXT])
        self._embedder.encode_images([image])
        if self._remover is not None:
            self._remover.remove([image])
        if self._captioner is not None:
            self._captioner.caption([image])

    def _start_batchers(self, runner: InferenceRunner) -> None:
        embedder = self._embedder
        assert embedder is not None
        settings = self.settings

        def make(
            name: str, fn: Callable[[list[_In]], Sequence[_Out]], on: InferenceRunner = runner
        ) -> Batcher[_In, _Out]:
            return Batcher(
                name,
                fn,
                on,
                max_batch_size=settings.max_batch_size,
                max_wait_ms=settings.max_wait_ms,
                max_queue=settings.max_queue,
                observer=self.metrics,
            )

        self._texts = make("texts", lambda b: list(embedder.encode_texts(b)))
        self._images = make("images", lambda b: list(embedder.encode_prepared(b)))
        if self._remover is not None:
            self._cutouts = make("background", self._remover.remove, self._remover_runner or runner)
        if self._captioner is not None:
            self._captions = make("caption", self._captioner.caption)
        if isinstance(embedder, PseudoWordEmbedder) and embedder.pic2word_problem is None:
            self._pseudo_words = make("pic2word", lambda b: list(embedder.encode_pseudo_word_prompts(b)))
        for batcher in (self._texts, self._images, self._cutouts, self._captions, self._pseudo_words):
            if batcher is not None:
                batcher.start()

    def _build_pipeline(self) -> ComposePipeline:
        from vectorizer_service.compose.cutout_cache import CaptionCache, CutoutCache
        from vectorizer_service.compose.pipeline import ComposePipeline

        size = self.settings.cutout_cache_size
        deps = ComposeDeps(
            encode_texts=self.embed_texts,
            encode_images=self.embed_images_decoded,
            remove_background=CutoutCache(self._cutouts.submit, size) if self._cutouts is not None else None,
            caption=CaptionCache(self._captions.submit, size) if self._captions is not None else None,
            encode_pseudo_word=self.embed_pseudo_word if self._pseudo_words is not None else None,
            pic2word_problem=self.pic2word_problem or "",
        )
        return ComposePipeline(deps, self.settings)


def _decode(data: bytes, limits: ImageLimits, admission: Admission) -> Image.Image:
    return decode_image(
        data, limits, draft_side=SERVICE_DRAFT_SIDE, shrink_side=SERVICE_DRAFT_SIDE, hold=admission
    )


def _decode_reference(data: bytes, limits: ImageLimits, admission: Admission) -> Image.Image:
    try:
        return _decode(data, limits, admission)
    except InvalidInputError as exc:
        raise InvalidInputError(f"image: {exc.message}") from None


def _stack(rows: Sequence[_Row], dimension: int) -> Vectors:
    if not rows:
        return np.zeros((0, dimension), np.float32)
    return np.stack(rows).astype(np.float32, copy=False)
