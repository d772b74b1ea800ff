"""The fast paths issue 24 asked for keep their answers: cell-by-cell duplicates find every pair
that comparing every pair finds (flat centroids or two-level ones, pairs across cells' borders),
a matrix of precomputed vectors upserts the same rows as float lists, and a build leaves a
compacted table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from plugin.search import centroids as centroids_module
from plugin.search import pair_cells
from plugin.search.blas_threads import threaded
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


def _boundary_catalog(n: int, seed: int) -> np.ndarray:
    """Rows at midpoints between cluster centres, i.e. on or near the cells' borders, each with
    a near-copy: most pairs straddle a hyperplane."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((40, DIM)).astype(np.float32)
    a, b = rng.integers(0, 40, n // 2), rng.integers(0, 40, n // 2)
    mid = (centres[a] + centres[b]) / 2 + 0.15 * rng.standard_normal((n // 2, DIM)).astype(np.float32)
    x = np.concatenate([mid, mid + 0.12 * rng.standard_normal(mid.shape).astype(np.float32)])
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _spread(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors spread evenly over a low-dimensional sphere: most pairs over the threshold
    lie in two different cells, so a cell met too few would lose them."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize(
    ("unit", "threshold"),
    [
        (_spread(4000, 6, 9), 0.97),
        (_spread(4000, 4, 10), 0.99),
        (_catalog(4000, 4, copies=300), 0.9),
        (_catalog(4000, 5, copies=300), 0.95),
        (_boundary_catalog(4000, 6), 0.9),
        (_boundary_catalog(4000, 7), 0.97),
    ],
)
def test_two_level_centroids_keep_exactly_the_pairs_of_every_pair(
    unit: np.ndarray, threshold: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(centroids_module, "FLAT_CENTROIDS", 4)  # 80 cells: 8 groups of ~10
    every = _pairs(all_pairs(unit, threshold))
    cells = _pairs(exact_pairs(unit, threshold, cell_rows=50))
    assert len(every) > 50
    assert cells.keys() == every.keys()
    for key, value in every.items():
        assert cells[key] == pytest.approx(value, abs=1e-5)


def test_two_level_centroids_are_as_many_as_asked_and_prune_the_cells_met() -> None:
    unit = _catalog(6000, 8, copies=100)
    centres = centroids_module.centroids(unit, 1500)  # two levels: 38 groups
    assert centres.shape == (1500, DIM)
    eps = float(np.sqrt(2 - 2 * 0.95))
    _, rows, _ = pair_cells._assign(unit, centres, eps)
    assert len(rows) / len(unit) < 1500 / 4, "rows meet a fraction of the cells"


def test_a_row_meets_a_cell_exactly_when_its_border_and_its_rows_are_within_eps() -> None:
    centres = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=np.float32)
    eps = 0.2
    # The border of cells 0 and 1 is the line x = y: a point at distance d from it, in cell 0.
    normal = np.array([1.0, -1.0], dtype=np.float32) / np.sqrt(2)
    along = np.array([1.0, 1.0], dtype=np.float32) / np.sqrt(2)
    # Cell 1 has a row just across the border, so it reaches that far from its centre.
    rows = np.stack([along + d * normal for d in (0.19, 0.21, 0.5, -0.001)]).astype(np.float32)
    labels, extra_rows, extra_cells = pair_cells._assign(rows, centres, eps)
    assert labels.tolist() == [0, 0, 0, 1]
    assert sorted(zip(extra_rows.tolist(), extra_cells.tolist(), strict=True)) == [(0, 1)]
    # With cell 1's only row at its centre, nothing of it lies within eps of the first row.
    alone = np.concatenate([rows[:1], centres[1:2]])
    _, extra_rows, _ = pair_cells._assign(alone, centres, eps)
    assert len(extra_rows) == 0
    # A row of cell 1 at the same distance meets no cell numbered below its own (cell 0's row
    # asks for that pair): each pair is compared once.
    mirrored = np.stack([along - 0.19 * normal]).astype(np.float32)
    labels, extra_rows, _ = pair_cells._assign(mirrored, centres, eps)
    assert labels.tolist() == [1] and len(extra_rows) == 0


def test_cells_are_shared_out_in_proportion_and_sum_to_the_total() -> None:
    sizes = np.array([900, 50, 0, 49, 1])
    share = centroids_module._apportion(sizes, 50)
    assert int(share.sum()) == 50
    assert (share <= sizes).all() and share[2] == 0
    assert share.tolist()[:2] == [45, 3]


def test_threaded_answers_in_order() -> None:
    assert list(threaded(lambda i: i * i, range(200))) == [i * i for i in range(200)]


def test_cell_progress_counts_every_row_once() -> None:
    unit = _catalog(2000, 3, copies=50)
    done: list[int] = []
    assigned: list[int] = []
    list(exact_pairs(unit, 0.9, cell_rows=100, done=done.append, assigned=assigned.append))
    assert sum(done) == 2000
    assert sum(assigned) == 2000


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
