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

This file is the command line and the report; the load generator (workloads, the service
process, ``drive``) is ``vectorize_load.py`` and the baselines measured without the service
(in-process batches, the Engine, the random model and its export) are ``vectorize_baseline.py``.

Usage: python benchmarks/vectorize_bench.py [--quick] [--requests N] [--model-dir DIR] [--peer-url URL]
       python benchmarks/vectorize_bench.py --serving-ratio [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from vectorize_baseline import (  # noqa: E402
    SERVING_BATCH,
    SERVING_FLIGHT,
    bench_model,
    exported_model,
    in_process,
    serving_rounds,
)
from vectorize_load import (  # noqa: E402
    Workload,
    catalog_texts,
    drive,
    product_photos,
    running_service,
    same_vectors,
)

from vectorizer_service.settings import ServiceSettings  # noqa: E402

TARGETS = {"images (a)": 0.85, "images (b)": 1.5, "texts": 5.0, "peer": 1.6}


def serving_ratio(args: argparse.Namespace, directory: Path) -> None:
    """Service at 8 in flight / in-process batches of 16, images, torch and onnx."""
    n = args.requests or (16 if args.quick else 64)
    images = product_photos(n, 64 if args.quick else 640, random.Random(0))
    model, pretrained = bench_model(directory, args.quick)
    rows = []
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for backend in ("open_clip", "onnx"):
        m, p = (
            (exported_model(model, pretrained, directory / "onnx"), "")
            if backend == "onnx"
            else (model, pretrained)
        )
        settings = ServiceSettings(
            backend=backend, model=m, pretrained=p, device="cpu", offline=True, max_batch_size=SERVING_BATCH
        )
        flags = ("--backend", backend, "--max-batch-size", str(SERVING_BATCH), *args.service_flag)
        with running_service(m, p, *flags) as url:
            rows.append((backend, *asyncio.run(serving_rounds(settings, url, images, args.rounds))))
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
        model, pretrained = bench_model(directory, args.quick)
        if args.backend == "onnx":
            model, pretrained = exported_model(model, pretrained, directory / "onnx"), ""
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


def _verdict(ratio: float, target: float) -> str:
    return "ok" if ratio >= target else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
