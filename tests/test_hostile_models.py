"""Hostile inputs: defective models and data, each refused with exit 2 and ONE line, nothing written.

Every case starts from a trained fixture (tests/fixtures/*.onnx, *.npz) and breaks one thing, the way an
adversarial user would: a graph whose output no node reaches, lying tensor dims, NaN parameters, unknown
opsets, external data outside the model's folder, pickled or empty data, labels out of range, a FIFO given
as a file... The command runs in-process (``tinybnn.cli.main``; any exception other than a refusal fails
the test) in a folder holding earlier outputs, which must stay byte for byte as they were. A few cases also
run as a real process (a FIFO must not hang it; stderr must hold no traceback).
"""

from __future__ import annotations

import copy
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tinybnn.cli import main

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"

MODEL_CASES: list = []  # (id, category, builder(tmp) -> (argv, expected substrings))
DATA_CASES: list = []


def model_case(category, *expect):
    """A defective model, refused by inspect, convert and predict alike (each checked for no output)."""
    def deco(fn):
        MODEL_CASES.append(pytest.param(fn, category, expect, id=fn.__name__))
        return fn
    return deco


def data_case(category, *expect):
    """Bad data or flags: the builder returns the argv (and the command writes nothing)."""
    def deco(fn):
        DATA_CASES.append(pytest.param(fn, category, expect, id=fn.__name__))
        return fn
    return deco


# ------------------------------------------------------------------------------------- helpers ---
_PROTOS: dict = {}


def proto(name: str = "torch_mlp_legacy") -> onnx.ModelProto:
    if name not in _PROTOS:
        _PROTOS[name] = onnx.load(str(FIX / f"{name}.onnx"))
    return copy.deepcopy(_PROTOS[name])


def save(tmp: Path, m: onnx.ModelProto, name: str = "model.onnx") -> Path:
    p = tmp / name
    p.write_bytes(m.SerializeToString())
    return p


def node(m, name):
    return next(n for n in m.graph.node if n.name == name)


def init(m, name):
    return next(t for t in m.graph.initializer if t.name == name)


def set_init(m, name, arr):
    t = init(m, name)
    t.CopyFrom(numpy_helper.from_array(np.asarray(arr), name))


def attr(n, name):
    return next(a for a in n.attribute if a.name == name)


def samples(n=4, fixture="torch_mlp_legacy"):
    return np.load(FIX / f"{fixture}.npz")["x"][:n]


def snapshot(folder: Path) -> dict:
    out = {}
    for root, dirs, files in os.walk(folder):
        for f in files + dirs:
            p = Path(root) / f
            if p.is_fifo() or p.is_symlink():
                out[str(p.relative_to(folder))] = "special"
            elif p.is_file() and p.stat().st_size > 1 << 24:  # the sparse 2 GiB model: size and time
                st = p.stat()
                out[str(p.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
            elif p.is_file():
                out[str(p.relative_to(folder))] = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                out[str(p.relative_to(folder))] = "dir"
    return out


def earlier_outputs(tmp: Path) -> tuple[Path, Path]:
    """A previous predict output and a previous convert output, which a refused run must leave alone."""
    y = tmp / "y.npy"
    np.save(y, np.arange(10, dtype=np.float32))
    out = tmp / "out_c"
    out.mkdir()
    (out / "model.c").write_text("/* an earlier conversion */\n")
    return y, out


def refused(capsys, argv, expect=()):
    """Run the CLI in-process; assert exit 2, one stderr line with the expected parts, no stdout."""
    rc = main([str(a) for a in argv])
    cap = capsys.readouterr()
    assert rc == 2, f"exit {rc} for {argv}; stderr: {cap.err!r}; stdout: {cap.out[:300]!r}"
    lines = cap.err.splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}: {cap.err!r}"
    assert lines[0].startswith("tinybnn: error: "), lines[0]
    assert "Traceback" not in cap.err
    missing = [s for s in expect if s not in lines[0]]
    assert not missing, f"the error line lacks {missing}: {lines[0]}"
    assert cap.out == "", cap.out
    return lines[0]


# ===================================================================== models: graph structure ===
@model_case("graph", "ghost_out", "no node")
def output_not_produced(tmp):
    m = proto()
    m.graph.output[0].name = "ghost_out"
    return save(tmp, m)


@model_case("graph", "/5/BatchNormalization", "reaches no graph output")
def intermediate_as_output(tmp):
    m = proto()
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("/4/MatMul_output_0", TensorProto.FLOAT, [1, 128]))
    return save(tmp, m)


@model_case("graph", "2 outputs")
def intermediate_as_second_output(tmp):
    m = proto()
    m.graph.output.append(helper.make_tensor_value_info("/3/Sign_output_0", TensorProto.FLOAT, [1, 256]))
    return save(tmp, m)


@model_case("graph", "'input'", "graph input")
def output_is_the_input(tmp):
    m = proto()
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8]))
    return save(tmp, m)


@model_case("graph", "2.bias", "initializer")
def output_is_an_initializer(tmp):
    m = proto()
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("2.bias", TensorProto.FLOAT, [256]))
    return save(tmp, m)


@model_case("graph", "unused_sign", "reaches no graph output")
def dead_node(tmp):
    m = proto()
    m.graph.node.append(helper.make_node("Sign", ["input"], ["unused_out"], name="unused_sign"))
    return save(tmp, m)


@model_case("graph", "2.weight", "defined twice")
def duplicate_initializer(tmp):
    m = proto()
    m.graph.initializer.append(numpy_helper.from_array(np.full(256, -3.0, np.float32), "2.weight"))
    return save(tmp, m)


@model_case("graph", "/3/Sign", "/2/BatchNormalization_output_0")
def tensor_produced_twice(tmp):
    m = proto()
    node(m, "/3/Sign").output[0] = "/2/BatchNormalization_output_0"
    return save(tmp, m)


@model_case("graph", "/2/BatchNormalization", "no output")
def node_without_outputs(tmp):
    m = proto()
    del node(m, "/2/BatchNormalization").output[:]
    return save(tmp, m)


@model_case("graph", "/4/MatMul", "nowhere_tensor")
def dangling_input(tmp):
    m = proto()
    node(m, "/4/MatMul").input[1] = "nowhere_tensor"
    return save(tmp, m)


@model_case("graph", "/1/MatMul", "not produced by any earlier node")
def nodes_out_of_order(tmp):
    m = proto()
    nodes = list(m.graph.node)
    nodes[1], nodes[3] = nodes[3], nodes[1]  # MatMul before the Sign that makes its weights
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    return save(tmp, m)


@model_case("graph", "no op type")
def empty_op_type(tmp):
    m = proto()
    node(m, "/3/Sign").op_type = ""
    return save(tmp, m)


@model_case("graph", "sparse initializer")
def sparse_initializer(tmp):
    m = proto()
    vals = numpy_helper.from_array(np.ones(2, np.float32), "sparse_w")
    idx = numpy_helper.from_array(np.array([0, 3], np.int64), "")
    m.graph.sparse_initializer.append(helper.make_sparse_tensor(vals, idx, [4]))
    return save(tmp, m)


@model_case("graph", "local function", "my_fn")
def local_function(tmp):
    m = proto()
    fn = helper.make_function("custom.fns", "my_fn", ["a"], ["b"], [helper.make_node("Neg", ["a"], ["b"])],
                              [helper.make_opsetid("", 17)])
    m.functions.append(fn)
    return save(tmp, m)


@model_case("graph", "/3/Sign", "If")
def subgraph_op(tmp):
    m = proto()
    branch = helper.make_graph([helper.make_node("Identity", ["/2/BatchNormalization_output_0"], ["b_out"])], "b", [],
                               [helper.make_tensor_value_info("b_out", TensorProto.FLOAT, [1, 256])])
    n = node(m, "/3/Sign")
    cond = numpy_helper.from_array(np.array(True), "cond_true")
    m.graph.initializer.append(cond)
    n.CopyFrom(helper.make_node("If", ["cond_true"], list(n.output), name="/3/Sign", then_branch=branch,
                                else_branch=branch))
    return save(tmp, m)


# ===================================================================== models: versions =========
@model_case("versions", "opset 1", "opsets 9 to")
def opset_1(tmp):
    m = proto()
    m.opset_import[0].version = 1
    return save(tmp, m)


@model_case("versions", "opset 30", "opsets 9 to")
def opset_30(tmp):
    m = proto()
    m.opset_import[0].version = 30
    return save(tmp, m)


@model_case("versions", "no opset import", "opsets 9 to")
def no_opset(tmp):
    m = proto()
    del m.opset_import[:]
    return save(tmp, m)


@model_case("versions", "IR version 99", "IR versions 3 to")
def ir_99(tmp):
    m = proto()
    m.ir_version = 99
    return save(tmp, m)


@model_case("versions", "IR version 2", "IR versions 3 to")
def ir_2(tmp):
    m = proto()
    m.ir_version = 2
    return save(tmp, m)


@model_case("versions", "/3/Sign", "com.evil", "QONNX")
def unknown_op_domain(tmp):
    m = proto()
    node(m, "/3/Sign").domain = "com.evil"
    m.opset_import.append(helper.make_opsetid("com.evil", 1))
    return save(tmp, m)


@model_case("versions", "/3/Sign", "ai.onnx.ml")
def ml_domain_op(tmp):
    m = proto()
    node(m, "/3/Sign").domain = "ai.onnx.ml"
    m.opset_import.append(helper.make_opsetid("ai.onnx.ml", 3))
    return save(tmp, m)


@model_case("versions", "/3/Sign", "no opset import")
def domain_without_import(tmp):
    m = proto()
    node(m, "/3/Sign").domain = "qonnx.custom_op.general"
    return save(tmp, m)


@model_case("versions", "qonnx.custom_op.general", "opset 99")
def qonnx_opset_99(tmp):
    m = proto("brevitas_tfc")
    for o in m.opset_import:
        if o.domain == "qonnx.custom_op.general":
            o.version = 99
    return save(tmp, m)


@model_case("versions", "imported twice")
def opset_imported_twice(tmp):
    m = proto()
    m.opset_import.append(helper.make_opsetid("", 13))
    return save(tmp, m)


# ===================================================================== models: tensors ==========
@model_case("tensors", "2.weight", "dims [300]", "1024 bytes")
def dims_larger_than_data(tmp):
    m = proto()
    init(m, "2.weight").dims[0] = 300
    return save(tmp, m)


@model_case("tensors", "2.weight", "dims [200]")
def dims_smaller_than_data(tmp):
    m = proto()
    init(m, "2.weight").dims[0] = 200
    return save(tmp, m)


@model_case("tensors", "1.weight", "dims [1048576, 1048576, 1048576]")
def dims_zip_bomb(tmp):
    m = proto()
    t = init(m, "1.weight")
    del t.dims[:]
    t.dims.extend([1 << 20] * 3)
    return save(tmp, m)


@model_case("tensors", "2.bias", "negative dims")
def negative_dims(tmp):
    m = proto()
    init(m, "2.bias").dims[0] = -256
    return save(tmp, m)


@model_case("tensors", "2.bias", "holds 3")
def typed_data_too_short(tmp):
    m = proto()
    t = init(m, "2.bias")
    t.ClearField("raw_data")
    t.float_data.extend([1.0, 2.0, 3.0])
    return save(tmp, m)


@model_case("tensors", "2.bias", "int64_data")
def values_in_the_wrong_field(tmp):
    m = proto()
    t = init(m, "2.bias")
    t.ClearField("raw_data")
    t.int64_data.extend([1] * 256)
    return save(tmp, m)


@model_case("tensors", "2.bias", "STRING", "float32")
def string_initializer(tmp):
    m = proto()
    t = init(m, "2.bias")
    t.ClearField("raw_data")
    t.data_type = TensorProto.STRING
    t.string_data.extend([b"x"] * 256)
    return save(tmp, m)


@model_case("tensors", "2.bias", "COMPLEX64")
def complex_initializer(tmp):
    m = proto()
    set_init(m, "2.bias", np.ones(256, np.complex64))
    return save(tmp, m)


@model_case("tensors", "1.weight", "NaN", "finite")
def nan_weight(tmp):
    m = proto()
    w = numpy_helper.to_array(init(m, "1.weight")).copy()
    w[3, 5] = np.nan
    set_init(m, "1.weight", w)
    return save(tmp, m)


@model_case("tensors", "5.running_var", "NaN")
def nan_bn_variance(tmp):
    m = proto()
    v = numpy_helper.to_array(init(m, "5.running_var")).copy()
    v[0] = np.nan
    set_init(m, "5.running_var", v)
    return save(tmp, m)


@model_case("tensors", "8.weight", "infinite")
def inf_bn_scale(tmp):
    m = proto()
    v = numpy_helper.to_array(init(m, "8.weight")).copy()
    v[-1] = -np.inf
    set_init(m, "8.weight", v)
    return save(tmp, m)


@model_case("tensors", "/2/Constant_1", "NaN")
def nan_constant_node(tmp):
    m = proto("torch_cnn_legacy")
    a = attr(node(m, "/2/Constant_1"), "value")
    a.t.CopyFrom(numpy_helper.from_array(np.array(np.nan, np.float32), a.t.name))
    return save(tmp, m)


@model_case("tensors", "/8/BatchNormalization", "not a valid ONNX model")
def mixed_fp16_initializer(tmp):
    m = proto()
    set_init(m, "8.bias", numpy_helper.to_array(init(m, "8.bias")).astype(np.float16))
    return save(tmp, m)


@model_case("tensors", "/2/BatchNormalization", "not a valid ONNX model")
def bn_parameter_length(tmp):
    m = proto()
    set_init(m, "2.running_mean", np.zeros(255, np.float32))
    return save(tmp, m)


@model_case("tensors", "/4/MatMul", "not a valid ONNX model")
def weight_shape_mismatch(tmp):
    m = proto()
    set_init(m, "4.weight", np.ones((128, 255), np.float32))
    return save(tmp, m)


@model_case("tensors", "bomb_mul", "4,294,967,296 values")
def constant_folding_bomb(tmp):
    """Small constants whose product broadcasts to 2^32 values, sliced back to a BN bias: valid ONNX."""
    m = proto()
    g = m.graph
    g.initializer.extend([numpy_helper.from_array(np.ones((65536, 1), np.float32), "bomb_a"),
                          numpy_helper.from_array(np.ones((1, 65536), np.float32), "bomb_b"),
                          numpy_helper.from_array(np.array([0, 0], np.int64), "bomb_starts"),
                          numpy_helper.from_array(np.array([1, 256], np.int64), "bomb_ends"),
                          numpy_helper.from_array(np.array([256], np.int64), "bomb_shape")])
    nodes = [helper.make_node("Mul", ["bomb_a", "bomb_b"], ["bomb_big"], name="bomb_mul"),
             helper.make_node("Slice", ["bomb_big", "bomb_starts", "bomb_ends"], ["bomb_cut"], name="bomb_slice"),
             helper.make_node("Reshape", ["bomb_cut", "bomb_shape"], ["bomb_bias"], name="bomb_reshape")]
    node(m, "/2/BatchNormalization").input[2] = "bomb_bias"
    rest = list(g.node)
    del g.node[:]
    g.node.extend(nodes + rest)
    return save(tmp, m)


# ===================================================================== models: attributes =======
@model_case("attributes", "/3/Conv", "strides [0, 0]", ">= 1")
def stride_zero(tmp):
    m = proto("torch_cnn_legacy")
    a = attr(node(m, "/3/Conv"), "strides")
    a.ints[:] = [0, 0]
    return save(tmp, m)


@model_case("attributes", "/3/Conv", "pads")
def negative_pads(tmp):
    m = proto("torch_cnn_legacy")
    attr(node(m, "/3/Conv"), "pads").ints[:] = [-1, -1, -1, -1]
    return save(tmp, m)


@model_case("attributes", "/7/Conv", "dilations")
def dilation_zero(tmp):
    m = proto("torch_cnn_legacy")
    attr(node(m, "/7/Conv"), "dilations").ints[:] = [0, 1]
    return save(tmp, m)


@model_case("attributes", "/5/MaxPool", "kernel_shape")
def pool_kernel_zero(tmp):
    m = proto("torch_cnn_legacy")
    attr(node(m, "/5/MaxPool"), "kernel_shape").ints[:] = [0, 0]
    return save(tmp, m)


@model_case("attributes", "/3/Conv", "group")
def group_zero(tmp):
    m = proto("torch_cnn_legacy")
    attr(node(m, "/3/Conv"), "group").i = 0
    return save(tmp, m)


@model_case("attributes", "/3/Conv", "strides")
def strides_of_the_wrong_type(tmp):
    m = proto("torch_cnn_legacy")
    a = attr(node(m, "/3/Conv"), "strides")
    a.ClearField("ints")
    a.type = onnx.AttributeProto.FLOATS
    a.floats.extend([1.0, 1.0])
    return save(tmp, m)


@model_case("attributes", "/2/BatchNormalization", "epsilon")
def epsilon_as_string(tmp):
    m = proto()
    a = attr(node(m, "/2/BatchNormalization"), "epsilon")
    a.ClearField("f")
    a.type = onnx.AttributeProto.STRING
    a.s = b"tiny"
    return save(tmp, m)


@model_case("attributes", "/0/Flatten", "not a valid ONNX model")
def flatten_axis_out_of_range(tmp):
    m = proto()
    attr(node(m, "/0/Flatten"), "axis").i = 9
    return save(tmp, m)


@model_case("attributes", "/1/Transpose", "not a valid ONNX model")
def transpose_bad_perm(tmp):
    m = proto()
    attr(node(m, "/1/Transpose"), "perm").ints[:] = [0, 0]
    return save(tmp, m)


@model_case("attributes", "Quant_0", "rounding_mode", "HALF_UP")
def quant_rounding_unknown(tmp):
    m = proto("brevitas_cnn")
    attr(node(m, "Quant_0"), "rounding_mode").s = b"STOCHASTIC"
    return save(tmp, m)


@model_case("attributes", "Quant_0", "signed")
def quant_signed_5(tmp):
    m = proto("brevitas_cnn")
    attr(node(m, "Quant_0"), "signed").i = 5
    return save(tmp, m)


@model_case("attributes", "Quant_0", "narrow", "INT")
def quant_narrow_as_string(tmp):
    m = proto("brevitas_cnn")
    a = attr(node(m, "Quant_0"), "narrow")
    a.ClearField("i")
    a.type = onnx.AttributeProto.STRING
    a.s = b"yes"
    return save(tmp, m)


@model_case("attributes", "BipolarQuant_1", "3 inputs")
def bipolar_quant_three_inputs(tmp):
    m = proto("brevitas_cnn")
    node(m, "BipolarQuant_1").input.append("BipolarQuant_1_param1")
    return save(tmp, m)


# ===================================================================== models: the input ========
@model_case("input", "'input'", "values per sample")
def input_dims_bomb(tmp):
    m = proto("torch_cnn_legacy")
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = 1 << 20
    dims[3].dim_value = 1 << 20
    return save(tmp, m)


@model_case("input", "'input'", "size 0 at axis 2")
def input_dim_zero(tmp):
    m = proto()
    m.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 0
    return save(tmp, m)


@model_case("input", "'input'", "STRING")
def input_of_strings(tmp):
    m = proto()
    m.graph.input[0].type.tensor_type.elem_type = TensorProto.STRING
    return save(tmp, m)


# ===================================================================== models: external data ===
def _external(tmp, m, location, offset=None, length=None, tensor="1.weight"):
    t = init(m, tensor)
    raw = t.raw_data
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    entries = {"location": location}
    if offset is not None:
        entries["offset"] = str(offset)
    if length is not None:
        entries["length"] = str(length)
    for k, v in entries.items():
        e = t.external_data.add()
        e.key, e.value = k, v
    return raw


@model_case("external data", "leaves the model's folder")
def external_data_parent_folder(tmp):
    (tmp / "outside.bin").write_bytes(b"\0" * 123457)
    (tmp / "m").mkdir()
    m = proto()
    _external(tmp, m, "../outside.bin")
    return save(tmp / "m", m)


@model_case("external data", "leaves the model's folder")
def external_data_absolute_path(tmp):
    m = proto()
    _external(tmp, m, os.path.abspath(os.__file__))
    return save(tmp, m)


@model_case("external data", "outside the model's folder")
def external_data_symlink_out(tmp):
    (tmp / "secret.bin").write_bytes(b"\1" * 98765)
    (tmp / "m").mkdir()
    os.symlink(tmp / "secret.bin", tmp / "m" / "weights.bin")
    m = proto()
    _external(tmp, m, "weights.bin")
    return save(tmp / "m", m)


@model_case("external data", "FIFO")
def external_data_fifo(tmp):
    os.mkfifo(tmp / "weights.bin")
    m = proto()
    _external(tmp, m, "weights.bin")
    return save(tmp, m)


@model_case("external data", "weights.bin", "has only 100 bytes")
def external_data_truncated(tmp):
    (tmp / "weights.bin").write_bytes(b"\0" * 100)
    m = proto()
    _external(tmp, m, "weights.bin")
    return save(tmp, m)


@model_case("external data", "length 64", "need 65536 bytes")
def external_data_length_lies(tmp):
    m = proto()
    raw = _external(tmp, m, "weights.bin", offset=0, length=64)
    (tmp / "weights.bin").write_bytes(raw)
    return save(tmp, m)


@model_case("external data", "offset -8")
def external_data_negative_offset(tmp):
    m = proto()
    raw = _external(tmp, m, "weights.bin", offset=-8)
    (tmp / "weights.bin").write_bytes(raw)
    return save(tmp, m)


@model_case("external data", "weights.bin", "missing")
def external_data_missing(tmp):
    m = proto()
    _external(tmp, m, "weights.bin")
    return save(tmp, m)


# ===================================================================== models: the file =========
@model_case("file", "FIFO")
def model_is_a_fifo(tmp):
    os.mkfifo(tmp / "model.onnx")
    return tmp / "model.onnx"


@model_case("file", "character device")
def model_is_a_device(tmp):
    os.symlink(os.devnull, tmp / "model.onnx")
    return tmp / "model.onnx"


@model_case("file", "is a directory")
def model_is_a_directory(tmp):
    (tmp / "model.onnx").mkdir()
    return tmp / "model.onnx"


@model_case("file", "not a valid ONNX protobuf")
def model_random_bytes(tmp):
    p = tmp / "model.onnx"
    p.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    return p


@model_case("file", "2 GiB")
def model_larger_than_protobuf(tmp):
    p = tmp / "model.onnx"
    with open(p, "wb") as f:  # sparse: takes no disk space
        f.truncate(2**31 + 10)
    return p


@model_case("file", "no such file")
def model_missing(tmp):
    return tmp / "nothing_here.onnx"


# ===================================================================== the tests ================
@pytest.mark.parametrize("build, category, expect", MODEL_CASES)
def test_hostile_model(build, category, expect, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = build(tmp_path)
    y, out = earlier_outputs(tmp_path)
    np.save(tmp_path / "x.npy", samples())
    before = snapshot(tmp_path)
    lines = set()
    for argv in (["inspect", model], ["convert", model, "-o", out], ["predict", model, "--input", "x.npy", "--output", y]):
        lines.add(refused(capsys, argv, expect))
    assert len(lines) == 1, f"the commands disagree: {lines}"  # one model check, whatever the command
    assert snapshot(tmp_path) == before, "a refused command wrote or changed a file"


def test_an_unused_constant_is_tolerated(tmp_path):
    """Exporters leave unused Constant nodes; they change nothing, so the model converts as before."""
    import tinybnn

    m = proto()
    m.graph.node.insert(0, helper.make_node("Constant", [], ["unused_c"], name="unused_const",
                                            value=numpy_helper.from_array(np.ones(3, np.float32))))
    x = samples()
    got = tinybnn.load(save(tmp_path, m), calibration=x).run(x)
    assert np.array_equal(got, tinybnn.load(FIX / "torch_mlp_legacy.onnx", calibration=x).run(x))


def test_no_file_sizes_leak_from_outside_the_model_folder(tmp_path, capsys):
    """The external-data errors say nothing about files outside the model's folder (not even their size)."""
    for build in (external_data_parent_folder, external_data_symlink_out, external_data_absolute_path):
        sub = tmp_path / build.__name__
        sub.mkdir()
        line = refused(capsys, ["inspect", build(sub)])
        for secret in ("123457", "98765", "123,457", "98,765", str(os.path.getsize(os.__file__))):
            assert secret not in line, line


# ===================================================================== data and flags ===========
MLP = FIX / "torch_mlp_legacy.onnx"


def _npy(tmp, arr, name="x.npy", **kw):
    np.save(tmp / name, arr, **kw)
    return tmp / name


def _npz(tmp, name="data.npz", **arrays):
    np.savez(tmp / name, **arrays)
    return tmp / name


@data_case("data", "x.npy", "dtype <U3")
def x_of_strings(tmp):
    return ["predict", MLP, "--input", _npy(tmp, np.full((2, 1, 8, 8), "abc")), "--output", "y.npy"]


@data_case("data", "x.npy", "Python objects", "pickles")
def x_pickled_objects(tmp):
    arr = np.empty((2, 1, 8, 8), dtype=object)
    arr[...] = 1.0
    return ["predict", MLP, "--input", _npy(tmp, arr, allow_pickle=True), "--output", "y.npy"]


@data_case("data", "x.npy", "empty")
def x_empty(tmp):
    return ["predict", MLP, "--input", _npy(tmp, np.zeros((0, 1, 8, 8), np.float32)), "--output", "y.npy"]


@data_case("data", "x.npy", "NaN", "sample 2")
def x_nan(tmp):
    x = samples()
    x[2, 0, 3, 3] = np.nan
    return ["predict", MLP, "--input", _npy(tmp, x), "--output", "y.npy"]


@data_case("data", "x.npy", "float32's range")
def x_beyond_float32(tmp):
    x = samples().astype(np.float64)
    x[1, 0, 0, 0] = 1e300
    return ["predict", MLP, "--input", _npy(tmp, x), "--output", "y.npy"]


@data_case("data", "x.npy", "expected (N, 1, 8, 8)")
def x_wrong_shape(tmp):
    return ["predict", MLP, "--input", _npy(tmp, np.zeros((3, 8, 8), np.float32)), "--output", "y.npy"]


@data_case("data", "x.npy", "single number")
def x_scalar(tmp):
    return ["predict", MLP, "--input", _npy(tmp, np.float32(1.0)), "--output", "y.npy"]


@data_case("data", "x.npy", "complex")
def x_complex(tmp):
    return ["predict", MLP, "--input", _npy(tmp, np.ones((2, 1, 8, 8), np.complex64)), "--output", "y.npy"]


@data_case("data", "x.npy", "bool")
def x_bool(tmp):
    return ["predict", MLP, "--input", _npy(tmp, np.ones((2, 1, 8, 8), bool)), "--output", "y.npy"]


def _bomb_header(raw: bytes) -> bytes:
    """A .npy whose header declares 99,999,999,999 values while the data stays 4 samples (length kept)."""
    hlen = int.from_bytes(raw[8:10], "little")
    head = raw[10:10 + hlen].decode("latin1")
    new = head.replace("(4, 1, 8, 8)", "(99999999999,)").rstrip("\n").rstrip(" ")
    new = new.ljust(hlen - 1) + "\n"
    assert len(new) == hlen
    return raw[:10] + new.encode("latin1") + raw[10 + hlen:]


@data_case("data", "x.npy", "declares shape", "holds")
def x_npy_declared_dims_bomb(tmp):
    p = _npy(tmp, samples())
    p.write_bytes(_bomb_header(p.read_bytes()))
    return ["predict", MLP, "--input", p, "--output", "y.npy"]


@data_case("data", "data.npz", "array 'x'", "declares shape")
def x_npz_declared_dims_bomb(tmp):
    import zipfile

    src = _npz(tmp, "src.npz", x=samples())
    with zipfile.ZipFile(src) as z:
        raw = z.read("x.npy")
    os.remove(src)
    raw = _bomb_header(raw)
    with zipfile.ZipFile(tmp / "data.npz", "w") as z:
        z.writestr("x.npy", raw)
    return ["check", MLP, "--data", tmp / "data.npz"]


@data_case("data", "data.npz", "not a readable NumPy file")
def npz_truncated(tmp):
    p = _npz(tmp, x=samples(16))
    p.write_bytes(p.read_bytes()[:300])
    return ["validate", MLP, "--data", p]


@data_case("data", "data.npz", "no array 'x'")
def npz_without_x(tmp):
    return ["check", MLP, "--data", _npz(tmp, images=samples())]


@data_case("data", "data.npz", "array 'x'", "Python objects")
def npz_pickled_x(tmp):
    arr = np.empty((2, 1, 8, 8), dtype=object)
    arr[...] = 0.5
    np.savez(tmp / "data.npz", x=arr)
    return ["check", MLP, "--data", tmp / "data.npz"]


@data_case("data", "x.npy", "FIFO")
def data_is_a_fifo(tmp):
    os.mkfifo(tmp / "x.npy")
    return ["predict", MLP, "--input", tmp / "x.npy", "--output", "y.npy"]


@data_case("data", "data.npz", "character device")
def data_is_a_device(tmp):
    os.symlink(os.devnull, tmp / "data.npz")
    return ["check", MLP, "--data", tmp / "data.npz"]


@data_case("data", "data.npz", "is a directory")
def data_is_a_directory(tmp):
    (tmp / "data.npz").mkdir()
    return ["validate", MLP, "--data", tmp / "data.npz"]


@data_case("data", "x.npy", "not a NumPy")
def data_is_text(tmp):
    (tmp / "x.npy").write_text("1,2,3\n")
    return ["predict", MLP, "--input", tmp / "x.npy", "--output", "y.npy"]


@data_case("calibration", "calib.npz", "infinite")
def calibration_with_inf(tmp):
    x = samples()
    x[0, 0, 0, 0] = np.inf
    return ["convert", MLP, "-o", "out_c", "--calibration", _npz(tmp, "calib.npz", x=x)]


@data_case("calibration", "calib.npz", "dtype <U")
def calibration_of_strings(tmp):
    return ["inspect", MLP, "--calibration", _npz(tmp, "calib.npz", x=np.array([["a"]]))]


@data_case("calibration", "calib.npz", "expected (N, 1, 8, 8)")
def calibration_wrong_shape(tmp):
    return ["convert", MLP, "-o", "out_c", "--calibration", _npz(tmp, "calib.npz", x=np.ones((5, 64), np.float32))]


@data_case("data", "sample.npz", "NaN")
def build_sample_with_nan(tmp):
    x = samples()
    x[0] = np.nan
    return ["build", MLP, "-o", "fw", "--sample-data", _npz(tmp, "sample.npz", x=x)]


@data_case("data", "sample.npz", "expected (N, 1, 8, 8)")
def build_sample_wrong_shape(tmp):
    m = _with_metadata(tmp, **{"tinybnn.input_scale": "0.25"})  # no calibration: the shape check is the data's own
    return ["build", m, "-o", "fw", "--generate-only", "--sample-data",
            _npz(tmp, "sample.npz", x=np.ones((2, 64), np.float32))]


@data_case("labels", "array 'labels'", "5 labels for 4 samples")
def labels_too_many(tmp):
    return ["validate", MLP, "--data", _npz(tmp, x=samples(), labels=np.arange(5))]


@data_case("labels", "array 'labels'", "3 labels for 4 samples")
def labels_too_few_check(tmp):
    return ["check", MLP, "--data", _npz(tmp, x=samples(), labels=np.arange(3))]


@data_case("labels", "label 10", "0..9")
def labels_out_of_range(tmp):
    return ["validate", MLP, "--data", _npz(tmp, x=samples(), labels=np.array([1, 2, 10, 3]))]


@data_case("labels", "label -1", "negative")
def labels_negative(tmp):
    return ["check", MLP, "--data", _npz(tmp, x=samples(), labels=np.array([1, -1, 0, 3]))]


@data_case("labels", "array 'labels'", "dtype <U")
def labels_of_strings(tmp):
    return ["validate", MLP, "--data", _npz(tmp, x=samples(), labels=np.array(["cat", "dog", "cat", "cow"]))]


@data_case("labels", "array 'labels'", "not whole numbers")
def labels_fractional(tmp):
    return ["validate", MLP, "--data", _npz(tmp, x=samples(), labels=np.array([1.0, 2.5, 3.0, 0.0]))]


@data_case("labels", "array 'labels'", "shape [4, 10]")
def labels_one_hot(tmp):
    return ["check", MLP, "--data", _npz(tmp, x=samples(), labels=np.eye(10)[:4])]


@data_case("data", "data.npz", "infinite", "sample 3")
def validate_x_with_inf(tmp):
    x = samples()
    x[3, 0, 1, 1] = -np.inf
    return ["validate", MLP, "--data", _npz(tmp, x=x, labels=np.arange(4))]


@data_case("data", "data.npz", "expected (N, 1, 8, 8)")
def validate_x_wrong_shape(tmp):
    return ["validate", MLP, "--data", _npz(tmp, x=np.zeros((4, 3, 8, 8), np.float32))]


@data_case("flags", "--input-zero-point", "-128..127")
def huge_zero_point(tmp):
    return ["predict", MLP, "--input", _npy(tmp, samples()), "--output", "y.npy", "--input-scale", "0.1",
            "--input-zero-point", str(10**30)]


@data_case("flags", "--input-zero-point 200", "-128..127")
def zero_point_outside_int8(tmp):
    return ["convert", MLP, "-o", "out_c", "--input-scale", "0.1", "--input-zero-point", "200"]


@data_case("flags", "--input-scale", "finite positive", "nan")
def nan_input_scale(tmp):
    return ["predict", MLP, "--input", _npy(tmp, samples()), "--output", "y.npy", "--input-scale", "nan"]


@data_case("flags", "--input-scale", "finite positive", "inf")
def inf_input_scale(tmp):
    return ["convert", MLP, "-o", "out_c", "--input-scale", "inf"]


def _with_metadata(tmp, **kv):
    m = proto()
    for k, v in kv.items():
        helper.set_model_props(m, {**{p.key: p.value for p in m.metadata_props}, k: v})
    return save(tmp, m)


@data_case("flags", "metadata tinybnn.input_scale", "finite positive")
def metadata_nan_scale(tmp):
    return ["inspect", _with_metadata(tmp, **{"tinybnn.input_scale": "nan"})]


@data_case("flags", "tinybnn.input_zero_point 999", "-128..127")
def metadata_zero_point_outside_int8(tmp):
    return ["convert", _with_metadata(tmp, **{"tinybnn.input_scale": "0.25", "tinybnn.input_zero_point": "999"}),
            "-o", "out_c"]


@data_case("check", "onnxruntime cannot run this model", "/0/Conv")
def check_when_onnxruntime_refuses(tmp):
    """tinybnn converts a float64 model; onnxruntime has no float64 Conv, so there is no float reference."""
    m = proto("torch_cnn_legacy")
    for t in m.graph.initializer:
        t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64), t.name))
    for n in m.graph.node:
        if n.op_type == "Constant":
            t = n.attribute[0].t
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float64), t.name))
    for v in list(m.graph.input) + list(m.graph.output):
        v.type.tensor_type.elem_type = TensorProto.DOUBLE
    return ["check", save(tmp, m), "--data", _npz(tmp, x=samples(4, "torch_cnn_legacy"))]


@pytest.mark.parametrize("build, category, expect", DATA_CASES)
def test_hostile_data(build, category, expect, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    earlier_outputs(tmp_path)
    argv = build(tmp_path)
    before = snapshot(tmp_path)
    refused(capsys, argv, expect)
    assert snapshot(tmp_path) == before, "a refused command wrote or changed a file"
    assert not (tmp_path / "out" / "validate").exists(), "validate built a firmware before checking its data"


def test_corpus_size():
    """The corpus covers every category with the counts the report gives."""
    cats: dict = {}
    for p in MODEL_CASES + DATA_CASES:
        cats[p.values[1]] = cats.get(p.values[1], 0) + 1
    assert len(MODEL_CASES) >= 50 and len(DATA_CASES) >= 30, cats
    for c in ("graph", "versions", "tensors", "attributes", "input", "external data", "file", "data",
              "calibration", "labels", "flags", "check"):
        assert cats.get(c, 0) >= (1 if c == "check" else 2), (c, cats)


# ===================================================================== as a real process ========
def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.mark.parametrize("which", ["model_fifo", "data_fifo", "dims_zip_bomb", "npy_zip_bomb", "labels"])
def test_real_process_refuses_in_one_line(which, tmp_path):
    """A FIFO given as a file does not hang the process; the declared-dims bombs end in one line, not a
    MemoryError; validate refuses bad labels before booting anything."""
    if which == "model_fifo":
        argv = ["inspect", model_is_a_fifo(tmp_path)]
    elif which == "data_fifo":
        argv = data_is_a_fifo(tmp_path)
    elif which == "dims_zip_bomb":
        argv = ["inspect", dims_zip_bomb(tmp_path)]
    elif which == "npy_zip_bomb":
        argv = x_npy_declared_dims_bomb(tmp_path)
    else:
        argv = labels_out_of_range(tmp_path)
    before = snapshot(tmp_path)
    r = _cli(*argv, cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert r.stderr.startswith("tinybnn: error: ")
    assert snapshot(tmp_path) == before
