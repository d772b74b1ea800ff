"""The CLI starts without importing what its command does not need."""

from __future__ import annotations

import subprocess
import sys


def test_parsing_any_command_imports_no_model_runtime() -> None:
    script = (
        "import sys\n"
        "from plugin.cli import build_parser\n"
        "build_parser().parse_args(['search', '--text', 'red dress'])\n"
        "heavy = ('torch', 'open_clip', 'transformers', 'rembg', 'onnxruntime', 'lancedb', 'weaviate')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_text_only_engine_loads_no_stage_models() -> None:
    from plugin.encoder.local import LocalEncoder
    from vectorizer_service.engine import Engine
    from vectorizer_service.runtime.fake import FakeEmbedder
    from vectorizer_service.settings import ServiceSettings

    settings = ServiceSettings(u2net_home="/nonexistent")  # loading the remover would fail
    engine = Engine(settings, embedder=FakeEmbedder(), load_compose_models=False)
    with LocalEncoder(settings, engine=engine) as encoder:
        result = encoder.compose(None, "a red dress")
    assert result.explanation.caption is None
