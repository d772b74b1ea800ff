"""Free the batch and image dimensions of a u2net-family ONNX file, without the ``onnx`` package.

rembg's u2net files declare a fixed ``(1, 3, 320, 320)`` input. The network itself is fully
convolutional (its upsampling reads the target size from the tensors), so it runs on a batch of
several images and at a smaller side once the declared dimensions are symbolic. The slim
install has ONNX Runtime but not ``onnx``, so the file's protobuf is rewritten here at the wire
level: only the graph's 4-D inputs and outputs are touched (dims 0, 2 and 3 become the named
dimensions ``batch``, ``height``, ``width``); every other byte, the weights included, is copied.

Field numbers are those of ``onnx.proto`` (ModelProto.graph = 7, GraphProto.input = 11,
output = 12, ValueInfoProto.type = 2, TypeProto.tensor_type = 1, Tensor.shape = 2,
TensorShapeProto.dim = 1, Dimension.dim_param = 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

__all__ = ["free_image_dimensions"]

_MODEL_GRAPH = 7
_GRAPH_INPUT, _GRAPH_OUTPUT = 11, 12
_VALUE_INFO_TYPE = 2
_TYPE_TENSOR = 1
_TENSOR_SHAPE = 2
_SHAPE_DIM = 1
_DIM_PARAM = 2
_FREE = {0: b"batch", 2: b"height", 3: b"width"}
"""Which dimensions of an NCHW tensor become symbolic, and their names."""
_LENGTH_DELIMITED = 2


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """(field number, wire type, the field's raw bytes, its payload if length-delimited)."""
    pos = 0
    while pos < len(buf):
        start = pos
        tag, pos = _varint(buf, pos)
        number, wire = tag >> 3, tag & 7
        payload = b""
        if wire == 0:
            _, pos = _varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == _LENGTH_DELIMITED:
            length, pos = _varint(buf, pos)
            payload = buf[pos : pos + length]
            pos += length
        elif wire == 5:
            pos += 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire} (field {number})")
        yield number, wire, buf[start:pos], payload


def _message(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | _LENGTH_DELIMITED) + _encode_varint(len(payload)) + payload


def _rewrite(buf: bytes, number: int, change: Callable[[bytes], bytes]) -> bytes:
    """``buf`` with every length-delimited field ``number`` replaced by ``change(payload)``."""
    return b"".join(
        _message(n, change(payload)) if n == number and wire == _LENGTH_DELIMITED else raw
        for n, wire, raw, payload in _fields(buf)
    )


def _free_shape(shape: bytes) -> bytes:
    dims = [raw for n, _, raw, _ in _fields(shape) if n == _SHAPE_DIM]
    if len(dims) != 4:  # not an image tensor: left as declared
        return shape
    index = iter(range(4))
    return _rewrite(
        shape,
        _SHAPE_DIM,
        lambda dim: _message(_DIM_PARAM, _FREE[i]) if (i := next(index)) in _FREE else dim,
    )


def _free_tensor(tensor: bytes) -> bytes:
    return _rewrite(tensor, _TENSOR_SHAPE, _free_shape)


def _free_value_info(info: bytes) -> bytes:
    return _rewrite(info, _VALUE_INFO_TYPE, lambda kind: _rewrite(kind, _TYPE_TENSOR, _free_tensor))


def _free_graph(graph: bytes) -> bytes:
    return _rewrite(_rewrite(graph, _GRAPH_INPUT, _free_value_info), _GRAPH_OUTPUT, _free_value_info)


def free_image_dimensions(model: bytes) -> bytes:
    """The ONNX ``model`` with the batch, height and width of its 4-D graph inputs and outputs
    made symbolic; the result loads in ``onnxruntime.InferenceSession`` as bytes."""
    return _rewrite(model, _MODEL_GRAPH, _free_graph)
