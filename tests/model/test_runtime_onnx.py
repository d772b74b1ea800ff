"""The onnx backend: tiny open_clip and transformers CLIP models exported with
``export_onnx`` and loaded through ``load_embedder`` give the torch backend's vectors, and the
serving path imports no torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from schemas.errors import ModelUnavailableError
from tests.support.runtime_checks import TITLES, assert_unit_rows
from vectorizer_service.runtime.loader import load_embedder
from vectorizer_service.settings import ServiceSettings

PAIRS = {
    "open_clip": ("tiny_onnx_settings", "tiny_clip_settings"),
    "transformers": ("tiny_hf_onnx_settings", "tiny_hf_clip_settings"),
}
LONG = "a very long product description with many words " * 12  # over 77 tokens


@pytest.fixture(params=list(PAIRS))
def pair(request: pytest.FixtureRequest) -> tuple[Any, Any]:
    onnx_name, torch_name = PAIRS[request.param]
    return (
        load_embedder(ServiceSettings(**request.getfixturevalue(onnx_name))),
        load_embedder(ServiceSettings(**request.getfixturevalue(torch_name))),
    )


def photos(sample_images: dict[str, Image.Image]) -> list[Image.Image]:
    # Odd sizes and a tiny one exercise the crop rounding and upscaling.
    return [*sample_images.values(), Image.new("RGB", (33, 47), (200, 30, 30)), Image.new("L", (9, 5), 128)]


def test_vectors_equal_the_torch_backend(
    pair: tuple[Any, Any], sample_images: dict[str, Image.Image]
) -> None:
    onnx, torch_model = pair
    assert onnx.info.backend == "onnx"
    assert onnx.info.source_backend == torch_model.info.backend  # the same vectors: one model identity
    assert (onnx.info.dimension, onnx.info.context_length) == (torch_model.info.dimension, 77)
    assert onnx.info.text_trimming is torch_model.info.text_trimming is True
    # The learned temperature travels with the export: captions and tags keep their confidences.
    assert torch_model.logit_scale is not None
    assert onnx.logit_scale == pytest.approx(torch_model.logit_scale)
    texts = [*TITLES, LONG, "Ünïcode & punctuation!", ""]
    got, want = onnx.encode_texts(texts), torch_model.encode_texts(texts)
    assert_unit_rows(got, len(texts), onnx.info.dimension)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-4)
    images = photos(sample_images)
    np.testing.assert_allclose(
        onnx.encode_images(images), torch_model.encode_images(images), rtol=0, atol=1e-4
    )


def test_preprocessing_gives_the_torch_backends_pixels(
    pair: tuple[Any, Any], sample_images: dict[str, Image.Image]
) -> None:
    onnx, torch_model = pair
    for image in photos(sample_images):
        np.testing.assert_allclose(
            onnx.prepare_image(image), torch_model.prepare_image(image).numpy(), rtol=0, atol=1e-5
        )


def test_graphs_take_any_batch_and_sequence_length(pair: tuple[Any, Any]) -> None:
    onnx, _ = pair
    alone = np.concatenate([onnx.encode_texts([t]) for t in [*TITLES, LONG]])
    together = onnx.encode_texts([*TITLES, LONG])
    np.testing.assert_allclose(alone, together, rtol=0, atol=1e-5)
    image = Image.new("RGB", (40, 40), (10, 120, 200))
    np.testing.assert_allclose(onnx.encode_images([image] * 5)[3], onnx.encode_images([image])[0], atol=1e-5)
    assert onnx.encode_texts([]).shape == onnx.encode_prepared([]).shape == (0, onnx.info.dimension)


def test_export_writes_the_manifest_through_the_cli(
    tiny_clip_settings: dict[str, Any], tmp_path: Path
) -> None:
    from plugin.cli import main

    out = tmp_path / "export"
    args = ["models", "export-onnx", "--out", str(out), "--model", tiny_clip_settings["model"], "--offline"]
    assert main(args) == 0
    manifest = json.loads((out / "grounded-onnx.json").read_text())
    assert (manifest["format"], manifest["source_backend"], manifest["dimension"]) == (
        "grounded-onnx/1",
        "open_clip",
        32,
    )
    assert {"image.onnx", "text.onnx", "tokenizer.json"} <= {p.name for p in out.iterdir()}
    # The export of a random model is random too: serving it warns just the same.
    assert (out / "RANDOM_WEIGHTS").is_file()


def test_an_export_of_a_model_folder_names_its_sources_vector_space(
    tiny_clip_settings: dict[str, Any], tmp_path: Path
) -> None:
    # The CLI's default tag ("openai") does not apply to a model folder: the torch backend
    # records none, and an export must not either, or a table its source built refuses it.
    from vectorizer_service.runtime.onnx_export import export_onnx

    settings = ServiceSettings(**{**tiny_clip_settings, "pretrained": "openai"})
    export_onnx(settings, tmp_path / "onnx")
    onnx = load_embedder(
        ServiceSettings(backend="onnx", model=str(tmp_path / "onnx"), device="cpu", offline=True)
    )
    assert onnx.info.vector_space == load_embedder(settings).info.vector_space


def test_siglip_is_refused_with_a_reason(tmp_path: Path) -> None:
    from vectorizer_service.runtime.onnx_export import export_onnx
    from vectorizer_service.runtime.random_weights import save_random_hf_siglip

    model = save_random_hf_siglip(tmp_path / "siglip")
    with pytest.raises(ModelUnavailableError, match="SentencePiece"):
        export_onnx(ServiceSettings(backend="transformers", model=model, offline=True), tmp_path / "out")


def test_a_folder_without_an_export_is_model_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="export-onnx"):
        load_embedder(ServiceSettings(backend="onnx", model=str(tmp_path)))


BLOCK_TORCH = """
import importlib.abc, sys
BLOCKED = ("torch", "torchvision", "open_clip", "transformers", "rembg")
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"blocked import of {name}")
        return None
sys.meta_path.insert(0, Block())
"""


def test_the_onnx_service_runs_with_torch_imports_blocked(
    tiny_onnx_settings: dict[str, Any], u2net_home: Path, tmp_path: Path
) -> None:
    """HTTP contract and a composed query (background removal, attribute captioner) in a
    process where importing torch, transformers, open_clip or rembg raises."""
    script = BLOCK_TORCH + textwrap.dedent(
        f"""
        import asyncio, base64, io
        import httpx
        from PIL import Image
        from vectorizer_service.engine import Engine
        from vectorizer_service.settings import ServiceSettings
        from vectorizer_service.transports.http import create_app

        settings = ServiceSettings(**{tiny_onnx_settings!r}, u2net_home={str(u2net_home)!r},
                                   cache_dir={str(tmp_path)!r})
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 20, 20)).save(buffer, "PNG")
        image = base64.b64encode(buffer.getvalue()).decode()

        async def main():
            app = create_app(Engine(settings))
            async with app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://x"
            ) as client:
                meta = (await client.get("/meta")).json()
                payload = {{"texts": ["a red dress"], "images": [image]}}
                body = (await client.post("/vectorize", json=payload)).json()
                composed = await client.post("/compose", json={{"image": image, "text": "in blue"}})
                dims = len(body["textVectors"][0]), len(body["imageVectors"][0])
                print(meta["backend"], *dims, composed.status_code)
            loaded = ("torch", "transformers", "open_clip", "rembg")
            print(sorted(m for m in loaded if m in __import__("sys").modules))

        asyncio.run(main())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[:2] == ["onnx 32 32 200", "[]"]
