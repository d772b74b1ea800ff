"""Run the configurations of one evaluation over one gallery index.

The gallery is embedded once (``encoder.embed_images``, cached on disk); every configuration's
query vectors come from ``encoder.compose`` with its options, the same call search makes.
Ranking is exact cosine similarity over the gallery matrix (all vectors are unit length, so a
matrix product), not the store's approximate index: the metrics then measure the queries, not
the index.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from plugin.encoder.protocol import QueryEncoder
from plugin.evaluation.cache import GalleryCache, cache_key, gallery_digests, weights_identity
from plugin.evaluation.configs import EvalConfig
from plugin.evaluation.dataset import EvalDataset, Query
from plugin.evaluation.scoring import metric_columns, score_config
from plugin.evaluation.truth import applicable_configs, query_options
from schemas.errors import GroundedError, InvalidInputError
from schemas.wire import ModelMeta

__all__ = ["ConfigResult", "EvalRun", "run_evaluation"]

GALLERY_CHUNK = 64
"""Images per ``embed_images`` call: small enough for a smooth progress bar."""
COMPOSE_WORKERS = 8
"""Concurrent compose calls: lets the engine batch queries without flooding its queue."""
SHARED_CHUNK = 2 * COMPOSE_WORKERS
"""Queries composed under every configuration before the next ones: at most as many distinct
references as the service's cut-out and caption caches hold (``cutout_cache_size``, 256 by
default; 16 still shares), and enough to keep every compose worker busy."""

Matrix = npt.NDArray[np.float32]


@dataclass
class ConfigResult:
    """One table row: the metrics (percent), the rankings for submission files, and stats."""

    config: EvalConfig
    metrics: dict[str, float]
    seconds: float
    background_removed: int
    captioned: int
    rankings: dict[str, list[str]] = field(default_factory=dict)
    subset_rankings: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class EvalRun:
    """Everything the report needs."""

    dataset: EvalDataset
    model: ModelMeta
    columns: list[str]
    results: list[ConfigResult]
    timing: dict[str, float]
    gallery_from_cache: bool
    gallery_size: int
    weights: str = ""
    """What the gallery cache knew of the weights: ``sha256:...`` of their files, or why not."""
    notes: list[str] = field(default_factory=list)
    """Rows left out and why (e.g. no reference attributes for ``true_attributes``)."""


def _read(path: Path, role: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"{role} {path}: cannot be read ({exc.strerror})") from None


def _embed_chunk(encoder: QueryEncoder, paths: Sequence[Path]) -> Matrix:
    images = [_read(p, "gallery image") for p in paths]
    try:
        return np.asarray(encoder.embed_images(images), dtype=np.float32)
    except InvalidInputError:
        # The service names a refused image by its index in the request; find it and name its
        # file, so that one broken download in a 100k-image gallery can be found and replaced.
        for path, data in zip(paths, images, strict=True):
            try:
                encoder.embed_images([data])
            except InvalidInputError as exc:
                problem = exc.message.removeprefix("images[0]: ")
                raise InvalidInputError(f"gallery image {path}: {problem}") from exc
        raise


def _embed_gallery(encoder: QueryEncoder, paths: Sequence[Path], dimension: int, progress: bool) -> Matrix:
    parts: list[Matrix] = []
    with tqdm(total=len(paths), disable=not progress, unit="img", desc="gallery") as bar:
        for start in range(0, len(paths), GALLERY_CHUNK):
            chunk = paths[start : start + GALLERY_CHUNK]
            parts.append(_embed_chunk(encoder, chunk))
            bar.update(len(chunk))
    return np.concatenate(parts) if parts else np.zeros((0, dimension), dtype=np.float32)


def _compose_all(
    encoder: QueryEncoder,
    dataset: EvalDataset,
    queries: Sequence[Query],
    config: EvalConfig,
    bar: tqdm,  # type: ignore[type-arg]  # tqdm is generic only in its stubs' eyes
) -> tuple[Matrix, int, int]:
    def one(query: Query) -> tuple[list[float], bool, bool]:
        path = dataset.images[query.reference]
        image = _read(path, f"query {query.id}: reference image") if config.send_image else None
        text = query.text if config.send_text else ""
        try:
            result = encoder.compose(image, text, query_options(config, dataset, query))
        except GroundedError as exc:
            sent = f" (reference image {path})" if image is not None else ""
            raise type(exc)(f"config {config.name}, query {query.id}{sent}: {exc.message}") from exc
        bar.update(1)
        ex = result.explanation
        return result.vector, ex.background_removed, ex.caption is not None

    with ThreadPoolExecutor(max_workers=COMPOSE_WORKERS, thread_name_prefix="eval-compose") as pool:
        answers = list(pool.map(one, queries))
    vectors = np.asarray([a[0] for a in answers], dtype=np.float32).reshape(len(answers), -1)
    return vectors, sum(a[1] for a in answers), sum(a[2] for a in answers)


def _compose_configs(
    encoder: QueryEncoder, dataset: EvalDataset, configs: Sequence[EvalConfig], progress: bool
) -> dict[str, tuple[Matrix, int, int, float]]:
    """Each configuration's query vectors, background removals, captions and compose seconds,
    by signature.

    The queries go in chunks of :data:`SHARED_CHUNK`, every configuration over one chunk before
    the next chunk: the configurations that cut out or caption the same references then find
    them in the service's cut-out and caption caches (which hold the last few hundred), however
    long the split. Configuration after configuration over the whole split would have pushed
    each reference out of the caches before the next configuration asked for it again."""
    parts: dict[str, list[Matrix]] = {c.signature(): [] for c in configs}
    counts = {c.signature(): [0, 0, 0.0] for c in configs}
    with tqdm(
        total=len(dataset.queries) * len(configs), disable=not progress, unit="query", desc="queries"
    ) as bar:
        for start in range(0, len(dataset.queries), SHARED_CHUNK):
            chunk = dataset.queries[start : start + SHARED_CHUNK]
            for config in configs:
                began = time.perf_counter()
                vectors, removed, captioned = _compose_all(encoder, dataset, chunk, config, bar)
                parts[config.signature()].append(vectors)
                tally = counts[config.signature()]
                tally[0] += removed
                tally[1] += captioned
                tally[2] += time.perf_counter() - began
    return {
        signature: (np.concatenate(chunks), int(tally[0]), int(tally[1]), float(tally[2]))
        for (signature, chunks), tally in zip(parts.items(), counts.values(), strict=True)
    }


def run_evaluation(
    dataset: EvalDataset,
    encoder: QueryEncoder,
    configs: Sequence[EvalConfig],
    *,
    cache_dir: Path,
    progress: bool = True,
    weights: str | None = None,
    notes: Sequence[str] = (),
) -> EvalRun:
    """Embed (or load) the gallery, compose every query under every configuration, rank and
    score. Configurations with identical options share one set of query vectors; rows the
    dataset cannot serve (``true_attributes`` without reference attributes) are left out with
    a note.

    ``weights`` identifies the model's weights in the gallery cache's key: by default the
    content of the files the model record names (right for a model loaded in this process);
    pass :data:`~plugin.evaluation.cache.REMOTE_WEIGHTS` for one served over gRPC."""
    started = time.perf_counter()
    model = encoder.model_info()
    configs, left_out = applicable_configs(configs, dataset)
    weights = weights or weights_identity(model.name, model.pretrained)
    gallery_ids = dataset.gallery_ids()
    paths = [dataset.images[i] for i in gallery_ids]
    key = cache_key(model, weights, list(zip(gallery_ids, gallery_digests(paths), strict=True)))
    gallery, from_cache = GalleryCache(cache_dir).load_or_embed(
        f"{dataset.name}-{dataset.split}",
        key,
        len(gallery_ids),
        lambda: _embed_gallery(encoder, paths, model.dimension, progress),
    )
    gallery_s = time.perf_counter() - started

    columns = metric_columns(dataset) if dataset.labelled else []
    index = {image_id: i for i, image_id in enumerate(gallery_ids)}
    distinct: dict[str, EvalConfig] = {}  # configurations with the same options share vectors
    for config in configs:
        distinct.setdefault(config.signature(), config)
    composed = _compose_configs(encoder, dataset, list(distinct.values()), progress)
    results: list[ConfigResult] = []
    for config in configs:
        vectors, removed, captioned, compose_s = composed[config.signature()]
        scored = score_config(dataset, gallery, index, vectors, keep_rankings=not dataset.labelled)
        results.append(
            ConfigResult(
                config=config,
                metrics=scored.metrics,
                seconds=compose_s,
                background_removed=removed,
                captioned=captioned,
                rankings=scored.rankings,
                subset_rankings=scored.subset_rankings,
            )
        )
    timing = {
        "gallery_s": round(gallery_s, 3),
        "queries_s": round(time.perf_counter() - started - gallery_s, 3),
        "total_s": round(time.perf_counter() - started, 3),
    }
    return EvalRun(
        dataset=dataset,
        model=model,
        columns=columns,
        results=results,
        timing=timing,
        gallery_from_cache=from_cache,
        gallery_size=len(gallery_ids),
        weights=weights,
        notes=[*notes, *left_out],
    )
