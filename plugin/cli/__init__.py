"""``grounded``: the command line of the whole product.

A thin layer: each command group is one module of this package that parses its arguments and
calls the package that does the work (``plugin.ingest``, ``plugin.search``, ``plugin.demo``...).
Every settings flag mirrors a ``GROUNDED_<FIELD>`` variable of :class:`PluginSettings` or
:class:`ServiceSettings` (a flag given wins). Without ``--weaviate-url`` the commands use the
embedded LanceDB store in ``--data-dir``; without ``--service-address`` the models run in this
process. A command's ``--help`` lists only the settings groups it reads (``settings=`` of
:meth:`Commands.add`); it accepts the other flags of the same settings classes too, and
``--help-all`` lists them.

Exit codes: 0 success, 1 a Grounded error (model unavailable, upstream failure, ...),
2 bad usage or input (answered before any model loads: ``plugin.cli._checks``), 3 ingestion
finished but some rows failed (see the report), 4 a search that matched no product (stderr
names the filter that emptied it).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from plugin.cli._checks import preflight
from plugin.cli._common import EXIT_ERROR, EXIT_NO_MATCH, EXIT_OK, EXIT_ROWS_FAILED, EXIT_USAGE, Commands
from plugin.cli._parser import ArgumentValueError, SuggestingParser
from schemas.errors import ErrorKind, GroundedError
from schemas.version import package_version

__all__ = ["EXIT_ERROR", "EXIT_NO_MATCH", "EXIT_OK", "EXIT_ROWS_FAILED", "EXIT_USAGE", "build_parser", "main"]

# One module per command group, in the order `grounded --help` lists them. Each has
# ``register(commands: Commands) -> None``.
_COMMAND_MODULES = (
    "demo",
    "ingest",
    "search",
    "ui",
    "duplicates",
    "index",
    "evaluate",
    "serve",
    "models",
    "onnx",
    "train",
    "pic2word",
    "attributes",
    "remover",
    "vocabulary",
    "world",
)


def build_parser() -> argparse.ArgumentParser:
    """The ``grounded`` argument parser (subcommands, each with its settings flags)."""
    parser = SuggestingParser(
        prog="grounded",
        allow_abbrev=False,
        description="Multimodal product search and composed image retrieval, embedded or on Weaviate.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("--version", action="version", version=f"grounded {package_version()}")
    commands = Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    for name in _COMMAND_MODULES:
        importlib.import_module(f"plugin.cli.{name}").register(commands)
    return parser


def _validation_line(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "settings"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; errors print one line to stderr and return a non-zero exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except ArgumentValueError as exc:
        print(f"{exc.prog}: error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    if not args.verbose:
        # Offline, the model hub client logs every retry twice; the loader's error says it once.
        logging.getLogger("huggingface_hub").setLevel(logging.ERROR)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        preflight(args)
        return int(args.run(args))
    except GroundedError as exc:
        hint = ""
        if exc.kind is ErrorKind.MODEL_UNAVAILABLE and "rembg" not in exc.message:
            from plugin.cli._hints import model_hint

            hint = " " + model_hint(args)
        print(f"grounded {args.command}: error: {exc.message}{hint}", file=sys.stderr)
        return EXIT_USAGE if exc.kind is ErrorKind.INVALID_INPUT else EXIT_ERROR
    except ValidationError as exc:
        print(f"grounded {args.command}: invalid setting: {_validation_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"grounded {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
