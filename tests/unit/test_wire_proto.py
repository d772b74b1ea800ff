"""The proto messages agree with the pydantic contracts they mirror, and the generic converter
(schemas.proto) carries every field both ways.

The pydantic models are the contracts; ``grounded.proto`` is the one unavoidable copy. These
tests fail as soon as the two disagree on a field (added on one side only, another kind,
another optional-ness), so a field can no longer be dropped on its way through gRPC. The
samples are generated from the field types, so a new field is covered without editing this file.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel, ValidationError

from schemas import grounded_pb2 as pb
from schemas.model_info import ModelInfo
from schemas.proto import from_message, to_message
from schemas.wire import ComposeExplanation, ComposeOptions, ComposeResult, ModelMeta, StageTiming

PAIRS: list[tuple[type[BaseModel], type[Message]]] = [
    (ComposeOptions, pb.ComposeOptions),
    (ComposeExplanation, pb.ComposeExplanation),
    (StageTiming, pb.StageTiming),
    (ModelInfo, pb.ModelInfoResponse),
    (ComposeResult, pb.ComposeQueryResponse),
]
_IDS = [model.__name__ for model, _ in PAIRS]

Shape = dict[str, tuple[str, bool]]
"""Field name -> (kind, optional)."""

_PROTO_KINDS = {
    FieldDescriptor.TYPE_STRING: "str",
    FieldDescriptor.TYPE_BYTES: "bytes",
    FieldDescriptor.TYPE_BOOL: "bool",
    FieldDescriptor.TYPE_FLOAT: "float",
    FieldDescriptor.TYPE_DOUBLE: "float",
    FieldDescriptor.TYPE_MESSAGE: "message",
    **dict.fromkeys(
        (
            FieldDescriptor.TYPE_INT32,
            FieldDescriptor.TYPE_INT64,
            FieldDescriptor.TYPE_UINT32,
            FieldDescriptor.TYPE_UINT64,
            FieldDescriptor.TYPE_SINT32,
            FieldDescriptor.TYPE_SINT64,
        ),
        "int",
    ),
}
_PYTHON_KINDS = {str: "str", bytes: "bytes", bool: "bool", float: "float", int: "int"}
_ABSENCE_AS_EMPTY = {"map", "message", "bytes"}
"""Kinds where a pydantic None may travel as the proto's empty value (see schemas.proto)."""


def _strip_none(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if _is_switch(args):
            return Union[tuple(args)], len(args) < len(get_args(annotation))  # noqa: UP007  # a runtime union
        assert len(args) == 1, f"{annotation}: only X | None (or a switch with modes) maps onto a proto field"
        return args[0], len(args) < len(get_args(annotation))
    return annotation, False


def _is_switch(args: list[Any]) -> bool:
    """``bool | Literal["a", ...]``: a switch with modes (schemas.proto's two proto fields)."""
    return len(args) == 2 and bool in args and any(get_origin(a) is Literal for a in args)


def _python_kind(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        # a closed set of names (e.g. the fusion methods) travels as its values' type
        kinds = {
            _PYTHON_KINDS.get(type(value), f"unsupported {type(value)}") for value in get_args(annotation)
        }
        return kinds.pop() if len(kinds) == 1 else f"unsupported mixed {annotation}"
    if origin is dict:
        return "map"
    if origin in (list, tuple):
        return "repeated " + _python_kind(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "message"
    return _PYTHON_KINDS.get(annotation, f"unsupported {annotation}")


def model_shape(model: type[BaseModel]) -> Shape:
    """A switch with modes counts as its two proto fields: the bool and the ``_mode`` string."""
    shape: Shape = {}
    for name, info in model.model_fields.items():
        annotation, optional = _strip_none(info.annotation)
        if _is_switch(list(get_args(annotation))):
            shape[name] = ("bool", optional)
            shape[f"{name}_mode"] = ("str", optional)
        else:
            shape[name] = (_python_kind(annotation), optional)
    return shape


def proto_shape(descriptor: Descriptor) -> Shape:
    """``optional`` is True for proto3 ``optional`` scalars only: the fields that can say "unset"."""
    shape: Shape = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            kind = "map"
        else:
            kind = _PROTO_KINDS.get(field.type, f"unsupported type {field.type}")
            kind = f"repeated {kind}" if field.is_repeated else kind
        shape[field.name] = (kind, field.has_presence and field.type != FieldDescriptor.TYPE_MESSAGE)
    return shape


def disagreements(model: type[BaseModel], message: type[Message]) -> list[str]:
    """Every way the pydantic model and the proto message disagree (empty: they agree)."""
    ours, theirs = model_shape(model), proto_shape(message.DESCRIPTOR)
    problems = [f"{name}: only in {model.__name__}" for name in sorted(ours.keys() - theirs.keys())]
    problems += [f"{name}: only in the proto message" for name in sorted(theirs.keys() - ours.keys())]
    for name in sorted(ours.keys() & theirs.keys()):
        (kind, optional), (proto_kind, proto_optional) = ours[name], theirs[name]
        if kind != proto_kind:
            problems.append(f"{name}: {kind} in {model.__name__}, {proto_kind} in the proto")
        if proto_optional and not optional:
            problems.append(f"{name}: proto3 optional, but not `| None` in {model.__name__}")
        if optional and not proto_optional and kind not in _ABSENCE_AS_EMPTY:
            problems.append(f"{name}: `| None` in {model.__name__}, but the proto field is not optional")
    return problems


@pytest.mark.parametrize(("model", "message"), PAIRS, ids=_IDS)
def test_the_proto_message_mirrors_the_pydantic_model(model: type[BaseModel], message: type[Message]) -> None:
    assert disagreements(model, message) == []


class _OneSided(StageTiming):
    extra: int = 0


class _OtherKind(StageTiming):
    ms: int  # type: ignore[assignment]  # deliberately disagrees with the proto's double


class _Nullable(StageTiming):
    note: str | None = None  # type: ignore[assignment]  # deliberately nullable; the proto's is not


@pytest.mark.parametrize(
    ("model", "problem"),
    [
        (_OneSided, "extra: only in _OneSided"),
        (_OtherKind, "ms: int in _OtherKind, float in the proto"),
        (_Nullable, "note: `| None` in _Nullable, but the proto field is not optional"),
    ],
)
def test_the_comparison_notices_a_field_that_disagrees(model: type[BaseModel], problem: str) -> None:
    assert disagreements(model, pb.StageTiming) == [problem]


# --- samples generated from the field types ---------------------------------------------------


def _value(annotation: Any, name: str, default: Any) -> Any:
    """A value of this type that differs from the field's default."""
    if _is_switch(list(get_args(annotation))):
        return next(value for a in get_args(annotation) if get_origin(a) is Literal for value in get_args(a))
    kind = _python_kind(annotation)
    if get_origin(annotation) is Literal:
        return next(value for value in get_args(annotation) if value != default)
    if kind == "message":
        return sample(annotation)
    if kind.startswith("repeated"):
        item = get_args(annotation)[0]
        return [_value(item, name, None), _value(item, name, None)]
    if kind == "map":
        item = get_args(annotation)[1]  # the values' type: a map of strings or of floats
        if get_origin(item) is Annotated:
            item = get_args(item)[0]  # a constrained string is a string
        return {f"{name} key": _value(item, name, None), "other": _value(item, "other", None)}
    return {
        "str": f"{name} value",
        "bytes": b"\x89PNG " + name.encode(),
        "bool": not default if isinstance(default, bool) else True,
        "float": 0.25,  # exact in a proto float (32 bits), so it compares equal after the trip
        "int": 7,
        "map": {f"{name} key": "value", "other": "value 2"},
    }[kind]


def sample(model: type[BaseModel], *, optional_unset: bool = False) -> Any:
    """``model`` with every field set to a non-default value, or with every ``X | None`` field
    left None (``optional_unset``) and the rest set."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation, optional = _strip_none(info.annotation)
        if optional and optional_unset:
            continue
        values[name] = _value(annotation, name, info.get_default(call_default_factory=True))
    return model(**values)


@pytest.mark.parametrize(("model", "message"), PAIRS, ids=_IDS)
def test_every_field_set_survives_the_round_trip(model: type[BaseModel], message: type[Message]) -> None:
    original = sample(model)
    for name, info in model.model_fields.items():
        assert getattr(original, name) != info.get_default(call_default_factory=True), name
    encoded = to_message(original, message)
    assert from_message(message.FromString(encoded.SerializeToString()), model) == original


@pytest.mark.parametrize(("model", "message"), PAIRS, ids=_IDS)
def test_optional_fields_left_unset_come_back_none(model: type[BaseModel], message: type[Message]) -> None:
    original = sample(model, optional_unset=True)
    encoded = to_message(original, message)
    nullable = [name for name, info in model.model_fields.items() if _strip_none(info.annotation)[1]]
    for name in nullable:
        field = message.DESCRIPTOR.fields_by_name[name]
        if field.has_presence:
            assert not encoded.HasField(name), name
    for name in model_shape(model).keys() - model.model_fields.keys():  # a switch's mode string
        assert not encoded.HasField(name), name
    decoded = from_message(message.FromString(encoded.SerializeToString()), model)
    assert decoded == original
    assert all(getattr(decoded, name) is None for name in nullable)


def test_empty_values_read_as_none_only_where_the_model_allows_none() -> None:
    options = from_message(pb.ComposeOptions(), ComposeOptions)
    assert options == ComposeOptions()  # every switch None: the server's defaults apply
    assert options.catalog_attributes is None
    explanation = from_message(pb.ComposeExplanation(), ComposeExplanation)
    assert explanation.cutout_png is None  # bytes | None: empty is None
    assert explanation.attributes == {}  # a plain dict stays a dict
    # An unset message field reads as its defaults, as proto3 has it.
    result = from_message(pb.ComposeQueryResponse(vector=[1.0]), ComposeResult)
    assert result.explanation == ComposeExplanation()


def test_the_model_record_is_one_class_under_its_old_names() -> None:
    from vectorizer_service import ModelInfo as ServiceModelInfo
    from vectorizer_service.runtime.protocol import ModelInfo as RuntimeModelInfo

    assert ModelMeta is ModelInfo is ServiceModelInfo is RuntimeModelInfo
    info = sample(ModelInfo)
    with pytest.raises(ValidationError):
        info.name = "changed"  # frozen: the engine hands the same record to every caller


def test_a_field_missing_on_one_side_fails_loudly_instead_of_being_dropped() -> None:
    with pytest.raises(TypeError, match="'extra' is missing in the message"):
        to_message(_OneSided(stage="caption", ms=1.0, extra=3), pb.StageTiming)

    class Narrower(BaseModel):
        stage: str

    with pytest.raises(TypeError, match="'ms' is missing in the model"):
        from_message(pb.StageTiming(stage="caption", ms=1.0), Narrower)


def test_a_value_the_model_refuses_raises_its_validation_error() -> None:
    with pytest.raises(ValidationError, match="image_weight"):
        from_message(pb.ComposeOptions(image_weight=2.0), ComposeOptions)
    with pytest.raises(ValidationError, match="fusion_method"):
        from_message(pb.ComposeOptions(fusion_method="average"), ComposeOptions)


# --- a switch with modes: remove_background is true, false or "auto" -------------------------


@pytest.mark.parametrize(
    ("choice", "fields"),
    [(True, {"remove_background": True}), (False, {"remove_background": False}),
     ("auto", {"remove_background_mode": "auto"})],
)  # fmt: skip
def test_a_switch_travels_as_the_bool_older_servers_read_or_as_its_mode(
    choice: bool | str, fields: dict[str, Any]
) -> None:
    encoded = to_message(ComposeOptions(remove_background=choice), pb.ComposeOptions)  # type: ignore[arg-type]  # parametrized
    assert {f.name: v for f, v in encoded.ListFields()} == fields
    assert from_message(encoded, ComposeOptions).remove_background == choice


@pytest.mark.parametrize(
    ("message", "choice"),
    [
        (pb.ComposeOptions(remove_background=True), True),  # an older client
        (pb.ComposeOptions(remove_background_mode="on"), True),
        (pb.ComposeOptions(remove_background_mode="off"), False),
        (pb.ComposeOptions(remove_background_mode="auto"), "auto"),
        (pb.ComposeOptions(remove_background=False, remove_background_mode="off"), False),  # agreeing
        (pb.ComposeOptions(), None),
    ],
)
def test_a_switch_reads_either_field(message: pb.ComposeOptions, choice: bool | str | None) -> None:
    assert from_message(message, ComposeOptions).remove_background == choice


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (
            pb.ComposeOptions(remove_background=True, remove_background_mode="auto"),
            "remove_background=true and remove_background_mode='auto' disagree",
        ),
        (
            pb.ComposeOptions(remove_background=False, remove_background_mode="on"),
            "remove_background=false and remove_background_mode='on' disagree",
        ),
        (
            pb.ComposeOptions(remove_background_mode="maybe"),
            "should be one of 'on', 'off', 'auto', not 'maybe'",
        ),
    ],
)
def test_a_switch_set_two_ways_that_disagree_is_refused(message: pb.ComposeOptions, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as raised:
        from_message(message, ComposeOptions)
    assert raised.value.errors()[0]["loc"] == ("remove_background_mode",)
