"""int8 post-training-quantized Larq Compute Engine models (tinybnn/frontend/tflite/int8.py): the lce_cnn_int8
fixture against LCE's interpreter (its outputs on the same int8 codes, stored by scripts/fixtures/lce_models.py),
TFLite's fixed-point arithmetic against its definition, and bad int8 files refused in one line. The generated C
and the qemu-m4 run of the fixture are in test_tflite.py (it is one of its parametrized fixtures)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.cli import main
from tinybnn.errors import TinyBnnError
from tinybnn.frontend.tflite import int8
from tinybnn.model import float_graph

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
NAME = "lce_cnn_int8"


def _fixture():
    d = np.load(FIX / f"{NAME}.npz")
    r = np.load(FIX / f"{NAME}.ref.npz")
    return d["x"], d["labels"], r


def test_host_quantizes_with_the_files_parameters():
    """The int8 input codes are the file's quantization of the sample, as the oracle's inputs were made."""
    x, _, r = _fixture()
    m = tinybnn.load(FIX / f"{NAME}.tflite")  # no calibration: the file's scale and zero point
    assert not m.needs_calibration
    assert np.array_equal(m.quantize(x).reshape(len(x), -1), r["q_lce"].reshape(len(x), -1))
    m2 = tinybnn.load(FIX / f"{NAME}.tflite", calibration=x * 3)  # calibration data does not override them
    assert np.array_equal(m2.quantize(x), m.quantize(x))


def test_int8_arithmetic_is_stated(capsys):
    """The importer's account of the int8 arithmetic it followed reaches the model's notes and inspect."""
    m = tinybnn.load(FIX / f"{NAME}.tflite")
    assert any("MultiplyByQuantizedMultiplier" in n and "CONV_2D, int8" in n for n in m.notes), m.notes
    assert main(["inspect", str(FIX / f"{NAME}.tflite")]) == 0
    assert "note: operator 0 (CONV_2D, int8)" in capsys.readouterr().out


@pytest.mark.parametrize("name", [NAME, NAME + "_float_in"])
def test_every_bit_as_lce(name, report):
    """Every binary decision equal to LCE's: the float logits (FULLY_CONNECTED on the last bits) agree to float32
    rounding on every sample; one flipped bit would move a logit by twice a weight (at least 0.05 here)."""
    x = np.load(FIX / f"{name}.npz")["x"]
    m = tinybnn.load(FIX / f"{name}.tflite")
    y, y_lce = m.predict(x), np.load(FIX / f"{name}.ref.npz")["y_lce"]
    diff = float(np.abs(y - y_lce).max())
    w = np.abs(float_graph(FIX / f"{name}.tflite").nodes[-2].attrs["W"])
    report(f"{name}: max abs output difference to LCE's interpreter {diff:.3g} on {len(x)} samples (smallest "
           f"|weight| of the classifier {w.min():.3g}); argmax agreement "
           f"{100 * np.mean(y.argmax(1) == y_lce.argmax(1)):.2f}%")
    assert diff < 1e-4 and diff < w.min()
    assert np.array_equal(y.argmax(1), y_lce.argmax(1))


def test_fixture_has_the_int8_ops():
    import json

    e = next(e for e in json.loads((FIX / "MANIFEST.json").read_text())["tflite_fixtures"] if e["name"] == NAME)
    assert {"QUANTIZE", "DEQUANTIZE", "CONV_2D", "LceBconv2d", "MAX_POOL_2D", "RESHAPE", "MUL", "ADD"} <= \
        set(e["op_types"])
    import tflite

    buf = (FIX / f"{NAME}.tflite").read_bytes()
    m = tflite.Model.GetRootAsModel(buf, 0)
    sg = m.Subgraphs(0)
    I8 = tflite.TensorType.INT8
    assert sg.Tensors(int(sg.InputsAsNumpy()[0])).Type() == I8
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    int8_ops = set()
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        oc = m.OperatorCodes(op.OpcodeIndex())
        if sg.Tensors(int(op.OutputsAsNumpy()[0])).Type() == I8:
            int8_ops.add(oc.CustomCode().decode() if oc.CustomCode() else names[oc.BuiltinCode()])
    # every int8 form the importer reproduces is in the fixture
    assert {"CONV_2D", "LceBconv2d", "MAX_POOL_2D", "QUANTIZE", "MUL", "ADD", "RESHAPE"} <= int8_ops


def _srdhm(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul as gemmlowp defines it, on Python integers."""
    if a == b == -(2**31):
        return 2**31 - 1
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    v = ab + nudge
    return v // (1 << 31) if v >= 0 else -((-v) // (1 << 31))


def _rdbpot(x: int, e: int) -> int:
    mask = (1 << e) - 1
    rem = x & mask
    thr = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> e) + (1 if rem > thr else 0)


def test_multiply_by_quantized_multiplier_is_tflites():
    rng = np.random.default_rng(7)
    for _ in range(200):
        real = float(rng.uniform(1e-6, 0.99))
        m, sh = int8.quantize_multiplier(real)
        assert (1 << 30) <= m < (1 << 31) and sh <= 0
        assert abs(m * 2.0 ** (sh - 31) - real) <= real * 2**-30
        x = rng.integers(-(2**24), 2**24, 64)
        got = int8.multiply_by_quantized_multiplier(x, m, sh)
        want = [_rdbpot(_srdhm(int(v), m), -sh) for v in x]
        assert got.tolist() == want
    # x * 0.25 as M = 0.5 (Q31), shift -1: TFLite's two roundings (high multiply, then the shift), worked by hand:
    # 5 -> 2.5 -> 3 -> 1.5 -> 2 (a single rounding of 1.25 would give 1); -5 -> -2.5 -> -2 -> -1 -> -1
    m, sh = int8.quantize_multiplier(0.5)
    assert (m, sh) == (1 << 30, 0)
    x = np.array([3, -3, 5, -5])
    assert int8.multiply_by_quantized_multiplier(x, m, -1).tolist() == [1, -1, 2, -1]
    assert int8.multiply_by_quantized_multiplier_single(x, m, -1).tolist() == [1, -1, 1, -1]
    assert int8.quantize_multiplier(0.0) == (0, 0)


def _tensor(buf, i):
    import tflite

    return tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0).Tensors(i)


def _patched(tmp_path, fn, name="bad.tflite"):
    buf = bytearray((FIX / f"{NAME}.tflite").read_bytes())
    fn(buf)
    p = tmp_path / name
    p.write_bytes(bytes(buf))
    return p


def _input_index(buf):
    import tflite

    return int(tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0).InputsAsNumpy()[0])


def _set_type(buf, i, code):
    t = _tensor(buf, i)
    o = t._tab.Offset(6)  # Tensor.type
    assert o
    buf[t._tab.Pos + o] = code


def _set_zero_point(buf, i, value):
    q = _tensor(buf, i).Quantization()
    o = q._tab.Offset(10)  # QuantizationParameters.zero_point
    struct.pack_into("<q", buf, q._tab.Vector(o), value)


def _conv_filter(buf):
    """(tensor index of the int8 CONV_2D's filter, byte offset of its data, its shape)."""
    import tflite

    m = tflite.Model.GetRootAsModel(buf, 0)
    sg = m.Subgraphs(0)
    op = sg.Operators(0)
    assert m.OperatorCodes(op.OpcodeIndex()).BuiltinCode() == tflite.BuiltinOperator.CONV_2D
    i = int(op.InputsAsNumpy()[1])
    b = m.Buffers(sg.Tensors(i).Buffer())
    return i, b._tab.Vector(b._tab.Offset(4)), tuple(sg.Tensors(i).ShapeAsNumpy())


def _weaken_channel0(buf):
    i, at, shape = _conv_filter(buf)
    n = int(np.prod(shape[1:]))
    w = np.frombuffer(bytes(buf[at:at + n]), np.int8).copy()
    w[np.abs(w.astype(int)) == 127] = np.sign(w[np.abs(w.astype(int)) == 127]) * 100
    buf[at:at + n] = w.tobytes()


@pytest.mark.parametrize("patch,match", [
    (lambda b: _set_type(b, _input_index(b), 7), r"the input '.*' is INT16; supported: float32 or int8"),
    (lambda b: _set_zero_point(b, _input_index(b), 300), r"has the zero point 300; supported: int8 zero points"),
    (_weaken_channel0, r"operator 0 \(CONV_2D\): output channel 0's int8 weights reach 100, not 127"),
])
def test_bad_int8_files_are_one_line(tmp_path, patch, match):
    p = _patched(tmp_path, patch)
    with pytest.raises(TinyBnnError, match=match) as e:
        float_graph(p)
    assert "\n" not in str(e.value) and str(p) in str(e.value)
    r = subprocess.run([sys.executable, "-m", "tinybnn", "inspect", str(p)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_int16_activation_is_refused(tmp_path):
    """An int16 activation where an int8 one is expected (the int8 CONV_2D's output) is one line."""
    import tflite

    buf = bytearray((FIX / f"{NAME}.tflite").read_bytes())
    o = int(tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0).Operators(0).OutputsAsNumpy()[0])
    _set_type(buf, o, 7)
    p = tmp_path / "int16.tflite"
    p.write_bytes(bytes(buf))
    with pytest.raises(TinyBnnError, match=r"operator 0 \(CONV_2D\): its output .* is INT16; supported: int8") as e:
        float_graph(p)
    assert "\n" not in str(e.value)


def test_damaged_int8_files_are_one_line(tmp_path):
    """Random byte damage of the int8 fixture: read, or refused in one TinyBnnError naming the file."""
    good = (FIX / f"{NAME}.tflite").read_bytes()
    rng = np.random.default_rng(8)
    p = tmp_path / "damaged.tflite"
    refused = 0
    for _ in range(60):
        b = bytearray(good)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(8, len(b)))] = int(rng.integers(0, 256))
        p.write_bytes(bytes(b))
        try:
            float_graph(p)
        except TinyBnnError as e:
            assert "\n" not in str(e) and str(p) in str(e)
            refused += 1
    assert refused > 0


def test_float_input_through_quantize():
    """A float32 input quantized inside the model (QUANTIZE), and float LceBconv2d outputs quantized after a
    float max-pool, BatchNorm (MUL/ADD) and RESHAPE: the host quantizes with the QUANTIZE's parameters, and each
    QUANTIZE -> LceQuantize is a threshold on LCE's own float32 output transform."""
    import tflite

    name = NAME + "_float_in"
    buf = (FIX / f"{name}.tflite").read_bytes()
    m0 = tflite.Model.GetRootAsModel(buf, 0)
    sg = m0.Subgraphs(0)
    assert sg.Tensors(int(sg.InputsAsNumpy()[0])).Type() == tflite.TensorType.FLOAT32
    g = float_graph(FIX / f"{name}.tflite")
    assert g.nodes[0].op == "Quant" and g.nodes[0].attrs["onnx_op"] == "QUANTIZE"
    m = tinybnn.load(FIX / f"{name}.tflite", calibration=np.load(FIX / f"{name}.npz")["x"] * 3)
    assert m.input_quantization["zero_point"] == 0 and abs(m.input_quantization["scale"] - 1 / 127) < 1e-9
    # the QUANTIZEs of float tensors inside the model (after the max-pool and BN, after the flatten)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    ops = [names[m0.OperatorCodes(sg.Operators(k).OpcodeIndex()).BuiltinCode()] for k in range(sg.OperatorsLength())]
    assert ops.count("QUANTIZE") == 3 and "DEQUANTIZE" not in ops
