"""GraphQL answered from the fake's objects, with the same rules as its gRPC search (see
``objects``): ``Get`` with ``nearVector``, ``where``, ``limit`` and ``_additional { id distance }``;
``Explore`` with ``nearVector`` (``beacon className distance``), which names no default target
vector (usecases/traverser/explorer.go ``CrossClassVectorSearch``); and ``Aggregate`` with
``nearVector``, which needs ``objectLimit``, ``certainty`` or ``distance``
(usecases/traverser/traverser_aggregate.go), answering ``meta { count }``.

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


def _near(args: dict[str, Any]) -> tuple[np.ndarray | None, str | None, float | None]:
    near = args.get("nearVector")
    if not near:
        return None, None, None
    targets = near.get("targetVectors") or [None]
    return np.asarray(near["vector"], np.float32), targets[0], near.get("distance")


def _explore(state: FakeWeaviateState, node: FieldNode, variables: dict[str, Any]) -> list[dict[str, Any]]:
    args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or ()}
    query, target, distance = _near(args)
    if query is None:
        raise FakeWeaviateError("fake Weaviate: Explore needs nearVector")
    hits: list[tuple[float, str, str]] = []
    with state.lock:
        classes = sorted(state.schema)
    for cls in classes:
        # Cross-class search takes the target vector from the request only: "" otherwise.
        for dist, oid, _ in vector_search(state, cls, query, target or "", None, 10_000, distance):
            hits.append((dist, cls, oid))
    hits.sort()
    wanted = (
        [s.name.value for s in node.selection_set.selections if isinstance(s, FieldNode)]
        if node.selection_set
        else []
    )
    out = []
    for dist, cls, oid in hits[: int(args.get("limit") or 10)]:
        row = {"beacon": f"weaviate://localhost/{cls}/{oid}", "className": cls, "distance": dist}
        out.append({k: row.get(k) for k in wanted})
    return out


def _aggregate(state: FakeWeaviateState, node: FieldNode, variables: dict[str, Any]) -> list[dict[str, Any]]:
    args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments or ()}
    query, target, distance = _near(args)
    limit = args.get("objectLimit")
    if (
        query is not None
        and limit is None
        and distance is None
        and "certainty" not in (args.get("nearVector") or {})
    ):
        raise FakeWeaviateError("must provide certainty or objectLimit with vector search")
    filters = _filter(args["where"]) if "where" in args else None
    rows = vector_search(state, node.name.value, query, target, filters, int(limit or 1_000_000), distance)
    return [{"meta": {"count": len(rows)}}]


_ANSWERS = {"Get": _class_answer, "Aggregate": _aggregate}
# The GraphQL object type each top-level field's classes hang off, for graphql-go's message on an
# unknown class (adapters/handlers/graphql/local/get/build.go, aggregate/build.go).
_OBJECT_TYPES = {"Get": "GetObjectsObj", "Aggregate": "AggregateObjectsObj"}


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
            for var in definition.variable_definitions or ():  # a default applies when none is sent
                if var.default_value is not None and var.variable.name.value not in variables:
                    variables[var.variable.name.value] = value_from_ast_untyped(var.default_value)
            for top in definition.selection_set.selections:
                if not isinstance(top, FieldNode) or top.name.value not in ("Get", "Explore", "Aggregate"):
                    raise FakeWeaviateError("fake Weaviate: only Get, Explore and Aggregate are answered")
                key = top.alias.value if top.alias else top.name.value
                if top.name.value == "Explore":
                    data[key] = _explore(state, top, variables)
                    continue
                per_class: dict[str, Any] = {}
                for cls in top.selection_set.selections if top.selection_set else ():
                    if isinstance(cls, FieldNode):
                        if cls.name.value not in state.schema:
                            parent = _OBJECT_TYPES[top.name.value]
                            raise FakeWeaviateError(
                                f'Cannot query field "{cls.name.value}" on type "{parent}".'
                            )
                        name = cls.alias.value if cls.alias else cls.name.value
                        per_class[name] = _ANSWERS[top.name.value](state, cls, variables)
                data[key] = per_class
    except FakeWeaviateError as exc:
        return {"data": None, "errors": [{"message": str(exc)}]}
    return {"data": data}
