"""The baselines of ``vectorize_bench.py``: the same model measured without the service.

``in_process``: decode + ``encode_images`` / ``encode_texts`` in batches, in this process, no
HTTP. The serving ratio's rounds alternate that, the Engine without HTTP and the HTTP service, so
load from other processes falls on all three alike. ``bench_model`` / ``exported_model`` save
the random model (and its ONNX export) that every measurement of a run shares.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from vectorize_load import Workload, drive  # noqa: E402

from vectorizer_service.images import ImageLimits, decode_image  # noqa: E402
from vectorizer_service.settings import ServiceSettings  # noqa: E402


def in_process(settings: ServiceSettings, workload: Workload) -> float:
    """Items per second of the same model, batched, in this process (decode included for images)."""
    from vectorizer_service.runtime.loader import load_embedder

    embedder = load_embedder(settings)
    size = settings.max_batch_size
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)

    def one_pass(n: int) -> None:
        if workload.images:
            for start in range(0, n, size):
                embedder.encode_images(
                    [decode_image(b, limits) for b in workload.images[start : min(start + size, n)]]
                )
        else:
            for start in range(0, n, size):
                embedder.encode_texts(workload.texts[start : min(start + size, n)])

    total = len(workload.images) or len(workload.texts)
    one_pass(min(size, total))  # warm-up
    started = time.perf_counter()
    one_pass(total)
    return total / (time.perf_counter() - started)


SERVING_BATCH, SERVING_FLIGHT = 16, 8


async def _engine_rate(engine: Any, images: Sequence[bytes], concurrency: int) -> float:
    """Images per second through the Engine (batcher + decode threads, no HTTP)."""
    queue = iter(images)

    async def worker() -> None:
        for data in queue:
            await engine.embed([], [data])

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(images) / (time.perf_counter() - started)


def _in_process_rate(embedder: Any, images: Sequence[bytes], settings: ServiceSettings) -> float:
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
    started = time.perf_counter()
    for start in range(0, len(images), settings.max_batch_size):
        embedder.encode_images(
            [decode_image(b, limits) for b in images[start : start + settings.max_batch_size]]
        )
    return len(images) / (time.perf_counter() - started)


async def serving_rounds(
    settings: ServiceSettings, url: str, images: list[bytes], rounds: int
) -> list[float]:
    """Summed rates (in-process, engine, service) over ``rounds`` alternating passes."""
    from vectorizer_service.engine import Engine
    from vectorizer_service.runtime.loader import load_embedder

    embedder = load_embedder(settings)
    engine = Engine(settings.model_copy(update={"captioner": "none", "remove_background": False}))
    await engine.start()
    bodies = [json.dumps({"images": [base64.b64encode(i).decode()]}).encode() for i in images]
    try:
        _in_process_rate(embedder, images[:SERVING_BATCH], settings)  # warm-up
        await _engine_rate(engine, images[:SERVING_BATCH], SERVING_FLIGHT)
        totals = [0.0, 0.0, 0.0]
        for _ in range(rounds):
            totals[0] += _in_process_rate(embedder, images, settings)
            totals[1] += await _engine_rate(engine, images, SERVING_FLIGHT)
            totals[2] += await drive(url, bodies, SERVING_FLIGHT)
        return [t / rounds for t in totals]
    finally:
        await engine.stop()


def bench_model(directory: Path, quick: bool) -> tuple[str, str]:
    """The random model's (model, pretrained) settings, saved in ``directory`` unless already there."""
    from vectorizer_service.runtime.random_weights import (
        OPEN_CLIP_WEIGHTS_NAME,
        TINY_OPEN_CLIP_CONFIG,
        save_random_open_clip,
    )

    arch = "ViT-B-32"
    if not quick and (directory / OPEN_CLIP_WEIGHTS_NAME).is_file():
        return arch, str(directory / OPEN_CLIP_WEIGHTS_NAME)
    directory.mkdir(parents=True, exist_ok=True)
    return save_random_open_clip(TINY_OPEN_CLIP_CONFIG if quick else arch, directory)


def exported_model(model: str, pretrained: str, out: Path) -> str:
    """The ONNX export of the saved model in ``out`` (made once, reused after)."""
    from vectorizer_service.runtime.onnx_export import export_onnx
    from vectorizer_service.runtime.onnx_manifest import MANIFEST_FILE

    if not (out / MANIFEST_FILE).is_file():
        export_onnx(ServiceSettings(model=model, pretrained=pretrained, device="cpu", offline=True), out)
    return str(out)
