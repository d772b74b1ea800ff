"""Background removal with rembg's real u2netp weights, loaded from a local folder only."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from schemas.errors import ModelUnavailableError
from schemas.wire import ComposeOptions
from vectorizer_service.compose.fake import FakeCaptioner
from vectorizer_service.compose.pipeline import ComposePipeline
from vectorizer_service.compose.protocols import Caption, ComposeDeps, Cutout
from vectorizer_service.compose.remover import NEUTRAL_BACKGROUND, RembgRemover, load_remover
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.runtime.protocol import Vectors
from vectorizer_service.settings import ServiceSettings


@pytest.fixture(scope="module")
def remover(u2net_home: Path) -> RembgRemover:
    return load_remover(ServiceSettings(u2net_home=u2net_home, rembg_model="u2netp", device="cpu"))


def test_cuts_out_real_photos(remover: RembgRemover, sample_images: dict[str, Image.Image]) -> None:
    names = ["astronaut", "chelsea", "coffee"]
    cutouts = remover.remove([sample_images[n] for n in names])
    for name, cutout in zip(names, cutouts, strict=True):
        original = sample_images[name]
        assert cutout.image.size == original.size and cutout.image.mode == "RGB"
        # a subject was found, and it is neither nothing nor everything
        assert 0.1 < cutout.coverage < 0.95, (name, cutout.coverage)
        pixels = np.asarray(cutout.image).reshape(-1, 3)
        background = (pixels == NEUTRAL_BACKGROUND).all(axis=1).mean()
        # roughly the uncovered part became the neutral colour (soft edges blur the boundary)
        assert background > 0.5 * (1 - cutout.coverage), (name, background, cutout.coverage)
        assert background < 1 - 0.5 * cutout.coverage


def test_blank_image_has_an_empty_mask(remover: RembgRemover) -> None:
    [cutout] = remover.remove([Image.new("RGB", (96, 64), (255, 255, 255))])
    assert cutout.coverage < 0.01


async def test_pipeline_keeps_a_blank_original_and_says_so(remover: RembgRemover) -> None:
    embedder = FakeEmbedder()
    captioner = FakeCaptioner()
    blank = Image.new("RGB", (96, 64), (200, 200, 200))

    async def remove(image: Image.Image) -> Cutout:
        return remover.remove([image])[0]

    async def caption(image: Image.Image) -> Caption:
        return captioner.caption([image])[0]

    async def texts(items: Sequence[str]) -> Vectors:
        return embedder.encode_texts(items)

    async def images(items: Sequence[Image.Image]) -> Vectors:
        return embedder.encode_images(items)

    pipeline = ComposePipeline(ComposeDeps(texts, images, remove, caption), ServiceSettings())
    result = await pipeline.run(blank, "in blue", ComposeOptions(return_cutout=True))
    ex = result.explanation
    assert ex.background_removed is False
    assert ex.mask_coverage is not None and ex.mask_coverage < 0.01
    assert "mask is empty" in ex.background_note and "kept the original" in ex.background_note
    assert captioner.seen[0].tobytes() == blank.tobytes()
    assert ex.cutout_png is None


def test_missing_model_file_names_file_and_settings(tmp_path: Path) -> None:
    settings = ServiceSettings(u2net_home=tmp_path, rembg_model="isnet-general-use")
    with pytest.raises(ModelUnavailableError) as info:
        load_remover(settings)
    message = info.value.message
    assert str(tmp_path / "isnet-general-use.onnx") in message
    assert "rembg_model='isnet-general-use'" in message and "GROUNDED_U2NET_HOME" in message
    # nothing was downloaded into the folder (rembg would otherwise fetch the file there)
    assert list(tmp_path.iterdir()) == []


def test_unknown_model_lists_the_choices(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"unknown rembg model 'u3net'.*u2netp"):
        load_remover(ServiceSettings(u2net_home=tmp_path, rembg_model="u3net"))


def test_other_models_load_from_their_own_file(tmp_path: Path, u2net_home: Path) -> None:
    # u2net shares u2netp's graph interface; a copy under the u2net name proves the file lookup
    # goes by model name, from the configured folder, without rembg's downloader.
    shutil.copy(u2net_home / "u2netp.onnx", tmp_path / "u2net.onnx")
    remover = load_remover(ServiceSettings(u2net_home=tmp_path, rembg_model="u2net", device="cpu"))
    assert remover.name == "rembg:u2net"
    [cutout] = remover.remove([Image.new("RGB", (32, 32), (255, 255, 255))])
    assert cutout.coverage < 0.01
