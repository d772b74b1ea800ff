"""The image is a drop-in for the chart's multi2vec-clip module: the image's own command, run with
the image's environment and only the variables the chart's Deployment gives the container
(ENABLE_CUDA=0), answers the chart's probes on the chart's port.

No Docker here: the command runs as a local process. The one change from the image is where the
baked-in files live (a tiny random model and rembg's weights instead of /opt/grounded/...).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.deploy import HELM_VALUES, REPO, dockerfile_target, find, helm_template

_START_TIMEOUT_S = 120.0
_EXIT_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def chart_container() -> dict[str, Any]:
    manifests = helm_template(HELM_VALUES["module"])
    container: dict[str, Any] = find(manifests, "Deployment", "clip-inference")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def test_the_image_serves_on_the_port_the_chart_probes(chart_container: dict[str, Any]) -> None:
    image = dockerfile_target(REPO / "Dockerfile")
    ports = {chart_container[p]["httpGet"]["port"] for p in ("livenessProbe", "readinessProbe")}
    assert ports == {8080}
    assert image.env["GROUNDED_HTTP_PORT"] == "8080"
    assert 8080 in image.expose
    assert "command" not in chart_container and "args" not in chart_container, (
        "the chart runs the image's CMD"
    )
    assert image.user and image.user != "root"
    assert "GROUNDED_DEVICE" not in image.env, "a baked GROUNDED_DEVICE would override ENABLE_CUDA"


def test_the_entrypoint_answers_the_charts_probes_with_only_the_charts_variables(
    chart_container: dict[str, Any],
    tiny_clip_settings: dict[str, Any],
    u2net_home: Path,
    tmp_path: Path,
) -> None:
    image = dockerfile_target(REPO / "Dockerfile")
    chart_env = {e["name"]: e["value"] for e in chart_container["env"]}
    assert chart_env == {"ENABLE_CUDA": "0"}
    port = chart_container["readinessProbe"]["httpGet"]["port"]
    _require_free(port)

    env = {
        **image.env,
        # What the image bakes in at /opt/grounded, here in local folders:
        "GROUNDED_MODEL": tiny_clip_settings["model"],
        "GROUNDED_PRETRAINED": tiny_clip_settings["pretrained"],
        "GROUNDED_U2NET_HOME": str(u2net_home),
        "HF_HOME": str(tmp_path / "hf"),
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        **chart_env,
    }
    command = [sys.executable if word == "python" else word for word in image.entrypoint + image.cmd]
    log = tmp_path / "service.log"
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        live = _wait_for(f"{base}{chart_container['livenessProbe']['httpGet']['path']}", process, log)
        ready = _wait_for(f"{base}{chart_container['readinessProbe']['httpGet']['path']}", process, log)
        assert (live, ready) == (204, 204)
        meta = httpx.get(f"{base}/meta", timeout=5).json()
        assert meta["device"] == "cpu"  # ENABLE_CUDA=0
        vectors = httpx.post(f"{base}/vectorize", json={"texts": ["a red shoe"]}, timeout=30).json()
        assert len(vectors["textVectors"][0]) == 32
    finally:
        process.terminate()
        try:
            # The exit code is the check; the time allows a machine shared at load ~30, where
            # one idle exit (15 s of grace at most, serve.py) once took over 30 s of wall time.
            assert process.wait(timeout=_EXIT_TIMEOUT_S) == 0, log.read_text()[-3000:]
        finally:
            process.kill()


def _require_free(port: int) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            pytest.fail(f"port {port} is in use here; the drop-in check needs it (the chart's port)")


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> int:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            status = httpx.get(url, timeout=2).status_code
        except httpx.TransportError:
            status = 0
        if status == 204:
            return status
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer 204 within {_START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")
