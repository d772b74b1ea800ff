"""The default mode end to end: "Weaviate" (the fake) embeds each product through the service's
HTTP contract at import (multi2vec-clip), and ``nearGrounded`` through the SDK, the CLI and the
GraphQL endpoint finds the expected product."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import weaviate.connect.v4
from PIL import Image
from starlette.testclient import TestClient

from plugin.graphql import create_graphql_app
from plugin.ingest.pipeline import ingest_catalog
from plugin.search.query import near_grounded
from plugin.settings import PluginSettings
from plugin.store.weaviate import weaviate_store
from tests.support.fake_weaviate import FakeEncoder, FakeWeaviate, InferenceService

COLOURS = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220), "yellow": (230, 220, 20)}


def png(rgb: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (24, 24), rgb).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeWeaviate, PluginSettings]]:
    with FakeWeaviate() as fake, InferenceService(dimension=8) as service:
        monkeypatch.setattr(weaviate.connect.v4, "PYPI_PACKAGE_URL", f"{fake.url}/pypi")
        settings = PluginSettings(
            weaviate_url=fake.url, weaviate_grpc_port=fake.grpc_port, clip_inference_url=service.url
        )
        assert settings.vectorization == "weaviate"  # the default mode
        lines = ["id,title,category,image"]
        for name, rgb in COLOURS.items():
            (tmp_path / f"{name}.png").write_bytes(png(rgb))
            lines.append(f"{name},{name} dress,dress,{name}.png")
        (tmp_path / "catalog.csv").write_text("\n".join(lines) + "\n")
        store = weaviate_store(settings)
        try:
            report = ingest_catalog(
                tmp_path / "catalog.csv", store=store, encoder=None, settings=settings, progress=False
            )
        finally:
            store.close()
        assert report.ok and report.upserted == 4, report.failures
        yield fake, settings


def test_import_sends_no_vectors_and_weaviate_embeds_through_the_service(
    stack: tuple[FakeWeaviate, PluginSettings],
) -> None:
    fake, _ = stack
    assert all(not o.vectors for r in fake.state.batch_requests for o in r.objects)
    assert all(set(o.vectors) == {"clip"} for o in fake.objects("Product").values())


def test_sdk_finds_the_product(stack: tuple[FakeWeaviate, PluginSettings]) -> None:
    _, settings = stack
    store = weaviate_store(settings)
    try:
        result = near_grounded(
            store, FakeEncoder(dimension=8), image=png(COLOURS["blue"]), text="dress", limit=2
        )
    finally:
        store.close()
    assert result.hits[0].properties["product_id"] == "blue"


def test_graphql_endpoint_finds_the_product(stack: tuple[FakeWeaviate, PluginSettings]) -> None:
    _, settings = stack
    image = base64.b64encode(png(COLOURS["green"])).decode()
    query = {
        "query": 'query($img: String) { Get { Product(limit: 2, nearGrounded: {image: $img, text: "dress"}, '
        'where: {path: ["category"], operator: Equal, valueText: "dress"}) '
        "{ product_id _additional { distance } } } }",
        "variables": {"img": image},
    }
    with TestClient(create_graphql_app(settings, FakeEncoder(dimension=8))) as client:
        answer = client.post("/v1/graphql", json=query).json()
    hits = answer["data"]["Get"]["Product"]
    assert hits[0]["product_id"] == "green" and len(hits) == 2
    assert hits[0]["_additional"]["distance"] <= hits[1]["_additional"]["distance"]


def test_cli_finds_the_product(
    stack: tuple[FakeWeaviate, PluginSettings],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from plugin.cli import EXIT_OK, main

    _, settings = stack
    monkeypatch.setattr("plugin.encoder.factory.open_encoder", lambda *_a, **_k: FakeEncoder(dimension=8))
    for key, value in {
        "GROUNDED_WEAVIATE_URL": settings.weaviate_url,
        "GROUNDED_WEAVIATE_GRPC_PORT": str(settings.weaviate_grpc_port),
    }.items():
        monkeypatch.setenv(key, str(value))
    (tmp_path / "q.png").write_bytes(png(COLOURS["yellow"]))
    code = main(["search", "--image", str(tmp_path / "q.png"), "--text", "dress", "--json", "--limit", "1"])
    assert code == EXIT_OK
    out: Any = json.loads(capsys.readouterr().out)
    hits = out["hits"] if isinstance(out, dict) else out
    assert hits[0]["properties"]["product_id"] == "yellow"
