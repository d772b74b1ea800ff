"""Composed-query latency: per stage and end to end, 1 and 4 queries in flight, old path vs new.

    python benchmarks/compose_bench.py            # full run (random ViT-B-32, u2netp, attributes)
    python benchmarks/compose_bench.py --quick    # smoke test on tiny models, seconds
    python benchmarks/compose_bench.py --mask-iou 0   # u2netp mask IoU per input side, shopper photos
    python benchmarks/compose_bench.py --mask-iou 40 --sides "" --int8   # u2netp int8 vs fp32

Runs the service's Engine (batchers, one inference thread, the remover on its own) with u2netp
background removal and the attribute captioner, twice in the same run: the old path (u2netp's
file as shipped, 320 px, one run per photo) as the baseline, and the new one (concurrent
queries' photos in one u2netp run at ``remover_input_size``); plus a text-only row (every stage
off) and, with ``--blip``, a random BLIP-base-sized captioner. Configurations take turns in
rounds so load from other processes falls on all of them; the cut-out cache is off. Weights
are random (no downloads); latency does not depend on them. Vector search is not included.
Targets (issue 24): p50 <= 250 ms at 1 in flight, <= 600 ms at 4.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from schemas.wire import ComposeOptions  # noqa: E402
from vectorizer_service.engine import Engine  # noqa: E402
from vectorizer_service.settings import ServiceSettings  # noqa: E402

TEXTS = ["in blue", "with long sleeves", "made of leather", "in red with stripes"]
END_TO_END = "end-to-end"
OLD = "old: u2netp 320 px, per-photo runs"
NEW = "new: u2netp shared runs, input side"
ROUND = 8
"""Queries per configuration before the next one takes its turn."""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def sample_jpegs(size: int) -> list[bytes]:
    from PIL import Image
    from skimage import data

    out = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        image.thumbnail((size, size))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


async def measure(
    engine: Engine, images: list[bytes], options: ComposeOptions, n: int, concurrency: int
) -> dict[str, list[float]]:
    """Run ``n`` queries with ``concurrency`` in flight; ms per stage and end to end."""
    samples: dict[str, list[float]] = defaultdict(list)
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            result = await engine.compose(images[i % len(images)], TEXTS[i % len(TEXTS)], options)
            samples[END_TO_END].append((time.perf_counter() - started) * 1e3)
            for timing in result.explanation.timings:
                if not timing.skipped:
                    samples[timing.stage].append(timing.ms)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


def build_models(work: Path, quick: bool, blip: bool) -> dict[str, Any]:
    from vectorizer_service.compose.random_weights import save_random_captioner
    from vectorizer_service.runtime.random_weights import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    arch: Any = TINY_OPEN_CLIP_CONFIG if quick else "ViT-B-32"
    model, pretrained = save_random_open_clip(arch, work / "clip")
    captioner = save_random_captioner(work / "blip", kind="blip", tiny=quick) if blip else None
    return {"model": model, "pretrained": pretrained, "blip": captioner}


class OldPathEngine(Engine):
    """The baseline: u2netp's file as shipped (fixed ``(1, 3, 320, 320)`` input), each photo its
    own run on one thread, up to ``remover_threads`` photos at once (the path before batching)."""

    def _load_models(self) -> None:
        import onnxruntime as ort

        from vectorizer_service.compose.remover import OnnxRemover, model_file

        super()._load_models()
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        path = str(model_file(self.settings))
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        threads = self.settings.remover_threads
        self._remover = OnnxRemover(session, self.settings.rembg_model, parallel=threads)


async def run(args: argparse.Namespace) -> None:
    n = 4 if args.quick else args.requests
    images = sample_jpegs(args.image_size)
    print(f"load average at start: {_load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="compose-bench-") as tmp:
        print("building random-weight models ...", flush=True)
        models = build_models(Path(tmp), args.quick, args.blip)
        base: dict[str, Any] = {
            "backend": "open_clip",
            "model": models["model"],
            "pretrained": models["pretrained"],
            "device": args.device,
            "offline": True,
            "u2net_home": args.u2net_home,
            "torch_threads": args.threads,
            # Every query cuts its photo out: the cache would hide the remover after one pass.
            "cutout_cache_size": 0,
        }
        attributes = {"captioner": "attributes"}
        side = {"remover_input_size": args.input_size} if args.input_size else {}
        configs: list[tuple[str, type[Engine], dict[str, Any], ComposeOptions]] = [
            (OLD, OldPathEngine, attributes, ComposeOptions()),
            (NEW, Engine, {**attributes, **side}, ComposeOptions()),
            (
                "text only",
                Engine,
                {"captioner": "none"},
                ComposeOptions(remove_background=False, caption=False, fuse=False),
            ),
        ]
        if args.blip:
            blip = {"captioner": "transformers", "caption_model": models["blip"]}
            configs.insert(2, ("u2netp + BLIP-base (new path)", Engine, blip, ComposeOptions()))
        engines = []
        for label, cls, extra, options in configs:
            engine = cls(ServiceSettings(**base, **extra))
            started = time.perf_counter()
            await engine.start()
            print(f"{label}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
            await measure(engine, images, options, 2, 1)  # warm-up beyond the engine's own
            engines.append((label, engine, options))
        rows: list[tuple[str, int, str, list[float]]] = []
        try:
            for concurrency in (1, args.concurrency):
                # Rounds interleave the configurations, so load from other processes on a shared
                # machine falls on all of them alike.
                samples: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
                rounds = max(1, n // ROUND)
                for _ in range(rounds):
                    for label, engine, options in engines:
                        got = await measure(engine, images, options, n // rounds, concurrency)
                        for stage, values in got.items():
                            samples[label][stage].extend(values)
                for label, _, _ in engines:
                    for stage in ("background", "caption", "fusion", "embedding", END_TO_END):
                        if samples[label].get(stage):
                            rows.append((label, concurrency, stage, samples[label][stage]))
        finally:
            for _, engine, _ in engines:
                await engine.stop()
        print_table(rows)
    print(f"load average at end: {_load()}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


def print_table(rows: list[tuple[str, int, str, list[float]]]) -> None:
    baseline = {c: statistics.median(s) for name, c, stage, s in rows if name == OLD and stage == END_TO_END}
    header = (
        f"{'configuration':40} {'conc':>4} {'stage':>11} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'x old':>6}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for label, concurrency, stage, samples in rows:
        p50 = statistics.median(samples)
        old = baseline.get(concurrency) if stage == END_TO_END else None
        ratio = f"{p50 / old:.2f}" if old else ""
        p95 = percentile(samples, 95)
        print(f"{label:40} {concurrency:>4} {stage:>11} {len(samples):>4} {p50:>9.1f} {p95:>9.1f} {ratio:>6}")


def int8_home(u2net_home: Path, work: Path) -> Path:
    """A folder holding u2netp with its weights quantised to int8 (ONNX Runtime's dynamic
    quantisation, the one that needs no calibration photos)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(u2net_home / "u2netp.onnx"), str(work / "u2netp.onnx"), weight_type=QuantType.QUInt8)
    return work


def mask_iou(u2net_home: Path, photos: Path, sizes: list[int], limit: int, int8: bool = False) -> None:
    """Mask IoU of u2netp at each input side (and, with ``int8``, quantised at 320 px) against
    its 320 px mask, on shopper photos; a row is printed as soon as its side is done."""
    import numpy as np
    from PIL import Image

    from vectorizer_service.compose.remover import load_remover

    files = sorted(photos.glob("*.png"))
    files = files[:: max(1, len(files) // limit)][:limit] if limit else files
    images = [Image.open(f).convert("RGB") for f in files]
    # The int8 file keeps a Resize that fails on a batch of several photos: one photo per run.
    batch = 1 if int8 else 8
    print(f"mask IoU vs the 320 px mask, u2netp, {len(images)} photos from {photos} (batches of {batch})")
    header = f"{'side':>5} {'mean IoU':>9} {'p5 IoU':>7} {'min IoU':>8} {'ms/photo':>9} {'x 320':>6}"
    print(header + "\n" + "-" * len(header), flush=True)
    reference: list[Any] = []
    base_seconds = 0.0
    work = tempfile.TemporaryDirectory()
    homes = {str(side): (u2net_home, side) for side in [320, *sizes]}
    if int8:
        homes["320 int8"] = (int8_home(u2net_home, Path(work.name)), 320)
    for label, (home, side) in homes.items():
        remover = load_remover(ServiceSettings(u2net_home=home, device="cpu", remover_input_size=side))
        started, masks = time.perf_counter(), []
        for i in range(0, len(images), batch):
            masks.extend(np.asarray(c.alpha) >= 128 for c in remover.remove(images[i : i + batch]))
        seconds = time.perf_counter() - started
        reference, base_seconds = (masks, seconds) if label == "320" else (reference, base_seconds)
        ious = [_iou(a, b) for a, b in zip(masks, reference, strict=True)]
        print(
            f"{label:>5} {statistics.mean(ious):>9.4f} {percentile(ious, 5):>7.4f} {min(ious):>8.4f} "
            f"{seconds / len(images) * 1e3:>9.1f} {seconds / base_seconds:>6.2f}",
            flush=True,
        )
    print(f"load average: {_load()}")
    work.cleanup()


def _iou(a: Any, b: Any) -> float:
    union = int((a | b).sum())
    return 1.0 if union == 0 else int((a & b).sum()) / union


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny models, 4 queries: a smoke test only")
    parser.add_argument("--blip", action="store_true", help="also a random BLIP-base captioner (slow)")
    parser.add_argument(
        "--input-size", type=int, help="the new path's remover_input_size (default: the setting's)"
    )
    parser.add_argument("--requests", type=int, default=40, help="queries per measurement (default 40)")
    parser.add_argument("--concurrency", type=int, default=4, help="queries in flight for the second run")
    parser.add_argument("--image-size", type=int, default=512, help="longest side of the reference JPEGs")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    parser.add_argument(
        "--u2net-home", type=Path, default=REPO_ROOT / ".models" / "u2net", help="folder holding u2netp.onnx"
    )
    parser.add_argument(
        "--mask-iou",
        type=int,
        metavar="N",
        default=None,
        help="instead: u2netp mask IoU at 256/224/192/160 px vs 320 px on N shopper photos (0: all)",
    )
    parser.add_argument(
        "--photos",
        type=Path,
        default=REPO_ROOT / "grounded-data" / "world" / "shopper",
        help="folder of PNG photos for --mask-iou",
    )
    parser.add_argument(
        "--sides", default="256,224,192,160", help="with --mask-iou: input sides compared with 320 px"
    )
    parser.add_argument("--int8", action="store_true", help="with --mask-iou: also u2netp quantised to int8")
    args = parser.parse_args()
    if args.mask_iou is not None:
        sides = [int(side) for side in args.sides.split(",") if side]
        mask_iou(args.u2net_home, args.photos, sides, args.mask_iou, args.int8)
        return
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
