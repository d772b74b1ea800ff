"""Weaviate's filter semantics over the fake's objects."""

from __future__ import annotations

import re
import uuid as uuid_module
from typing import Any

from weaviate.proto.v1 import base_pb2

from .state import FakeWeaviateError

F = base_pb2.Filters


def _schema_props(schema: dict[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    if schema is None:
        return None
    return {p["name"]: p for p in schema.get("properties", [])}


def _tokens(value: Any, tokenization: str) -> list[str]:
    """Weaviate's tokenizers for the two we declare: "field" keeps the trimmed value as one
    case-sensitive token, "word" lowercases and splits on anything not alphanumeric."""
    text = str(value)
    if tokenization == "field":
        return [text.strip()] if text.strip() else []
    return [t for t in re.split(r"[^\w]|_", text.lower()) if t]


def _filter_value(f: base_pb2.Filters) -> Any:
    which = f.WhichOneof("test_value")
    if which in ("value_text_array", "value_number_array", "value_int_array", "value_boolean_array"):
        return list(getattr(f, which).values)
    return getattr(f, which) if which else None


def _matches(
    f: base_pb2.Filters, obj_id: str, props: dict[str, Any], schema: dict[str, dict[str, Any]] | None
) -> bool:
    """One object against a filter, as Weaviate's inverted index answers it: text is compared
    token by token under the property's tokenization, absent/null values match no operator,
    and filtering on an unknown or unindexed property is an error, not an empty result."""
    if f.operator == F.OPERATOR_AND:
        return all(_matches(sub, obj_id, props, schema) for sub in f.filters)
    if f.operator == F.OPERATOR_OR:
        return any(_matches(sub, obj_id, props, schema) for sub in f.filters)
    name = f.target.property if f.HasField("target") else f.on[0]
    expected = _filter_value(f)
    if name == "_id":
        wanted = expected if isinstance(expected, list) else [expected]
        ids = {str(uuid_module.UUID(str(v))) for v in wanted}
        if f.operator in (F.OPERATOR_EQUAL, F.OPERATOR_CONTAINS_ANY):
            return obj_id in ids
        raise FakeWeaviateError(f"fake Weaviate: operator {f.operator} on _id")
    prop = (schema or {}).get(name)
    if schema is not None and prop is None:
        raise FakeWeaviateError(f"no such prop with name '{name}' found in class")
    if prop is not None and not prop.get("indexFilterable", True):
        raise FakeWeaviateError(f"Filtering by property '{name}' requires inverted index")
    actual = props.get(name)
    if actual is None or actual == []:
        return False
    data_type = prop["dataType"][0] if prop else ("text[]" if isinstance(actual, list) else "text")
    if data_type.startswith("text"):
        tokenization = (prop or {}).get("tokenization") or "word"
        stored = {
            t for v in (actual if isinstance(actual, list) else [actual]) for t in _tokens(v, tokenization)
        }
        values = expected if isinstance(expected, list) else [expected]
        query = [t for v in values for t in _tokens(v, tokenization)]
        if f.operator == F.OPERATOR_EQUAL:
            return bool(query) and all(t in stored for t in query)
        if f.operator == F.OPERATOR_CONTAINS_ANY:
            return any(t in stored for t in query)
        if f.operator == F.OPERATOR_CONTAINS_ALL:
            return bool(query) and all(t in stored for t in query)
        raise FakeWeaviateError(f"fake Weaviate: operator {f.operator} on text property '{name}'")
    numbers = actual if isinstance(actual, list) else [actual]
    if f.operator == F.OPERATOR_EQUAL:
        return any(n == expected for n in numbers)
    if f.operator == F.OPERATOR_CONTAINS_ANY:
        return any(n in expected for n in numbers)
    if f.operator == F.OPERATOR_CONTAINS_ALL:
        return all(e in numbers for e in expected)
    if f.operator == F.OPERATOR_GREATER_THAN_EQUAL:
        return any(n >= expected for n in numbers)
    if f.operator == F.OPERATOR_LESS_THAN_EQUAL:
        return any(n <= expected for n in numbers)
    if f.operator == F.OPERATOR_GREATER_THAN:
        return any(n > expected for n in numbers)
    if f.operator == F.OPERATOR_LESS_THAN:
        return any(n < expected for n in numbers)
    raise FakeWeaviateError(f"fake Weaviate: filter operator {f.operator}")
