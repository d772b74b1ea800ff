"""``/openapi.json`` describes what the routes really take and give: ``/vectorize`` and
``/compose`` read their body by hand, so FastAPI used to publish them without one (and a
client generator or schema fuzzer had nothing to go on); ``/metrics`` was declared JSON."""

from __future__ import annotations

from typing import Any

from tests.support.service import http_client, make_engine


async def _document() -> dict[str, Any]:
    async with http_client(make_engine()) as client:
        answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


async def test_the_bodies_and_answers_of_vectorize_and_compose_are_declared() -> None:
    paths = (await _document())["paths"]
    for path, request, result in (
        ("/vectorize", "VectorizeRequest", "VectorizeResponse"),
        ("/compose", "ComposeRequest", "ComposeResult"),
    ):
        operation = paths[path]["post"]
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": f"#/components/schemas/{request}"}
        ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": f"#/components/schemas/{result}"}
        assert {"400", "401", "429", "503"} <= set(operation["responses"])
        assert "422" not in operation["responses"]  # validation errors answer 400


async def test_every_reference_resolves_and_operation_ids_are_unique() -> None:
    document = await _document()
    schemas = document["components"]["schemas"]
    text = str(document)
    for name in {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}:
        assert name in schemas, name
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert list(document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
