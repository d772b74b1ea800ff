"""``grounded models export-onnx``: a torch model -> a folder the onnx backend serves without torch."""

from __future__ import annotations

import argparse
from pathlib import Path

from plugin.cli._common import EXIT_OK, Commands, service_settings
from vectorizer_service import ENV_PREFIX


def _export(args: argparse.Namespace) -> int:
    from vectorizer_service import export_onnx

    manifest = export_onnx(service_settings(args), args.out)
    print(f"exported {manifest.name} ({manifest.source_backend}, {manifest.dimension}-d) to {args.out}")
    print(f"  serve it: --backend onnx --model {args.out}")
    print(f"  {ENV_PREFIX}BACKEND=onnx {ENV_PREFIX}MODEL={args.out}")
    return EXIT_OK


def register(commands: Commands) -> None:
    export = commands.group("models", "model utilities").add(
        "export-onnx",
        "export the --backend/--model/--pretrained model to ONNX (image and text graphs, tokenizer)",
        settings=("model",),
    )
    export.add_argument("--out", type=Path, required=True, help="folder to write the export to")
    export.set_defaults(run=_export)
