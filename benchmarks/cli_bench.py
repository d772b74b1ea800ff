"""Wall time and peak memory of one embedded ``grounded search`` on the demo store.

    python benchmarks/cli_bench.py --catalog CATALOG.jsonl --model ViT-B-32 --pretrained FILE \
        --image photo.jpg [--before-tree OLD_CHECKOUT]

Each row is one fresh process (what a user pays per command), measured in the same run:
the composed query (image + text) with the torch backend with a cold and a warm prompt-vector
cache, the same with the model exported to ONNX, and a text-only query. ``--before-tree`` (an
unpacked older checkout, e.g. ``git archive <rev> | tar -x -C DIR``) adds the same composed
query run by that code, the baseline of the ratio column. Each tree first ingests the catalog
(e.g. the demo's ``catalog.jsonl``) into its own embedded store with the same model.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MiB) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
        )
    return seconds, usage.ru_maxrss / 1024


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
    # (label, tree, model flags, query flags); a store is ingested per tree and model, since a
    # store refuses queries from another backend's model.
    rows: list[tuple[str, Path, list[str], list[str]]] = []
    if args.before_tree is not None:
        rows.append(("before: image + text (torch)", args.before_tree, torch_model, query))
    rows += [
        ("image + text, torch, cold cache", REPO, torch_model, query),
        ("image + text, torch, warm cache", REPO, torch_model, query),
        ("image + text, onnx export", REPO, onnx_model, query),
        ("text only, onnx export", REPO, onnx_model, ["--text", args.text]),
    ]
    stores: dict[tuple[Path, str], list[str]] = {}
    for _, tree, model, _ in rows:
        if (tree, model[1]) not in stores:
            flags = ["--data-dir", str(work / f"store-{len(stores)}")]
            stores[(tree, model[1])] = flags
            ingest = [*cli, "ingest", str(args.catalog), *flags, *common, *model]
            subprocess.run(ingest, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    results = []
    for label, tree, model, extra in rows:
        command = [*cli, "search", *stores[(tree, model[1])], *common, *model, *extra]
        seconds, rss = timed(command, tree, env)
        results.append((label, seconds, rss))
        print(f"{label}: {seconds:.1f} s, {rss:.0f} MiB", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    base = results[0][1]
    header = f"{'grounded search':34} {'wall s':>7} {'x first':>8} {'peak RSS MiB':>13}"
    print("\n" + header + "\n" + "-" * len(header))
    for label, seconds, rss in results:
        print(f"{label:34} {seconds:>7.1f} {seconds / base:>8.2f} {rss:>13.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
