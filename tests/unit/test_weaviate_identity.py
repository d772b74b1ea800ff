"""The model record in a Weaviate collection's description: written and read back whatever the
identity holds, other text kept, and a line someone mangled counted as no record."""

from __future__ import annotations

import pytest

from plugin.store.weaviate.identity import (
    CATALOG_DESCRIPTION,
    RecordedModel,
    check_recorded_model,
    describe_model,
    recorded_model,
)
from schemas.errors import InvalidInputError

ODD = 'transformers:/models/a: b\n"quoted":512'
"""A model folder path may hold colons, quotes and even a newline."""


def test_the_record_reads_back_whatever_the_identity_holds() -> None:
    text = describe_model(None, ODD, "ab" * 32)
    assert text.splitlines()[0] == CATALOG_DESCRIPTION
    assert recorded_model(text) == RecordedModel(ODD, "ab" * 32)
    assert recorded_model(describe_model(None, ODD, None)) == RecordedModel(ODD, None)


def test_recording_keeps_other_text_and_replaces_an_earlier_record() -> None:
    first = describe_model("Spring catalogue\nowner: shop team", "a:m:p:8", "11")
    second = describe_model(first, "b:m:p:8", None)
    assert second.splitlines()[:2] == ["Spring catalogue", "owner: shop team"]
    assert recorded_model(second) == RecordedModel("b:m:p:8", None)


@pytest.mark.parametrize(
    "description",
    [None, "", CATALOG_DESCRIPTION, "grounded.model: not json", 'grounded.model: ""', "grounded.model: 7"],
)
def test_no_or_a_mangled_record_is_no_record(description: str | None) -> None:
    assert recorded_model(description) == RecordedModel()
    check_recorded_model("Product", description, "a:m:p:8", "11")  # never refused


def test_a_refusal_names_the_collection_both_models_and_the_ways_out() -> None:
    with pytest.raises(InvalidInputError) as info:
        check_recorded_model("Shop", describe_model(None, "a:m:p:8", "11"), "b:m:p:8", "11")
    message = info.value.message
    assert message.startswith("collection 'Shop' in Weaviate was built with the model 'a:m:p:8'")
    assert "this run uses 'b:m:p:8'" in message and "GROUNDED_COLLECTION" in message
    with pytest.raises(InvalidInputError, match=r"weights 11 of the model 'a:m:p:8'.*now holds 22"):
        check_recorded_model("Shop", describe_model(None, "a:m:p:8", "11"), "a:m:p:8", "22")
