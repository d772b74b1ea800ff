"""Issue 22, item 3: two imports of the same catalog into the same embedded store at once each
report what they wrote. Each product is new in exactly one report; in the other it is
unchanged (the store decides under its write lock, not from a read taken before embedding).
Weaviate cannot decide that atomically: its reports say their counts are approximate."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from plugin.ingest.pipeline import IngestReport, ingest_catalog
from plugin.settings import PluginSettings
from plugin.store.fingerprint import model_identity
from plugin.store.lance.store import LanceStore
from tests.support.reliability import DIM, NamedFakeEncoder, products, write_catalog

pytestmark = pytest.mark.timeout(120)


class _LockstepEncoder(NamedFakeEncoder):
    """Embeds each batch only once the other import has reached the same point: both have read
    what is stored before either writes, the interleaving that used to double the counts."""

    def __init__(self, barrier: threading.Barrier) -> None:
        super().__init__()
        self._barrier = barrier

    def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        self._barrier.wait(30)
        return super().embed_images(images)


def test_concurrent_imports_count_each_product_new_once(tmp_path: Path) -> None:
    catalog = write_catalog(tmp_path / "cat", products(24))
    data = tmp_path / "data"
    model = model_identity(NamedFakeEncoder().model_info())
    LanceStore(data, dimension=DIM, model=model).create_collection()
    barrier = threading.Barrier(2)
    reports: list[IngestReport] = []
    errors: list[BaseException] = []

    def run() -> None:
        store = LanceStore(data, dimension=DIM, model=model)
        try:
            reports.append(
                ingest_catalog(
                    catalog,
                    store=store,
                    encoder=_LockstepEncoder(barrier),
                    settings=PluginSettings(),
                    batch_size=4,
                    progress=False,
                )
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            barrier.abort()
        finally:
            store.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    assert not errors, errors
    assert len(reports) == 2 and all(r.ok for r in reports)
    new = [r.upserted - r.updated for r in reports]
    assert sum(new) == 24, f"new per report: {new}"
    assert sum(r.skipped_existing for r in reports) == 24
    assert all(r.updated == 0 for r in reports)
    assert all(r.counts_exact for r in reports)
    assert LanceStore(data, dimension=DIM).count() == 24


def test_weaviate_reports_say_the_counts_are_approximate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weaviate.connect.v4

    from plugin.store.weaviate import WeaviateStore, connect_weaviate
    from schemas.collection import VectorSpec, product_collection
    from tests.support.fake_weaviate import FakeWeaviate

    catalog = write_catalog(tmp_path / "cat", products(3))
    with FakeWeaviate() as fake:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        settings = PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port)
        spec = product_collection(vector=VectorSpec(server_side=False))
        store = WeaviateStore(connect_weaviate(settings), spec)
        try:
            report_path = tmp_path / "report.jsonl"
            first, again = [
                ingest_catalog(
                    catalog,
                    store=store,
                    encoder=NamedFakeEncoder(),
                    settings=settings,
                    report_path=report_path,
                    progress=False,
                )
                for _ in range(2)
            ]
        finally:
            store.close()
    assert (first.upserted, first.skipped_existing, first.counts_exact) == (3, 0, False)
    assert (again.upserted, again.skipped_existing) == (0, 3)
    assert '"counts_exact": false' in report_path.read_text(encoding="utf-8")
