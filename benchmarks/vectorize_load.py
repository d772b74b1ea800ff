"""The load generator of ``vectorize_bench.py``: the catalog-like workload, the service as a
real process, and ``/vectorize`` driven one object per request, the way Weaviate drives it.

Other benchmarks reuse it (``free_port``, ``running_service``, ``drive``, the workload makers).
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parent.parent

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
