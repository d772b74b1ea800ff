"""Count a request's elements from its bytes, before parsing it (protobuf and JSON).

Parsing holds the GIL for as long as it takes, and its cost follows the number of elements, not
the bytes: 200,000 map entries (8 MB) take a second, during which neither transport answers
anything, probes included. Every accepted request is small in elements (at most
:data:`~schemas.limits.MAX_VECTORIZE_ITEMS` texts and as many images, a hundred catalog
attributes), so the wire is walked first, in Python (which yields the GIL to the event loop),
and a message over :data:`MAX_MESSAGE_ELEMENTS` is refused after reading that many tags, naming
the field that overflowed. ``bytes`` and ``string`` payloads are skipped, never copied. A JSON
body gets the same treatment (:func:`json_elements_exceed`).
"""

from __future__ import annotations

import contextlib

from google.protobuf.descriptor import Descriptor

from schemas.limits import MAX_VECTORIZE_ITEMS

__all__ = [
    "MAX_JSON_ELEMENTS",
    "MAX_MESSAGE_ELEMENTS",
    "TooManyElementsError",
    "count_elements",
    "json_elements_exceed",
]

MAX_MESSAGE_ELEMENTS = 2 * MAX_VECTORIZE_ITEMS + 1024
"""Fields and list or map entries of one request message, nested messages included."""

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class TooManyElementsError(Exception):
    """The message holds more than the limit; ``field`` names where it overflowed."""

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(f"{field}: the request holds more than {limit} fields and list entries")
        self.field = field


def count_elements(data: bytes, descriptor: Descriptor, limit: int = MAX_MESSAGE_ELEMENTS) -> int:
    """The fields and entries in ``data`` (a serialized ``descriptor`` message), nested ones
    included; raises :class:`TooManyElementsError` past ``limit``. Malformed input is not
    judged here: the count stops and the real parser reports it."""
    view = memoryview(data)
    counted = [0]
    with contextlib.suppress(IndexError):  # truncated: the parser says so
        _walk(view, 0, len(view), descriptor, "", counted, limit)
    return counted[0]


def _varint(view: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = view[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise IndexError("varint too long")


def _walk(
    view: memoryview, pos: int, end: int, descriptor: Descriptor, path: str, counted: list[int], limit: int
) -> None:
    fields = descriptor.fields_by_number
    while pos < end:
        tag, pos = _varint(view, pos)
        number, wire_type = tag >> 3, tag & 7
        field = fields.get(number)
        counted[0] += 1
        if counted[0] > limit:
            name = f"{path}{field.name}" if field is not None else f"{path}#{number}"
            raise TooManyElementsError(name, limit)
        if wire_type == _VARINT:
            _, pos = _varint(view, pos)
        elif wire_type == _FIXED64:
            pos += 8
        elif wire_type == _FIXED32:
            pos += 4
        elif wire_type == _LENGTH:
            length, pos = _varint(view, pos)
            nested = field.message_type if field is not None else None
            if nested is not None and not nested.GetOptions().map_entry:
                _walk(view, pos, min(pos + length, end), nested, f"{path}{field.name}.", counted, limit)
            pos += length
        else:
            return  # groups or garbage: leave it to the parser


MAX_JSON_ELEMENTS = 4 * MAX_VECTORIZE_ITEMS + 1024
"""Strings, commas and brackets of one JSON request body: a ``/vectorize`` request with the most
texts and images has about ``4 * MAX_VECTORIZE_ITEMS`` (each a string and a comma)."""

_QUOTE, _BACKSLASH = ord('"'), ord("\\")


def json_elements_exceed(body: bytes, limit: int = MAX_JSON_ELEMENTS) -> bool:
    """Whether ``body`` (JSON text) holds more than ``limit`` strings, commas and opening
    brackets outside strings: the JSON parser's and pydantic's work follows that count, and
    both hold the GIL throughout. Python code, which lets the event loop run: a string is
    skipped with one ``find`` however long it is, so an image costs nothing; it stops as soon as
    ``limit`` is passed. Malformed JSON is left to the parser."""
    count = pos = 0
    end_of_body = len(body)
    while pos < end_of_body:
        quote = body.find(b'"', pos)
        stop = end_of_body if quote < 0 else quote
        count += body.count(b",", pos, stop) + body.count(b"[", pos, stop) + body.count(b"{", pos, stop)
        if count > limit:
            return True
        if quote < 0:
            break
        end = quote + 1
        while True:  # the closing quote: one not escaped by an odd number of backslashes
            end = body.find(b'"', end)
            if end < 0:
                return False  # unterminated: the parser says so
            backslashes = 0
            while body[end - 1 - backslashes] == _BACKSLASH:
                backslashes += 1
            if backslashes % 2 == 0:
                break
            end += 1
        count += 1
        if count > limit:
            return True
        pos = end + 1
    return False
