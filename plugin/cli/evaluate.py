"""``grounded eval``: composed-retrieval benchmarks (FashionIQ, CIRR, CIRCO) through the
product's own compose path, in-process or against ``--service-address``."""

from __future__ import annotations

import argparse
from pathlib import Path

from plugin.cli._common import EXIT_OK, MODELS, Commands, plugin_settings, service_settings
from plugin.evaluation.configs import BASE_CONFIGS, DEFAULT_IMAGE_WEIGHTS, SWEEP
from plugin.settings import PluginSettings
from vectorizer_service import ServiceSettings

GALLERY_CACHE_FOLDER = "eval-gallery"


def _weights(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}") from None


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _run(args: argparse.Namespace) -> int:
    from plugin.encoder import open_encoder
    from plugin.evaluation import build_configs, load_dataset, print_table, run_evaluation, write_report

    plugin = plugin_settings(args)
    configs = build_configs(args.configs, args.image_weights)
    dataset = load_dataset(args.dataset, args.root, args.split, args.categories).limited(args.limit)
    out: Path = args.out or plugin.data_dir / "eval" / f"{dataset.name}-{dataset.split}"
    service = service_settings(args)
    if not any(c.options.remove_background for c in configs) and service.remove_background:
        # No chosen configuration removes backgrounds (each says so in its options), so the
        # service default only decides whether rembg's weights must be present: they need not be.
        service = service.model_copy(update={"remove_background": False})
    # --cache-dir is the service settings' flag when they have one (one cache folder per
    # machine), else this command's own; either way the gallery cache is a subfolder.
    base: Path | None = getattr(service, "cache_dir", None) or getattr(args, "cache_dir", None)
    cache_dir = (base or plugin.data_dir) / GALLERY_CACHE_FOLDER
    encoder = open_encoder(plugin, service)
    try:
        run = run_evaluation(dataset, encoder, configs, cache_dir=cache_dir, progress=args.progress)
    finally:
        encoder.close()
    print_table(run)
    for path in write_report(run, out):
        print(f"wrote {path}")
    return EXIT_OK


def register(commands: Commands) -> None:
    known = ", ".join([c.name for c in BASE_CONFIGS] + [SWEEP])
    ev = commands.add(
        "eval",
        "composed-retrieval benchmarks: FashionIQ, CIRR, CIRCO",
        settings=("data", *MODELS, "compose", "vocabulary"),
    )
    ev.add_argument(
        "--dataset", required=True, choices=("fashioniq", "cirr", "circo"), help="benchmark layout"
    )
    ev.add_argument(
        "--root", required=True, type=Path, help="the benchmark's folder, as its release ships it"
    )
    ev.add_argument(
        "--split", required=True, help="fashioniq: val/train; cirr: val/test1/train; circo: val/test"
    )
    ev.add_argument(
        "--categories", type=_names, help="fashioniq categories, comma-separated (default: all three)"
    )
    ev.add_argument("--configs", type=_names, help=f"configurations, comma-separated (default: all): {known}")
    ev.add_argument(
        "--image-weights",
        type=_weights,
        default=list(DEFAULT_IMAGE_WEIGHTS),
        help="image weights of the full-pipeline sweep (default: 0,0.1,0.2,0.3)",
    )
    ev.add_argument("--limit", type=int, help="evaluate only the first N queries (of each category)")
    ev.add_argument(
        "--out", type=Path, help="folder for eval.md, eval.json (default: <data-dir>/eval/<dataset>-<split>)"
    )
    if "cache_dir" not in ServiceSettings.model_fields and "cache_dir" not in PluginSettings.model_fields:
        ev.add_argument(
            "--cache-dir",
            type=Path,
            help=f"cache folder (default: <data-dir>); gallery vectors go to {GALLERY_CACHE_FOLDER}/",
        )
    ev.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bars")
    ev.set_defaults(run=_run)
