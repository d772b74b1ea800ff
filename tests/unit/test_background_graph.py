"""Freeing an ONNX file's image dimensions at the protobuf wire level: a model declared for one
(1, 3, 8, 8) image then runs on a batch of larger ones, and other bytes are untouched."""

from __future__ import annotations

import numpy as np
import pytest

from vectorizer_service.compose.background_graph import free_image_dimensions

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def tiny_conv_model() -> bytes:
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.full((2, 3, 3, 3), 0.1, np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    return bytes(model.SerializeToString())


def test_a_fixed_model_runs_on_a_batch_of_larger_images_once_freed() -> None:
    fixed = tiny_conv_model()
    x = np.random.default_rng(0).random((3, 3, 16, 12), dtype=np.float32)
    with pytest.raises(Exception, match=r"[Ii]nvalid"):
        ort.InferenceSession(fixed, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    freed = ort.InferenceSession(free_image_dimensions(fixed), providers=["CPUExecutionProvider"])
    [y] = freed.run(None, {"x": x})
    assert y.shape == (3, 2, 16, 12)
    one = ort.InferenceSession(fixed, providers=["CPUExecutionProvider"])
    [expected] = one.run(None, {"x": x[:1, :, :8, :8]})
    [got] = freed.run(None, {"x": x[:1, :, :8, :8]})
    np.testing.assert_array_equal(got, expected)


def test_only_the_image_dimensions_change() -> None:
    model = onnx.load_from_string(free_image_dimensions(tiny_conv_model()))
    onnx.checker.check_model(model)
    for value in (model.graph.input[0], model.graph.output[0]):
        dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
        assert dims[0] == "batch" and dims[2:] == ["height", "width"]
        assert isinstance(dims[1], int)  # channels stay declared
    original = onnx.load_from_string(tiny_conv_model())
    assert model.graph.initializer == original.graph.initializer
    assert model.graph.node == original.graph.node
