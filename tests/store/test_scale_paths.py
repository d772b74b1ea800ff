"""The fast paths issue 24 asked for keep their answers: cell-by-cell duplicates find every pair
that comparing every pair finds, a matrix of precomputed vectors upserts the same rows as float
lists, and a build leaves a compacted table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plugin.search.similar_pairs import all_pairs, exact_pairs
from plugin.store import ProductRow
from plugin.store.lance.index import IndexPolicy
from plugin.store.lance.store import LanceStore
from schemas.errors import InvalidInputError

DIM = 32


def _catalog(n: int, seed: int, copies: int) -> np.ndarray:
    """Clustered unit vectors with ``copies`` planted near-copies, some right at the threshold."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 40, DIM)).astype(np.float32)
    x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.standard_normal((n, DIM)).astype(np.float32)
    src = rng.integers(0, n, copies)
    x[:copies] = x[src] + rng.uniform(0.05, 0.4) * rng.standard_normal((copies, DIM)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _pairs(blocks: object) -> dict[tuple[int, int], float]:
    found: dict[tuple[int, int], float] = {}
    for block in blocks:  # type: ignore[attr-defined]  # an iterator of PairBlock
        for a, b, s in zip(
            block.first.tolist(), block.second.tolist(), block.similarity.tolist(), strict=True
        ):
            key = (min(a, b), max(a, b))
            assert key not in found and a != b, "each pair once, never a row with itself"
            found[key] = s
    return found


@pytest.mark.parametrize(("seed", "threshold"), [(0, 0.9), (1, 0.95), (2, 0.8)])
def test_cell_by_cell_finds_exactly_the_pairs_of_every_pair(seed: int, threshold: float) -> None:
    unit = _catalog(4000, seed, copies=300)
    every = _pairs(all_pairs(unit, threshold))
    cells = _pairs(exact_pairs(unit, threshold, cell_rows=50))  # 80 cells
    assert len(every) > 50
    assert cells.keys() == every.keys()
    for key, value in every.items():
        assert cells[key] == pytest.approx(value, abs=1e-5)


def test_cell_progress_counts_every_row_once() -> None:
    unit = _catalog(2000, 3, copies=50)
    done: list[int] = []
    list(exact_pairs(unit, 0.9, cell_rows=100, done=done.append))
    assert sum(done) == 2000


def _rows(n: int, prefix: str, vectors: np.ndarray | None) -> list[ProductRow]:
    return [
        ProductRow(
            f"{prefix}{i}",
            {"product_id": f"{prefix}{i}", "title": f"t{i}"},
            None if vectors is None else vectors[i].tolist(),
        )
        for i in range(n)
    ]


def test_a_matrix_of_vectors_upserts_like_float_lists(tmp_path: Path) -> None:
    vectors = np.random.default_rng(0).standard_normal((50, DIM)).astype(np.float32)
    store = LanceStore(tmp_path, dimension=DIM)
    store.create_collection()
    assert store.upsert(_rows(50, "m", None), vectors=vectors) == []
    assert store.upsert(_rows(50, "l", vectors)) == []
    for i in (0, 17, 49):
        by_matrix, by_list = store.product(f"m{i}"), store.product(f"l{i}")
        assert by_matrix is not None and by_list is not None
        assert by_matrix.vector == by_list.vector == pytest.approx(vectors[i].tolist())
    hit = store.search(vectors[17], limit=2, return_properties=["product_id"])
    assert {h.properties["product_id"] for h in hit} == {"m17", "l17"}


def test_a_matrix_row_with_nan_is_refused_alone_and_a_wrong_shape_is_refused(tmp_path: Path) -> None:
    vectors = np.ones((3, DIM), dtype=np.float32)
    vectors[1, 0] = np.nan
    store = LanceStore(tmp_path, dimension=DIM)
    store.create_collection()
    errors = store.upsert(_rows(3, "p", None), vectors=vectors)
    assert [e.uuid for e in errors] == ["p1"]
    assert store.count() == 2
    with pytest.raises(InvalidInputError, match="3 x 32"):
        store.upsert(_rows(3, "q", None), vectors=np.ones((2, DIM), dtype=np.float32))


def test_a_build_compacts_the_fragments_a_bulk_load_wrote(tmp_path: Path) -> None:
    store = LanceStore(tmp_path, dimension=DIM, index_policy=IndexPolicy(auto_rows=0))
    store.create_collection()
    vectors = np.random.default_rng(1).standard_normal((600, DIM)).astype(np.float32)
    for start in range(0, 600, 100):  # six appends, six fragments
        assert store.upsert(_rows(100, f"b{start}-", None), vectors=vectors[start : start + 100]) == []
    table = store._require()
    assert table.stats()["fragment_stats"]["num_fragments"] == 6
    store.build_indexes()
    table.checkout_latest()
    assert table.stats()["fragment_stats"]["num_fragments"] == 1
    assert store.index_status().unindexed_rows == 0


def test_one_blas_thread_restores_the_thread_count() -> None:
    from plugin.search import blas_threads

    found = blas_threads._openblas()
    if found is None:
        pytest.skip("NumPy is not linked against OpenBLAS here")
    getter, _ = found
    before = int(getter())
    with blas_threads.one_blas_thread():
        assert int(getter()) == 1
    assert int(getter()) == before
