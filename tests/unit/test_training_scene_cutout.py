"""Real cut-outs of training scenes: the service's view of each scene, remembered on disk, so a
rerun never meets the remover again and a changed scene or remover does."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from plugin.training.scene_cutout import RealCutouts
from vectorizer_service.compose.fake import FakeRemover


def _scene(value: int) -> Image.Image:
    pixels = np.full((32, 32, 3), value, dtype=np.uint8)
    pixels[8:24, 8:24] = (200, 30, 30)
    return Image.fromarray(pixels, mode="RGB")


def _same(a: Image.Image, b: Image.Image) -> bool:
    return a.size == b.size and np.array_equal(np.asarray(a), np.asarray(b))


def test_a_rerun_reads_every_view_back_without_the_remover(tmp_path: Path) -> None:
    scenes = [_scene(v) for v in (10, 60, 110)]
    remover = FakeRemover()
    first = RealCutouts(remover, tmp_path).views(scenes)
    assert sum(remover.batches) == 3
    # The service's view: the fake keeps the centre on white (and reports no box: not framed).
    assert _same(first[0], remover.remove([scenes[0]])[0].image)
    remover.batches.clear()
    again = RealCutouts(remover, tmp_path)
    second = again.views(scenes)
    assert remover.batches == [] and (again.hits, again.misses) == (3, 0)
    assert all(_same(a, b) for a, b in zip(first, second, strict=True))


def test_a_changed_scene_or_remover_misses(tmp_path: Path) -> None:
    remover = FakeRemover()
    RealCutouts(remover, tmp_path).views([_scene(10)])
    changed = RealCutouts(remover, tmp_path)
    changed.views([_scene(11), _scene(10)])
    assert (changed.hits, changed.misses) == (1, 1)
    other = RealCutouts(remover, tmp_path, remover_id="fake@192")
    other.views([_scene(10)])
    assert (other.hits, other.misses) == (0, 1)


def test_a_scene_the_service_would_not_cut_keeps_its_pixels(tmp_path: Path) -> None:
    scene = _scene(10)
    (view,) = RealCutouts(FakeRemover(coverage=0.995), tmp_path).views([scene])
    assert _same(view, scene)
