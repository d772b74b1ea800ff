"""Near-duplicate groups through each store's own vector search (LanceDB and the fake Weaviate),
the title condition, and the JSONL/CSV reports."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import weaviate.connect.v4

from plugin.search.duplicates import find_duplicates, title_similarity, write_report
from plugin.settings import PluginSettings
from plugin.store import ProductRow, ProductStore
from plugin.store.lance.store import LanceStore
from plugin.store.weaviate import WeaviateStore, connect_weaviate
from schemas.collection import VectorSpec, product_collection
from schemas.errors import InvalidInputError
from schemas.product import product_uuid
from tests.support.fake_weaviate import FakeWeaviate

DIM = 16


def _unit(v: np.ndarray) -> list[float]:
    return [float(x) for x in v / np.linalg.norm(v)]


def _fill(store: ProductStore) -> None:
    """Ten distinct products; p0 has two near-copies (one a copy of the copy), p5 one with
    another title."""
    store.create_collection()
    rng = np.random.default_rng(0)
    base = {f"p{i}": rng.normal(size=DIM) for i in range(10)}
    vectors = {pid: _unit(v) for pid, v in base.items()}
    titles = {pid: f"product {pid} shirt" for pid in base}
    vectors["p0-copy"] = _unit(base["p0"] + 0.08 * rng.normal(size=DIM))
    vectors["p0-copy2"] = _unit(np.asarray(vectors["p0-copy"]) + 0.08 * rng.normal(size=DIM))
    vectors["p5-copy"] = _unit(base["p5"] + 0.08 * rng.normal(size=DIM))
    titles.update({"p0-copy": "product p0 shirt", "p0-copy2": "product p0 shirt", "p5-copy": "a lamp"})
    rows = [
        ProductRow(str(product_uuid(pid)), {"product_id": pid, "title": titles[pid], "attributes": []}, vec)
        for pid, vec in vectors.items()
    ]
    assert store.upsert(rows) == []


@pytest.fixture(params=["lance", "fake-weaviate"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ProductStore]:
    if request.param == "lance":
        lance = LanceStore(tmp_path, dimension=DIM)
        _fill(lance)
        yield lance
        lance.close()
        return
    with FakeWeaviate() as fake:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        settings = PluginSettings(weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port)
        wv = WeaviateStore(
            connect_weaviate(settings), product_collection(vector=VectorSpec(server_side=False))
        )
        _fill(wv)
        yield wv
        wv.close()


def _groups(report: object) -> list[set[str]]:
    return [{m.product_id for m in g.members} for g in report.groups]  # type: ignore[attr-defined]


def test_planted_copies_group_with_their_originals(store: ProductStore) -> None:
    report = find_duplicates(store, DIM, threshold=0.95)
    assert report.products == 13 and not report.truncated
    assert _groups(report) == [{"p0", "p0-copy", "p0-copy2"}, {"p5", "p5-copy"}]


def test_a_title_condition_drops_a_copy_with_another_title(store: ProductStore) -> None:
    report = find_duplicates(store, DIM, threshold=0.95, title_threshold=0.5)
    assert _groups(report) == [{"p0", "p0-copy", "p0-copy2"}]


def test_a_threshold_of_one_finds_no_near_copies(store: ProductStore) -> None:
    assert find_duplicates(store, DIM, threshold=0.9999).groups == []


def test_reports_are_jsonl_or_csv(tmp_path: Path, store: ProductStore) -> None:
    report = find_duplicates(store, DIM)
    write_report(report, tmp_path / "dups.jsonl")
    lines = [json.loads(line) for line in (tmp_path / "dups.jsonl").read_text().splitlines()]
    assert [len(line["products"]) for line in lines] == [3, 2]
    write_report(report, tmp_path / "dups.csv")
    rows = list(csv.DictReader((tmp_path / "dups.csv").open()))
    assert len(rows) == 5 and rows[0]["group"] == "1" and float(rows[0]["similarity"]) >= 0.95
    with pytest.raises(InvalidInputError):
        write_report(report, tmp_path / "dups.txt")


def test_bad_arguments_are_refused(store: ProductStore) -> None:
    with pytest.raises(InvalidInputError):
        find_duplicates(store, DIM, threshold=0)
    with pytest.raises(InvalidInputError):
        find_duplicates(store, DIM, neighbours=0)


def test_title_similarity() -> None:
    assert title_similarity("Red Shirt", "red shirt") == 1.0
    assert title_similarity("red shirt", "blue lamp") == 0.0


def test_cli_reports_groups_without_loading_a_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from plugin.cli import main

    lance = LanceStore(tmp_path / "data", dimension=DIM, collection="Dups")
    _fill(lance)
    lance.close()
    out = tmp_path / "dups.jsonl"
    code = main(
        ["duplicates", "--data-dir", str(tmp_path / "data"), "--collection", "Dups", "--report", str(out)]
    )
    assert code == 0
    assert "groups: 2" in capsys.readouterr().out
    assert len(out.read_text().splitlines()) == 2
    assert (
        main(["duplicates", "--data-dir", str(tmp_path / "data"), "--collection", "Nope"]) == 1
    )  # not found


def _members(report: object) -> list[list[tuple[str, float]]]:
    return [[(m.product_id, m.similarity) for m in g.members] for g in report.groups]  # type: ignore[attr-defined]


def test_the_ann_path_and_small_blocks_find_the_exact_groups(store: ProductStore) -> None:
    exact = find_duplicates(store, threshold=0.95)
    assert exact.method == "exact"
    # Above the exact limit each product's neighbours come from the store's search instead.
    ann = find_duplicates(store, threshold=0.95, exact_limit=0)
    assert ann.method == "neighbours" and ann.products == 13
    assert _groups(ann) == _groups(exact)
    for a, b in zip(_members(ann), _members(exact), strict=True):
        assert [pid for pid, _ in a] == [pid for pid, _ in b]
        assert [s for _, s in a] == pytest.approx([s for _, s in b], abs=2e-4)
    # Blocks of one row at a time (a 13-product catalog): the same pairs, the same report.
    tiny = find_duplicates(store, threshold=0.95, block_bytes=1)
    assert _members(tiny) == _members(exact)


def test_the_progress_bar_goes_to_stderr_only_when_asked(
    store: ProductStore, capsys: pytest.CaptureFixture[str]
) -> None:
    find_duplicates(store, threshold=0.95)
    assert capsys.readouterr().err == ""
    find_duplicates(store, threshold=0.95, progress=True)
    err = capsys.readouterr().err
    assert "reading" in err and "comparing" in err and "13/13" in err


def test_a_catalog_over_ten_thousand_products_is_read_whole(tmp_path: Path) -> None:
    """The search-based versions listed products with one 10,000-hit search: a copy planted as
    the 10,050th product was never seen, nor a category only it has (the page's facets)."""
    from plugin.ui.facets import read_facets

    dim = 32
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((10_050, dim)).astype(np.float32)
    vectors[-1] = vectors[0] + 0.01 * rng.standard_normal(dim).astype(np.float32)
    lance = LanceStore(tmp_path, dimension=dim)
    lance.create_collection()
    rows = [
        ProductRow(
            str(product_uuid(f"p{i}")),
            {
                "product_id": f"p{i}",
                "title": "t",
                "attributes": [],
                "category": "lamp" if i == 10_049 else "shirt",
            },
            v,
        )
        for i, v in enumerate(vectors.tolist())
    ]
    assert lance.upsert(rows) == []
    report = find_duplicates(lance, threshold=0.99)
    assert report.products == 10_050 and not report.truncated
    assert _groups(report) == [{"p0", "p10049"}]
    facets = read_facets(lance)
    assert facets.products == 10_050 and facets.categories == ["lamp", "shirt"]
    lance.close()
