"""Soak: mixed load and issue 22's hostile cases against a real service process, for minutes.

    python benchmarks/soak.py [--minutes 20] [--model world|tiny] [--in-flight 8] [--warm-up-s 60]

The service runs as ``python -m vectorizer_service`` (a subprocess, so its memory is its own)
with the world model shipped in ``plugin/world/model`` (its vocabulary, the attribute captioner,
background removal with u2netp when ``--u2net-home`` holds it) or a tiny random model. In front
of it, in this process, the GraphQL endpoint (``plugin.graphql``) over the fake Weaviate of the
tests, composing through the service's gRPC port. ``--in-flight`` workers then loop for
``--minutes``, each picking the next request from this mix:

- ``vectorize``: 2 texts and 2 small JPEGs (HTTP); ``compose``: a photo and a change (HTTP);
  ``search``: ``near_grounded`` on an embedded LanceDB catalog of 48 products, composing over
  gRPC (the plugin's own path);
- hostile: a 630-byte JPEG whose header claims 6000 x 6000 pixels (vectorize, 8 of them, and
  compose); 20,000 catalog attributes in one compose; a GraphQL query nested 5,000 levels deep
  and variables nested 10,000 deep; a client that sends half its body and hangs up; one that
  sends a whole compose and hangs up before the answer.

Meanwhile the ready probe is called every 200 ms (and for ``--baseline-s`` before the load, alone:
the machine's own latency, measured in the same run) and the service's RSS read every second. The
report: answers by kind and status, the 5xx count (target 0), the probe's p50 / p99 (target
< 100 ms), and RSS at start (ready), after the warm-up, peak (``VmHWM``) and at the end (target:
end and peak within 10 % of the warm-up figure).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from pixel_budget import attack_jpeg, proc_status, tiny_model  # noqa: E402
from vectorize_load import free_port  # noqa: E402

WORLD_MODEL = REPO / "plugin" / "world" / "model"
COLOURS = [(200, 30, 30), (30, 30, 200), (30, 160, 60), (220, 200, 40), (20, 20, 20), (240, 240, 240)]
CHANGES = [
    "in blue",
    "with long sleeves",
    "in red and striped",
    "as a skirt",
    "darker",
    "without the pattern",
]
MIX = {
    "vectorize": 6, "compose": 6, "search": 6, "bomb vectorize": 1, "bomb compose": 1,
    "huge attributes": 1, "deep graphql": 1, "deep variables": 1, "half body": 1, "hang up": 1,
}  # fmt: skip


def jpeg(rgb: tuple[int, int, int], side: int = 96) -> bytes:
    image = Image.new("RGB", (side, side), (235, 235, 235))
    image.paste(Image.new("RGB", (side // 2, side * 3 // 4), rgb), (side // 4, side // 8))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class Service:
    """``python -m vectorizer_service`` on free ports; its pid for the memory readings."""

    def __init__(self, model: str, u2net_home: Path) -> None:
        self.http_port, self.grpc_port = free_port(), free_port()
        command = [
            sys.executable, "-m", "vectorizer_service", "--host", "127.0.0.1",
            "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port),
            "--device", "cpu", "--offline", "--pretrained", "", "--log-level", "warning",
        ]  # fmt: skip
        if model == "world":
            command += ["--model", str(WORLD_MODEL), "--vocabulary", str(WORLD_MODEL / "vocabulary.json")]
            command += ["--captioner", "attributes"]
        else:
            command += [
                "--model",
                tiny_model(Path(tempfile.mkdtemp(prefix="soak-model-"))),
                "--captioner",
                "none",
            ]
        if (u2net_home / "u2netp.onnx").is_file():
            command += ["--u2net-home", str(u2net_home)]
        else:
            command += ["--remove-background", "false"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDED_")}
        env |= {"PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1"}
        self.process = subprocess.Popen(command, cwd=tempfile.gettempdir(), env=env)
        self.url = f"http://127.0.0.1:{self.http_port}"
        deadline = time.monotonic() + 600
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}: {' '.join(command)}")
            try:
                if httpx.get(f"{self.url}/.well-known/ready", timeout=1).status_code == 204:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("the service did not become ready in 10 minutes")
            time.sleep(0.25)

    def rss(self, field: str = "VmRSS") -> float:
        return proc_status(self.process.pid, field)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Plugin:
    """The plugin side in this process: a LanceDB catalog, the gRPC encoder, the GraphQL endpoint."""

    def __init__(self, service: Service) -> None:
        from plugin.encoder.grpc import GrpcEncoder
        from plugin.graphql import create_graphql_app
        from plugin.settings import PluginSettings
        from plugin.store import ProductRow
        from plugin.store.lance.store import LanceStore
        from schemas.collection import product_properties
        from schemas.product import Product, product_uuid
        from tests.support.fake_weaviate import FakeWeaviate

        self.encoder = GrpcEncoder(f"127.0.0.1:{service.grpc_port}", timeout_s=120)
        self.folder = Path(tempfile.mkdtemp(prefix="soak-store-"))
        dimension = self.encoder.model_info().dimension
        store = LanceStore(self.folder, dimension=dimension, collection="Soak")
        store.create_collection()
        images = [jpeg(COLOURS[i % len(COLOURS)], 64 + 8 * (i % 5)) for i in range(48)]
        vectors = self.encoder.embed_images(images)
        rows = []
        for i, (image, vector) in enumerate(zip(images, vectors, strict=True)):
            product = Product(id=f"p{i}", title=f"product {i}", category=["dress", "shirt", "skirt"][i % 3])
            rows.append(ProductRow(str(product_uuid(product.id)), product_properties(product, b64(image)),
                                   [float(x) for x in vector]))  # fmt: skip
        assert store.upsert(rows) == []
        store.close()
        self.dimension = dimension
        self.weaviate = FakeWeaviate().__enter__()
        self.weaviate.state.graphql_response = lambda body: {"data": {"Get": {"Product": []}}}
        settings = PluginSettings(weaviate_url=self.weaviate.url)
        # One app per worker: an app's lifespan holds one HTTP client, on its own event loop.
        self.graphql = lambda: create_graphql_app(settings, self.encoder)

    def store(self) -> Any:
        from plugin.store.lance.store import LanceStore

        return LanceStore(self.folder, dimension=self.dimension, collection="Soak")

    def close(self) -> None:
        self.encoder.close()
        self.weaviate.__exit__(None, None, None)


def _hang_up(port: int, path: str, body: bytes, send: int) -> str:
    """Send the headers and ``send`` bytes of ``body``, then close without reading the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        sock.sendall(f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body[:send])
        time.sleep(0.05)
    return "closed"


class Worker(threading.Thread):
    def __init__(
        self, index: int, service: Service, plugin: Plugin, until: float, tally: Counter[str]
    ) -> None:
        super().__init__(daemon=True, name=f"soak-{index}")
        self.rng = random.Random(index)
        self.service, self.plugin, self.until, self.tally = service, plugin, until, tally
        self.lock = threading.Lock()

    def run(self) -> None:
        from starlette.testclient import TestClient

        kinds, weights = zip(*MIX.items(), strict=True)
        store = self.plugin.store()
        with (
            httpx.Client(base_url=self.service.url, timeout=300) as http,
            TestClient(self.plugin.graphql()) as gql,
        ):
            while time.monotonic() < self.until:
                kind = self.rng.choices(kinds, weights)[0]
                try:
                    outcome = self.one(kind, http, gql, store)
                except Exception as exc:  # a transport failure is an outcome to count, not a crash
                    outcome = f"error {type(exc).__name__}"
                self.tally[f"{kind} | {outcome}"] += 1

    def one(self, kind: str, http: httpx.Client, gql: Any, store: Any) -> str:
        from plugin.search.query import near_grounded

        rng = self.rng
        photo = jpeg(rng.choice(COLOURS), rng.choice([64, 96, 160]))
        if kind == "vectorize":
            body = {"texts": [rng.choice(CHANGES), "a dress"], "images": [b64(photo), b64(jpeg((9, 9, 9)))]}
            return str(http.post("/vectorize", json=body).status_code)
        if kind == "compose":
            return str(
                http.post("/compose", json={"image": b64(photo), "text": rng.choice(CHANGES)}).status_code
            )
        if kind == "search":
            found = near_grounded(store, self.plugin.encoder, image=photo, text=rng.choice(CHANGES), limit=5)
            return "ok" if len(found.hits) == 5 else f"{len(found.hits)} results"
        if kind == "bomb vectorize":
            return str(http.post("/vectorize", json={"images": [b64(attack_jpeg())] * 8}).status_code)
        if kind == "bomb compose":
            return str(
                http.post("/compose", json={"image": b64(attack_jpeg()), "text": "in blue"}).status_code
            )
        if kind == "huge attributes":
            attributes = {f"a{i}": "x" * 10 for i in range(20_000)}
            body = {"image": b64(photo), "text": "in blue", "options": {"catalog_attributes": attributes}}
            return str(http.post("/compose", json=body).status_code)
        if kind == "deep graphql":
            deep = 'query { Get { Product(nearGrounded: {text: "x"}) ' + "{ a " * 5_000 + "}" * 5_000 + " } }"
            return str(gql.post("/v1/graphql", json={"query": deep}).status_code)
        if kind == "deep variables":
            query = 'query($v: String) { Get { Product(nearGrounded: {text: "in blue"}) { title } } }'
            body = (
                '{"query": '
                + json.dumps(query)
                + ', "variables": {"v": '
                + "[" * 10_000
                + "]" * 10_000
                + "}}"
            )
            return str(
                gql.post(
                    "/v1/graphql", content=body, headers={"content-type": "application/json"}
                ).status_code
            )
        body = json.dumps({"image": b64(photo), "text": "in blue"}).encode()
        if kind == "half body":
            return _hang_up(self.service.http_port, "/compose", body, len(body) // 2)
        return _hang_up(self.service.http_port, "/compose", body, len(body))


def probe(url: str, until: float, latencies: list[float], statuses: Counter[int]) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                statuses[client.get("/.well-known/ready").status_code] += 1
            except httpx.TransportError:
                statuses[0] += 1
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.2)


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--model", choices=["world", "tiny"], default="world")
    parser.add_argument("--in-flight", type=int, default=8)
    parser.add_argument("--warm-up-s", type=float, default=60.0, help="load before the 'after warm-up' RSS")
    parser.add_argument("--baseline-s", type=float, default=30.0, help="probe alone first, for the baseline")
    parser.add_argument("--u2net-home", type=Path, default=REPO / ".models" / "u2net")
    args = parser.parse_args()

    service = Service(args.model, args.u2net_home)
    plugin = Plugin(service)
    try:
        rss_start = service.rss()
        # The baseline: the probe alone, on the same machine, just before the load.
        idle: list[float] = []
        probe(service.url, time.monotonic() + args.baseline_s, idle, Counter())
        started = time.monotonic()
        until = started + args.minutes * 60
        tally: Counter[str] = Counter()
        latencies: list[float] = []
        probes: Counter[int] = Counter()
        threads = [Worker(i, service, plugin, until, tally) for i in range(args.in_flight)]
        threads.append(
            threading.Thread(target=probe, args=(service.url, until, latencies, probes), daemon=True)
        )
        for thread in threads:
            thread.start()
        rss_samples: list[tuple[float, float]] = []
        while time.monotonic() < until:
            rss_samples.append((time.monotonic() - started, service.rss()))
            time.sleep(1.0)
        for thread in threads:
            thread.join(timeout=600)
        rss_end, rss_peak = service.rss(), service.rss("VmHWM")
        warm = [rss for t, rss in rss_samples if t >= args.warm_up_s]
        rss_warm = warm[0] if warm else float("nan")
        peak_after = max(warm, default=float("nan"))
        alive = service.process.poll() is None
    finally:
        plugin.close()
        service.stop()

    elapsed = (time.monotonic() - started) / 60
    print(
        f"\nsoak: {elapsed:.1f} min, model {args.model}, {args.in_flight} in flight; service alive: {alive}"
    )
    print("\n| request | outcome | count |\n|---|---|---|")
    for key, count in sorted(tally.items()):
        request, outcome = key.split(" | ")
        print(f"| {request} | {outcome} | {count:,} |")
    server_errors = sum(c for k, c in tally.items() if k.split(" | ")[1][:1] == "5")
    failures = sum(c for k, c in tally.items() if k.split(" | ")[1].startswith("error"))
    print(f"\nrequests: {sum(tally.values()):,}; 5xx: {server_errors}; transport errors: {failures}")
    print("\n| ready probe | calls | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|")
    for name, values in (("alone (baseline)", idle), (f"under the load {dict(probes)}", latencies)):
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(
            f"| {name} | {len(values):,} | {p50:.1f} | {p99:.1f} | {max(values, default=float('nan')):.1f} |"
        )
    print(f"p99 under the load / alone: {percentile(latencies, 99) / percentile(idle, 99):.1f}")
    print("\n| RSS (MiB) | start | after warm-up | peak after warm-up | peak (VmHWM) | end | end / warm-up |")
    print("|---|---|---|---|---|---|---|")
    figures = [rss_start, rss_warm, peak_after, rss_peak, rss_end]
    print("| service | " + " | ".join(f"{f:,.0f}" for f in figures) + f" | {rss_end / rss_warm:.3f} |")


if __name__ == "__main__":
    main()
