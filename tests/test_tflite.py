"""Larq Compute Engine .tflite files (tinybnn/frontend/tflite): the trained LCE fixtures against the outputs of
LCE's own interpreter stored beside them (tests/fixtures/NAME.ref.npz, array y_lce, made by
scripts/fixtures/lce_models.py; neither TensorFlow nor LCE runs here), the generated C against the golden model,
the same Larq model imported from its tf2onnx twin, and the command line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.backend import hostc
from tinybnn.errors import TinyBnnError
from tinybnn.frontend.tflite import is_tflite
from tinybnn.model import float_graph

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
MANIFEST = json.loads((FIX / "MANIFEST.json").read_text())
TFLITE = [e["name"] for e in MANIFEST.get("tflite_fixtures", [])]
TWINS = {e["name"]: e["source_model"] for e in MANIFEST.get("tflite_fixtures", []) if e.get("source_model")}


def _load(name):
    d = np.load(FIX / f"{name}.npz")
    return tinybnn.load(FIX / f"{name}.tflite", calibration=d["x"]), d["x"], d["labels"]


def test_manifest_lists_the_files():
    assert {"lce_cnn", "lce_pool_bn"} <= set(TFLITE)
    assert sorted(p.stem for p in FIX.glob("*.tflite")) == sorted(TFLITE)
    for e in MANIFEST["tflite_fixtures"]:
        assert (FIX / e["tflite_file"]).stat().st_size == e["tflite_bytes"]
        assert {"LceQuantize", "LceBconv2d"} <= set(e["op_types"])


@pytest.mark.parametrize("name", TFLITE)
def test_golden_agrees_with_lce_interpreter(name, report):
    """>= 99% argmax agreement of the golden model with LCE's interpreter on the fixture's test split."""
    m, x, labels = _load(name)
    y_lce = np.load(FIX / f"{name}.ref.npz")["y_lce"]
    y = m.predict(x)
    agree = float(np.mean(y.argmax(1) == y_lce.argmax(1)))
    diff = float(np.abs(y - y_lce).max())
    report(f"{name}: argmax agreement with LCE's interpreter {100 * agree:.2f}% on {len(x)} samples, "
           f"max abs output difference {diff:.3g}, accuracy golden {100 * np.mean(y.argmax(1) == labels):.2f}% "
           f"LCE {100 * np.mean(y_lce.argmax(1) == labels):.2f}%")
    assert agree >= 0.99
    assert abs(np.mean(y.argmax(1) == labels) - np.mean(y_lce.argmax(1) == labels)) <= 0.01


@pytest.mark.parametrize("name", TFLITE)
def test_float_graph_is_the_interpreter(name):
    """The canonical float graph of the file reproduces LCE's float32 outputs to float rounding."""
    from tinybnn.ir.floatref import run

    g = float_graph(FIX / f"{name}.tflite")
    x = np.load(FIX / f"{name}.npz")["x"]
    y = run(g, np.transpose(x, g.meta["input_perm"]).astype(np.float64), keep={g.output})[g.output]
    y_lce = np.load(FIX / f"{name}.ref.npz")["y_lce"]
    assert np.abs(y - y_lce).max() <= 1e-4 * max(1.0, float(np.abs(y_lce).max()))
    assert np.array_equal(y.argmax(1), y_lce.argmax(1))


@pytest.mark.parametrize("name", TFLITE)
def test_golden_equals_host_c(name):
    m, x, _ = _load(name)
    q = m.quantize(x)
    c_layers = hostc.run_c_layers(m, q)
    g_layers = m.run_layers(x)
    assert [c.name for c in c_layers] == [g.name for g in g_layers]
    for c, g in zip(c_layers, g_layers):
        assert np.array_equal(c.data, g.data), f"{name}: layer {c.name}"
    assert np.array_equal(hostc.run_c(m, q), m.run_quantized(q))


@pytest.mark.parametrize("name", sorted(TWINS))
def test_same_model_through_tf2onnx(name, report):
    """The same trained Larq model, converted by LCE and exported by tf2onnx: the same layers and decisions; a
    chain (no real-valued stream) the very same integer model. A residual network's streams are quantized from
    each file's own float values (float32 constants in the .tflite), so its outputs may differ by rounding."""
    m, x, _ = _load(name)
    twin = tinybnn.load(FIX / f"{TWINS[name]}.onnx", calibration=x)
    assert sorted(n.op for n in m.layers) == sorted(n.op for n in twin.layers)
    y, y2 = m.predict(x), twin.predict(x)
    agree = float(np.mean(y.argmax(1) == y2.argmax(1)))
    report(f"{name} vs {TWINS[name]}: argmax agreement {100 * agree:.2f}%, max abs output difference "
           f"{np.abs(y - y2).max():.3g}")
    assert agree >= 0.99
    if not any(n.op in ("tb.Add", "tb.AvgPool") for n in m.layers):
        q = m.quantize(x)
        assert np.array_equal(q, twin.quantize(x))
        assert np.array_equal(m.run_quantized(q), twin.run_quantized(q))


def test_lce_ops_are_covered():
    ops = {op for e in MANIFEST["tflite_fixtures"] for op in e["op_types"]}
    assert {"LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d", "CONV_2D", "FULLY_CONNECTED",
            "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "RESHAPE", "MUL", "ADD", "DEPTHWISE_CONV_2D", "PAD",
            "CONCATENATION", "SOFTMAX"} <= ops


def test_detected_by_content(tmp_path):
    """A .tflite file under another name (even .onnx) is read by the TFLite frontend."""
    for fake in ("model.onnx", "model.bin"):
        p = tmp_path / fake
        shutil.copy(FIX / "lce_cnn.tflite", p)
        assert is_tflite(p)
        g = float_graph(p)
        assert g.meta["dialect"] == "lce-tflite"
    assert not is_tflite(FIX / "larq_cnn.onnx")


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def test_check_says_what_it_compares_with(tmp_path):
    r = _cli("check", FIX / "lce_cnn.tflite", "--data", FIX / "lce_cnn.npz")
    assert r.returncode == 0, r.stderr
    assert "float model: tinybnn's float graph of the .tflite file" in r.stdout
    assert "argmax agreement with the float model: 100.00%" in r.stdout
    ref = tmp_path / "lce.npz"
    np.savez(ref, y=np.load(FIX / "lce_cnn.ref.npz")["y_lce"])
    r = _cli("check", FIX / "lce_cnn.tflite", "--data", FIX / "lce_cnn.npz", "--reference", ref)
    assert r.returncode == 0, r.stderr
    assert f"float model: the outputs in {ref}" in r.stdout
    assert "argmax agreement with the float model: 100.00%" in r.stdout
    np.savez(ref, y=np.zeros((3, 10), np.float32))
    r = _cli("check", FIX / "lce_cnn.tflite", "--data", FIX / "lce_cnn.npz", "--reference", ref)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    r = _cli("check", FIX / "larq_cnn.onnx", "--data", FIX / "larq_cnn.npz", "--reference", ref)
    assert r.returncode == 2 and "--reference is for a .tflite model" in r.stderr


def test_damaged_files_are_one_line(tmp_path):
    """Every truncation and random byte damage of a fixture is either read or refused in one TinyBnnError."""
    good = (FIX / "lce_cnn.tflite").read_bytes()
    rng = np.random.default_rng(17)
    cases = [good[:n] for n in range(0, len(good), 211)]
    for _ in range(150):
        b = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(8, len(b)))] = int(rng.integers(0, 256))
        cases.append(bytes(b))
    p = tmp_path / "damaged.tflite"
    refused = 0
    for c in cases:
        p.write_bytes(c)
        try:
            float_graph(p)
        except TinyBnnError as e:
            assert "\n" not in str(e) and str(p) in str(e)
            refused += 1
    assert refused >= len(range(0, len(good), 211)) - 1  # every truncation but the empty-suffix one


def _patch_options(tmp_path, name, k, key, value):
    """The fixture with operator k's custom (FlexBuffer) option ``key`` set to ``value``, rewritten in place."""
    from flatbuffers import flexbuffers
    import tflite

    buf = bytearray((FIX / f"{name}.tflite").read_bytes())
    op = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0).Operators(k)
    raw = op.CustomOptionsAsNumpy().tobytes()
    opts = flexbuffers.Loads(raw)
    assert key in opts
    opts[key] = value
    new = flexbuffers.Dumps(opts)
    assert len(new) == len(raw) and bytes(buf).count(raw) == 1
    start = bytes(buf).find(raw)
    buf[start:start + len(new)] = new
    p = tmp_path / f"{name}_{key}.tflite"
    p.write_bytes(bytes(buf))
    return p


@pytest.mark.parametrize("name,k,key,value,match", [
    ("lce_cnn", 2, "fused_activation_function", 3, r"operator 2 \(LceBconv2d\): has the fused activation RELU6; "
     r"supported: fused activation NONE, RELU"),
    ("lce_cnn", 2, "pad_values", 2, r"operator 2 \(LceBconv2d\): pad_values 2; supported: 0 or 1"),
    ("lce_cnn", 2, "channels_in", 17, r"operator 2 \(LceBconv2d\): channels_in 17 .* grouped: 32 k channels per "
     r"group"),
    ("lce_bitpacked", 2, "fused_activation_function", 1,
     r"operator 2 \(LceBconv2d\): has a fused activation on bitpacked output"),
    ("lce_bitpacked", 2, "pad_values", 0, r"operator 2 \(LceBconv2d\): writes bitpacked output with zero padding"),
    ("lce_bitpacked", 3, "stride_height", 0, r"operator 3 \(LceBMaxPool2d\): .*sizes >= 1"),
])
def test_unsupported_options_are_one_line(tmp_path, name, k, key, value, match):
    """LCE's FlexBuffer options are read: what tinybnn cannot convert exactly is refused in one line."""
    with pytest.raises(TinyBnnError, match=match) as e:
        float_graph(_patch_options(tmp_path, name, k, key, value))
    assert "\n" not in str(e.value)


def test_lce_bconv2d_fused_relu(tmp_path):
    """LceBconv2d with float output and fused RELU: the post-activation affine, then PRelu of slope 0."""
    from tinybnn.ir.floatref import run

    g0 = float_graph(FIX / "lce_cnn.tflite")
    g = float_graph(_patch_options(tmp_path, "lce_cnn", 2, "fused_activation_function", 1))
    relu = [n for n in g.nodes if n.op == "PRelu"]
    assert len(relu) == 1 and not np.any(relu[0].attrs["slope"])
    pre = g.producer(relu[0].inputs[0])
    assert pre.op == "Affine" and pre.attrs["origin"] == "LceBconv2d"
    x = np.transpose(np.load(FIX / "lce_cnn.npz")["x"][:8], g.meta["input_perm"]).astype(np.float64)
    a = run(g0, x)[next(n for n in g0.nodes if n.attrs.get("origin") == "LceBconv2d").output]
    assert np.array_equal(run(g, x)[relu[0].output], np.maximum(a, 0.0))


VALIDATE_SAMPLES = 16


@pytest.mark.slow
@pytest.mark.parametrize("name", TFLITE)
def test_validate_qemu_m4(name, tmp_path):
    """The .tflite fixture built, booted on the emulated Cortex-M4 and validated bit for bit over serial."""
    from tinybnn.targets import boards

    b = boards.load_board("qemu-m4")
    if not (shutil.which(b["toolchain"] + "-gcc") and shutil.which(b["qemu"]["binary"])):
        pytest.skip("toolchain or QEMU for qemu-m4 not installed")
    js = tmp_path / "summary.json"
    r = _cli("validate", FIX / f"{name}.tflite", "--board", "qemu-m4", "--data", FIX / f"{name}.npz", "--json", js,
             "--limit", VALIDATE_SAMPLES, "--build-dir", tmp_path / "fw", "--results", tmp_path / "results.jsonl")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s = json.loads(js.read_text())
    assert s["samples"] == s["matched"] == VALIDATE_SAMPLES and s["mismatched"] == 0
    assert s["device_accuracy"] == s["golden_accuracy"]
    assert "Larq Compute Engine's interpreter" in (s["float_note"] or "")  # says why there is no float column


def test_declared_shape_must_agree(tmp_path):
    """A tensor whose declared shape disagrees with what its operator computes is refused in one line."""
    import struct

    import tflite

    buf = bytearray((FIX / "lce_cnn.tflite").read_bytes())
    sg = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    o = int(sg.Operators(3).OutputsAsNumpy()[0])  # MAX_POOL_2D: [1, 4, 4, 32]
    t = sg.Tensors(o)
    assert list(t.ShapeAsNumpy()) == [1, 4, 4, 32]
    at = t._tab.Vector(t._tab.Offset(4))  # the shape vector's first element
    struct.pack_into("<i", buf, at + 4, 5)
    p = tmp_path / "shape.tflite"
    p.write_bytes(bytes(buf))
    with pytest.raises(TinyBnnError, match=r"operator 3 \(MAX_POOL_2D\): its output .* is declared \[1, 5, 4, 32\]"):
        float_graph(p)


# ---- single operators, in small .tflite files written here with the schema package's builder ----------------

def _write_tflite(path, tensors, ops, inp, out):
    """A one-subgraph .tflite file. tensors: (shape, "FLOAT32" | "INT32", data or None); ops: (BUILTIN_NAME,
    inputs, outputs, (options table name, {field: value}) or None). Returns path."""
    import flatbuffers
    import tflite

    b = flatbuffers.Builder(1024)

    def table(kind, fields, vectors=()):
        getattr(tflite, kind + "Start")(b)
        for f, v in list(fields.items()) + list(vectors):
            getattr(tflite, f"{kind}Add{f}")(b, v)
        return getattr(tflite, kind + "End")(b)

    def offsets(start, items):
        start(b, len(items))
        for it in reversed(items):
            b.PrependUOffsetTRelative(it)
        return b.EndVector()

    buffers = [table("Buffer", {})]
    tens = []
    for i, (shape, dtype, data) in enumerate(tensors):
        idx = 0
        if data is not None:
            raw = np.ascontiguousarray(np.asarray(data, {"FLOAT32": "<f4", "INT32": "<i4"}[dtype])).tobytes()
            buffers.append(table("Buffer", {}, [("Data", b.CreateByteVector(raw))]))
            idx = len(buffers) - 1
        name, shp = b.CreateString(f"t{i}"), b.CreateNumpyVector(np.asarray(shape, np.int32))
        tens.append(table("Tensor", {"Type": getattr(tflite.TensorType, dtype), "Buffer": idx},
                          [("Shape", shp), ("Name", name)]))
    names = sorted({op[0] for op in ops})
    codes = []
    for n in names:
        if n.startswith("Lce"):  # LCE's custom ops (no options: LceQuantize, LceDequantize)
            custom = b.CreateString(n)
            c = tflite.BuiltinOperator.CUSTOM
            codes.append(table("OperatorCode", {"BuiltinCode": c, "DeprecatedBuiltinCode": c, "Version": 1},
                               [("CustomCode", custom)]))
            continue
        c = getattr(tflite.BuiltinOperator, n)
        codes.append(table("OperatorCode", {"BuiltinCode": c, "DeprecatedBuiltinCode": min(c, 127), "Version": 1}))
    opers = []
    for n, ins, outs, opt in ops:
        iv, ov = (b.CreateNumpyVector(np.asarray(v, np.int32)) for v in (ins, outs))
        vec = [("Inputs", iv), ("Outputs", ov)]
        fields = {"OpcodeIndex": names.index(n)}
        if opt is not None:
            vec.append(("BuiltinOptions", table(opt[0], opt[1])))
            fields["BuiltinOptionsType"] = getattr(tflite.BuiltinOptions, opt[0])
        opers.append(table("Operator", fields, vec))
    sg = table("SubGraph", {}, [
        ("Tensors", offsets(tflite.SubGraphStartTensorsVector, tens)),
        ("Inputs", b.CreateNumpyVector(np.asarray([inp], np.int32))),
        ("Outputs", b.CreateNumpyVector(np.asarray([out], np.int32))),
        ("Operators", offsets(tflite.SubGraphStartOperatorsVector, opers))])
    model = table("Model", {"Version": 3}, [
        ("OperatorCodes", offsets(tflite.ModelStartOperatorCodesVector, codes)),
        ("Subgraphs", offsets(tflite.ModelStartSubgraphsVector, [sg])),
        ("Buffers", offsets(tflite.ModelStartBuffersVector, buffers))])
    b.Finish(model, file_identifier=b"TFL3")
    Path(path).write_bytes(bytes(b.Output()))
    return path


def _float_run(path, x_nhwc):
    """The canonical float graph of the file on NHWC samples, in TFLite's layout (NHWC or (N, F))."""
    from tinybnn.ir.floatref import run

    g = float_graph(path)
    y = run(g, np.transpose(x_nhwc, g.meta["input_perm"]).astype(np.float64), keep={g.output})[g.output]
    return y.transpose(0, 2, 3, 1) if y.ndim == 4 else y


def _conv_nhwc(xp, w, stride=1):
    """Reference NHWC convolution of an already padded input: w (KH, KW, C, O) per tap."""
    KH, KW = w.shape[:2]
    OH, OW = (xp.shape[1] - KH) // stride + 1, (xp.shape[2] - KW) // stride + 1
    y = np.zeros((xp.shape[0], OH, OW, w.shape[-1]))
    for i in range(KH):
        for j in range(KW):
            y += np.einsum("nhwc,co->nhwo", xp[:, i:i + stride * OH:stride, j:j + stride * OW:stride], w[i, j])
    return y


RNG = np.random.default_rng(17)
ACT = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def test_depthwise_conv_with_multiplier_and_relu(tmp_path):
    """DEPTHWISE_CONV_2D, depth multiplier 2, SAME, bias, fused RELU: output channel c*2 + m reads channel c."""
    x = RNG.standard_normal((4, 5, 5, 3)).astype(np.float32)
    w = RNG.standard_normal((1, 3, 3, 6)).astype(np.float32)
    bias = RNG.standard_normal(6).astype(np.float32)
    p = _write_tflite(tmp_path / "dw.tflite", [
        ((1, 5, 5, 3), "FLOAT32", None), ((1, 3, 3, 6), "FLOAT32", w), ((6,), "FLOAT32", bias),
        ((1, 5, 5, 6), "FLOAT32", None)],
        [("DEPTHWISE_CONV_2D", [0, 1, 2], [3], ("DepthwiseConv2DOptions", {
            "Padding": 0, "StrideW": 1, "StrideH": 1, "DepthMultiplier": 2, "DilationWFactor": 1,
            "DilationHFactor": 1, "FusedActivationFunction": ACT["RELU"]}))], 0, 3)
    g = float_graph(p)
    assert [n.op for n in g.nodes] == ["Conv", "Affine", "PRelu"] and g.nodes[0].attrs["group"] == 3
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    full = np.zeros((3, 3, 3, 6))
    for o in range(6):
        full[:, :, o // 2, o] = w[0, :, :, o]
    want = np.maximum(_conv_nhwc(xp, full) + bias, 0.0)
    assert np.allclose(_float_run(p, x), want, atol=1e-9)


def test_fused_relu_on_a_stream(tmp_path):
    """A float CONV_2D with fused RELU (PRelu of slope 0, a stream op) -> MEAN -> FULLY_CONNECTED: the integer
    model decides as the float graph, and the C equals the golden model."""
    x = RNG.standard_normal((64, 4, 4, 2)).astype(np.float32)
    w0 = RNG.standard_normal((6, 3, 3, 2)).astype(np.float32)
    wf = RNG.standard_normal((5, 6)).astype(np.float32)
    p = _write_tflite(tmp_path / "relu.tflite", [
        ((1, 4, 4, 2), "FLOAT32", None), ((6, 3, 3, 2), "FLOAT32", w0), ((1, 4, 4, 6), "FLOAT32", None),
        ((2,), "INT32", np.array([1, 2])), ((1, 6), "FLOAT32", None), ((5, 6), "FLOAT32", wf),
        ((1, 5), "FLOAT32", None)],
        [("CONV_2D", [0, 1, -1], [2], ("Conv2DOptions", {
            "Padding": 0, "StrideW": 1, "StrideH": 1, "DilationWFactor": 1, "DilationHFactor": 1,
            "FusedActivationFunction": ACT["RELU"]})),
         ("MEAN", [2, 3], [4], ("ReducerOptions", {"KeepDims": 0})),
         ("FULLY_CONNECTED", [4, 5, -1], [6], ("FullyConnectedOptions", {}))], 0, 6)
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0)))
    want = np.maximum(_conv_nhwc(xp, w0.transpose(1, 2, 3, 0)), 0).mean(axis=(1, 2)) @ wf.T
    y = _float_run(p, x)
    assert np.allclose(y, want, atol=1e-9)
    m = tinybnn.load(p, calibration=x)
    assert "tb.PReLU" in [n.op for n in m.layers]
    assert np.mean(m.predict(x).argmax(1) == want.argmax(1)) >= 0.95
    q = m.quantize(x)
    assert np.array_equal(hostc.run_c(m, q), m.run_quantized(q))


def test_padv2_of_one_before_a_binary_depthwise(tmp_path):
    """LceQuantize -> LceDequantize -> PADV2 (value 1) -> DEPTHWISE_CONV_2D with +-alpha weights (VALID): a binary
    depthwise conv padded with +1, through the integer model and the C."""
    x = RNG.standard_normal((32, 4, 4, 2)).astype(np.float32)
    w0 = RNG.standard_normal((4, 3, 3, 2)).astype(np.float32)
    wd = (np.where(RNG.standard_normal((1, 3, 3, 4)) < 0, -1.0, 1.0) * [0.5, 1.5, 2.0, 0.25]).astype(np.float32)
    wf = np.where(RNG.standard_normal((3, 64)) < 0, -1.0, 1.0).astype(np.float32)
    f32, i32 = "FLOAT32", "INT32"
    pads = np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)
    tensors = [((1, 4, 4, 2), f32, None), ((4, 3, 3, 2), f32, w0), ((1, 4, 4, 4), f32, None),
               ((1, 4, 4, 1), i32, None), ((1, 4, 4, 4), f32, None), ((4, 2), i32, pads), ((), f32, np.float32(1)),
               ((1, 6, 6, 4), f32, None), ((1, 3, 3, 4), f32, wd), ((1, 4, 4, 4), f32, None),
               ((1, 4, 4, 1), i32, None), ((1, 4, 4, 4), f32, None), ((2,), i32, np.array([1, 64])),
               ((1, 64), f32, None), ((3, 64), f32, wf), ((1, 3), f32, None)]
    ops = [("CONV_2D", [0, 1, -1], [2], ("Conv2DOptions", {"Padding": 0, "StrideW": 1, "StrideH": 1,
                                                           "DilationWFactor": 1, "DilationHFactor": 1})),
           ("LceQuantize", [2], [3], None), ("LceDequantize", [3], [4], None), ("PADV2", [4, 5, 6], [7], None),
           ("DEPTHWISE_CONV_2D", [7, 8, -1], [9], ("DepthwiseConv2DOptions", {
               "Padding": 1, "StrideW": 1, "StrideH": 1, "DepthMultiplier": 1, "DilationWFactor": 1,
               "DilationHFactor": 1})),
           ("LceQuantize", [9], [10], None), ("LceDequantize", [10], [11], None), ("RESHAPE", [11, 12], [13], None),
           ("FULLY_CONNECTED", [13, 14, -1], [15], ("FullyConnectedOptions", {}))]
    p = _write_tflite(tmp_path / "pad1_dw.tflite", tensors, ops, 0, 15)
    g = float_graph(p)
    dw = next(n for n in g.nodes if n.op == "Conv" and n.attrs["group"] == 4)
    assert dw.attrs["pads"] == (1, 1, 1, 1) and dw.attrs["pad_value"] == 1.0
    s1 = np.where(_conv_nhwc(np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1), (0, 0))),
                             w0.transpose(1, 2, 3, 0)) >= 0, 1.0, -1.0)
    d = np.zeros((3, 3, 4, 4))
    for c in range(4):
        d[:, :, c, c] = wd[0, :, :, c]
    s2 = np.where(_conv_nhwc(np.pad(s1, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=1.0), d) >= 0, 1.0, -1.0)
    want = s2.reshape(32, 64) @ wf.T.astype(np.float64)
    assert np.array_equal(_float_run(p, x), want)
    m = tinybnn.load(p, calibration=x)
    conv = [n for n in m.layers if n.attrs.get("groups") == 4]
    assert len(conv) == 1 and conv[0].attrs["pad"] == "one"
    assert np.mean(m.predict(x).argmax(1) == want.argmax(1)) >= 0.9
    q = m.quantize(x)
    assert np.array_equal(hostc.run_c(m, q), m.run_quantized(q))


def test_pad_merged_into_conv_and_avgpool(tmp_path):
    """PADV2 (value 1) before a VALID CONV_2D: the conv's padding, value 1; PAD before a VALID AVERAGE_POOL_2D:
    zeros counted in the mean (count_include_pad)."""
    x = RNG.standard_normal((3, 4, 4, 2)).astype(np.float32)
    w = RNG.standard_normal((5, 3, 3, 2)).astype(np.float32)
    pads = np.array([[0, 0], [2, 1], [0, 1], [0, 0]], np.int32)
    p = _write_tflite(tmp_path / "pad.tflite", [
        ((1, 4, 4, 2), "FLOAT32", None), ((4, 2), "INT32", pads), ((), "FLOAT32", np.float32(1.0)),
        ((1, 7, 5, 2), "FLOAT32", None), ((5, 3, 3, 2), "FLOAT32", w), ((1, 5, 3, 5), "FLOAT32", None),
        ((1, 8, 4, 5), "FLOAT32", None), ((1, 4, 2, 5), "FLOAT32", None)],
        [("PADV2", [0, 1, 2], [3], None),
         ("CONV_2D", [3, 4, -1], [5], ("Conv2DOptions", {"Padding": 1, "StrideW": 1, "StrideH": 1,
                                                           "DilationWFactor": 1, "DilationHFactor": 1})),
         ("PAD", [5, 1], [6], None),
         ("AVERAGE_POOL_2D", [6], [7], ("Pool2DOptions", {"Padding": 1, "StrideW": 2, "StrideH": 2,
                                                          "FilterWidth": 2, "FilterHeight": 2}))], 0, 7)
    g = float_graph(p)
    assert [n.op for n in g.nodes] == ["Conv", "AvgPool"]
    assert g.nodes[0].attrs["pads"] == (2, 0, 1, 1) and g.nodes[0].attrs["pad_value"] == 1.0
    assert g.nodes[1].attrs["count_include_pad"] == 1
    xp = np.pad(x.astype(np.float64), ((0, 0), (2, 1), (0, 1), (0, 0)), constant_values=1.0)
    c = _conv_nhwc(xp, w.transpose(1, 2, 3, 0))
    cp = np.pad(c, ((0, 0), (2, 1), (0, 1), (0, 0)))
    want = cp.reshape(3, 4, 2, 2, 2, 5).mean(axis=(2, 4))
    assert np.allclose(_float_run(p, x), want, atol=1e-9)


def test_same_avgpool_and_clip_before_lce_quantize(tmp_path):
    """AVERAGE_POOL_2D with SAME padding read only by LceQuantize: the sign of a border window's mean over its
    valid taps is the sign of its sum, so the pool counting padded zeros is exact (its values are not the file's
    and are not probed); a fused RELU_N1_TO_1 before LceQuantize keeps every sign and is dropped."""
    x = RNG.standard_normal((8, 4, 4, 2)).astype(np.float32)
    w = RNG.standard_normal((3, 1, 1, 2)).astype(np.float32)
    wf = np.where(RNG.standard_normal((5, 12)) < 0, -1.0, 1.0).astype(np.float32)
    f32, i32 = "FLOAT32", "INT32"
    tensors = [((1, 4, 4, 2), f32, None), ((3, 1, 1, 2), f32, w), ((1, 4, 4, 3), f32, None),
               ((1, 4, 4, 1), i32, None), ((1, 4, 4, 3), f32, None), ((1, 2, 2, 3), f32, None),
               ((1, 2, 2, 1), i32, None), ((1, 2, 2, 3), f32, None), ((2,), i32, np.array([1, 12])),
               ((1, 12), f32, None), ((5, 12), f32, wf), ((1, 5), f32, None)]
    ops = [("CONV_2D", [0, 1, -1], [2], ("Conv2DOptions", {
               "Padding": 1, "StrideW": 1, "StrideH": 1, "DilationWFactor": 1, "DilationHFactor": 1,
               "FusedActivationFunction": ACT["RELU_N1_TO_1"]})),
           ("LceQuantize", [2], [3], None), ("LceDequantize", [3], [4], None),
           ("AVERAGE_POOL_2D", [4], [5], ("Pool2DOptions", {"Padding": 0, "StrideW": 2, "StrideH": 2,
                                                          "FilterWidth": 3, "FilterHeight": 3})),
           ("LceQuantize", [5], [6], None), ("LceDequantize", [6], [7], None), ("RESHAPE", [7, 8], [9], None),
           ("FULLY_CONNECTED", [9, 10, -1], [11], ("FullyConnectedOptions", {}))]
    p = _chain(tmp_path, "avg_same", ops, tensors, 11)
    g = float_graph(p)
    assert [n.op for n in g.nodes] == ["Conv", "Sign", "AvgPool", "Sign", "Flatten", "Dense"]
    pool = g.nodes[2]
    assert pool.attrs["count_include_pad"] == 1 and pool.output not in g.meta["onnx_tensors"]
    s1 = np.where(x.astype(np.float64) @ w[:, 0, 0].T >= 0, 1.0, -1.0)  # (8, 4, 4, 3)
    sp = np.pad(s1, ((0, 0), (0, 1), (0, 1), (0, 0)))  # SAME for 3x3 stride 2 on 4x4: 0 before, 1 after
    ones = np.pad(np.ones((4, 4)), ((0, 1), (0, 1)))
    mean = np.stack([np.stack([sp[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].sum((1, 2)) /
                               ones[2 * i:2 * i + 3, 2 * j:2 * j + 3].sum() for j in range(2)], 1)
                     for i in range(2)], 1)  # TFLite's: the mean over each window's valid taps
    want = np.where(mean >= 0, 1.0, -1.0).reshape(8, 12) @ wf.T.astype(np.float64)
    assert np.array_equal(_float_run(p, x), want)  # (the integer model of such a pool on a stream: lce_dscnn)


def _chain(tmp_path, name, ops, tensors, out):
    return _write_tflite(tmp_path / f"{name}.tflite", tensors, ops, 0, out)


def _refused(path, match):
    with pytest.raises(TinyBnnError, match=match) as e:
        float_graph(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_concatenation_and_softmax(tmp_path):
    """CONCATENATION of two maps on channels; SOFTMAX at the output: the float graph's values, and the
    integer model's outputs through the host-side softmax."""
    x = RNG.standard_normal((6, 3, 3, 2)).astype(np.float32)
    w0 = RNG.standard_normal((2, 1, 1, 2)).astype(np.float32)
    w1 = RNG.standard_normal((3, 1, 1, 2)).astype(np.float32)
    w2 = RNG.standard_normal((2, 1, 1, 2)).astype(np.float32)
    wf = RNG.standard_normal((4, 45)).astype(np.float32)
    conv = ("Conv2DOptions", {"Padding": 1, "StrideW": 1, "StrideH": 1, "DilationWFactor": 1, "DilationHFactor": 1})
    tensors = [((1, 3, 3, 2), "FLOAT32", None), ((2, 1, 1, 2), "FLOAT32", w0), ((1, 3, 3, 2), "FLOAT32", None),
               ((3, 1, 1, 2), "FLOAT32", w1), ((2, 1, 1, 2), "FLOAT32", w2),
               ((1, 3, 3, 3), "FLOAT32", None), ((1, 3, 3, 2), "FLOAT32", None), ((1, 3, 3, 5), "FLOAT32", None),
               ((2,), "INT32", np.array([1, 45])), ((1, 45), "FLOAT32", None), ((4, 45), "FLOAT32", wf),
               ((1, 4), "FLOAT32", None), ((1, 4), "FLOAT32", None)]
    ops = [("CONV_2D", [0, 1, -1], [2], conv), ("CONV_2D", [2, 3, -1], [5], conv), ("CONV_2D", [2, 4, -1], [6], conv),
           ("CONCATENATION", [5, 6], [7], ("ConcatenationOptions", {"Axis": -1})),
           ("RESHAPE", [7, 8], [9], None), ("FULLY_CONNECTED", [9, 10, -1], [11], ("FullyConnectedOptions", {})),
           ("SOFTMAX", [11], [12], ("SoftmaxOptions", {"Beta": 2.0}))]
    p = _chain(tmp_path, "cat", ops, tensors, 12)
    h = x.astype(np.float64) @ w0[:, 0, 0].T.astype(np.float64)
    cat = np.concatenate([h @ w1[:, 0, 0].T, h @ w2[:, 0, 0].T], axis=-1)
    z = 2.0 * (cat.reshape(6, 45) @ wf.T.astype(np.float64))
    want = np.exp(z - z.max(1, keepdims=True))
    want /= want.sum(1, keepdims=True)
    assert np.allclose(_float_run(p, x), want, atol=1e-9)
    m = tinybnn.load(p, calibration=x)
    y = m.predict(x)
    assert np.allclose(y.sum(1), 1.0, atol=1e-6) and np.mean(y.argmax(1) == want.argmax(1)) >= 5 / 6
    assert np.array_equal(y, m.dequantize(hostc.run_c(m, m.quantize(x))))

    bad = [("CONCATENATION", [5, 5], [7], ("ConcatenationOptions", {"Axis": 1}))]
    _refused(_chain(tmp_path, "cat_axis", ops[:2] + bad, tensors[:7] + [((1, 6, 3, 3), "FLOAT32", None)], 7),
             r"operator 2 \(CONCATENATION\): concatenates 2 tensors .* on axis 1; supported: .*channel axis")
    mid = ops[:6] + [("SOFTMAX", [11], [12], ("SoftmaxOptions", {"Beta": 1.0})),
                     ("MUL", [12, 13], [14], ("MulOptions", {}))]
    _refused(_chain(tmp_path, "softmax_mid", mid, tensors + [((), "FLOAT32", np.float32(2.0)),
                                                              ((1, 4), "FLOAT32", None)], 14),
             r"operator 6 \(SOFTMAX\): softmax with beta 1 on \[1, 4\] inside the model; supported: SOFTMAX")


@pytest.mark.parametrize("case,match", [
    ("pad_dynamic", r"operator 0 \(PAD\): its paddings are not a constant integer tensor"),
    ("pad_channels", r"operator 0 \(PAD\): paddings \[\[0, 0\], \[1, 1\], \[1, 1\], \[0, 1\]\] .* spatial axes"),
    ("pad_maxpool", r"operator 0 \(PAD\): its output is read by MAX_POOL_2D; supported: PAD read only by CONV_2D"),
    ("avgpool_same", r"operator 0 \(AVERAGE_POOL_2D\): SAME padding \[1, 1, 1, 1\] .* read by CONV_2D; "
                     r"supported: AVERAGE_POOL_2D with SAME padding read only by LceQuantize"),
    ("relu6", r"operator 0 \(CONV_2D\): has the fused activation RELU6; supported: fused activation NONE, RELU"),
    ("relu_n1", r"operator 0 \(CONV_2D\): has the fused activation RELU_N1_TO_1 on a tensor not read by "
                r"LceQuantize alone"),
])
def test_unsupported_variants_are_one_line(tmp_path, case, match):
    f32 = "FLOAT32"
    w = RNG.standard_normal((2, 1, 1, 2)).astype(np.float32)
    conv = ("Conv2DOptions", {"Padding": 1, "StrideW": 1, "StrideH": 1, "DilationWFactor": 1, "DilationHFactor": 1,
                              "FusedActivationFunction": ACT.get(case.upper().replace("RELU_N1", "RELU_N1_TO_1"), 0)})
    pool = ("Pool2DOptions", {"Padding": 0, "StrideW": 1, "StrideH": 1, "FilterWidth": 3, "FilterHeight": 3})
    pads = np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)
    if case.startswith("pad"):
        if case == "pad_channels":
            pads[3, 1] = 1
        tensors = [((1, 4, 4, 2), f32, None), ((4, 2), "INT32", None if case == "pad_dynamic" else pads),
                   ((1, 6, 6, 3 if case == "pad_channels" else 2), f32, None), ((1, 6, 6, 2), f32, None)]
        reader = ("MAX_POOL_2D", [2], [3], pool) if case == "pad_maxpool" else ("CONV_2D", [2, 4, -1], [3], conv)
        tensors.append(((2, 1, 1, 2), f32, w))
        p = _chain(tmp_path, case, [("PAD", [0, 1], [2], None), reader], tensors, 3)
    elif case == "avgpool_same":
        p = _chain(tmp_path, case, [("AVERAGE_POOL_2D", [0], [1], pool), ("CONV_2D", [1, 2, -1], [3], conv)],
                   [((1, 4, 4, 2), f32, None), ((1, 4, 4, 2), f32, None), ((2, 1, 1, 2), f32, w),
                    ((1, 4, 4, 2), f32, None)], 3)
    else:
        p = _chain(tmp_path, case, [("CONV_2D", [0, 1, -1], [2], conv), ("MAX_POOL_2D", [2], [3], pool)],
                   [((1, 4, 4, 2), f32, None), ((2, 1, 1, 2), f32, w), ((1, 4, 4, 2), f32, None),
                    ((1, 4, 4, 2), f32, None)], 3)
    _refused(p, match)
    r = _cli("inspect", p)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
