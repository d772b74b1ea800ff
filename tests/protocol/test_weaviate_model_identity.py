"""The model a Weaviate collection's vectors come from: recorded in the collection's description
when the plugin computes the vectors, and a collection another model or other weights built
refused before anything is read or written, as the embedded store refuses such a table. Each case
runs against the fake Weaviate and, when ``WEAVIATE_URL`` is set, a real one (the description
must round-trip through Weaviate itself)."""

from __future__ import annotations

import logging

import pytest

import tests.support.fake_weaviate.rest
from plugin.store import open_store
from plugin.store.weaviate import WeaviateStore, weaviate_store
from plugin.store.weaviate.identity import CATALOG_DESCRIPTION, RecordedModel, recorded_model
from schemas.errors import InvalidInputError
from tests.support.fake_weaviate.schema import SchemaError
from tests.support.weaviate_target import WeaviateTarget

MODEL = "open_clip:/models/shop::8"
OTHER_MODEL = "open_clip:ViT-B-32:laion2b_s34b_b79k:8"
FIRST = "1" * 64
RETRAINED = "2" * 64


def plugin_store(
    target: WeaviateTarget, name: str, model: str | None = MODEL, weights: str | None = FIRST
) -> WeaviateStore:
    settings = target.settings(collection=name, vectorization="plugin")
    return weaviate_store(settings, model=model, weights_sha256=weights)


def created(target: WeaviateTarget, model: str | None = MODEL, weights: str | None = FIRST) -> str:
    name = target.collection_name()
    store = plugin_store(target, name, model, weights)
    try:
        store.create_collection()
    finally:
        store.close()
    return name


def description(target: WeaviateTarget, name: str) -> str:
    return str(target.schema(name).get("description") or "")


def refusal(store: WeaviateStore, *, search: bool = False) -> str:
    try:
        with pytest.raises(InvalidInputError) as info:
            if search:
                store.search([1.0] + [0.0] * 7)
            else:
                store.create_collection()
    finally:
        store.close()
    return info.value.message


def test_a_new_collection_records_the_model_and_weights_under_the_human_text(target: WeaviateTarget) -> None:
    name = target.collection_name()
    # Through open_store, as a session opens it: the model must reach the Weaviate store.
    store = open_store(
        target.settings(collection=name, vectorization="plugin"), model=MODEL, weights_sha256=FIRST
    )
    try:
        store.create_collection()
    finally:
        store.close()
    text = description(target, name)
    assert text.splitlines()[0] == CATALOG_DESCRIPTION
    assert recorded_model(text) == RecordedModel(MODEL, FIRST)
    # And read back through weaviate-client, by the next run with the same model and weights.
    again = plugin_store(target, name)
    try:
        again.create_collection()
        assert again.count() == 0
    finally:
        again.close()


def test_another_model_is_refused_on_import_and_on_search_naming_both(target: WeaviateTarget) -> None:
    name = created(target)
    for search in (False, True):
        message = refusal(plugin_store(target, name, OTHER_MODEL, None), search=search)
        assert f"built with the model {MODEL!r}" in message and f"this run uses {OTHER_MODEL!r}" in message
        assert "GROUNDED_COLLECTION" in message and "grounded ingest --recreate" in message
    if target.fake:
        assert target.fake.state.batch_requests == [] and target.fake.state.search_requests == []


def test_other_weights_of_the_same_model_are_refused_naming_both_hashes(target: WeaviateTarget) -> None:
    name = created(target)
    for search in (False, True):
        message = refusal(plugin_store(target, name, MODEL, RETRAINED), search=search)
        assert f"built with the weights {FIRST}" in message and f"now holds {RETRAINED}" in message
        assert "grounded ingest --recreate" in message
    # A run that knows no hash (a hub model) is not compared on it.
    hub = plugin_store(target, name, MODEL, None)
    try:
        hub.create_collection()
        assert hub.search([1.0] + [0.0] * 7) == []
    finally:
        hub.close()


def test_recreate_drops_a_refused_collection_and_records_the_new_weights(target: WeaviateTarget) -> None:
    name = created(target)
    store = plugin_store(target, name, MODEL, RETRAINED)
    try:
        store.drop()  # `grounded ingest --recreate`: the store opens, drops, then creates
        store.create_collection()
    finally:
        store.close()
    assert recorded_model(description(target, name)) == RecordedModel(MODEL, RETRAINED)


def test_an_older_collection_is_accepted_and_gains_the_model_but_no_hash(target: WeaviateTarget) -> None:
    name = created(target, model=None, weights=None)  # as Grounded created it before the record
    assert description(target, name) == CATALOG_DESCRIPTION
    search_only = plugin_store(target, name)
    try:
        assert search_only.search([1.0] + [0.0] * 7) == []
    finally:
        search_only.close()
    assert description(target, name) == CATALOG_DESCRIPTION  # a search records nothing

    importer = plugin_store(target, name, MODEL, FIRST)
    try:
        importer.create_collection()
    finally:
        importer.close()
    text = description(target, name)
    assert text.splitlines()[0] == CATALOG_DESCRIPTION
    assert recorded_model(text) == RecordedModel(MODEL, None)
    # Recorded: another model is refused from now on; other weights are not (no hash to compare).
    assert OTHER_MODEL in refusal(plugin_store(target, name, OTHER_MODEL, None))
    retrained = plugin_store(target, name, MODEL, RETRAINED)
    try:
        retrained.create_collection()
    finally:
        retrained.close()
    assert recorded_model(description(target, name)) == RecordedModel(MODEL, None)


def test_a_collection_someone_else_created_keeps_its_description(target: WeaviateTarget) -> None:
    name = created(target, model=None, weights=None)
    cls = target.schema(name)  # then described by hand, as Weaviate lets anyone do
    cls["description"] = "Spring catalogue, loaded by the shop's own tool"
    assert target.rest("PUT", f"/v1/schema/{name}", json=cls).status_code == 200
    store = plugin_store(target, name)
    try:
        store.create_collection()
    finally:
        store.close()
    text = description(target, name)
    assert text.splitlines()[0] == "Spring catalogue, loaded by the shop's own tool"
    assert recorded_model(text) == RecordedModel(MODEL, None)


def test_weaviate_vectorization_records_and_compares_no_plugin_model(target: WeaviateTarget) -> None:
    name = target.collection_name()
    for model in (MODEL, OTHER_MODEL):  # multi2vec-clip made the vectors, not the plugin's model
        settings = target.settings(collection=name, vectorization="weaviate")
        store = weaviate_store(settings, model=model, weights_sha256=FIRST)
        try:
            store.create_collection()
            assert store.count() == 0
        finally:
            store.close()
    assert description(target, name) == CATALOG_DESCRIPTION


def test_weaviate_keeps_a_description_change_and_refuses_a_property_change(target: WeaviateTarget) -> None:
    # What recording relies on: PUT /v1/schema/<name> changes the description of a live collection,
    # while the properties (and the vectorizer) cannot change that way.
    name = created(target, model=None, weights=None)
    cls = target.schema(name)
    cls["description"] = "changed"
    assert target.rest("PUT", f"/v1/schema/{name}", json=cls).status_code == 200
    assert description(target, name) == "changed"
    cls["properties"][0]["indexFilterable"] = not cls["properties"][0].get("indexFilterable", True)
    res = target.rest("PUT", f"/v1/schema/{name}", json=cls)
    assert res.status_code == 422 and "cannot be updated through updating the class" in res.text


def test_an_import_goes_on_when_weaviate_refuses_to_record(
    target: WeaviateTarget, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    if not target.fake:
        pytest.skip("needs a Weaviate that refuses schema changes (a key without the right)")
    name = created(target, model=None, weights=None)

    def refuse(initial: object, body: object) -> object:
        raise SchemaError("forbidden: no permission to update collection metadata")

    monkeypatch.setattr(tests.support.fake_weaviate.rest, "updated_class", refuse)
    store = plugin_store(target, name)
    try:
        with caplog.at_level(logging.WARNING, logger="plugin.store.weaviate.store"):
            store.create_collection()
        assert store.count() == 0
    finally:
        store.close()
    assert description(target, name) == CATALOG_DESCRIPTION
    assert "could not record the model" in caplog.text
