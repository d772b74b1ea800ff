"""Composed-query latency: per stage and end to end, one query at a time and 4 at once.

    python benchmarks/compose_bench.py            # full run (random ViT-B-32, BLIP-base-sized)
    python benchmarks/compose_bench.py --quick    # smoke test on tiny models, seconds

Runs the service's Engine (batchers + one inference thread) with u2netp background removal and
compares three configurations measured in the same run: the attribute captioner (CLIP zero-shot,
the default), a transformers captioner (a random BLIP-base-sized model built from its config:
real compute, gibberish captions), and a text-only baseline (every stage off). Weights are random
(no downloads); latency does not depend on them. Vector search is not included.
Target: attribute configuration end-to-end p50 <= 0.5 s on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import asyncio
import io
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


def build_models(work: Path, quick: bool) -> dict[str, Any]:
    from vectorizer_service.compose.random_weights import save_random_captioner
    from vectorizer_service.runtime.random_weights import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    arch: Any = TINY_OPEN_CLIP_CONFIG if quick else "ViT-B-32"
    model, pretrained = save_random_open_clip(arch, work / "clip")
    blip = save_random_captioner(work / "blip", kind="blip", tiny=quick)
    return {"model": model, "pretrained": pretrained, "blip": blip}


async def run(args: argparse.Namespace) -> None:
    n = 4 if args.quick else args.requests
    images = sample_jpegs(args.image_size)
    with tempfile.TemporaryDirectory(prefix="compose-bench-") as tmp:
        print("building random-weight models ...", flush=True)
        models = build_models(Path(tmp), args.quick)
        base: dict[str, Any] = {
            "backend": "open_clip",
            "model": models["model"],
            "pretrained": models["pretrained"],
            "device": args.device,
            "offline": True,
            "u2net_home": args.u2net_home,
            "torch_threads": args.threads,
        }
        configs = [
            ("u2netp + attributes", {"captioner": "attributes"}, ComposeOptions()),
            (
                "u2netp + transformers (BLIP-base)",
                {"captioner": "transformers", "caption_model": models["blip"]},
                ComposeOptions(),
            ),
            (
                "text only (baseline)",
                {"captioner": "none"},
                ComposeOptions(remove_background=False, caption=False, fuse=False),
            ),
        ]
        rows: list[tuple[str, int, str, list[float]]] = []
        for label, extra, options in configs:
            engine = Engine(ServiceSettings(**base, **extra))
            started = time.perf_counter()
            await engine.start()
            print(f"{label}: loaded in {time.perf_counter() - started:.1f} s", flush=True)
            try:
                await measure(engine, images, options, 2, 1)  # warm-up beyond the engine's own
                for concurrency in (1, args.concurrency):
                    samples = await measure(engine, images, options, n, concurrency)
                    for stage in ("background", "caption", "fusion", "embedding", END_TO_END):
                        if samples.get(stage):
                            rows.append((label, concurrency, stage, samples[stage]))
            finally:
                await engine.stop()
        print_table(rows)


def print_table(rows: list[tuple[str, int, str, list[float]]]) -> None:
    baseline = {
        c: statistics.median(s)
        for label, c, stage, s in rows
        if label.startswith("text only") and stage == END_TO_END
    }
    header = (
        f"{'configuration':36} {'conc':>4} {'stage':>11} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'x text':>7}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for label, concurrency, stage, samples in rows:
        p50 = statistics.median(samples)
        ratio = (
            f"{p50 / baseline[concurrency]:.1f}" if stage == END_TO_END and baseline.get(concurrency) else ""
        )
        p95 = percentile(samples, 95)
        print(f"{label:36} {concurrency:>4} {stage:>11} {len(samples):>4} {p50:>9.1f} {p95:>9.1f} {ratio:>7}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny models, 4 queries: a smoke test only")
    parser.add_argument("--requests", type=int, default=40, help="queries per measurement (default 40)")
    parser.add_argument("--concurrency", type=int, default=4, help="queries in flight for the second run")
    parser.add_argument("--image-size", type=int, default=512, help="longest side of the reference JPEGs")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, auto")
    parser.add_argument(
        "--u2net-home", type=Path, default=REPO_ROOT / ".models" / "u2net", help="folder holding u2netp.onnx"
    )
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
