"""Background removal on its own ONNX Runtime session: rembg's preprocessing replayed exactly,
and parallel cut-outs equal to one-at-a-time ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

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


def test_parallel_cutouts_equal_serial_ones(u2net_home: Path, sample_images: dict[str, Image.Image]) -> None:
    images = list(sample_images.values())
    serial = load_remover(ServiceSettings(u2net_home=u2net_home, device="cpu", remover_threads=1))
    parallel = load_remover(ServiceSettings(u2net_home=u2net_home, device="cpu", remover_threads=3))
    assert isinstance(parallel, OnnxRemover)
    one, many = serial.remove(images), parallel.remove(images)
    assert [c.coverage for c in one] == [c.coverage for c in many]
    for a, b in zip(one, many, strict=True):
        np.testing.assert_array_equal(np.asarray(a.image), np.asarray(b.image))
    assert len({round(c.coverage, 3) for c in many}) > 1  # different photos, different masks
