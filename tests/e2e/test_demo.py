"""`grounded demo` end to end: the product-world catalog, shopper-photo queries, rembg's real
u2netp, and the model choice (configured, the world model trained here, or random weights)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from plugin.cli import main
from plugin.demo import DemoResult, run_demo
from plugin.demo import run as demo_run
from plugin.settings import PluginSettings
from plugin.store.lance.store import LanceStore
from plugin.world.backgrounds import BACKGROUNDS
from vectorizer_service.settings import ServiceSettings


@pytest.fixture(scope="module")
def demo(
    tiny_clip_settings: dict[str, Any], u2net_home: Path, tmp_path_factory: pytest.TempPathFactory
) -> DemoResult:
    data_dir = tmp_path_factory.mktemp("demo-data")
    service = ServiceSettings(**tiny_clip_settings, u2net_home=u2net_home)
    return run_demo(PluginSettings(data_dir=data_dir), service, progress=False)


def test_every_catalog_product_is_in_the_embedded_store(demo: DemoResult) -> None:
    assert 250 <= len(demo.catalog.products) <= 400
    assert demo.ingest.ok and demo.ingest.store_count == len(demo.catalog.products)
    store = LanceStore(
        demo.page_path.parent.parent, dimension=demo.model.dimension, collection="GroundedDemo"
    )
    assert store.count() == len(demo.catalog.products)
    # Every product a query asks for is in the catalog.
    ids = {p.id for p in demo.catalog.products}
    for query in demo.catalog.queries:
        assert query.expected in ids and set(query.relevant) <= ids


def test_each_query_is_explained_and_ranked(demo: DemoResult) -> None:
    assert [o.query.name for o in demo.outcomes] == [q.name for q in demo.catalog.queries]
    assert sum(1 for o in demo.outcomes if o.query.reference_png) >= 5
    for outcome in demo.outcomes:
        exp = outcome.explanation
        assert outcome.hits, outcome.query.name
        distances = [h.distance for h in outcome.hits]
        assert distances == sorted(distances)
        assert exp.fused_text and exp.modification == outcome.query.text
        assert {t.stage for t in exp.timings} >= {"fusion", "embedding"}
        if outcome.query.reference_png is not None:
            # u2netp ran on every shopper photo; a mask it finds (almost) empty keeps the photo.
            assert exp.mask_coverage is not None and exp.background_note
            assert bool(exp.cutout_png) == exp.background_removed
        filters = outcome.query.filters
        for hit in outcome.hits:
            if filters.category:
                assert hit.properties["category"] == filters.category
            if filters.price_max is not None:
                assert hit.properties["price"] <= filters.price_max


def test_background_is_cut_out_of_most_shopper_photos(demo: DemoResult) -> None:
    image_queries = [o for o in demo.outcomes if o.query.reference_png is not None]
    removed = [o for o in image_queries if o.explanation.background_removed]
    assert len(removed) >= len(image_queries) // 2, [o.explanation.background_note for o in image_queries]


def test_an_untrained_model_is_called_meaningless(demo: DemoResult) -> None:
    assert demo.model_source == "configured"
    assert demo.rankings_meaningless
    assert "meaningless" in demo.notes[0]


def test_results_page_is_self_contained(demo: DemoResult) -> None:
    page = demo.page_path.read_text(encoding="utf-8")
    for outcome in demo.outcomes:
        assert outcome.query.expected in page
        assert (outcome.explanation.fused_text or "") in page
    assert "rankings below are meaningless" in page
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/") for s in sources)
    # the reference (and its cut-out, when there is one) for image queries, one thumbnail per hit
    references = sum(1 for o in demo.outcomes if o.query.reference_png is not None)
    cutouts = sum(1 for o in demo.outcomes if o.explanation.cutout_png)
    assert len(sources) == references + cutouts + sum(len(o.hits) for o in demo.outcomes)
    for photo in BACKGROUNDS.values():
        assert photo.licence in page


def test_the_shopper_photos_are_left_for_the_search_page_to_offer(demo: DemoResult) -> None:
    from plugin.ui import load_examples

    examples = load_examples(demo.page_path.parent / "examples")
    # One per photo query (the filtered repeat of the first query is not offered twice).
    photo_queries = [q for q in demo.catalog.queries if q.reference_png and not q.filters.category]
    assert [e.text for e in examples] == [q.text for q in photo_queries]
    assert [e.photo for e in examples] == [q.reference_png for q in photo_queries]


def _demo_args(tmp_path: Path, u2net_home: Path, *extra: str) -> list[str]:
    return [
        "demo",
        "--out",
        str(tmp_path / "out"),
        "--data-dir",
        str(tmp_path / "data"),
        "--model",
        "no-such-architecture",
        "--pretrained",
        "",
        "--offline",
        "--device",
        "cpu",
        "--u2net-home",
        str(u2net_home),
        "--no-progress",
        *extra,
    ]


def test_cli_demo_with_random_weights_says_so_loudly(
    tiny_clip_settings: dict[str, Any],
    u2net_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Building a real random ViT-B-32 takes minutes on CPU; the wiring is what is under test,
    # so it builds the tiny model instead.
    monkeypatch.setattr(
        demo_run,
        "_random_model",
        lambda cache: (tiny_clip_settings["model"], tiny_clip_settings["pretrained"]),
    )
    code = main(_demo_args(tmp_path, u2net_home, "--random-weights"))
    out = capsys.readouterr().out
    assert code == 0
    assert "MEANINGLESS" in out
    assert (tmp_path / "out" / "index.html").is_file()


def test_cli_demo_without_any_model_fails_in_one_line(
    u2net_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo_run, "trained_model_available", lambda: False)
    code = main(_demo_args(tmp_path, u2net_home))
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err


def test_offline_demo_uses_the_world_model_and_finds_the_right_products(
    u2net_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shipped checkpoint, loaded through the production loader, on the demo's shopper-photo
    # queries (drawn from the world's development split, not its test split).
    from plugin.world.trained import trained_model_available

    assert trained_model_available(), "plugin/world/model must ship the trained checkpoint"
    service = ServiceSettings(
        model="no-such-architecture", pretrained="", offline=True, device="cpu", u2net_home=u2net_home
    )
    result = run_demo(PluginSettings(data_dir=tmp_path), service, progress=False)
    assert result.model_source == "world" and not result.rankings_meaningless
    firsts = [o.hits[0].properties["product_id"] in o.query.relevant for o in result.outcomes]
    in_top5 = [
        any(h.properties["product_id"] in o.query.relevant for h in o.hits[:5]) for o in result.outcomes
    ]
    assert sum(firsts) >= len(firsts) // 2, firsts
    assert sum(in_top5) >= len(in_top5) - 1, in_top5
    assert "product-world model" in capsys.readouterr().out


def test_missing_background_weights_are_not_blamed_on_the_model(
    tiny_clip_settings: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The configured model loads; u2netp is missing. Another CLIP would need it just the same,
    # so there is no fallback panel saying the configured model failed: one error, naming the fix.
    (tmp_path / "no-u2net").mkdir()
    args = _demo_args(tmp_path, tmp_path / "no-u2net")
    args[args.index("--model") + 1] = tiny_clip_settings["model"]
    args[args.index("--pretrained") + 1] = tiny_clip_settings["pretrained"]
    code = main(args)
    captured = capsys.readouterr()
    assert code == 1
    assert (
        "product-world model" not in captured.out and "Cannot load the configured model" not in captured.out
    )
    assert "u2netp.onnx" in captured.err and "grounded models fetch-u2netp" in captured.err
