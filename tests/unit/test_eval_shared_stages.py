"""Issue 23 item 6: ``grounded eval`` cuts out and captions each reference once for all the
configurations that share them, however long the split (the service's caches hold a few
hundred references; a split goes through every configuration chunk by chunk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from plugin.encoder.local import LocalEncoder
from plugin.evaluation import build_configs, load_cirr, run_evaluation
from plugin.evaluation import runner as runner_module
from tests.support.eval_layouts import write_cirr
from vectorizer_service.compose.fake import FakeCaptioner, FakeRemover
from vectorizer_service.engine import Engine
from vectorizer_service.runtime.fake import FakeEmbedder
from vectorizer_service.settings import ServiceSettings

SHARING = ["image_only+bg", "image_text_sum+bg", "fusion+bg", "direction+bg", "slerp+bg"]
"""Five configurations that each cut out every reference; the last three caption it too."""
WARM_UP = 1
"""The engine runs each stage model once on a blank image when it starts."""


def _run(root: Path, cache: Path, cache_size: int) -> tuple[int, int, dict[str, dict[str, float]]]:
    remover, captioner = FakeRemover(), FakeCaptioner()
    settings = ServiceSettings(cutout_cache_size=cache_size, remove_background=True)  # type: ignore[call-arg]  # pydantic-settings fills the rest
    engine = Engine(settings, embedder=FakeEmbedder(), remover=remover, captioner=captioner)
    configs = build_configs(SHARING, [])
    with LocalEncoder(settings, engine=engine) as encoder:
        run = run_evaluation(load_cirr(root, "val"), encoder, configs, cache_dir=cache, progress=False)
    return sum(remover.batches), len(captioner.seen), {r.config.name: r.metrics for r in run.results}


def test_each_reference_is_cut_out_and_captioned_once_for_every_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_cirr(tmp_path / "cirr")  # 3 queries, 3 distinct references
    # A split longer than the caches: 2 references fit, the split has 3.
    monkeypatch.setattr(runner_module, "SHARED_CHUNK", 2)
    removed, captioned, metrics = _run(root, tmp_path / "c", cache_size=2)
    assert removed == WARM_UP + 3
    assert captioned == WARM_UP + 3
    # The same numbers as with the caches off, where every configuration computes its own.
    removed_off, captioned_off, metrics_off = _run(root, tmp_path / "c", cache_size=0)
    assert removed_off == WARM_UP + 3 * (len(SHARING) + 1)  # and the default row
    assert captioned_off > captioned
    assert metrics == metrics_off
