"""Peak memory of the service under issue 22's memory attack, with the decoded-pixel budget off and on.

    python benchmarks/pixel_budget.py [--levels 1,16,48] [--before-ref ba3dc3b] [--max-rss-mib 4096]

The attack file is a JPEG of about 630 bytes whose header claims 6000 x 6000 pixels (an 8 x 8
JPEG with its frame size rewritten; decoders fill the missing data). At each level N, at once:
one ``/vectorize`` request carrying N of them (the issue's 44 KB request at N = 48) and N
``/compose`` requests carrying one each (background removal with u2netp when its weights are in
``--u2net-home``). Every configuration is a fresh ``python -m vectorizer_service`` process per
level, so each peak (``VmHWM``) is that level's alone; the model is a tiny random open_clip
network with CLIP's real 224 px preprocessing, so the memory measured is the images', not the
model's.

Configurations, measured in the same run:

- ``budget off``: this tree with ``GROUNDED_PIXEL_BUDGET=0`` (JPEGs still decode at reduced scale,
  one image of a ``/vectorize`` request at a time).
- ``budget on``: this tree with the default budget.
- ``before`` (with ``--before-ref``): the code of that git commit (extracted with ``git archive``),
  which decoded every image of a request at full size and held them all.

A process whose RSS passes ``--max-rss-mib`` is killed (so the benchmark cannot take a shared
machine down) and reported as ``>limit (killed)``, as the issue's 6 GB kill was.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from vectorize_load import free_port  # noqa: E402


def attack_jpeg(side: int = 6000) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 150)).save(buffer, format="JPEG", quality=50)
    data = bytearray(buffer.getvalue())
    at = data.index(b"\xff\xc0")
    data[at + 5 : at + 9] = side.to_bytes(2, "big") + side.to_bytes(2, "big")
    return bytes(data)


def attack_png(side: int = 6000) -> bytes:
    """A real ``side`` x ``side`` PNG of one colour: about 100 KB, and PNG has no reduced-scale decoding."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


ATTACKS = {"jpeg": attack_jpeg, "png": attack_png}


def proc_status(pid: int, field: str) -> float:
    """``VmRSS`` / ``VmHWM`` of ``pid`` in MiB (nan once it has exited)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def tiny_model(folder: Path) -> str:
    """A tiny random open_clip model with CLIP's 224 px image preprocessing."""
    from vectorizer_service import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    config = {
        **TINY_OPEN_CLIP_CONFIG,
        "vision_cfg": {**TINY_OPEN_CLIP_CONFIG["vision_cfg"], "image_size": 224, "patch_size": 32},
    }
    model, _ = save_random_open_clip(config, folder)
    return model


def source_tree(ref: str | None) -> Path:
    if ref is None:
        return REPO
    folder = Path(tempfile.mkdtemp(prefix="grounded-before-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


async def attack(url: str, level: int, image: str) -> Counter[int]:
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        requests = [client.post("/vectorize", json={"images": [image] * level})]
        requests += [client.post("/compose", json={"image": image, "text": "in blue"}) for _ in range(level)]
        answers = await asyncio.gather(*requests, return_exceptions=True)
    return Counter(a.status_code if isinstance(a, httpx.Response) else 0 for a in answers)


def measure(
    tree: Path, model: str, kind: str, level: int, env_extra: dict[str, str], args: argparse.Namespace
) -> dict[str, object]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDED_")}
    env |= {"PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": tempfile.mkdtemp(), **env_extra}
    command = [
        sys.executable, "-m", "vectorizer_service", "--host", "127.0.0.1", "--http-port", str(port),
        "--grpc-port", "0", "--device", "cpu", "--offline", "--model", model, "--pretrained", "",
        "--captioner", "none", "--log-level", "warning",
    ]  # fmt: skip
    u2net = Path(args.u2net_home) / "u2netp.onnx"
    command += (
        ["--u2net-home", args.u2net_home, "--remove-background", "true"]
        if u2net.exists()
        else ["--remove-background", "false"]
    )
    process = subprocess.Popen(command, cwd=tempfile.gettempdir(), env=env, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    killed = threading.Event()

    def guard() -> None:
        while process.poll() is None:
            if proc_status(process.pid, "VmRSS") > args.max_rss_mib:
                killed.set()
                process.kill()
                return
            time.sleep(0.02)

    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}: {' '.join(command)}")
            try:
                if httpx.get(f"{url}/.well-known/ready", timeout=1).status_code == 204:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        image = base64.b64encode(ATTACKS[kind]()).decode()
        asyncio.run(attack(url, 1, base64.b64encode(_small_jpeg()).decode()))  # warm-up, a normal image
        idle = proc_status(process.pid, "VmRSS")
        threading.Thread(target=guard, daemon=True).start()
        started = time.perf_counter()
        statuses = asyncio.run(attack(url, level, image))
        seconds = time.perf_counter() - started
        peak = proc_status(process.pid, "VmHWM")
    finally:
        process.kill()
        process.wait()
    return {"idle": idle, "peak": peak, "killed": killed.is_set(), "statuses": statuses, "seconds": seconds}


def _small_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--levels", default="1,16,48")
    parser.add_argument("--kinds", default="jpeg,png", help="attack files: jpeg (the issue's), png")
    parser.add_argument("--before-ref", default=None, help="git commit whose code is measured as 'before'")
    parser.add_argument("--before-tree", default=None, help="or a folder holding that code")
    parser.add_argument("--max-rss-mib", type=float, default=4096.0)
    parser.add_argument(
        "--budget", default=None, help="GROUNDED_PIXEL_BUDGET of 'budget on' (default: the default)"
    )
    parser.add_argument("--u2net-home", default=str(REPO / ".models" / "u2net"))
    args = parser.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    kinds = args.kinds.split(",")
    model = tiny_model(Path(tempfile.mkdtemp(prefix="grounded-tiny-")))
    configs: list[tuple[str, Path, dict[str, str]]] = []
    if args.before_tree:
        configs.append(("before", Path(args.before_tree), {}))
    elif args.before_ref:
        configs.append((f"before ({args.before_ref})", source_tree(args.before_ref), {}))
    on_env = {"GROUNDED_PIXEL_BUDGET": args.budget} if args.budget else {}
    configs += [("budget off", REPO, {"GROUNDED_PIXEL_BUDGET": "0"}), ("budget on", REPO, on_env)]
    results: dict[tuple[str, str, int], dict[str, object]] = {}
    for kind in kinds:
        for level in levels:
            for name, tree, env in configs:
                results[name, kind, level] = measure(tree, model, kind, level, env, args)
                print(
                    f"  measured {name}, {kind}, level {level}: {results[name, kind, level]}",
                    file=sys.stderr,
                    flush=True,
                )

    def peak(name: str, kind: str, level: int) -> str:
        r = results[name, kind, level]
        return f">{args.max_rss_mib:.0f} (killed)" if r["killed"] else f"{r['peak']:.0f}"

    print(f"\nservice peak RSS (MiB) under the attack; {os.cpu_count()} CPUs; [idle RSS after warm-up]")
    print(
        "| attack (6000 x 6000 claimed) | "
        + " | ".join(name for name, _, _ in configs)
        + " | on / off | on / before |"
    )
    print("|---|" + "---|" * (len(configs) + 2))
    for kind in kinds:
        for level in levels:
            cells = [
                f"{peak(name, kind, level)} [{results[name, kind, level]['idle']:.0f}]"
                for name, _, _ in configs
            ]
            on = results["budget on", kind, level]
            ratios = []
            for other in ("budget off", configs[0][0] if args.before_ref or args.before_tree else None):
                if other is None:
                    ratios.append("-")
                    continue
                base = results[other, kind, level]
                # A killed baseline peaked above the limit: the ratio is at most on / limit.
                base_peak = args.max_rss_mib if base["killed"] else float(base["peak"])  # type: ignore[arg-type]
                ratio = float(on["peak"]) / base_peak  # type: ignore[arg-type]
                ratios.append(f"{'<' if base['killed'] else ''}{ratio:.2f}")
            print(
                f"| {kind}: {level} in one /vectorize + {level} /compose | "
                + " | ".join(cells + ratios)
                + " |"
            )
    print("\nstatuses (HTTP status: count; 0 = connection failed) and wall time:")
    for (name, kind, level), r in results.items():
        print(f"  {name:>20} {kind:>4} N={level:<3} {dict(r['statuses'])}  {r['seconds']:.1f} s")  # type: ignore[call-overload]


if __name__ == "__main__":
    main()
