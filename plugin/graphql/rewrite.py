"""Rewriting ``nearGrounded`` in Weaviate GraphQL into ``nearVector``, on the parsed AST.

``Get { Product(nearGrounded: {image: $img, text: "in blue", targetVectors: ["clip"]}) {...} }``
becomes ``Product(nearVector: {vector: [...], targetVectors: ["clip"]})``: the composed-query
options (``removeBackground``, ``caption``, ``fuse``, ``template``, ``imageWeight``,
``fusionMethod``, ``directionGain``) are consumed here, the search options Weaviate knows
(``targetVectors``, ``distance``, ``certainty``, ``targets``) are kept as written (variables
included; a whole-argument variable is written back as typed literals, see
:mod:`plugin.graphql.values`). Declared variable defaults apply. ``Get``,
``Explore`` and ``Aggregate`` are each given what Weaviate needs there. Variables only the
nearGrounded argument used are removed from the operation and the variables, so Weaviate does not
reject them as unused. Every problem raises :class:`GraphQLRewriteError` naming the field.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, parse, print_ast
from graphql.language import (
    ArgumentNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    ListValueNode,
    NameNode,
    ObjectFieldNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    VariableNode,
    Visitor,
    visit,
)
from graphql.utilities import value_from_ast_untyped
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from plugin.graphql.reference import ReferenceLookup
from plugin.graphql.values import operation_variables, value_node
from schemas.errors import InvalidInputError
from schemas.wire import (
    MAX_DIRECTION_GAIN,
    BackgroundChoice,
    ComposeExplanation,
    ComposeOptions,
    ComposeResult,
    FusionMethod,
)

__all__ = ["ARGUMENT", "GraphQLRewriteError", "GroundedArgs", "Rewrite", "explanation_json", "rewrite_query"]

ARGUMENT = "nearGrounded"
_PASSTHROUGH = ("targetVectors", "distance", "certainty", "targets")
_CONFLICTS = ("nearVector", "nearObject", "nearText", "nearImage", "hybrid", "bm25")

Composer = Callable[[bytes | None, str, ComposeOptions], ComposeResult]


class GraphQLRewriteError(InvalidInputError):
    """A malformed ``nearGrounded`` argument; the message names the problem."""


class GroundedArgs(BaseModel):
    """The composed-query part of a ``nearGrounded`` argument (GraphQL names)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    image: str | None = Field(None, description="base64 reference image (optional data: prefix)")
    text: str = ""
    removeBackground: BackgroundChoice | None = Field(
        None,
        description='true, false, or "auto" (a string or an enum value): keep a studio photo, cut others out',
    )
    caption: bool | None = None
    fuse: bool | None = None
    template: str | None = None
    imageWeight: float | None = Field(None, ge=0.0, le=1.0)
    fusionMethod: FusionMethod | None = Field(
        None,
        description="ensemble, image_anchor, direction, slerp, pic2word or pic2word_caption "
        "(a string or an enum value)",
    )
    directionGain: float | None = Field(None, ge=0.0, le=MAX_DIRECTION_GAIN)
    product: str | None = Field(None, description="a stored product's id as the reference (no upload)")
    includeReference: bool = False

    def image_bytes(self) -> bytes | None:
        if self.image is None:
            return None
        data = self.image.split(",", 1)[1] if self.image.startswith("data:") else self.image
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise GraphQLRewriteError(f"{ARGUMENT}.image: not valid base64 ({exc})") from exc

    def options(self) -> ComposeOptions:
        return ComposeOptions(
            remove_background=self.removeBackground,
            caption=self.caption,
            fuse=self.fuse,
            template=self.template,
            image_weight=self.imageWeight,
            fusion_method=self.fusionMethod,
            direction_gain=self.directionGain,
        )


@dataclass
class Rewrite:
    """The query to forward, its variables, and one explanation per rewritten field, keyed by the
    field's response key (alias or class name)."""

    query: str
    variables: dict[str, Any] | None
    explanations: dict[str, ComposeExplanation] = field(default_factory=dict)


def explanation_json(explanation: ComposeExplanation) -> dict[str, Any]:
    """The explanation with GraphQL-style camelCase keys (cut-out PNG as base64)."""
    data = explanation.model_dump(mode="json", exclude_none=True)
    return {_camel(k): v for k, v in data.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _args(
    node: ObjectValueNode | VariableNode, variables: Mapping[str, Any]
) -> tuple[GroundedArgs, list[ObjectFieldNode]]:
    """Validated compose arguments and the pass-through fields, as AST."""
    if isinstance(node, VariableNode):
        value = variables.get(node.name.value)
        if not isinstance(value, dict):
            raise GraphQLRewriteError(f"{ARGUMENT}: variable ${node.name.value} must be an object")
        compose_part = {k: v for k, v in value.items() if k not in _PASSTHROUGH}
        try:
            fields = [
                ObjectFieldNode(name=NameNode(value=k), value=value_node(v, f"{ARGUMENT}.{k}", k))
                for k, v in value.items()
                if k in _PASSTHROUGH
            ]
        except InvalidInputError as exc:
            raise GraphQLRewriteError(exc.message) from exc
    elif isinstance(node, ObjectValueNode):
        compose_part = {}
        fields = []
        for f in node.fields:
            if f.name.value in _PASSTHROUGH:
                fields.append(f)
            elif isinstance(f.value, VariableNode) and f.value.name.value not in variables:
                raise GraphQLRewriteError(
                    f"{ARGUMENT}.{f.name.value}: variable ${f.value.name.value} is not given"
                )
            else:
                compose_part[f.name.value] = value_from_ast_untyped(f.value, dict(variables))
    else:
        raise GraphQLRewriteError(f'{ARGUMENT} must be an object, e.g. {{image: "...", text: "..."}}')
    try:
        args = GroundedArgs.model_validate(compose_part)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            msg = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{ARGUMENT}.{where}: {msg}")
        raise GraphQLRewriteError("; ".join(problems)) from exc
    if args.image is None and args.product is None and not args.text.strip():
        raise GraphQLRewriteError(f"{ARGUMENT} needs an image, a text, or both")
    if args.image is not None and args.product is not None:
        raise GraphQLRewriteError(f"{ARGUMENT}: give an image or a product, not both")
    return args, fields


def _search_kind(node: FieldNode, ancestors: Sequence[Any]) -> str:
    """``Get``, ``Explore`` or ``Aggregate``: which Weaviate search the field is."""
    parents = [a for a in ancestors if isinstance(a, FieldNode)]
    if not parents and node.name.value == "Explore":
        return "Explore"
    if parents and parents[-1].name.value == "Aggregate":
        return "Aggregate"
    return "Get"


def _fit_search(
    kind: str, key: str, node: FieldNode, fields: list[ObjectFieldNode], default_target: str | None
) -> list[ObjectFieldNode]:
    """The pass-through fields made valid for ``kind``, or a clear refusal.

    Weaviate's ``targets`` input exists on ``Get`` only (targets.go: "not supported by aggregate
    and explore"). ``Explore`` searches every collection and, on a collection with only named
    vectors, fails with 'index for target vector "" not found' (usecases/traverser/explorer.go)
    unless ``targetVectors`` names one: the configured vector is supplied. ``Aggregate`` over a
    vector search needs ``objectLimit``, ``certainty`` or ``distance``
    (usecases/traverser/traverser_aggregate.go): the user's are kept, a missing one is named.
    """
    names = {f.name.value for f in fields}
    if kind == "Get":
        return fields
    if "targets" in names:
        raise GraphQLRewriteError(f"{key}: {ARGUMENT}.targets is valid on Get only, not on {kind}")
    if kind == "Aggregate":
        arguments = {a.name.value for a in node.arguments or ()}
        if "objectLimit" not in arguments and not names & {"certainty", "distance"}:
            raise GraphQLRewriteError(
                f"{key}: Aggregate with {ARGUMENT} needs objectLimit, or certainty or distance in {ARGUMENT}"
            )
        return fields
    if "targetVectors" in names:
        return fields
    if default_target is None:
        raise GraphQLRewriteError(
            f"Explore: {ARGUMENT} needs targetVectors on collections with named vectors"
        )
    target = ObjectFieldNode(
        name=NameNode(value="targetVectors"),
        value=ListValueNode(values=(StringValueNode(value=default_target),)),
    )
    return [*fields, target]


def _vector_node(vector: list[float]) -> ListValueNode:
    return ListValueNode(values=tuple(FloatValueNode(value=repr(float(x))) for x in vector))


def _used_variables(doc: DocumentNode) -> set[str]:
    used: set[str] = set()

    class _Collect(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            used.add(node.name.value)

        def enter_variable_definition(self, *_: Any) -> Any:
            return Visitor.SKIP  # the definition itself is not a use

    visit(doc, _Collect())
    return used


def rewrite_query(
    query: str,
    variables: Mapping[str, Any] | None,
    compose: Composer,
    *,
    operation_name: str | None = None,
    default_target: str | None = None,
    max_fields: int | None = None,
    reference: ReferenceLookup | None = None,
) -> Rewrite | None:
    """Rewrite every ``nearGrounded`` argument of ``query``; ``None`` when it has none (forward the
    request untouched). Syntax errors also give ``None``: Weaviate reports them as it always does.

    ``default_target`` is the named vector an ``Explore`` search uses when the query names none;
    ``max_fields`` caps how many ``nearGrounded`` fields one query may hold (each runs the models).
    """
    try:
        doc = parse(query)
    except GraphQLError:
        return None
    values = operation_variables(doc, variables, operation_name)
    explanations: dict[str, ComposeExplanation] = {}
    if max_fields is not None:
        count = _count_arguments(doc)
        if count > max_fields:
            raise GraphQLRewriteError(f"at most {max_fields} {ARGUMENT} fields per query, got {count}")

    class _Rewriter(Visitor):
        def enter_field(
            self, node: FieldNode, _key: Any, _parent: Any, _path: Any, ancestors: Sequence[Any]
        ) -> FieldNode | None:
            grounded = [a for a in node.arguments or () if a.name.value == ARGUMENT]
            if not grounded:
                return None
            key = node.alias.value if node.alias else node.name.value
            names = {a.name.value for a in node.arguments or ()}
            clash = names & set(_CONFLICTS)
            if clash:
                raise GraphQLRewriteError(f"{key}: {ARGUMENT} cannot be combined with {sorted(clash)[0]}")
            if len(grounded) > 1:
                raise GraphQLRewriteError(f"{key}: {ARGUMENT} given twice")
            args, passthrough = _args(grounded[0].value, values)  # type: ignore[arg-type]
            passthrough = _fit_search(_search_kind(node, ancestors), key, node, passthrough, default_target)
            image, options, exclude = args.image_bytes(), args.options(), None
            if args.product is not None:
                image, options, exclude = _product_reference(node, key, args, options, reference)
            result = compose(image, args.text, options)
            explanations[key] = result.explanation
            near_vector = ObjectValueNode(
                fields=(
                    ObjectFieldNode(name=NameNode(value="vector"), value=_vector_node(result.vector)),
                    *passthrough,
                )
            )
            arguments = tuple(
                ArgumentNode(name=NameNode(value="nearVector"), value=near_vector)
                if a.name.value == ARGUMENT
                else a
                for a in node.arguments or ()
            )
            if exclude is not None:
                arguments = excluding_product(arguments, exclude)
            return dataclasses.replace(node, arguments=arguments)

    rewritten = visit(doc, _Rewriter())
    if not explanations:
        return None
    used = _used_variables(rewritten)
    rewritten = dataclasses.replace(
        rewritten,
        definitions=tuple(
            dataclasses.replace(
                d,
                variable_definitions=tuple(
                    v for v in d.variable_definitions if v.variable.name.value in used
                ),
            )
            if isinstance(d, OperationDefinitionNode) and d.variable_definitions
            else d
            for d in rewritten.definitions
        ),
    )
    # Only what the caller sent: defaults stay in the kept definitions, where Weaviate applies them.
    forwarded = {k: v for k, v in variables.items() if k in used} if variables is not None else None
    return Rewrite(query=print_ast(rewritten), variables=forwarded, explanations=explanations)


def _product_reference(
    node: FieldNode, key: str, args: GroundedArgs, options: ComposeOptions, reference: ReferenceLookup | None
) -> tuple[bytes, ComposeOptions, str | None]:
    """The stored product's image and merchant-data options, and the id to leave out."""
    from plugin.search.query import catalog_options  # the SDK's own rule for merchant data

    assert args.product is not None
    if reference is None:
        raise GraphQLRewriteError(f"{key}: {ARGUMENT}.product needs the endpoint's product lookup")
    stored = reference(node.name.value, args.product)
    encoded = stored.properties.get("image")
    if not encoded:
        raise GraphQLRewriteError(f"{key}: product {args.product!r} has no stored image")
    try:
        image = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GraphQLRewriteError(f"{key}: product {args.product!r}: stored image is not base64") from exc
    return image, catalog_options(stored, options), None if args.includeReference else args.product


def excluding_product(arguments: tuple[ArgumentNode, ...], product_id: str) -> tuple[ArgumentNode, ...]:
    """``arguments`` with ``where`` narrowed to ``product_id != <id>`` (AND the caller's own)."""
    not_it = ObjectValueNode(
        fields=(
            ObjectFieldNode(
                name=NameNode(value="path"),
                value=ListValueNode(values=(StringValueNode(value="product_id"),)),
            ),
            ObjectFieldNode(name=NameNode(value="operator"), value=EnumValueNode(value="NotEqual")),
            ObjectFieldNode(name=NameNode(value="valueText"), value=StringValueNode(value=product_id)),
        )
    )
    where = next((a for a in arguments if a.name.value == "where"), None)
    if where is None:
        return (*arguments, ArgumentNode(name=NameNode(value="where"), value=not_it))
    both = ObjectValueNode(
        fields=(
            ObjectFieldNode(name=NameNode(value="operator"), value=EnumValueNode(value="And")),
            ObjectFieldNode(
                name=NameNode(value="operands"), value=ListValueNode(values=(where.value, not_it))
            ),
        )
    )
    return tuple(
        ArgumentNode(name=NameNode(value="where"), value=both) if a is where else a for a in arguments
    )


def _count_arguments(doc: DocumentNode) -> int:
    count = 0

    class _Count(Visitor):
        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            nonlocal count
            count += node.name.value == ARGUMENT

    visit(doc, _Count())
    return count
