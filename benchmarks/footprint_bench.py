"""Install size, time to ready and memory after warm-up of the service, torch vs slim.

    python benchmarks/footprint_bench.py --torch-python .venv/bin/python \
        --slim-python /tmp/slim/bin/python --model ViT-B-32 --pretrained FILE --onnx-dir DIR

Each configuration starts ``python -m vectorizer_service`` (composed queries on: u2netp and the
attribute captioner, with its prompt-vector cache cold), waits for ``/.well-known/ready``, sends
one /vectorize and one /compose, then reads the process's resident memory. The slim interpreter
is a venv with only ``pip install "grounded[onnx]"``: no torch is installed there at all. Size is
the venv's ``site-packages`` on disk.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from vectorize_load import free_port  # noqa: E402


def site_packages_mib(python: str) -> float:
    path = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    total = sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file() and not f.is_symlink())
    return total / 2**20


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def serve(python: str, flags: list[str], u2net_home: str) -> tuple[float, float]:
    """(seconds to ready, RSS MiB after one /vectorize and one /compose)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDED_")}
    env |= {"XDG_CACHE_HOME": tempfile.mkdtemp(), "HF_HUB_OFFLINE": "1"}
    command = [
        python, "-m", "vectorizer_service", "--host", "127.0.0.1", "--http-port", str(port),
        "--grpc-port", "0",
        "--device", "cpu", "--offline", "--u2net-home", u2net_home, "--log-level", "warning", *flags,
    ]  # fmt: skip
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=tempfile.gettempdir(), env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"exited with {process.returncode}: {' '.join(command)}")
            try:
                if httpx.get(f"{url}/.well-known/ready", timeout=1).status_code == 204:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        ready = time.perf_counter() - started
        buffer = io.BytesIO()
        Image.new("RGB", (256, 256), (200, 30, 30)).save(buffer, "JPEG")
        image = base64.b64encode(buffer.getvalue()).decode()
        for path, body in (("/vectorize", {"texts": ["a red dress"], "images": [image]}),
                           ("/compose", {"image": image, "text": "in blue"})):  # fmt: skip
            response = httpx.post(url + path, json=body, timeout=120)
            response.raise_for_status()
        return ready, rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(30)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--torch-python", default=sys.executable)
    parser.add_argument("--slim-python", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--pretrained", required=True)
    parser.add_argument("--onnx-dir", required=True)
    parser.add_argument("--u2net-home", default=str(REPO / ".models" / "u2net"))
    args = parser.parse_args()
    torch_flags = ["--model", args.model, "--pretrained", args.pretrained]
    onnx_flags = ["--backend", "onnx", "--model", args.onnx_dir]
    configs = [
        ("torch install, open_clip backend", args.torch_python, torch_flags),
        ("torch install, onnx backend", args.torch_python, onnx_flags),
        ("slim install, onnx backend", args.slim_python, onnx_flags),
    ]
    sizes = {python: site_packages_mib(python) for python in {args.torch_python, args.slim_python}}
    rows = []
    for label, python, flags in configs:
        ready, rss = serve(python, flags, args.u2net_home)
        rows.append((label, sizes[python], ready, rss))
        print(f"{label}: {ready:.1f} s to ready, {rss:.0f} MiB", flush=True)
    first = rows[0]
    header = f"{'configuration':34} {'site-packages MiB':>18} {'ready s':>8} {'RSS MiB':>8}  ratios"
    print("\n" + header + "\n" + "-" * (len(header) + 20))
    for label, size, ready, rss in rows:
        ratios = f"size {size / first[1]:.2f}, ready {ready / first[2]:.2f}, RSS {rss / first[3]:.2f}"
        print(f"{label:34} {size:>18.0f} {ready:>8.1f} {rss:>8.0f}  {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
