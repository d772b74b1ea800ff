"""What the training commands share: the run flags, the options built from them, the resume hint.

``train`` and ``train-pic2word`` take the same flags for reading the catalog and for running
(seed, threads, device, saving, resuming); each adds the flags of what it trains.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys
from typing import Any, TypeVar

from plugin.cli._checks import existing_dir

__all__ = ["add_catalog_arguments", "add_run_arguments", "options_from_args", "print_resume_hint"]

T = TypeVar("T")


def add_catalog_arguments(parser: argparse.ArgumentParser) -> None:
    """``--images`` and ``--skip-bad-rows``: how a training command reads its catalog."""
    add = parser.add_argument
    add("--images", type=existing_dir, help="folder of relative image paths (default: the catalog's)")
    add(
        "--skip-bad-rows",
        action="store_true",
        help="train on the usable rows; each unusable one is listed with its reason (output and card)",
    )


def add_run_arguments(parser: argparse.ArgumentParser, defaults: Any, state_file: str) -> None:
    """Seed, threads, device, saving and resuming, with the defaults of the options dataclass."""
    add = parser.add_argument
    add("--seed", type=int, default=defaults.seed, help="seed of every random draw of the run")
    add("--threads", type=int, help="torch CPU threads")
    add("--device", default=defaults.device, help="auto, cpu, cuda or cuda:N")
    add("--save-every", type=int, default=defaults.save_every, help="steps between state saves")
    add("--resume", action="store_true", help=f"continue from {state_file}")
    add("--stop-after-steps", type=int, help="stop this session after N steps (resume later)")
    add("--offline", action="store_true", help="never touch the model hub")
    add("--progress", action=argparse.BooleanOptionalAction, default=defaults.progress, help="progress bar")


def options_from_args(cls: type[T], args: argparse.Namespace) -> T:
    """``cls`` (an options dataclass) from the parsed flags of the same names."""
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]  # cls is a dataclass by contract
    return cls(**{f.name: getattr(args, f.name) for f in fields if hasattr(args, f.name)})


def print_resume_hint(args: argparse.Namespace, complete: bool) -> None:
    """After a session that stopped early: the exact command that continues it."""
    if not complete:
        again = sys.argv[1:] if args.resume else [*sys.argv[1:], "--resume"]
        print(f"stopped early; continue with: {shlex.join(['grounded', *again])}")
