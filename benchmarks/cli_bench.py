"""Wall time and peak memory of one ``grounded search`` on an embedded store, and of a bad
argument refused.

    python benchmarks/cli_bench.py --catalog CATALOG.jsonl --model ViT-B-32 --pretrained FILE \
        --image photo.jpg [--before-tree OLD_CHECKOUT] [--repeat 3]

Each row is one fresh process (what a user pays per command), measured in the same run:
the composed query (image + text) with the torch backend with a cold and a warm prompt-vector
cache, the same with the model exported to ONNX, and a text-only query; then the same two
queries through a running ``grounded serve`` (the ONNX export, started once before the rows:
``--service-address``, nothing loads in the command); then ``--limit 0`` refused.
``--before-tree`` (an unpacked older checkout, e.g. ``git archive <rev> | tar -x -C DIR``) adds
the composed query and ``--limit 0`` run by that code; the first row is the baseline of the
ratio column. Each tree first ingests the catalog (e.g. the demo's ``catalog.jsonl``) into its
own embedded store with the same model. ``--repeat N`` runs each row N times and reports the
median (the spread goes in the last column).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


SERVICE_START_S = 300
"""How long the service may take to load its model (a loaded CPU shared with other work)."""


def timed(command: list[str], cwd: Path, env: dict[str, str], expect: int = 0) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one process, which must exit with ``expect``."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != expect:
        raise RuntimeError(
            f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
        )
    return seconds, usage.ru_maxrss / 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_service(cli: list[str], model: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """``grounded serve`` with ``model`` on free ports until the block ends; yields its gRPC address."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    grpc_port, http_port = _free_port(), _free_port()
    command = [*cli, "serve", *model, "--offline", "--device", "cpu", "--host", "127.0.0.1",
               "--grpc-port", str(grpc_port), "--http-port", str(http_port)]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{grpc_port}"
    try:
        deadline = time.monotonic() + SERVICE_START_S
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"grounded serve exited: {log.read_text()[-2000:]}")
                try:
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=2)
                    if answer.status == health_pb2.HealthCheckResponse.SERVING:
                        break
                except grpc.RpcError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"grounded serve not ready after {SERVICE_START_S} s")
                time.sleep(0.5)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--catalog", type=Path, required=True, help="catalog to ingest first")
    parser.add_argument("--collection", default="GroundedDemo")
    parser.add_argument("--model", required=True)
    parser.add_argument("--pretrained", required=True)
    parser.add_argument("--image", type=Path, required=True)
    parser.add_argument("--text", default="in blue")
    parser.add_argument("--before-tree", type=Path, help="older checkout to run as the baseline")
    parser.add_argument("--u2net-home", default=str(REPO / ".models" / "u2net"))
    parser.add_argument("--onnx-dir", type=Path, help="ONNX export of the model (made here if missing)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per row; the median is reported")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="cli-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDED_")}
    env |= {
        "GROUNDED_U2NET_HOME": args.u2net_home,
        "XDG_CACHE_HOME": str(work / "cache"),
        "HF_HUB_OFFLINE": "1",
    }
    common = ["--collection", args.collection, "--offline", "--device", "cpu"]
    torch_model = ["--model", args.model, "--pretrained", args.pretrained]
    onnx_dir = args.onnx_dir or work / "onnx"
    cli = [sys.executable, "-c", "import sys; from plugin.cli import main; sys.exit(main())"]
    if not (onnx_dir / "grounded-onnx.json").is_file():
        subprocess.run(
            [*cli, "models", "export-onnx", "--out", str(onnx_dir), *torch_model, "--offline"],
            cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    query = ["--image", str(args.image), "--text", args.text]
    onnx_model = ["--model", str(onnx_dir)]
    refused = ["--text", args.text, "--limit", "0"]
    # (label, tree, model flags, query flags, expected exit code, through the service); a store
    # is ingested per tree and model, since a store refuses queries from another backend's model.
    rows: list[tuple[str, Path, list[str], list[str], int, bool]] = []
    if args.before_tree is not None:
        rows.append(("before: image + text (torch)", args.before_tree, torch_model, query, 0, False))
    rows += [
        ("image + text, torch, cold cache", REPO, torch_model, query, 0, False),
        ("image + text, torch, warm cache", REPO, torch_model, query, 0, False),
        ("image + text, onnx export", REPO, onnx_model, query, 0, False),
        ("text only, onnx export", REPO, onnx_model, ["--text", args.text], 0, False),
        ("image + text, via grounded serve", REPO, onnx_model, query, 0, True),
        ("text only, via grounded serve", REPO, onnx_model, ["--text", args.text], 0, True),
    ]
    if args.before_tree is not None:
        rows.append(("before: --limit 0 refused", args.before_tree, torch_model, refused, 1, False))
    rows.append(("--limit 0 refused", REPO, torch_model, refused, 2, False))
    stores: dict[tuple[Path, str], list[str]] = {}
    for _, tree, model, _, code, _ in rows:
        if (tree, model[1]) not in stores and code == 0:
            flags = ["--data-dir", str(work / f"store-{len(stores)}")]
            stores[(tree, model[1])] = flags
            ingest = [*cli, "ingest", str(args.catalog), *flags, *common, *model]
            subprocess.run(ingest, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    results = []
    with running_service(cli, onnx_model, env, work / "serve.log") as address:
        for label, tree, model, extra, code, remote in rows:
            # The refusal runs with the default (uncached) model: the old code loads it first.
            store = stores.get((tree, model[1]), ["--data-dir", str(work / "empty")])
            flags = ["--service-address", address] if remote else [*common, *model]
            command = [*cli, "search", *store, "--collection", args.collection, *flags, *extra]
            if code != 0:
                command = [*cli, "search", "--data-dir", str(work / "empty"), *extra]
            runs = [timed(command, tree, env, expect=code) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            spread = max(r[0] for r in runs) - min(r[0] for r in runs)
            results.append((label, seconds, max(r[1] for r in runs), spread))
            print(f"{label}: {seconds:.2f} s, {results[-1][2]:.0f} MiB", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    base = results[0][1]
    header = f"{'grounded search':34} {'wall s':>7} {'x first':>8} {'peak RSS MiB':>13} {'spread s':>9}"
    print("\n" + header + "\n" + "-" * len(header))
    for label, seconds, rss, spread in results:
        print(f"{label:34} {seconds:>7.2f} {seconds / base:>8.2f} {rss:>13.0f} {spread:>9.2f}")
    print(f"(load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
