"""Background removal on its own ONNX Runtime session: rembg's preprocessing replayed exactly,
the freed graph equal to the shipped file, a batch's cut-outs equal to one-at-a-time ones, and
the input side a setting."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from vectorizer_service.compose.protocols import Cutout
from vectorizer_service.compose.remover import _RAW_SPECS, OnnxRemover, _normalize, load_remover
from vectorizer_service.settings import ServiceSettings


def test_preprocessing_equals_rembgs(u2net_home: Path, sample_images: dict[str, Image.Image]) -> None:
    import onnxruntime as ort
    from rembg.sessions import sessions

    cls = sessions["u2netp"]
    path = str(u2net_home / "u2netp.onnx")
    local = type("Local", (cls,), {"download_models": classmethod(lambda _cls, *a, **k: path)})
    session = local("u2netp", ort.SessionOptions(), providers=["CPUExecutionProvider"])
    spec = _RAW_SPECS["u2netp"]
    for image in sample_images.values():
        [theirs] = session.normalize(image, spec.mean, spec.std, (spec.size, spec.size)).values()
        np.testing.assert_array_equal(_normalize(image, spec), theirs)


def _fixed_remover(u2net_home: Path, parallel: int = 1) -> OnnxRemover:
    """u2netp's file as shipped: a fixed (1, 3, 320, 320) input, one run per photo."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(u2net_home / "u2netp.onnx"), providers=["CPUExecutionProvider"])
    return OnnxRemover(session, "u2netp", parallel=parallel)


def _masks(cutouts: list[Cutout]) -> list[npt.NDArray[np.float32]]:
    return [np.asarray(c.alpha, dtype=np.float32) / 255.0 for c in cutouts if c.alpha is not None]


def test_the_freed_graph_cuts_out_what_the_shipped_file_does(
    u2net_home: Path, sample_images: dict[str, Image.Image]
) -> None:
    images = list(sample_images.values())
    shipped = _fixed_remover(u2net_home, parallel=3).remove(images)
    # The graph is the point here: the whole mask on both sides (the shipped file's remover
    # keeps every region).
    settings = ServiceSettings(
        u2net_home=u2net_home, device="cpu", remover_input_size=320, remover_one_region=False
    )
    batched = load_remover(settings).remove(images)
    assert [round(c.coverage, 3) for c in batched] == [round(c.coverage, 3) for c in shipped]
    for a, b in zip(_masks(shipped), _masks(batched), strict=True):
        assert np.abs(a - b).max() <= 2 / 255  # one run of four vs four runs of one
    assert len({round(c.coverage, 3) for c in batched}) > 1  # different photos, different masks


def test_a_batch_shares_runs_and_equals_one_photo_at_a_time(
    u2net_home: Path, sample_images: dict[str, Image.Image]
) -> None:
    images = list(sample_images.values())
    remover = load_remover(ServiceSettings(u2net_home=u2net_home, device="cpu", remover_threads=2))
    assert isinstance(remover, OnnxRemover)
    runs: list[tuple[int, ...]] = []
    real_run = remover._session.run

    def counting_run(outputs: Any, feeds: dict[str, Any]) -> Any:
        runs.append(next(iter(feeds.values())).shape)
        return real_run(outputs, feeds)

    remover._session = SimpleNamespace(run=counting_run)
    together = remover.remove(images)
    side = remover.input_size
    assert sorted(runs) == [(2, 3, side, side)] * 2  # four photos: two runs of two, side by side
    assert remover.remove([]) == []
    alone = [remover.remove([image])[0] for image in images]
    for a, b in zip(_masks(together), _masks(alone), strict=True):
        assert np.abs(a - b).max() <= 2 / 255


def test_a_smaller_input_side_is_what_the_model_sees(
    u2net_home: Path, sample_images: dict[str, Image.Image]
) -> None:
    assert ServiceSettings().remover_input_size == 320  # no smaller side kept the mask (the docs)
    remover = load_remover(ServiceSettings(u2net_home=u2net_home, device="cpu", remover_input_size=192))
    assert isinstance(remover, OnnxRemover) and remover.input_size == 192
    sides: list[int] = []
    real_run = remover._session.run

    def recording_run(outputs: Any, feeds: dict[str, Any]) -> Any:
        sides.append(next(iter(feeds.values())).shape[-1])
        return real_run(outputs, feeds)

    remover._session = SimpleNamespace(run=recording_run)
    images = list(sample_images.values())
    cutouts = remover.remove(images)
    assert set(sides) == {192}
    assert [c.image.size for c in cutouts] == [image.size for image in images]
    assert all(0.0 < c.coverage < 1.0 for c in cutouts)


def test_a_fixed_file_refuses_another_input_side(u2net_home: Path) -> None:
    import onnxruntime as ort

    session = ort.InferenceSession(str(u2net_home / "u2netp.onnx"), providers=["CPUExecutionProvider"])
    with pytest.raises(ValueError, match="fixed at 320"):
        OnnxRemover(session, "u2netp", input_size=192)
