"""Auto-tagging at ingestion: the attribute captioner's zero-shot scores fill attributes a row
lacks (never the merchant's own), marked inferred with their confidence, so filters find them."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from plugin.ingest.pipeline import ingest_catalog
from plugin.ingest.tagging import AutoTagger
from plugin.settings import PluginSettings
from plugin.store import ProductFilter
from plugin.store.lance.store import LanceStore
from schemas.product import Product
from schemas.wire import ComposeOptions, ComposeResult, ModelMeta
from vectorizer_service.compose.vocab import Vocabulary

# Axis of each colour in a 4-d space: images and prompts of a colour point the same way.
AXES = {"red": 0, "blue": 1, "green": 2}
RGB = {"red": (220, 20, 20), "blue": (20, 20, 220), "green": (20, 220, 20)}
VOCABULARY = Vocabulary.model_validate(
    {
        "format": "grounded-vocabulary/1",
        "logit_scale": 3.0,  # softer than CLIP's 100, so the fake's confidences sit near 0.75
        "groups": {"apparel": {"noun": "garment"}},
        "categories": [{"name": "dress", "group": "apparel"}, {"name": "coat", "group": "apparel"}],
        "attributes": [{"name": "colour", "values": ["red", "blue", "green"]}],
    }
)


class ColourEncoder:
    """Images point along their dominant colour; texts along the colour they name (a little
    towards the 4th axis, so scores are confident but not certain)."""

    def model_info(self) -> ModelMeta:
        return ModelMeta(
            name="colour",
            backend="fake",
            pretrained="",
            dimension=4,
            device="cpu",
            dtype="float32",
            context_length=77,
            text_trimming=True,
        )

    def embed_images(self, images: Sequence[bytes]) -> np.ndarray:
        rows = []
        for data in images:
            pixel = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32).mean(
                axis=(0, 1)
            )
            vec = np.zeros(4, np.float32)
            vec[:3] = pixel[[0, 2, 1]]  # red, blue, green axes
            rows.append(vec / np.linalg.norm(vec))
        return np.stack(rows)

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        rows = []
        for text in texts:
            vec = np.full(4, 0.05, np.float32)
            vec[3] = 1.0
            for word, axis in AXES.items():
                if word in text:
                    vec[axis] = 1.0
            rows.append(vec / np.linalg.norm(vec))
        return np.stack(rows)

    def compose(self, image: bytes | None, text: str, options: ComposeOptions | None = None) -> ComposeResult:
        raise AssertionError("ingestion does not compose")

    def close(self) -> None:
        return None


def _png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), rgb).save(buf, format="PNG")
    return buf.getvalue()


def test_missing_attributes_are_filled_and_merchant_values_kept() -> None:
    tagger = AutoTagger(ColourEncoder(), VOCABULARY, threshold=0.5)
    bare = Product(id="a", title="a dress", category="dress")
    merchant = Product(id="b", title="a dress", category="dress", attributes={"Colour": "crimson"})
    tagged = tagger.tag([bare, merchant], [_png(RGB["red"]), _png(RGB["blue"])])
    assert tagged[0].product.attributes == {"colour": "red"}
    assert tagged[0].inferred["colour"].value == "red" and tagged[0].inferred["colour"].confidence >= 0.5
    assert tagged[1].product.attributes == {"Colour": "crimson"} and not tagged[1].inferred


def test_a_threshold_above_the_confidence_fills_nothing() -> None:
    strict = AutoTagger(ColourEncoder(), VOCABULARY, threshold=0.9)
    tagged = strict.tag([Product(id="a", title="t", category="dress")], [_png(RGB["green"])])
    assert tagged[0].product.attributes == {} and tagged[0].inferred == {}


def test_ingest_auto_tag_stores_inferred_attributes_that_filters_find(tmp_path: Path) -> None:
    rows = [
        {"id": "r", "title": "dress one", "category": "dress", "image": "r.png"},
        {"id": "g", "title": "dress two", "category": "dress", "image": "g.png"},
        {
            "id": "m",
            "title": "dress three",
            "category": "dress",
            "image": "m.png",
            "attributes": {"colour": "navy"},
        },
    ]
    for name, colour in (("r", "red"), ("g", "green"), ("m", "red")):
        (tmp_path / f"{name}.png").write_bytes(_png(RGB[colour]))
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    encoder = ColourEncoder()
    store = LanceStore(tmp_path / "data", dimension=4, collection="Tagged")
    settings = PluginSettings(data_dir=tmp_path / "data")
    tagger = AutoTagger(encoder, VOCABULARY)
    report = ingest_catalog(
        catalog, store=store, encoder=encoder, settings=settings, progress=False, tagger=tagger
    )
    assert report.ok and report.store_count == 3
    query = encoder.embed_texts(["dress"])[0]
    red = store.search(query, filters=ProductFilter(attributes={"colour": "red"}), limit=10)
    assert [h.properties["product_id"] for h in red] == ["r"]  # "m" is the merchant's navy
    navy = store.search(query, filters=ProductFilter(attributes={"colour": "navy"}), limit=10)
    assert [h.properties["product_id"] for h in navy] == ["m"]
    inferred = json.loads(red[0].properties["attributes_inferred"])
    assert inferred["colour"]["value"] == "red" and 0.5 <= inferred["colour"]["confidence"] <= 1.0
    assert json.loads(navy[0].properties["attributes_inferred"]) == {}
    # The same catalog without auto-tagging is a change: the inferred values go away.
    again = ingest_catalog(catalog, store=store, encoder=encoder, settings=settings, progress=False)
    assert again.updated == 3
    assert store.search(query, filters=ProductFilter(attributes={"colour": "red"}), limit=10) == []
    store.close()


def test_auto_tag_on_weaviate_fills_filterable_attributes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import weaviate.connect.v4

    from plugin.store.weaviate import WeaviateStore, connect_weaviate
    from schemas.collection import VectorSpec, product_collection
    from tests.support.fake_weaviate import FakeWeaviate

    (tmp_path / "b.png").write_bytes(_png(RGB["blue"]))
    catalog = tmp_path / "catalog.jsonl"
    catalog.write_text(json.dumps({"id": "b", "title": "a coat", "image": "b.png"}) + "\n", encoding="utf-8")
    encoder = ColourEncoder()
    with FakeWeaviate() as fake:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        settings = PluginSettings(
            weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port, vectorization="plugin"
        )
        store = WeaviateStore(
            connect_weaviate(settings), product_collection(vector=VectorSpec(server_side=False))
        )
        tagger = AutoTagger(encoder, VOCABULARY)
        report = ingest_catalog(
            catalog, store=store, encoder=encoder, settings=settings, progress=False, tagger=tagger
        )
        assert report.ok
        hits = store.search(
            encoder.embed_texts(["coat"])[0], filters=ProductFilter(attributes={"colour": "blue"}), limit=5
        )
        assert [h.properties["product_id"] for h in hits] == ["b"]
        inferred = json.loads(hits[0].properties["attributes_inferred"])
        assert inferred["colour"]["value"] == "blue"
        assert "category" in inferred  # the row had no category: the top one at 0.5 fills it
        store.close()
