"""Throughput of POST /vectorize driven the way Weaviate drives it: one object per request.

The service runs as a real uvicorn server on 127.0.0.1 (a subprocess, ``python -m
vectorizer_service``); the load generator keeps 2 x CPU and 4 x CPU requests in flight. Every
number is a ratio measured in the same run:

* images (a): service throughput / the same model's batched throughput in-process
  (decode + ``encode_images`` in batches of ``max_batch_size``, no HTTP);
* images (b): service / the same service with batching off (``--max-batch-size 1``);
* texts: service / the untrimmed batch-1 service (``--max-batch-size 1 --no-trim-text``),
  plus the in-process batched ratio for reference.

The model is a randomly initialised ViT-B-32 saved in open_clip's real format (random weights
cost the same compute as trained ones). Targets on a 2-core machine: images (a) >= 0.85,
(b) >= 1.5; texts >= 5. ``--quick`` uses a tiny model and few requests (a smoke test only).

Peer comparison: ``--peer-url URL`` also drives another server that speaks the multi2vec-clip
inference contract (e.g. Weaviate's own inference container) with the same requests at the same
concurrencies and prints ours / peer (target >= 1.6). Start the peer yourself on the same
checkpoint: ``--model-dir DIR`` saves the random ViT-B-32 there (reused when present) so both load
the same file; the run checks that both return the same vector for one image and one text.

Serving ratio (issue 24): ``--serving-ratio`` measures, for torch (open_clip) and onnx in one
run, images at 8 in flight against the in-process batch of 16, in rounds that alternate the
three so load from other processes falls on all alike: in-process ``encode_images`` batches of
16 (decode included), the Engine without HTTP (8 concurrent ``embed`` calls: batcher, decode
threads), and the HTTP service (``--max-batch-size 16``). Target: service / in-process >= 0.9.

Usage: python benchmarks/vectorize_bench.py [--quick] [--requests N] [--model-dir DIR] [--peer-url URL]
       python benchmarks/vectorize_bench.py --serving-ratio [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vectorizer_service.images import ImageLimits, decode_image  # noqa: E402
from vectorizer_service.settings import ServiceSettings  # noqa: E402

TARGETS = {"images (a)": 0.85, "images (b)": 1.5, "texts": 5.0, "peer": 1.6}
_COLORS = ["red", "navy", "olive", "black", "white", "beige", "teal", "maroon", "mustard", "grey"]
_ITEMS = ["t-shirt", "dress", "sneakers", "denim jacket", "handbag", "wool sweater", "chinos", "scarf"]
_DETAILS = [
    "slim fit",
    "organic cotton",
    "long sleeves",
    "v-neck",
    "water resistant",
    "relaxed fit",
    "zip pocket",
]


@dataclass(frozen=True)
class Workload:
    name: str
    bodies: list[bytes]
    texts: list[str]
    images: list[bytes]


def catalog_texts(n: int, rng: random.Random) -> list[str]:
    """Product titles, the text field the product collection vectorizes: 5 to 20 tokens, e.g.
    "Navy relaxed fit wool sweater with zip pocket"."""
    texts = []
    for _ in range(n):
        details = " ".join(rng.sample(_DETAILS, rng.randint(1, 3)))
        extra = f" with {rng.choice(_DETAILS)}" if rng.random() < 0.4 else ""
        texts.append(
            f"{rng.choice(_COLORS).capitalize()} {details} {rng.choice(_ITEMS)}{extra}".replace("  ", " ")
        )
    return texts


def product_photos(n: int, side: int, rng: random.Random) -> list[bytes]:
    """JPEG 'product shots': a coloured object with some texture on a light background."""
    photos = []
    for _ in range(n):
        image = Image.new("RGB", (side, side), (245, 245, 240))
        draw = ImageDraw.Draw(image)
        colour = tuple(rng.randrange(256) for _ in range(3))
        box = [
            rng.randrange(side // 4),
            rng.randrange(side // 4),
            side - rng.randrange(side // 4),
            side - rng.randrange(side // 4),
        ]
        draw.rounded_rectangle(box, radius=side // 10, fill=colour)
        for _ in range(30):
            x, y = rng.randrange(side), rng.randrange(side)
            draw.line(
                [x, y, x + rng.randrange(-side // 5, side // 5), y + rng.randrange(side // 5)],
                fill=(30, 30, 30),
                width=2,
            )
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=88)
        photos.append(buffer.getvalue())
    return photos


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_service(model: str, pretrained: str, *flags: str) -> Iterator[str]:
    """A real service process on 127.0.0.1; yields its base URL once ready."""
    port = free_port()
    command = [
        sys.executable, "-m", "vectorizer_service", "--host", "127.0.0.1", "--http-port", str(port),
        "--grpc-port", "0", "--model", model, "--pretrained", pretrained, "--device", "cpu", "--offline",
        "--captioner", "none", "--no-remove-background", "--log-level", "warning", *flags,
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDED_")}
    process = subprocess.Popen(command, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"service exited with {process.returncode}: {' '.join(command)}")
            try:
                if httpx.get(f"{url}/.well-known/ready", timeout=1).status_code == 204:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("service did not become ready")
            time.sleep(0.25)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


async def drive(url: str, bodies: Sequence[bytes], concurrency: int) -> float:
    """Requests per second with ``concurrency`` requests in flight (after a short warm-up)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"content-type": "application/json"}
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:

        async def run(items: Sequence[bytes]) -> None:
            queue = iter(items)

            async def worker() -> None:
                for body in queue:
                    response = await client.post("/vectorize", content=body, headers=headers)
                    if response.status_code != 200:
                        raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await run(bodies[: 2 * concurrency])
        started = time.perf_counter()
        await run(bodies)
        return len(bodies) / (time.perf_counter() - started)


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


async def _serving_rounds(
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


def serving_ratio(args: argparse.Namespace, directory: Path) -> None:
    """Service at 8 in flight / in-process batches of 16, images, torch and onnx."""
    n = args.requests or (16 if args.quick else 64)
    images = product_photos(n, 64 if args.quick else 640, random.Random(0))
    model, pretrained = _model(directory, args.quick)
    rows = []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for backend in ("open_clip", "onnx"):
        m, p = (
            (_exported(model, pretrained, directory / "onnx"), "")
            if backend == "onnx"
            else (model, pretrained)
        )
        settings = ServiceSettings(
            backend=backend, model=m, pretrained=p, device="cpu", offline=True, max_batch_size=SERVING_BATCH
        )
        flags = ("--backend", backend, "--max-batch-size", str(SERVING_BATCH), *args.service_flag)
        with running_service(m, p, *flags) as url:
            rows.append((backend, *asyncio.run(_serving_rounds(settings, url, images, args.rounds))))
    what = "tiny model (quick)" if args.quick else "ViT-B-32 (random weights)"
    print(f"\nserving ratio: {what}, {os.cpu_count()} CPUs, load average at end {os.getloadavg()}, "
          f"{n} photos x {args.rounds} rounds, {SERVING_FLIGHT} in flight, batch {SERVING_BATCH}, "
          f"service flags {args.service_flag or 'none'}")  # fmt: skip
    columns = ("in-proc/s", "engine/s", "service/s", "engine x", "service x")
    header = f"{'backend':<10} " + " ".join(f"{c:>10}" for c in columns) + "  target"
    print(header + "\n" + "-" * len(header))
    for backend, base, engine, service in rows:
        verdict = _verdict(service / base, 0.9)
        print(f"{backend:<10} {base:>10.2f} {engine:>10.2f} {service:>10.2f} {engine / base:>10.2f} "
              f"{service / base:>10.2f}  >= 0.9: {verdict}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny model, few requests: a smoke test")
    parser.add_argument("--requests", type=int, help="requests per measurement (default 256, quick 24)")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--model-dir", type=Path, help="save (or reuse) the random model here")
    parser.add_argument("--peer-url", help="another multi2vec-clip inference server to compare with")
    parser.add_argument(
        "--backend", choices=("open_clip", "onnx"), default="open_clip",
        help="our service's backend (onnx: the same model exported with export-onnx)",
    )  # fmt: skip
    parser.add_argument("--serving-ratio", action="store_true", help="instead: the issue-24 serving ratio")
    parser.add_argument("--rounds", type=int, default=3, help="--serving-ratio: alternating rounds")
    parser.add_argument(
        "--service-flag", action="append", default=[], help="--serving-ratio: an extra service flag (repeat)"
    )
    args = parser.parse_args()
    if args.serving_ratio:
        with tempfile.TemporaryDirectory() as tmp:
            serving_ratio(args, args.model_dir or Path(tmp))
        return 0
    cpus = os.cpu_count() or 1
    n = args.requests or (24 if args.quick else 256)
    rng = random.Random(0)

    with tempfile.TemporaryDirectory() as tmp:
        directory = args.model_dir or Path(tmp)
        model, pretrained = _model(directory, args.quick)
        if args.backend == "onnx":
            model, pretrained = _exported(model, pretrained, directory / "onnx"), ""
        side = 64 if args.quick else 640
        images = product_photos(n, side, rng)
        texts = catalog_texts(n, rng)
        workloads = [
            Workload(
                "images",
                [json.dumps({"images": [base64.b64encode(i).decode()]}).encode() for i in images],
                [],
                images,
            ),
            Workload("texts", [json.dumps({"texts": [t]}).encode() for t in texts], texts, []),
        ]
        settings = ServiceSettings(
            backend=args.backend,
            model=model,
            pretrained=pretrained,
            device="cpu",
            offline=True,
            max_batch_size=args.max_batch_size,
        )
        baseline = {w.name: in_process(settings, w) for w in workloads}
        concurrencies = (2 * cpus, 4 * cpus)
        batched: dict[tuple[str, int], float] = {}
        single: dict[tuple[str, int], float] = {}
        backend = ("--backend", args.backend)
        with running_service(
            model, pretrained, *backend, "--max-batch-size", str(args.max_batch_size)
        ) as url:
            for w in workloads:
                for c in concurrencies:
                    batched[w.name, c] = asyncio.run(drive(url, w.bodies, c))
            agreement = asyncio.run(same_vectors(url, args.peer_url, workloads)) if args.peer_url else None
        with running_service(model, pretrained, *backend, "--max-batch-size", "1", "--no-trim-text") as url:
            for w in workloads:
                for c in concurrencies:
                    single[w.name, c] = asyncio.run(drive(url, w.bodies, c))
        peer = (
            {
                (w.name, c): asyncio.run(drive(args.peer_url, w.bodies, c))
                for w in workloads
                for c in concurrencies
            }
            if args.peer_url
            else {}
        )

    what = "tiny model (quick)" if args.quick else "ViT-B-32 (random weights)"
    print(f"\nvectorize_bench: {what}, {args.backend}, {cpus} CPUs, {n} requests of one object each, "
          f"max batch {args.max_batch_size}")  # fmt: skip
    columns = ("service/s", "in-proc/s", "(a) ratio", "batch-1/s", "(b) ratio")
    header = f"{'workload':<8} {'conc':>4} " + " ".join(f"{c:>10}" for c in columns) + "  target"
    print(header)
    print("-" * len(header))
    for w in workloads:
        for c in concurrencies:
            svc, base, one = batched[w.name, c], baseline[w.name], single[w.name, c]
            if w.name == "images":
                target = (
                    f"(a) >= {TARGETS['images (a)']}: {_verdict(svc / base, TARGETS['images (a)'])}, "
                    f"(b) >= {TARGETS['images (b)']}: {_verdict(svc / one, TARGETS['images (b)'])}"
                )
            else:
                target = (
                    f"(b) >= {TARGETS['texts']} (untrimmed batch-1): {_verdict(svc / one, TARGETS['texts'])}"
                )
            numbers = f"{svc:>10.1f} {base:>10.1f} {svc / base:>10.2f} {one:>10.1f} {svc / one:>10.2f}"
            print(f"{w.name:<8} {c:>4} {numbers}  {target}")
    if peer:
        print(f"\npeer: {args.peer_url} (cosine of its vectors to ours: {agreement})")
        print(f"{'workload':<8} {'conc':>4} {'ours/s':>10} {'peer/s':>10} {'ratio':>10}  target")
        for w in workloads:
            for c in concurrencies:
                ours, theirs = batched[w.name, c], peer[w.name, c]
                verdict = _verdict(ours / theirs, TARGETS["peer"])
                print(f"{w.name:<8} {c:>4} {ours:>10.1f} {theirs:>10.1f} {ours / theirs:>10.2f}  "
                      f">= {TARGETS['peer']}: {verdict}")  # fmt: skip
    if args.quick:
        print("(quick mode: a smoke test; the targets apply to the full run)")
    return 0


def _model(directory: Path, quick: bool) -> tuple[str, str]:
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


def _exported(model: str, pretrained: str, out: Path) -> str:
    """The ONNX export of the saved model in ``out`` (made once, reused after)."""
    from vectorizer_service.runtime.onnx_export import export_onnx
    from vectorizer_service.runtime.onnx_manifest import MANIFEST_FILE

    if not (out / MANIFEST_FILE).is_file():
        export_onnx(ServiceSettings(model=model, pretrained=pretrained, device="cpu", offline=True), out)
    return str(out)


async def same_vectors(ours: str, peer: str, workloads: Sequence[Workload]) -> str:
    """Cosine between our vector and the peer's for the first body of each workload: the two
    servers must run the same checkpoint for the comparison to mean anything."""
    import numpy as np

    out = []
    async with httpx.AsyncClient(timeout=300) as client:
        for w in workloads:
            answers = []
            for url in (ours, peer):
                r = await client.post(
                    f"{url}/vectorize", content=w.bodies[0], headers={"content-type": "application/json"}
                )
                body = r.json()
                answers.append(
                    np.asarray((body.get("imageVectors") or body.get("textVectors"))[0], np.float64)
                )
            a, b = answers
            out.append(f"{w.name} {float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))):.6f}")
    return ", ".join(out)


def _verdict(ratio: float, target: float) -> str:
    return "ok" if ratio >= target else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
