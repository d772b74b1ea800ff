"""Offline rendering for the deployment checks: Kustomize (kubectl's built-in), the official Weaviate
chart (vendored at deploy/helm/vendor/weaviate, rendered by Helm's own engine), the Dockerfile's
final stage as data, and validation against the Kubernetes JSON schemas of one named version."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
KUSTOMIZE = DEPLOY / "kustomize"
CHART = DEPLOY / "helm" / "vendor" / "weaviate"
HELM_VALUES = {
    "module": DEPLOY / "helm" / "weaviate-values.yaml",
    "external": DEPLOY / "helm" / "weaviate-values-external.yaml",
    "cluster": DEPLOY / "helm" / "weaviate-values-cluster.yaml",
}
KUBERNETES_VERSION = "1.33.0"
"""The Kubernetes release every manifest is validated against (strict: unknown fields fail)."""

Manifest = dict[str, Any]


def tool(name: str) -> str:
    """A console script of the dev extra: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: run `make install` (it comes with the dev extra)")
    return found


def kustomize(path: Path) -> list[Manifest]:
    """``kubectl kustomize path``: the objects Kustomize renders, in order."""
    out = subprocess.run(
        [tool("kubectl"), "kustomize", str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{out.stderr}")
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def helm_template(values_file: Path, *, namespace: str = "weaviate") -> list[Manifest]:
    """The official chart rendered with ``values_file`` (as ``helm template weaviate``)."""
    import helm_python as helm

    values = yaml.safe_load(values_file.read_text())
    with helm.Chart.load(str(CHART)) as chart:
        rendered = chart.render(values, name="weaviate", namespace=namespace)
    return [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if doc]


def chart_metadata() -> dict[str, Any]:
    meta: dict[str, Any] = yaml.safe_load((CHART / "Chart.yaml").read_text())
    return meta


def schema_errors(manifest: Manifest) -> list[str]:
    """Violations of the Kubernetes JSON schema for ``manifest`` at :data:`KUBERNETES_VERSION`."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [str(exc)]
    return []


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    for doc in manifests:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise AssertionError(f"no {kind}/{name} among {[(d['kind'], d['metadata']['name']) for d in manifests]}")


@dataclass
class DockerStage:
    """What a Dockerfile stage gives a container: environment, default command, exposed ports."""

    env: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    expose: list[int] = field(default_factory=list)
    user: str = ""


def dockerfile_target(path: Path, target: str | None = None) -> DockerStage:
    """The configuration of stage ``target`` (default: the last one), with ARG defaults applied
    and what it inherits from earlier stages (``FROM <stage>``)."""
    stages: dict[str, DockerStage] = {}
    global_args: dict[str, str] = {}
    current: DockerStage | None = None
    args: dict[str, str] = {}
    last = ""
    for instruction, rest in _instructions(path.read_text()):
        if instruction == "FROM":
            words = rest.split()
            parent = words[0]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"#{len(stages)}"
            inherited = stages.get(parent)
            current = DockerStage(
                env=dict(inherited.env) if inherited else {},
                cmd=list(inherited.cmd) if inherited else [],
                entrypoint=list(inherited.entrypoint) if inherited else [],
                expose=list(inherited.expose) if inherited else [],
                user=inherited.user if inherited else "",
            )
            stages[name] = current
            args = {}
            last = name
        elif instruction == "ARG":
            key, _, default = rest.partition("=")
            key = key.strip()
            value = default.strip() if default else global_args.get(key, "")
            (args if current is not None else global_args)[key] = value
        elif current is None:
            continue
        elif instruction == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                current.env[key] = _substitute(value, {**args, **current.env})
        elif instruction in ("CMD", "ENTRYPOINT"):
            command = json.loads(rest) if rest.startswith("[") else ["/bin/sh", "-c", rest]
            setattr(current, instruction.lower(), command)
        elif instruction == "EXPOSE":
            current.expose = [int(p.split("/")[0]) for p in rest.split()]
        elif instruction == "USER":
            current.user = rest.strip()
    return stages[target or last]


def _instructions(text: str) -> list[tuple[str, str]]:
    joined, logical = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not logical and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            logical += line[:-1] + " "
            continue
        logical += line
        joined.append(logical)
        logical = ""
    out = []
    for line in joined:
        instruction, _, rest = line.partition(" ")
        out.append((instruction.upper(), rest.strip()))
    return out


def _substitute(value: str, scope: dict[str, str]) -> str:
    for key, sub in sorted(scope.items(), key=lambda kv: -len(kv[0])):
        value = value.replace("${" + key + "}", sub).replace("$" + key, sub)
    return value
