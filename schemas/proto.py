"""Generic conversion between the pydantic contracts and their ``grounded.proto`` messages.

The pydantic models (:mod:`schemas.wire`, :mod:`schemas.model_info`) are the contracts; a
proto message mirrors one field for field, with the same names. The conversion is driven by
the protobuf descriptor and the pydantic field annotations, so a field added to both sides
travels without touching a transport, and a field on one side only fails loudly (here at run
time, and in ``tests/unit/test_wire_proto.py`` before that) instead of being dropped.

How "not set" crosses the wire (proto3 has no null):

* a proto3 ``optional`` scalar is ``None`` when unset (``HasField``), and so is a message
  field whose pydantic field is ``Model | None`` (otherwise an unset message reads as its
  defaults, as proto3 has it);
* a map is a dict; an empty map is ``None`` when the pydantic field is ``dict | None``;
* ``bytes``: empty is ``None`` when the pydantic field is ``bytes | None``;
* repeated messages are lists of nested models, repeated scalars plain lists;
* a pydantic ``None`` leaves the proto field unset.

A *switch with modes*, a pydantic field typed ``bool | Literal[...]`` (e.g.
``remove_background``: true, false or "auto"), travels as two proto3 ``optional`` fields: the
bool under the field's name, which peers older than the modes read, and a string
``<name>_mode`` ("on", "off" or one of the literal's values). Writing, a bool goes into the
bool field (so an older server still honours it) and a mode into the string; reading, either
field may be set, and both set to different choices is the caller's error, naming both.
"""

from __future__ import annotations

import itertools
import types
from typing import Any, Literal, NoReturn, TypeVar, Union, get_args, get_origin

from annotated_types import MaxLen
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["from_message", "to_message"]

_MessageT = TypeVar("_MessageT", bound=Message)
_ModelT = TypeVar("_ModelT", bound=BaseModel)

_MODE_SUFFIX = "_mode"
_ON_OFF = {"on": True, "off": False}
"""The mode string of a switch's two plain choices."""


def to_message(model: BaseModel, message_cls: type[_MessageT]) -> _MessageT:
    """``model`` as a ``message_cls`` message. Raises :class:`TypeError` when the message has
    no field for one of the model's (the two definitions disagree: a defect, never input)."""
    message: _MessageT = message_cls()
    _fill(message, model)
    return message


def from_message(message: Message, model_cls: type[_ModelT]) -> _ModelT:
    """``message`` as a ``model_cls`` instance, validated: raises pydantic's
    ``ValidationError`` when a value breaks the model's constraints (a caller's input error)
    and :class:`TypeError` when the model has no field for one of the message's."""
    return model_cls.model_validate(_values(message, model_cls))


def _fill(message: Message, model: BaseModel) -> None:
    fields = message.DESCRIPTOR.fields_by_name
    switches = _switches(type(model))
    for name in type(model).model_fields:
        field = fields.get(name)
        if field is None:
            raise TypeError(_disagree(message.DESCRIPTOR, type(model), name, "message"))
        value = getattr(model, name)
        if value is None:
            continue  # unset is how proto3 says None (see the module docstring)
        if name in switches:
            if name + _MODE_SUFFIX not in fields:
                raise TypeError(_disagree(message.DESCRIPTOR, type(model), name + _MODE_SUFFIX, "message"))
            # A bool stays in the bool field, which older servers read; only a mode needs the string.
            setattr(message, name if isinstance(value, bool) else name + _MODE_SUFFIX, value)
            continue
        target = getattr(message, name)
        if _is_map(field):
            if _map_value(field).type == FieldDescriptor.TYPE_MESSAGE:
                raise TypeError(f"{field.full_name}: maps of messages are not supported")
            target.update(value)
        elif field.is_repeated and field.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value:
                _fill(target.add(), item)
        elif field.is_repeated:
            target.extend(value)
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            target.SetInParent()  # present even when every nested field has its default
            _fill(target, value)
        else:
            setattr(message, name, value)


def _values(message: Message, model_cls: type[BaseModel]) -> dict[str, Any]:
    model_fields = model_cls.model_fields
    switches = _switches(model_cls)
    values: dict[str, Any] = {}
    for name, modes in switches.items():
        choice = _switch_value(message, model_cls, name, modes)
        if choice is not None:
            values[name] = choice
    for field in message.DESCRIPTOR.fields:
        if field.name in switches or field.name.removesuffix(_MODE_SUFFIX) in switches:
            continue  # read together above
        info = model_fields.get(field.name)
        if info is None:
            raise TypeError(_disagree(message.DESCRIPTOR, model_cls, field.name, "model"))
        nullable, inner = _split_optional(info.annotation)
        raw = getattr(message, field.name)
        # A container over the model's max_length is refused by the model whatever lies past
        # it: convert one item more than the limit, not 200,000 (issue 22's frozen event loop).
        cap = _max_length(info) if field.is_repeated else None
        cap = None if cap is None else cap + 1
        value: Any
        if _is_map(field):
            value = dict(itertools.islice(raw.items(), cap)) or (None if nullable else {})
        elif field.is_repeated and field.type == FieldDescriptor.TYPE_MESSAGE:
            item_cls = _model_class(get_args(inner)[0] if get_args(inner) else None, field)
            value = [from_message(item, item_cls) for item in itertools.islice(raw, cap)]
        elif field.is_repeated:
            value = list(itertools.islice(raw, cap))
        elif field.type == FieldDescriptor.TYPE_MESSAGE:
            # An unset message reads as its defaults in proto3: None only where the model allows it.
            present = message.HasField(field.name) or not nullable
            value = from_message(raw, _model_class(inner, field)) if present else None
        elif field.has_presence and not message.HasField(field.name):
            value = None
        elif field.type == FieldDescriptor.TYPE_BYTES:
            value = raw or (None if nullable else b"")
        else:
            value = raw
        if value is None and not nullable:
            continue  # the model's own default stands in for an absent value
        values[field.name] = value
    return values


def _switches(model_cls: type[BaseModel]) -> dict[str, tuple[str, ...]]:
    """The model's switches with modes (see the module docstring): name -> the modes' values."""
    found: dict[str, tuple[str, ...]] = {}
    for name, info in model_cls.model_fields.items():
        args = [a for a in get_args(info.annotation) if a is not type(None)]
        if get_origin(info.annotation) not in (Union, types.UnionType) or bool not in args or len(args) != 2:
            continue
        (other,) = (a for a in args if a is not bool)
        if get_origin(other) is Literal and all(isinstance(v, str) for v in get_args(other)):
            found[name] = get_args(other)
    return found


def _switch_value(message: Message, model_cls: type[BaseModel], name: str, modes: tuple[str, ...]) -> Any:
    """A switch's choice from its bool and its mode string; None when neither is set."""
    mode_name = name + _MODE_SUFFIX
    fields = message.DESCRIPTOR.fields_by_name
    if name not in fields or mode_name not in fields:
        missing = name if name not in fields else mode_name
        raise TypeError(_disagree(message.DESCRIPTOR, model_cls, missing, "message"))
    flag: bool | None = getattr(message, name) if message.HasField(name) else None
    if not message.HasField(mode_name):
        return flag
    mode: str = getattr(message, mode_name)
    allowed = (*_ON_OFF, *modes)
    if mode not in allowed:
        expected = ", ".join(repr(m) for m in allowed)
        _refuse(model_cls, mode_name, mode, f"should be one of {expected}, not {mode!r}")
    choice = _ON_OFF.get(mode, mode)
    if flag is not None and flag != choice:
        _refuse(
            model_cls,
            mode_name,
            mode,
            f"{name}={str(flag).lower()} and {mode_name}={mode!r} disagree: send one of them",
        )
    return choice


def _refuse(model_cls: type[BaseModel], field: str, value: str, message: str) -> NoReturn:
    """Raise the model's ValidationError for a proto-only field, as if the model had refused it."""
    # The template is formatted with no context: braces in the message would be read as fields.
    error = PydanticCustomError("proto_switch", message.replace("{", "(").replace("}", ")"))
    details: InitErrorDetails = {"type": error, "loc": (field,), "input": value}
    raise ValidationError.from_exception_data(model_cls.__name__, [details])


def _max_length(info: FieldInfo) -> int | None:
    for constraint in info.metadata:
        if isinstance(constraint, MaxLen):
            return int(constraint.max_length)
    return None


def _is_map(field: FieldDescriptor) -> bool:
    return field.message_type is not None and field.message_type.GetOptions().map_entry


def _map_value(field: FieldDescriptor) -> FieldDescriptor:
    value: FieldDescriptor = field.message_type.fields_by_name["value"]
    return value


def _split_optional(annotation: Any) -> tuple[bool, Any]:
    """``X | None`` -> ``(True, X)``; ``X`` -> ``(False, X)``."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return False, annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if len(args) != 1:
        raise TypeError(f"{annotation}: only X | None unions map onto a proto field")
    return len(args) < len(get_args(annotation)), args[0]


def _model_class(annotation: Any, field: FieldDescriptor) -> type[BaseModel]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    raise TypeError(f"{field.full_name} is a message: its pydantic field must be a model, not {annotation}")


def _disagree(descriptor: Descriptor, model_cls: type[BaseModel], name: str, missing_in: str) -> str:
    return (
        f"{descriptor.full_name} and {model_cls.__name__} disagree: field {name!r} is missing in the "
        f"{missing_in}; add it to both the pydantic model and schemas/grounded.proto (then `make proto`)"
    )
