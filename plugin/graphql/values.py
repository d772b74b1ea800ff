"""JSON variable values back into GraphQL literals, as Weaviate's schema types them.

When ``nearGrounded`` arrives as one variable, the search options Weaviate itself knows
(``targetVectors``, ``distance``, ``certainty``, ``targets``) have to be written into the
forwarded ``nearVector`` as literals. A JSON value does not say which GraphQL type it had, so
the few enum-typed fields are named here: ``targets.combinationMethod`` is
``targetCombinationEnum`` in Weaviate (adapters/handlers/graphql/local/common_filters/targets.go),
and an enum must be written bare (``sum``), never quoted (``"sum"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from graphql.language import (
    BooleanValueNode,
    DocumentNode,
    EnumValueNode,
    FloatValueNode,
    IntValueNode,
    ListValueNode,
    NameNode,
    NullValueNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    ValueNode,
)
from graphql.utilities import value_from_ast_untyped

from schemas.errors import InvalidInputError

__all__ = ["COMBINATION_METHODS", "operation_variables", "value_node"]

# targets.go: targetCombinationEnum's values.
COMBINATION_METHODS = ("minimum", "average", "sum", "manualWeights", "relativeScore")
_ENUMS: dict[str, tuple[str, ...]] = {"combinationMethod": COMBINATION_METHODS}
# A GraphQL Name (spec 2.1.9): anything else as an object key would print as broken syntax.
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]*\Z")


def value_node(value: Any, where: str, field: str | None = None) -> ValueNode:
    """The GraphQL literal for a JSON ``value`` found at ``where`` (used in error messages);
    ``field`` is the object key it sits under, which decides whether a string is an enum."""
    if value is None:
        return NullValueNode()
    if isinstance(value, bool):
        return BooleanValueNode(value=value)
    if isinstance(value, int):
        return IntValueNode(value=str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInputError(f"{where}: {value} is not a number GraphQL can carry")
        return FloatValueNode(value=repr(value))
    if isinstance(value, str):
        allowed = _ENUMS.get(field or "")
        if allowed is None:
            return StringValueNode(value=value)
        if value not in allowed:
            raise InvalidInputError(f"{where}: must be one of {', '.join(allowed)}, got {value!r}")
        return EnumValueNode(value=value)
    if isinstance(value, list):
        return ListValueNode(values=tuple(value_node(v, f"{where}[{i}]", field) for i, v in enumerate(value)))
    if isinstance(value, dict):
        fields = []
        for key, item in value.items():
            if not isinstance(key, str) or not _NAME.match(key):
                raise InvalidInputError(f"{where}: {key!r} is not a valid field name")
            fields.append(
                ObjectFieldNode(name=NameNode(value=key), value=value_node(item, f"{where}.{key}", key))
            )
        return ObjectValueNode(fields=tuple(fields))
    raise InvalidInputError(f"{where}: unsupported value of type {type(value).__name__}")


def operation_variables(
    doc: DocumentNode, variables: Mapping[str, Any] | None, operation_name: str | None
) -> dict[str, Any]:
    """The variables as the operation sees them: the values sent, plus each declared default
    (``query($t: String = "red")``) for a variable that was not sent, as GraphQL's
    CoerceVariableValues does (spec 6.1.2). An explicit ``null`` stays ``null``."""
    values = dict(variables or {})
    for definition in doc.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else None
        if operation_name is not None and name != operation_name:
            continue
        for var in definition.variable_definitions or ():
            key = var.variable.name.value
            if key not in values and var.default_value is not None:
                values[key] = value_from_ast_untyped(var.default_value)
    return values
