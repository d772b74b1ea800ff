"""Against the real stack: ingestion both ways, nearGrounded search, and the GraphQL endpoint."""

from __future__ import annotations

import base64
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from plugin.encoder.grpc import GrpcEncoder
from plugin.ingest.pipeline import ingest_catalog
from plugin.search.query import near_grounded
from plugin.settings import PluginSettings
from plugin.store.protocol import ProductFilter
from plugin.store.weaviate import weaviate_store

COLOURS = {"red": (210, 30, 30), "blue": (30, 30, 210), "green": (30, 180, 30)}


def settings(**kwargs: object) -> PluginSettings:
    return PluginSettings(  # type: ignore[arg-type]
        weaviate_url=os.environ["WEAVIATE_URL"],
        weaviate_grpc_port=int(os.environ.get("WEAVIATE_GRPC_PORT", "50051")),
        clip_inference_url=os.environ.get("GROUNDED_CLIP_INFERENCE_URL", "http://vectorizer:8000"),
        **kwargs,
    )


@pytest.fixture(scope="module")
def encoder() -> Iterator[GrpcEncoder]:
    enc = GrpcEncoder(os.environ.get("GROUNDED_SERVICE_ADDRESS", "localhost:50052"))
    yield enc
    enc.close()


@pytest.fixture
def catalog(tmp_path: Path) -> Path:
    for name, rgb in COLOURS.items():
        buf = io.BytesIO()
        Image.new("RGB", (64, 64), rgb).save(buf, format="PNG")
        (tmp_path / f"{name}.png").write_bytes(buf.getvalue())
    lines = [
        json.dumps(
            {
                "id": name,
                "title": f"{name} dress",
                "category": "dress",
                "image": f"{name}.png",
                "attributes": {"colour": name},
            }
        )
        for name in COLOURS
    ]
    path = tmp_path / "catalog.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("vectorization", ["weaviate", "plugin"])
def test_ingest_then_near_grounded(catalog: Path, encoder: GrpcEncoder, vectorization: str) -> None:
    s = settings(collection=f"GroundedIT{uuid.uuid4().hex[:8]}", vectorization=vectorization)
    store = weaviate_store(s)
    try:
        first = ingest_catalog(catalog, store=store, encoder=encoder, settings=s, progress=False)
        assert first.ok, first.failures
        assert first.store_count == 3
        again = ingest_catalog(catalog, store=store, encoder=encoder, settings=s, progress=False)
        assert (again.upserted, again.skipped_existing, again.store_count) == (0, 3, 3)
        image = (catalog.parent / "red.png").read_bytes()
        result = near_grounded(store, encoder, image=image, text="", limit=3)
        assert result.hits[0].properties["product_id"] == "red"
        filtered = near_grounded(
            store,
            encoder,
            image=image,
            text="",
            limit=3,
            filters=ProductFilter(attributes={"colour": "blue"}),
        )
        assert [h.properties["product_id"] for h in filtered.hits] == ["blue"]
    finally:
        store.drop()
        store.close()


def test_graphql_endpoint_near_grounded(catalog: Path, encoder: GrpcEncoder) -> None:
    graphql_url = os.environ.get("GROUNDED_GRAPHQL_URL", "http://localhost:8085")
    name = f"GroundedGQL{uuid.uuid4().hex[:8]}"
    s = settings(collection=name)
    store = weaviate_store(s)
    try:
        assert ingest_catalog(catalog, store=store, encoder=encoder, settings=s, progress=False).ok
        img = base64.b64encode((catalog.parent / "green.png").read_bytes()).decode()
        query = (
            f'query($img: String) {{ Get {{ {name}(limit: 1, nearGrounded: {{image: $img, text: ""}}) '
            "{ product_id } } }"
        )
        res = httpx.post(
            f"{graphql_url}/v1/graphql", json={"query": query, "variables": {"img": img}}, timeout=60
        )
        assert res.status_code == 200, res.text
        body = res.json()
        assert body["data"]["Get"][name][0]["product_id"] == "green"
        assert name in body["extensions"]["grounded"]
    finally:
        store.drop()
        store.close()
