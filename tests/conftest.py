"""Shared fixtures: tiny random models saved to disk, rembg's weights, and a few real photos.

The model fixtures return dicts of :class:`ServiceSettings` keyword arguments, so a test builds
its own settings: ``ServiceSettings(**tiny_clip_settings, max_batch_size=4)``. The models are
randomly initialised, seeded, and saved in each backend's real on-disk format; loading them goes
through exactly the production path (``load_embedder``), offline.

Each test also gets the marker of its tier, the folder it lives in (``pytest -m unit``); a test
file outside a tier folder is a collection error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
TIERS = (
    "unit",
    "service",
    "model",
    "protocol",
    "store",
    "e2e",
    "reliability",
    "fuzz",
    "deploy",
    "browser",
    "integration",
)
"""The tier folders under tests/; each is also a marker declared in pyproject.toml."""
U2NET_HOME_ENV = "GROUNDED_U2NET_HOME"
SAMPLE_IMAGE_NAMES = ("astronaut", "chelsea", "coffee", "rocket")
SAMPLE_IMAGE_SIZE = 128
"""Longest side of the sample photos: real content, but cheap to decode and preprocess."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, the first folder under tests/ (``-m "unit or service"``)."""
    for item in items:
        try:
            tier = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:
            continue  # collected from outside tests/
        if tier not in TIERS:
            raise pytest.UsageError(
                f"{item.nodeid}: a test lives in a tier folder, one of tests/{{{','.join(TIERS)}}}/"
            )
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def tiny_clip_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """ServiceSettings kwargs for a tiny random open_clip model (32-d, 2 layers, 32x32 images,
    real CLIP tokenizer, 77-token context) saved in the hub layout (``local-dir:``)."""
    from vectorizer_service.runtime.random_weights import TINY_OPEN_CLIP_CONFIG, save_random_open_clip

    model, pretrained = save_random_open_clip(
        TINY_OPEN_CLIP_CONFIG, tmp_path_factory.mktemp("tiny_open_clip")
    )
    return {
        "backend": "open_clip",
        "model": model,
        "pretrained": pretrained,
        "device": "cpu",
        "offline": True,
    }


@pytest.fixture(scope="session")
def tiny_hf_clip_settings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """ServiceSettings kwargs for a tiny random transformers ``CLIPModel`` directory written by
    ``save_pretrained`` (config, safetensors, tokenizer and image processor)."""
    from vectorizer_service.runtime.random_weights import save_random_hf_clip

    model_dir = save_random_hf_clip(tmp_path_factory.mktemp("tiny_hf_clip"), tiny=True)
    return {
        "backend": "transformers",
        "model": model_dir,
        "pretrained": "",
        "device": "cpu",
        "offline": True,
    }


@pytest.fixture(scope="session")
def u2net_home() -> Path:
    """Folder holding rembg's ``u2netp.onnx``: ``$GROUNDED_U2NET_HOME`` or ``<repo>/.models/u2net``."""
    home = Path(os.environ.get(U2NET_HOME_ENV) or REPO_ROOT / ".models" / "u2net")
    if not (home / "u2netp.onnx").is_file():
        pytest.fail(
            f"rembg weights missing: {home / 'u2netp.onnx'} not found. Run `make weights` "
            f"(or set {U2NET_HOME_ENV} to a folder holding u2netp.onnx)."
        )
    return home


@pytest.fixture(scope="session")
def sample_images() -> dict[str, Image.Image]:
    """A few small real photos from scikit-image, keyed by name (astronaut, chelsea, coffee, rocket).

    Treat them as read-only: they are shared by the whole session."""
    from skimage import data

    images: dict[str, Image.Image] = {}
    for name in SAMPLE_IMAGE_NAMES:
        image = Image.fromarray(getattr(data, name)()).convert("RGB")
        image.thumbnail((SAMPLE_IMAGE_SIZE, SAMPLE_IMAGE_SIZE))
        images[name] = image
    return images


def _export_onnx(settings: dict[str, Any], out: Path) -> dict[str, Any]:
    from vectorizer_service.runtime.onnx_export import export_onnx
    from vectorizer_service.settings import ServiceSettings

    export_onnx(ServiceSettings(**settings), out)
    return {"backend": "onnx", "model": str(out), "pretrained": "", "device": "cpu", "offline": True}


@pytest.fixture(scope="session")
def tiny_onnx_settings(
    tiny_clip_settings: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """ServiceSettings kwargs for the tiny open_clip model exported by ``export_onnx``
    (``--backend onnx``); its torch source is ``tiny_clip_settings``."""
    return _export_onnx(tiny_clip_settings, tmp_path_factory.mktemp("tiny_onnx"))


@pytest.fixture(scope="session")
def tiny_hf_onnx_settings(
    tiny_hf_clip_settings: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """ServiceSettings kwargs for the tiny transformers CLIP exported to ONNX."""
    return _export_onnx(tiny_hf_clip_settings, tmp_path_factory.mktemp("tiny_hf_onnx"))
