"""Property-based fuzzing of the model loader: mutated fixture protobufs load, or are refused in one line.

Hypothesis takes a trained fixture (tests/fixtures/*.onnx) and applies one to three structural mutations
to its ModelProto -- versions, opsets, nodes deleted, duplicated, swapped or retyped, inputs and outputs
rewired, attributes retyped or set to 0, negative, huge or NaN values, initializer dims, types, bytes and
values, the graph input's shape and type, the graph output, external-data references, metadata -- or
flips bytes of its serialized form. Every result must either load (and then run the golden model on two
samples) or raise :class:`tinybnn.errors.TinyBnnError` with a one-line message; any other exception, or
an example running longer than a few seconds (a hang), fails; so does a NumPy RuntimeWarning during the
conversion (a NaN or an overflow reaching a cast).

The run is derandomized (the same examples every run) and bounded: ``TINYBNN_FUZZ_EXAMPLES`` examples per
fixture (default 350, 2,100 in all, well under a minute on two cores).
"""

from __future__ import annotations

import math
import os
import signal
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto

import tinybnn
from tinybnn.errors import TinyBnnError

FIX = Path(__file__).resolve().parent / "fixtures"
NAMES = sorted(p.stem for p in FIX.glob("*.onnx"))
BYTES = {n: (FIX / f"{n}.onnx").read_bytes() for n in NAMES}
SAMPLES = {n: np.load(FIX / f"{n}.npz")["x"][:2] for n in NAMES}
EXAMPLES = int(os.environ.get("TINYBNN_FUZZ_EXAMPLES", "350"))
SECONDS_PER_EXAMPLE = 10

OPS = ["Conv", "Gemm", "MatMul", "BatchNormalization", "MaxPool", "Sign", "GreaterOrEqual", "Where", "Flatten",
       "Reshape", "Transpose", "Pad", "Add", "Sub", "Mul", "Div", "Identity", "Dropout", "Clip", "Relu", "Neg",
       "Cast", "CastLike", "Shape", "Gather", "Concat", "Expand", "Constant", "ConstantOfShape", "Range",
       "Squeeze", "Unsqueeze", "Slice", "Softmax", "AveragePool", "BipolarQuant", "Quant", "IntQuant", "If",
       "Loop", "NoSuchOp", ""]
DOMAINS = ["", "ai.onnx", "qonnx.custom_op.general", "ai.onnx.ml", "com.example", "finn.custom_op.general"]
ATTR_NAMES = ["axis", "strides", "pads", "kernel_shape", "dilations", "group", "perm", "to", "mode", "auto_pad",
              "transA", "transB", "epsilon", "signed", "narrow", "rounding_mode", "ceil_mode", "value", "alpha",
              "allowzero", "start", "end", "axes", "min", "max"]
INTS = st.one_of(st.integers(-3, 9), st.sampled_from([-(2**62), -(2**31), 2**31, 2**40, 2**62]))
FLOATS = st.one_of(st.floats(-10, 10), st.sampled_from([math.nan, math.inf, -math.inf, 0.0, 1e38, -1e-45]))
TEXT = st.sampled_from(["", "x", "NOTSET", "SAME_UPPER", "VALID", "reflect", "constant", "ROUND", "FLOOR",
                        "\u00e9\u4e2d", "../../etc/passwd", "a" * 300])


# ------------------------------------------------------------------------------------ mutators ----
def _tensor_names(m):
    names = {t.name for t in m.graph.initializer} | {i.name for i in m.graph.input}
    for n in m.graph.node:
        names.update(n.output)
    return sorted(names) or ["x"]


def _pick(draw, seq):
    return seq[draw(st.integers(0, len(seq) - 1))] if len(seq) else None


def mut_ir(draw, m):
    m.ir_version = draw(st.sampled_from([0, 1, 2, 3, 4, 7, 10, 14, 15, 99, 2**40]))


def mut_opset(draw, m):
    k = draw(st.integers(0, 3))
    if k == 0 and len(m.opset_import):
        _pick(draw, m.opset_import).version = draw(st.sampled_from([0, 1, 7, 8, 9, 11, 13, 17, 28, 29, 30, 2**40]))
    elif k == 1 and len(m.opset_import):
        del m.opset_import[draw(st.integers(0, len(m.opset_import) - 1))]
    elif k == 2:
        m.opset_import.add(domain=draw(st.sampled_from(DOMAINS)), version=draw(st.integers(-1, 30)))
    elif len(m.opset_import):
        _pick(draw, m.opset_import).domain = draw(st.sampled_from(DOMAINS))


def mut_node_delete(draw, m):
    if len(m.graph.node) > 1:
        del m.graph.node[draw(st.integers(0, len(m.graph.node) - 1))]


def mut_node_duplicate(draw, m):
    nodes = list(m.graph.node)
    n = onnx.NodeProto()
    n.CopyFrom(_pick(draw, nodes))
    nodes.insert(draw(st.integers(0, len(nodes))), n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)


def mut_node_swap(draw, m):
    nodes = list(m.graph.node)
    i, j = draw(st.integers(0, len(nodes) - 1)), draw(st.integers(0, len(nodes) - 1))
    nodes[i], nodes[j] = nodes[j], nodes[i]
    del m.graph.node[:]
    m.graph.node.extend(nodes)


def mut_node_op(draw, m):
    n = _pick(draw, m.graph.node)
    n.op_type = draw(st.sampled_from(OPS))
    if draw(st.booleans()):
        n.domain = draw(st.sampled_from(DOMAINS))


def mut_node_inputs(draw, m):
    n = _pick(draw, m.graph.node)
    names = _tensor_names(m)
    k = draw(st.integers(0, 3))
    if k == 0 and len(n.input):
        n.input[draw(st.integers(0, len(n.input) - 1))] = draw(st.sampled_from(names + ["", "nowhere"]))
    elif k == 1 and len(n.input):
        del n.input[draw(st.integers(0, len(n.input) - 1))]
    elif k == 2:
        n.input.append(draw(st.sampled_from(names + [""])))
    else:
        n.input[:] = [draw(st.sampled_from(names)) for _ in range(draw(st.integers(0, 5)))]


def mut_node_outputs(draw, m):
    n = _pick(draw, m.graph.node)
    names = _tensor_names(m)
    k = draw(st.integers(0, 2))
    if k == 0 and len(n.output):
        n.output[draw(st.integers(0, len(n.output) - 1))] = draw(st.sampled_from(names + ["", "fresh_t"]))
    elif k == 1:
        del n.output[:]
    else:
        n.output.append(draw(st.sampled_from(names + ["", "extra_t"])))


def _random_attr(draw, name):
    kind = draw(st.integers(0, 5))
    if kind == 0:
        return onnx.helper.make_attribute(name, draw(INTS))
    if kind == 1:
        return onnx.helper.make_attribute(name, draw(st.lists(INTS, max_size=9)), attr_type=onnx.AttributeProto.INTS)
    if kind == 2:
        return onnx.helper.make_attribute(name, draw(FLOATS))
    if kind == 3:
        return onnx.helper.make_attribute(name, draw(st.lists(FLOATS, min_size=1, max_size=6)))
    if kind == 4:
        return onnx.helper.make_attribute(name, draw(TEXT))
    return onnx.helper.make_attribute(name, onnx.numpy_helper.from_array(
        np.asarray(draw(st.lists(FLOATS, max_size=4)), np.float32)))


def mut_attribute(draw, m):
    nodes = [n for n in m.graph.node if len(n.attribute)] or list(m.graph.node)
    n = _pick(draw, nodes)
    k = draw(st.integers(0, 3))
    if k == 0 and len(n.attribute):  # same name, new value (often another type)
        a = _pick(draw, n.attribute)
        a.CopyFrom(_random_attr(draw, a.name))
    elif k == 1 and len(n.attribute):  # same type, hostile values
        a = _pick(draw, n.attribute)
        if a.type == onnx.AttributeProto.INTS and len(a.ints):
            a.ints[draw(st.integers(0, len(a.ints) - 1))] = draw(INTS)
        elif a.type == onnx.AttributeProto.INT:
            a.i = draw(INTS)
        elif a.type == onnx.AttributeProto.FLOAT:
            a.f = draw(FLOATS)
        elif a.type == onnx.AttributeProto.STRING:
            a.s = draw(TEXT).encode()
        elif a.type == onnx.AttributeProto.TENSOR:
            _mutate_tensor(draw, a.t)
    elif k == 2 and len(n.attribute):
        del n.attribute[draw(st.integers(0, len(n.attribute) - 1))]
    else:
        name = draw(st.sampled_from(ATTR_NAMES))
        for i, a in enumerate(n.attribute):
            if a.name == name:
                del n.attribute[i]
                break
        n.attribute.append(_random_attr(draw, name))


def _mutate_tensor(draw, t):
    k = draw(st.integers(0, 7))
    if k == 0 and len(t.dims):
        t.dims[draw(st.integers(0, len(t.dims) - 1))] = draw(st.sampled_from([0, -1, 1, 2, 3, 2**31, 2**40]))
    elif k == 1:
        if len(t.dims) and draw(st.booleans()):
            del t.dims[-1]
        else:
            t.dims.append(draw(st.sampled_from([1, 2, 2**20])))
    elif k == 2:
        t.data_type = draw(st.sampled_from([0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 14, 16, 17, 21, 99]))
    elif k == 3 and len(t.raw_data):
        cut = draw(st.integers(0, len(t.raw_data)))
        t.raw_data = t.raw_data[:cut] if draw(st.booleans()) else t.raw_data + b"\0" * max(cut, 1)
    elif k == 4 and t.data_type == TensorProto.FLOAT and len(t.raw_data) >= 4 and len(t.raw_data) % 4 == 0:
        a = np.frombuffer(t.raw_data, np.float32).copy()
        a[draw(st.integers(0, a.size - 1))] = draw(FLOATS)
        t.raw_data = a.tobytes()
    elif k == 5 and t.data_type == TensorProto.FLOAT and len(t.raw_data) >= 4 and len(t.raw_data) % 4 == 0:
        a = np.frombuffer(t.raw_data, np.float32).copy()
        t.raw_data = (a * draw(st.sampled_from([0.0, -1.0, 1e-30, 1e30, 3.0]))).astype(np.float32).tobytes()
    elif k == 6:  # external data, wherever it points
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        e = t.external_data.add()
        e.key, e.value = "location", draw(st.sampled_from(["w.bin", "../w.bin", "/etc/hostname", "", "sub/../w.bin"]))
        if draw(st.booleans()):
            e = t.external_data.add()
            e.key, e.value = draw(st.sampled_from(["offset", "length"])), str(draw(INTS))
    else:
        t.name = draw(st.sampled_from(["", "dup", t.name + "_renamed"]))


def mut_initializer(draw, m):
    g = m.graph
    if not len(g.initializer):
        return
    k = draw(st.integers(0, 3))
    if k == 0:
        _mutate_tensor(draw, _pick(draw, g.initializer))
    elif k == 1:
        del g.initializer[draw(st.integers(0, len(g.initializer) - 1))]
    elif k == 2:
        t = onnx.TensorProto()
        t.CopyFrom(_pick(draw, g.initializer))
        if draw(st.booleans()) and t.data_type == TensorProto.FLOAT:
            t.raw_data = np.full(len(t.raw_data) // 4, 7.0, np.float32).tobytes()
        g.initializer.append(t)
    else:
        _pick(draw, g.initializer).name = draw(st.sampled_from(_tensor_names(m)))


def mut_constant_node(draw, m):
    consts = [n for n in m.graph.node if n.op_type == "Constant" and len(n.attribute)]
    if consts:
        _mutate_tensor(draw, _pick(draw, consts).attribute[0].t)
    else:
        mut_initializer(draw, m)


def mut_input(draw, m):
    if not len(m.graph.input):
        return
    vi = _pick(draw, m.graph.input)
    tt = vi.type.tensor_type
    k = draw(st.integers(0, 4))
    if k == 0 and len(tt.shape.dim):
        d = tt.shape.dim[draw(st.integers(0, len(tt.shape.dim) - 1))]
        if draw(st.booleans()):
            d.dim_value = draw(st.sampled_from([0, 1, 2, 3, 7, 64, 2**20, 2**40]))
        else:
            d.dim_param = draw(st.sampled_from(["N", "H", ""]))
    elif k == 1:
        if len(tt.shape.dim) and draw(st.booleans()):
            del tt.shape.dim[-1]
        else:
            tt.shape.dim.add().dim_value = draw(st.sampled_from([1, 2, 8]))
    elif k == 2:
        tt.elem_type = draw(st.sampled_from([0, 1, 2, 6, 7, 8, 10, 11, 16, 99]))
    elif k == 3:
        vi.name = draw(st.sampled_from(_tensor_names(m) + ["renamed_input"]))
    else:
        extra = onnx.ValueInfoProto()
        extra.CopyFrom(vi)
        extra.name = draw(st.sampled_from(_tensor_names(m) + ["second_input"]))
        m.graph.input.append(extra)


def mut_output(draw, m):
    g = m.graph
    if not len(g.output):
        g.output.add().name = draw(st.sampled_from(_tensor_names(m)))
        return
    k = draw(st.integers(0, 3))
    if k == 0:
        g.output[0].name = draw(st.sampled_from(_tensor_names(m) + ["ghost"]))
    elif k == 1:
        extra = onnx.ValueInfoProto()
        extra.CopyFrom(g.output[0])
        extra.name = draw(st.sampled_from(_tensor_names(m)))
        g.output.append(extra)
    elif k == 2:
        g.output[0].type.tensor_type.ClearField("shape")
    else:
        del g.output[:]


def mut_metadata(draw, m):
    p = m.metadata_props.add()
    p.key = draw(st.sampled_from(["tinybnn.input_scale", "tinybnn.input_zero_point"]))
    p.value = draw(st.sampled_from(["nan", "inf", "-1", "0", "1e-45", "0.5", "300", "-129", "x", "1e400", ""]))


def mut_values(draw, m):
    """New finite values for a float tensor: the model stays valid ONNX, so the deep passes see it."""
    ts = [t for t in m.graph.initializer if t.data_type == TensorProto.FLOAT]
    ts += [n.attribute[0].t for n in m.graph.node if n.op_type == "Constant" and len(n.attribute)
           and n.attribute[0].t.data_type == TensorProto.FLOAT]
    ts = [t for t in ts if len(t.raw_data) >= 4 and len(t.raw_data) % 4 == 0]
    if not ts:
        return
    t = _pick(draw, ts)
    a = np.frombuffer(t.raw_data, np.float32).astype(np.float64)
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    k = draw(st.integers(0, 5))
    if k == 0:
        a = rng.standard_normal(a.size)
    elif k == 1:
        a = np.sign(a) * draw(st.sampled_from([1.0, 1e-30, 1e30, 3e38, 1e-45]))
    elif k == 2:
        a = rng.choice([-1.0, 0.0, 1.0], a.size)
    elif k == 3:
        a = np.zeros_like(a)
    elif k == 4:
        a = -a
    else:
        a = a * rng.uniform(0.5, 2.0, a.size)
    t.raw_data = a.astype(np.float32).tobytes()


def mut_geometry(draw, m):
    """Valid-looking but different strides, pads, kernels, dilations on a Conv or MaxPool."""
    ns = [n for n in m.graph.node if n.op_type in ("Conv", "MaxPool")]
    if not ns:
        return
    n = _pick(draw, ns)
    key = draw(st.sampled_from(["strides", "pads", "kernel_shape", "dilations", "auto_pad"]))
    for i, a in enumerate(n.attribute):
        if a.name == key:
            del n.attribute[i]
            break
    if key == "auto_pad":
        n.attribute.append(onnx.helper.make_attribute(key, draw(st.sampled_from(["SAME_UPPER", "SAME_LOWER", "VALID"]))))
        for i, a in enumerate(n.attribute):
            if a.name == "pads":
                del n.attribute[i]
                break
    else:
        count = 4 if key == "pads" else 2
        n.attribute.append(onnx.helper.make_attribute(key, [draw(st.integers(0 if key == "pads" else 1, 3))
                                                            for _ in range(count)]))


MUTATORS = [mut_ir, mut_opset, mut_node_delete, mut_node_duplicate, mut_node_swap, mut_node_op, mut_node_inputs,
            mut_node_outputs, mut_attribute, mut_attribute, mut_initializer, mut_initializer, mut_constant_node,
            mut_input, mut_output, mut_metadata, mut_values, mut_values, mut_geometry, mut_geometry]


class Case(bytes):
    """The mutated model's bytes; shown in a failure report as its mutations and size, not 100 KB of text."""

    steps: list

    def __repr__(self):
        return f"<{'+'.join(self.steps)}: {len(self)} bytes>"


@st.composite
def mutated(draw, name):
    m = onnx.ModelProto()
    m.ParseFromString(BYTES[name])
    steps = []
    for _ in range(draw(st.integers(1, 3))):
        f = draw(st.sampled_from(MUTATORS))
        steps.append(f.__name__)
        f(draw, m)
    data = m.SerializeToString()
    if draw(st.integers(0, 9)) == 0:  # byte-level damage on top
        b = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            if b:
                b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
        data = bytes(b[: draw(st.integers(len(b) // 2, len(b)))] if draw(st.booleans()) else b)
        steps.append("bytes")
    case = Case(data)
    case.steps = steps
    return case


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"an example ran longer than {SECONDS_PER_EXAMPLE} s")


@pytest.fixture(scope="module")
def folder():
    with tempfile.TemporaryDirectory(prefix="tinybnn-fuzz-") as d:
        p = Path(d)
        (p / "m").mkdir()
        (p / "m" / "w.bin").write_bytes(bytes(range(256)) * 64)  # external data that may or may not fit
        (p / "w.bin").write_bytes(b"\0" * 4096)  # outside the model's folder
        yield p


@pytest.mark.parametrize("name", NAMES)
def test_mutated_models_load_or_are_refused_in_one_line(name, folder):
    path = folder / "m" / f"{name}.onnx"
    x = SAMPLES[name]
    outcomes = {"loaded": 0, "refused": 0}

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(case=mutated(name))
    def run(case):
        steps = case.steps
        path.write_bytes(case)
        old = signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_EXAMPLE)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)  # a NaN or overflow in the conversion is a bug
                m = tinybnn.load(path, fallback_calibration=x)
            if tuple(m.input_shape) == tuple(x.shape[1:]):
                with np.errstate(over="ignore", invalid="ignore"):  # the float output may overflow, as
                    m.predict(x)  # the original model's would (weights of 3e38 are finite)
            outcomes["loaded"] += 1
        except TinyBnnError as e:
            msg = str(e)
            assert msg and "\n" not in msg, f"{steps}: a multi-line refusal: {msg!r}"
            outcomes["refused"] += 1
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)

    run()
    # both outcomes occur: value and geometry mutations keep many models loadable (so the deep passes
    # and the golden model run on them), structural ones are mostly refused
    assert outcomes["refused"] > 0 and outcomes["loaded"] > 0, outcomes
