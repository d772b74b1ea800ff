"""The composed-query pipeline: background -> caption -> fusion -> embedding over one context."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Sequence

from PIL import Image

from schemas.errors import InvalidInputError
from schemas.wire import PIC2WORD_METHODS, ComposeExplanation, ComposeOptions, ComposeResult, StageTiming
from vectorizer_service.compose.context import ComposeContext, ResolvedOptions, Stage, StageEnv
from vectorizer_service.compose.fusion import validate_template
from vectorizer_service.compose.protocols import ComposeDeps
from vectorizer_service.compose.stages import BackgroundStage, CaptionStage, EmbeddingStage, FusionStage
from vectorizer_service.compose.vocab import Vocabulary, load_vocabulary, vocabulary_path
from vectorizer_service.settings import ServiceSettings

DEFAULT_STAGES: tuple[Stage, ...] = (BackgroundStage(), CaptionStage(), FusionStage(), EmbeddingStage())


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class ComposePipeline:
    """Turns a reference image and a requested change into one query vector, with an
    explanation of what every stage did.

    ``deps`` are the model entry points (the engine backs them with batchers, so concurrent
    queries share model batches). The fusion vocabulary is the attribute captioner's one
    (``settings.vocabulary``, the model folder's, or the bundled default) when that captioner is configured.
    """

    def __init__(
        self,
        deps: ComposeDeps,
        settings: ServiceSettings,
        *,
        vocabulary: Vocabulary | None = None,
        stages: Sequence[Stage] = DEFAULT_STAGES,
    ) -> None:
        # A bad server-wide template is a deployment error: fail at startup, not per request.
        validate_template(settings.fusion_template)
        if vocabulary is None and settings.captioner == "attributes":
            vocabulary = load_vocabulary(vocabulary_path(settings))
        self._settings = settings
        self._env = StageEnv(deps=deps, vocabulary=vocabulary)
        self._stages = tuple(stages)

    @property
    def stage_names(self) -> list[str]:
        return [stage.name for stage in self._stages]

    def _check_something_to_embed(self, ctx: ComposeContext) -> None:
        pseudo_word = self._env.deps.encode_pseudo_word is not None
        if ctx.options.fusion_method == "ensemble" and pseudo_word and ctx.image is not None:
            return  # the image alone is a query: its pseudo-word term
        if ctx.options.fusion_method in PIC2WORD_METHODS:
            if self._env.deps.encode_pseudo_word is None:
                raise InvalidInputError(
                    f"fusion_method {ctx.options.fusion_method}: {self._env.deps.pic2word_problem}"
                )
            if ctx.image is not None:
                return  # "a photo of *": the image alone is a query
        will_caption = bool(ctx.options.catalog_caption) or (
            ctx.image is not None and ctx.options.caption and self._env.deps.caption is not None
        )
        if not ctx.modification and not will_caption:
            raise InvalidInputError(
                "nothing to compose: the text is empty and no caption will be made "
                "(no reference image, captioning switched off, or no captioner loaded)"
            )

    async def run(self, image: Image.Image | None, text: str, options: ComposeOptions) -> ComposeResult:
        """Run every stage in order; switched-off stages are listed as skipped with a note."""
        ctx = ComposeContext(
            image=image,
            modification=" ".join(text.split()),
            options=ResolvedOptions.resolve(options, self._settings),
        )
        # Fail before the expensive stages when no stage could produce text to embed.
        self._check_something_to_embed(ctx)
        timings: list[StageTiming] = []
        for stage in self._stages:
            reason = stage.skip_reason(ctx, self._env)
            if reason is not None:
                timings.append(StageTiming(stage=stage.name, ms=0.0, skipped=True, note=reason))
                continue
            started = time.perf_counter()
            note = await stage.run(ctx, self._env)
            timings.append(StageTiming(stage=stage.name, ms=(time.perf_counter() - started) * 1e3, note=note))
        assert ctx.vector is not None, "the embedding stage always runs"
        # The explanation may hold the cut-out as a PNG: encoding it is CPU work, off the loop.
        explanation = await asyncio.to_thread(self._explain, ctx, timings)
        return ComposeResult(vector=ctx.vector.tolist(), explanation=explanation)

    @staticmethod
    def _explain(ctx: ComposeContext, timings: list[StageTiming]) -> ComposeExplanation:
        caption = ctx.caption
        cutout = ctx.working_image if ctx.background_removed and ctx.options.return_cutout else None
        skipped_background = next(
            (t.note for t in timings if t.stage == BackgroundStage.name and t.skipped), ""
        )
        return ComposeExplanation(
            caption=caption.text if caption is not None else None,
            attributes=dict(caption.attributes) if caption is not None else {},
            attribute_sources=dict(ctx.attribute_sources or {}),
            attribute_probabilities=(
                {k: p for k, p in caption.probabilities.items() if k in caption.attributes}
                if caption is not None
                else {}
            ),
            modification=ctx.modification,
            fused_text=ctx.fused_text,
            mask_coverage=ctx.mask_coverage,
            background_removed=ctx.background_removed,
            background_note=ctx.background_note or skipped_background,
            image_weight=ctx.image_weight,
            fusion_method=ctx.options.fusion_method,
            direction_gain=ctx.options.direction_gain if ctx.options.fusion_method == "direction" else None,
            timings=timings,
            cutout_png=_png(cutout) if cutout is not None else None,
        )
