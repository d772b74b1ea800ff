"""``grounded eval``: composed-retrieval benchmarks (FashionIQ, CIRR, CIRCO) through the
product's own compose path, in-process or against ``--service-address``; ``grounded
eval-choice``: the table that chooses the default from several reports."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from plugin.cli._checks import existing_dir, positive_int
from plugin.cli._common import EXIT_OK, MODELS, Commands, attr_pair, plugin_settings, service_settings
from plugin.evaluation.configs import (
    BASE_CONFIGS,
    DEFAULT,
    DEFAULT_IMAGE_WEIGHTS,
    DEFAULT_TRUTH,
    PIC2WORD_WORDINGS,
    SWEEP,
    TRUE_ATTRIBUTES,
)
from plugin.settings import PluginSettings
from vectorizer_service import ServiceSettings

GALLERY_CACHE_FOLDER = "eval-gallery"
log = logging.getLogger(__name__)


def _weights(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}") from None


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _run(args: argparse.Namespace) -> int:
    from plugin.encoder import open_encoder
    from plugin.evaluation import (
        REMOTE_WEIGHTS,
        build_configs,
        load_dataset,
        print_table,
        run_evaluation,
        weights_identity,
        write_report,
    )

    plugin = plugin_settings(args)
    configs = build_configs(args.configs, args.image_weights)
    dataset = load_dataset(args.dataset, args.root, args.split, args.categories).limited(args.limit)
    out: Path = args.out or plugin.data_dir / "eval" / f"{dataset.name}-{dataset.split}"
    service = service_settings(args)
    if service.remove_background and all(
        c.options.remove_background is False or not c.send_image for c in configs
    ):
        # Every chosen configuration that sends an image says it keeps the background (the
        # default row leaves it to the service: it is never one of them), so the service
        # default only decides whether rembg's weights must be present: they need not be.
        service = service.model_copy(update={"remove_background": False})
    # --cache-dir is the service settings' flag when they have one (one cache folder per
    # machine), else this command's own; either way the gallery cache is a subfolder.
    base: Path | None = getattr(service, "cache_dir", None) or getattr(args, "cache_dir", None)
    cache_dir = (base or plugin.data_dir) / GALLERY_CACHE_FOLDER
    notes: list[str] = []
    if plugin.service_address:
        weights = REMOTE_WEIGHTS
        notes.append(
            f"gallery cache keyed on the served model's name only: its weights are on the service's "
            f"machine and cannot be hashed here; after retraining it in place, delete {cache_dir}"
        )
        log.warning("%s", notes[-1])
    else:
        weights = weights_identity(service.model, service.pretrained)
    encoder = open_encoder(plugin, service)
    try:
        run = run_evaluation(
            dataset,
            encoder,
            configs,
            cache_dir=cache_dir,
            progress=args.progress,
            weights=weights,
            notes=notes,
        )
    finally:
        encoder.close()
    print_table(run)
    for path in write_report(run, out):
        print(f"wrote {path}")
    return EXIT_OK


def _choose(args: argparse.Namespace) -> int:
    from plugin.evaluation import make_choice, read_report, write_choice

    choice = make_choice([read_report(label, Path(path)) for label, path in args.report], args.criterion)
    paths = write_choice(choice, args.out)
    print(paths[0].read_text(encoding="utf-8"))
    for path in paths:
        print(f"wrote {path}")
    return EXIT_OK


def register(commands: Commands) -> None:
    known = ", ".join(
        [DEFAULT, *(c.name for c in BASE_CONFIGS), SWEEP, DEFAULT_TRUTH, TRUE_ATTRIBUTES, PIC2WORD_WORDINGS]
    )
    ev = commands.add(
        "eval",
        "composed-retrieval benchmarks: FashionIQ, CIRR, CIRCO",
        settings=("data", *MODELS, "compose", "vocabulary"),
    )
    ev.add_argument(
        "--dataset", required=True, choices=("fashioniq", "cirr", "circo"), help="benchmark layout"
    )
    ev.add_argument(
        "--root", required=True, type=existing_dir, help="the benchmark's folder, as its release ships it"
    )
    ev.add_argument(
        "--split", required=True, help="fashioniq: val/train; cirr: val/test1/train; circo: val/test"
    )
    ev.add_argument(
        "--categories", type=_names, help="fashioniq categories, comma-separated (default: all three)"
    )
    ev.add_argument(
        "--configs",
        type=_names,
        help=f"configurations, comma-separated (default: all but the pic2word rows, which need a mapper; "
        f"'{DEFAULT}' is always included): {known}",
    )
    ev.add_argument(
        "--image-weights",
        type=_weights,
        default=list(DEFAULT_IMAGE_WEIGHTS),
        help="image weights of the full-pipeline sweep (default: 0,0.1,0.2,0.3)",
    )
    ev.add_argument("--limit", type=positive_int, help="evaluate only the first N queries (of each category)")
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
    choose = commands.add(
        "eval-choice", "the choice table: every configuration of several eval.json reports, ranked"
    )
    choose.add_argument(
        "--report",
        action="append",
        type=attr_pair,
        required=True,
        metavar="LABEL=EVAL_JSON",
        help="a labelled eval.json (repeat: e.g. shopper=reports/world-val/cirr-shopper/eval.json)",
    )
    choose.add_argument(
        "--criterion", type=_names, help="labels whose headline metric the score averages (default: all)"
    )
    choose.add_argument("--out", type=Path, required=True, help="folder for choice.md and choice.json")
    choose.set_defaults(run=_choose)
