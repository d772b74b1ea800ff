"""GraphQL ``Get`` answered from the fake's objects: ``nearVector``, ``where``, ``limit`` and
``_additional { id distance }``, with the same rules as its gRPC search (see ``objects``).

``where`` is translated into the gRPC filter message, so both sides share one filter engine;
operators and value fields are Weaviate's (adapters/handlers/graphql/local/common_filters).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from graphql import GraphQLError, parse
from graphql.language import FieldNode, OperationDefinitionNode
from graphql.utilities import value_from_ast_untyped
from weaviate.proto.v1 import base_pb2

from .objects import vector_search
from .state import FakeWeaviateError, FakeWeaviateState

__all__ = ["answer_graphql"]

F = base_pb2.Filters
_OPERATORS = {
    "Equal": F.OPERATOR_EQUAL,
    "GreaterThanEqual": F.OPERATOR_GREATER_THAN_EQUAL,
    "LessThanEqual": F.OPERATOR_LESS_THAN_EQUAL,
    "GreaterThan": F.OPERATOR_GREATER_THAN,
    "LessThan": F.OPERATOR_LESS_THAN,
    "ContainsAny": F.OPERATOR_CONTAINS_ANY,
    "ContainsAll": F.OPERATOR_CONTAINS_ALL,
    "And": F.OPERATOR_AND,
    "Or": F.OPERATOR_OR,
}


def _filter(where: dict[str, Any]) -> base_pb2.Filters:
    op = _OPERATORS.get(where.get("operator", ""))
    if op is None:
        raise FakeWeaviateError(f"fake Weaviate: where operator {where.get('operator')!r}")
    if op in (F.OPERATOR_AND, F.OPERATOR_OR):
        return F(operator=op, filters=[_filter(o) for o in where.get("operands", [])])
    f = F(operator=op, target=base_pb2.FilterTarget(property=where["path"][0]))
    if "valueText" in where:
        value = where["valueText"]
        if isinstance(value, list):
            f.value_text_array.values.extend(value)
        else:
            f.value_text = value
    elif "valueNumber" in where:
        f.value_number = float(where["valueNumber"])
    elif "valueInt" in where:
        f.value_int = int(where["valueInt"])
    elif "valueBoolean" in where:
        f.value_boolean = bool(where["valueBoolean"])
    return f


def _class_answer(
    state: FakeWeaviateState, node: FieldNode, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or ()}
    near = args.get("nearVector")
    query = np.asarray(near["vector"], np.float32) if near else None
    targets = (near or {}).get("targetVectors") or [None]
    filters = _filter(args["where"]) if "where" in args else None
    rows = vector_search(
        state,
        node.name.value,
        query,
        targets[0],
        filters,
        int(args.get("limit") or 10),
        (near or {}).get("distance"),
    )
    out = []
    for distance, oid, obj in rows:
        item: dict[str, Any] = {}
        for sel in node.selection_set.selections if node.selection_set else ():
            if not isinstance(sel, FieldNode):
                continue
            if sel.name.value == "_additional":
                extra = {"id": oid, "distance": distance if query is not None else None}
                item["_additional"] = {
                    s.name.value: extra.get(s.name.value)
                    for s in (sel.selection_set.selections if sel.selection_set else ())
                    if isinstance(s, FieldNode)
                }
            else:
                item[sel.name.value] = obj.properties.get(sel.name.value)
        out.append(item)
    return out


def answer_graphql(state: FakeWeaviateState, body: dict[str, Any]) -> dict[str, Any]:
    """``{"data": ...}`` or ``{"errors": [...]}``, as Weaviate answers a GraphQL request."""
    try:
        doc = parse(body.get("query") or "")
    except GraphQLError as exc:
        return {"errors": [{"message": exc.message}]}
    variables = dict(body.get("variables") or {})
    data: dict[str, Any] = {}
    try:
        for definition in doc.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            for top in definition.selection_set.selections:
                if not isinstance(top, FieldNode) or top.name.value != "Get":
                    raise FakeWeaviateError("fake Weaviate: only Get is answered from objects")
                get: dict[str, Any] = {}
                for cls in top.selection_set.selections if top.selection_set else ():
                    if isinstance(cls, FieldNode):
                        key = cls.alias.value if cls.alias else cls.name.value
                        get[key] = _class_answer(state, cls, variables)
                data["Get"] = get
    except FakeWeaviateError as exc:
        return {"data": None, "errors": [{"message": str(exc)}]}
    return {"data": data}
