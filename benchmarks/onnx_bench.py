"""torch vs ONNX Runtime, in-process and behind the service, and composed queries under load.

    python benchmarks/onnx_bench.py [--sections inprocess,service,compose] [--quick]

One run, every number beside its baseline (randomly initialised ViT-B-32 in open_clip's real
format, exported with ``export_onnx``; random weights cost the same compute as trained ones):

* inprocess: images/s of ``encode_images`` (decode + preprocessing + model) at batch 1/4/16,
  torch and onnx; texts/s at batch 16.
* service: POST /vectorize, one object per request (Weaviate's shape), 4 and 8 in flight, for
  each backend; ratio to that backend's in-process batch-16 throughput (target >= 0.9 at 8).
* compose: composed-query p50 (u2netp + attribute captioner) at 1 and 4 queries in flight, with
  background removal on the shared inference thread (the previous layout) and on its own
  session and thread (now). Target: p50 at 4 <= 0.6 of the previous layout's, p50 at 1 not worse.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from vectorize_load import catalog_texts, drive, product_photos, running_service  # noqa: E402

from schemas.wire import ComposeOptions  # noqa: E402
from vectorizer_service.engine import Engine  # noqa: E402
from vectorizer_service.images import ImageLimits, decode_image  # noqa: E402
from vectorizer_service.settings import ServiceSettings  # noqa: E402


def inprocess(settings: ServiceSettings, photos: list[bytes], texts: list[str]) -> dict[str, float]:
    from vectorizer_service.runtime.loader import load_embedder

    embedder = load_embedder(settings)
    limits = ImageLimits(settings.max_image_bytes, settings.max_image_pixels)
    out: dict[str, float] = {}
    for batch in (1, 4, 16):
        embedder.encode_images([decode_image(p, limits) for p in photos[:batch]])  # warm-up
        started = time.perf_counter()
        for start in range(0, len(photos), batch):
            embedder.encode_images([decode_image(p, limits) for p in photos[start : start + batch]])
        out[f"images b{batch}"] = len(photos) / (time.perf_counter() - started)
    embedder.encode_texts(texts[:16])
    started = time.perf_counter()
    for start in range(0, len(texts), 16):
        embedder.encode_texts(texts[start : start + 16])
    out["texts b16"] = len(texts) / (time.perf_counter() - started)
    return out


def service(
    model: str, pretrained: str, backend: str, photos: list[bytes], texts: list[str]
) -> dict[str, float]:
    import base64

    image_bodies = [json.dumps({"images": [base64.b64encode(p).decode()]}).encode() for p in photos]
    text_bodies = [json.dumps({"texts": [t]}).encode() for t in texts]
    out: dict[str, float] = {}
    with running_service(model, pretrained, "--backend", backend) as url:
        for concurrency in (4, 8):
            out[f"images c{concurrency}"] = asyncio.run(drive(url, image_bodies, concurrency))
            out[f"texts c{concurrency}"] = asyncio.run(drive(url, text_bodies, concurrency))
    return out


class SharedThreadEngine(Engine):
    """The previous layout: background removal batched on the one shared inference thread, one
    image at a time on a session with ONNX Runtime's default threads (all cores)."""

    def _load_models(self) -> None:
        import onnxruntime as ort

        from vectorizer_service.compose.remover import OnnxRemover, model_file

        super()._load_models()
        path = str(model_file(self.settings))
        session = ort.InferenceSession(path, ort.SessionOptions(), providers=["CPUExecutionProvider"])
        self._remover = OnnxRemover(session, self.settings.rembg_model)

    def _start_batchers(self, runner: Any) -> None:
        if self._remover_runner is not None:
            self._remover_runner.shutdown()
            self._remover_runner = None
        super()._start_batchers(runner)


async def compose_p50(engine: Engine, images: list[bytes], n: int) -> dict[int, float]:
    texts = ["in blue", "with long sleeves", "made of leather", "in red with stripes"]
    await engine.start()
    try:
        for i in range(2):
            await engine.compose(images[i % len(images)], texts[i], ComposeOptions())
        out = {}
        for concurrency in (1, 4):
            latencies: list[float] = []
            counter = iter(range(n))

            async def worker(counter: Any = counter, latencies: list[float] = latencies) -> None:
                for i in counter:
                    started = time.perf_counter()
                    await engine.compose(images[i % len(images)], texts[i % len(texts)], ComposeOptions())
                    latencies.append((time.perf_counter() - started) * 1e3)

            await asyncio.gather(*(worker() for _ in range(concurrency)))
            out[concurrency] = statistics.median(latencies)
        return out
    finally:
        await engine.stop()


def sample_jpegs(size: int) -> list[bytes]:
    import io

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


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sections", default="inprocess,service,compose")
    parser.add_argument("--quick", action="store_true", help="tiny model, few items: a smoke test only")
    parser.add_argument("--images", type=int, default=32, help="images per measurement")
    parser.add_argument("--queries", type=int, default=12, help="composed queries per measurement")
    parser.add_argument("--threads", type=int, default=None, help="torch / ORT intra-op threads")
    parser.add_argument("--u2net-home", default=str(REPO / ".models" / "u2net"))
    args = parser.parse_args()
    sections = set(args.sections.split(","))

    from vectorizer_service.runtime.onnx_export import export_onnx
    from vectorizer_service.runtime.random_weights import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    rng = random.Random(0)
    n_images = 8 if args.quick else args.images
    photos = product_photos(n_images, 400, rng)
    texts = catalog_texts(64 if args.quick else 256, rng)
    with tempfile.TemporaryDirectory(prefix="onnx-bench-") as tmp:
        arch: Any = TINY_OPEN_CLIP_CONFIG if args.quick else "ViT-B-32"
        model, pretrained = save_random_open_clip(arch, Path(tmp) / "clip")
        base = {"model": model, "pretrained": pretrained, "device": "cpu", "offline": True}
        started = time.perf_counter()
        export_onnx(ServiceSettings(**base), Path(tmp) / "onnx")
        print(f"exported in {time.perf_counter() - started:.0f} s", flush=True)
        onnx = {"backend": "onnx", "model": str(Path(tmp) / "onnx"), "pretrained": "", "device": "cpu"}
        threads = {"torch_threads": args.threads}
        rows: list[tuple[str, str, float, str]] = []
        batch16: dict[str, float] = {}
        if "inprocess" in sections:
            results = {name: inprocess(ServiceSettings(**s, **threads), photos, texts)
                       for name, s in (("torch", base), ("onnx", onnx))}  # fmt: skip
            for key in results["torch"]:
                t, o = results["torch"][key], results["onnx"][key]
                rows += [
                    (f"in-process {key}", "torch", t, ""),
                    (f"in-process {key}", "onnx", o, f"{o / t:.2f}x torch"),
                ]
            batch16 = {name: r["images b16"] for name, r in results.items()}
        if "service" in sections:
            n = photos * 2
            for name, s in (("torch", base), ("onnx", onnx)):
                out = service(str(s["model"]), str(s["pretrained"]), s.get("backend", "open_clip"), n, texts)
                for key, value in out.items():
                    ratio = (
                        f"{value / batch16[name]:.2f} of in-process b16"
                        if key.startswith("images") and name in batch16
                        else ""
                    )
                    rows.append((f"service {key}", name, value, ratio))
        if "compose" in sections:
            jpegs = sample_jpegs(512)
            stage = {
                "u2net_home": args.u2net_home,
                "captioner": "attributes",
                "cache_dir": Path(tmp) / "cache",
                **threads,
            }
            layouts = [
                (
                    "torch, remover on the shared thread (before)",
                    SharedThreadEngine,
                    base,
                    {},
                ),
                ("torch, remover on its own thread (now)", Engine, base, {}),
                ("onnx, remover on its own thread (now)", Engine, onnx, {}),
            ]
            before: dict[int, float] = {}
            for label, cls, s, extra in layouts:
                p50 = asyncio.run(
                    compose_p50(cls(ServiceSettings(**s, **stage, **extra)), jpegs, args.queries)
                )
                before = before or p50
                for concurrency, value in p50.items():
                    rows.append(
                        (
                            f"compose p50 ms, {concurrency} in flight",
                            label,
                            value,
                            f"{value / before[concurrency]:.2f} of before",
                        )
                    )
    header = f"{'measurement':38} {'configuration':46} {'value':>9}  ratio"
    print("\n" + header + "\n" + "-" * (len(header) + 20))
    for what, config, value, ratio in rows:
        print(f"{what:38} {config:46} {value:>9.2f}  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
