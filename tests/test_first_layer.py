"""A float first layer keeps the float model's decisions (issue 12, item 2).

The usual BNN recipe keeps the first layer in full precision. tinybnn runs it on int8 inputs with integer
weights: int8 where the worst-case rounding error cannot flip a binarizer decision on the calibration data,
int16 otherwise (the decision is made at convert time, deterministically, and shown by inspect/convert).
`tinybnn check` prints what the input and the first layer round and how many of the first binarizer's bits
flip from it. Targets on every trained model whose first layer is float: >= 99% argmax agreement with the
framework's runtime and >= 99.9% of the first binarizer's bits.
"""

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import tinybnn
from tinybnn import cli
from tinybnn.backend import codegen, hostc
from tinybnn.errors import TinyBnnError
from tinybnn.passes import lower

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLES = [ROOT / "examples" / "kws" / "model" / "kws_bnn.onnx",
            ROOT / "examples" / "vision" / "model" / "digits_bnn.onnx"]


def _trained_models():
    names = [f["name"] for f in json.loads((FIXTURES / "MANIFEST.json").read_text())["fixtures"]]
    out = [(FIXTURES / f"{n}.onnx", FIXTURES / f"{n}.npz") for n in names]
    for m in EXAMPLES:
        out.append((m, next(m.parent.glob("*_test.npz"))))
    return out


def _check_cli(capsys, model, data, *extra):
    assert cli.main(["check", str(model), "--data", str(data), *extra]) == 0
    return capsys.readouterr().out


def _agreements(text):
    argmax = float(re.search(r"argmax agreement with the float model: ([\d.]+)%", text).group(1))
    first = re.search(r"layer (\S+): [^\n]*?([\d.]+)% of its bits agree with the float layer", text)
    return argmax, first


@pytest.mark.parametrize("model,data", _trained_models(), ids=lambda p: Path(p).stem)
def test_trained_models_keep_the_float_decisions(model, data, capsys):
    """Every trained fixture and example: `tinybnn check` shows the targets, float first layer or not."""
    m = tinybnn.load(model, fallback_calibration=np.load(data)["x"])
    text = _check_cli(capsys, model, data)
    argmax, first = _agreements(text)
    assert argmax >= 99.0, text
    first_node = m.layers[0]
    if first_node.attrs.get("out") != "bits":
        return
    assert first is not None and first.group(1) == first_node.name, text
    assert float(first.group(2)) >= 99.9, text
    # the framework's own binarizer output, where the first layer's output is compared directly
    row = re.search(rf"layer {re.escape(first_node.name)}: activation bits agree ([\d.]+)%", text)
    if row:
        assert float(row.group(1)) >= 99.9, text
    kind = first_node.attrs["weight_kind"]
    if kind != "binary":  # a float first layer: int8 only when exact or harmless on the data
        assert kind.startswith("int16") or "flip" not in " ".join(m.notes), (kind, m.notes)


def test_torch_cnn_legacy_keeps_int16_weights(capsys, tmp_path):
    """The trained fixture with a real float first conv: int8 rounding could flip decisions on its data,
    so it keeps int16 weights; inspect says so; convert renders the int16 kernel; host C == golden."""
    model, data = FIXTURES / "torch_cnn_legacy.onnx", FIXTURES / "torch_cnn_legacy.npz"
    x = np.load(data)["x"]
    m = tinybnn.load(model, calibration=x)
    a = m.layers[0].attrs
    assert a["weights"].dtype == np.int16 and a["weight_kind"].startswith("int16")
    assert any("int16 weights" in n and "int8 rounding could flip" in n for n in m.notes), m.notes
    assert cli.main(["inspect", str(model), "--calibration", str(data)]) == 0
    out = capsys.readouterr().out
    assert "conv2d int8->bits, int16 weights" in out and "int8 rounding could flip" in out
    assert cli.main(["convert", str(model), "--calibration", str(data), "-o", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert "tb_conv2d_s8s16" in out and "note: layer '/0/Conv': int16 weights" in out
    r = codegen.prepare(m)
    assert r.specs[0].fn == "tb_conv2d_s8s16" and r.specs[0].arrays["weights"].ctype == "int16_t"
    assert "tb_kernels_s16.h" in r.files and b'#include "tb_kernels_s16.h"' in r.files["model.c"]
    q = m.quantize(x[:64])
    assert np.array_equal(hostc.run_c(m, q), m.run_quantized(q))
    # deterministic: the same data gives the same model
    assert codegen.prepare(tinybnn.load(model, calibration=x)).hash == r.hash


# ----------------------------------------------------------------------------- a user's model --------
def _float_first_cnn(seed=0, spread=30.0):
    """A PyTorch-like CNN on 8x8 digits: float 3x3 conv (weights of a wide range) + bias -> BatchNorm
    centred on the data -> Sign -> binary Gemm. Many first-layer decisions sit close to their threshold,
    where int8 weight rounding flips them."""
    rng = np.random.default_rng(seed)
    x = np.load(FIXTURES / "torch_cnn_legacy.npz")["x"].astype(np.float32)  # sklearn digits, 0..16
    C = 16
    w1 = rng.normal(0, 1, (C, 1, 3, 3))
    w1[:, 0, 1, 1] *= spread
    w1 = w1.astype(np.float32)
    b1 = rng.normal(0, 1, C).astype(np.float32)
    # pre-activations on the data, to centre the BatchNorm (a trained BN's running mean)
    xp = np.pad(x[:, 0].astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    z = np.zeros((len(x), C, 8, 8))
    for kh in range(3):
        for kw in range(3):
            z += w1[None, :, 0, kh, kw, None, None] * xp[:, None, kh:kh + 8, kw:kw + 8]
    z += b1[None, :, None, None]
    mu = np.median(z, axis=(0, 2, 3)).astype(np.float32)
    var = z.var(axis=(0, 2, 3)).astype(np.float32)
    w2 = rng.choice([-1.0, 1.0], (10, C * 64)).astype(np.float32)
    inits = [numpy_helper.from_array(v, n) for v, n in [
        (w1, "w1"), (b1, "b1"), (np.ones(C, np.float32), "g"), (np.zeros(C, np.float32), "be"), (mu, "mu"),
        (var, "var"), (w2, "w2")]]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
             helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["bn"]),
             helper.make_node("Sign", ["bn"], ["s1"]),
             helper.make_node("Flatten", ["s1"], ["f"]),
             helper.make_node("Gemm", ["f", "w2"], ["y"], transB=1)]
    io = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8]),
          helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])]
    model = helper.make_model(helper.make_graph(nodes, "float_first", io[:1], io[1:], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    return model, x


def test_float_first_layer_int8_flips_int16_keeps(tmp_path, monkeypatch):
    model, x = _float_first_cnn()
    path = tmp_path / "float_first.onnx"
    onnx.save(model, str(path))
    from tinybnn.check import check

    m = tinybnn.load(path, calibration=x)
    assert m.layers[0].attrs["weights"].dtype == np.int16
    rep = check(m, path, x)
    f = rep.first_layer
    assert f["weights"] == "int16" and f["input_flips"] == 0  # digits are on a grid: lossless int8 input
    assert f["bit_agreement"] >= 0.999 and rep.argmax_agreement >= 0.99, rep.text()
    assert dict(rep.layer_bit_agreement)[m.layers[0].name] >= 0.999

    # the same model forced to int8 weights (what tinybnn did before): decisions flip, the check sees it
    def int8_only(node, W2d, *args):
        q, s, exact = lower._int8_weights(W2d)
        return q, s, "int8 (quantized per output channel)", None

    monkeypatch.setattr(lower, "first_layer_weights", int8_only)
    m8 = tinybnn.load(path, calibration=x)
    rep8 = check(m8, path, x)
    assert rep8.first_layer["weights"] == "int8"
    assert rep8.first_layer["weight_flips"] > 0 and rep8.first_layer["bit_agreement"] < f["bit_agreement"]
    assert rep8.first_layer["weight_flips"] > 10 * max(1, f["weight_flips"]), (rep8.text(), rep.text())


def test_exact_int8_weights_stay_int8(tmp_path):
    """Weights that int8 holds exactly (small integers times a per-channel scale) keep the int8 kernel."""
    model, x = _float_first_cnn()
    w = numpy_helper.to_array(model.graph.initializer[0])
    rng = np.random.default_rng(3)
    q = rng.integers(-127, 128, w.shape).astype(np.float32)
    q[:, 0, 0, 0] = 127
    model.graph.initializer[0].CopyFrom(numpy_helper.from_array(q * np.float32(0.25), "w1"))
    path = tmp_path / "int_first.onnx"
    onnx.save(model, str(path))
    m = tinybnn.load(path, calibration=x)
    assert m.layers[0].attrs["weights"].dtype == np.int8 and m.layers[0].attrs["weight_kind"] == "int8"
    assert codegen.prepare(m).specs[0].fn == "tb_conv2d_s8s8"


def test_without_calibration_data_int8_with_a_note(tmp_path):
    model, x = _float_first_cnn()
    path = tmp_path / "float_first.onnx"
    onnx.save(model, str(path))
    m = tinybnn.load(path, input_scale=1.0, input_zero_point=-128)
    assert m.layers[0].attrs["weights"].dtype == np.int8
    assert any("not checked against calibration data" in n for n in m.notes), m.notes
    # the same flags with data: the data decides
    m2 = tinybnn.load(path, input_scale=1.0, input_zero_point=-128, calibration=x)
    assert m2.layers[0].attrs["weights"].dtype == np.int16


def test_int16_codes_cut_to_the_int32_bound_and_refused_beyond():
    """K * max|w| * max|x - zp| must fit int32: int16 codes shrink for long dot products; past int8's own
    bound the layer is refused in one line."""
    from tinybnn.ir.graph import Node

    node = Node("Gemm", "fc_first", [], [], {})
    rng = np.random.default_rng(5)
    O = 2

    def case(K):
        """Weights, a bias putting the first sample exactly on every threshold, and the data."""
        W = rng.normal(0, 1, (O, K))
        c = rng.integers(-128, 128, (3, K)).astype(np.float64)
        return W, [(np.ones(O), -(c[0] @ W.T))], (lambda: iter([c]))

    K = 4000
    W, after, cols = case(K)
    q, s, kind, note = lower.first_layer_weights(node, W, after, "0", 1.0, 255, K, cols)
    qmax = ((1 << 31) - 1) // (K * 255)
    assert q.dtype == np.int16 and int(np.abs(q).max()) == qmax and f"|w| <= {qmax}" in kind, (kind, note)
    assert K * qmax * 255 < (1 << 31)
    K = 70000
    W, after, cols = case(K)
    with pytest.raises(TinyBnnError, match=r"node 'fc_first' \(Gemm\): its int32 accumulator could overflow"):
        lower.first_layer_weights(node, W, after, "0", 1.0, 255, K, cols)


def test_input_rounding_is_measured(tmp_path):
    """Off-grid real inputs: the int8 input rounding flips some first-layer decisions; convert says how many
    (a note) and check reports them apart from the weight rounding."""
    from tinybnn.check import check

    model, x = _float_first_cnn()
    path = tmp_path / "float_first.onnx"
    onnx.save(model, str(path))
    xn = (x + np.random.default_rng(1).uniform(-0.5, 0.5, x.shape)).astype(np.float32)
    m = tinybnn.load(path, calibration=xn)
    note = next(n for n in m.notes if "input rounding flips" in n)
    flips = int(re.search(r"flips ([\d,]+) of", note).group(1).replace(",", ""))
    rep = check(m, path, xn)
    f = rep.first_layer
    assert f["input_flips"] == flips > 0 and 0.4 < f["input_error_steps"] <= 0.5 + 1e-9
    assert f["weights"] == "int16" and f["weight_flips"] < flips
    assert "input: int8, rounding error up to" in rep.text()
    # on the grid, the same model's input rounding is lossless: no note, no flips
    m2 = tinybnn.load(path, calibration=x)
    assert not any("input rounding" in n for n in m2.notes) and check(m2, path, x).first_layer["input_flips"] == 0


def _float_first_mlp(seed=2):
    """Flatten -> float Gemm 64->48 (+bias) -> BatchNorm centred on the data -> Sign -> binary Gemm 48->10."""
    rng = np.random.default_rng(seed)
    x = np.load(FIXTURES / "torch_mlp_legacy.npz")["x"].astype(np.float32)
    F, H = 64, 48
    w1 = rng.normal(0, 1, (H, F)) * np.where(rng.random((H, F)) < 0.1, 25.0, 1.0)
    w1 = w1.astype(np.float32)
    b1 = rng.normal(0, 1, H).astype(np.float32)
    z = x.reshape(len(x), -1).astype(np.float64) @ w1.T.astype(np.float64) + b1
    mu, var = np.median(z, axis=0).astype(np.float32), z.var(axis=0).astype(np.float32)
    w2 = rng.choice([-1.0, 1.0], (10, H)).astype(np.float32)
    inits = [numpy_helper.from_array(v, n) for v, n in [
        (w1, "w1"), (b1, "b1"), (np.ones(H, np.float32), "g"), (np.zeros(H, np.float32), "be"), (mu, "mu"),
        (var, "var"), (w2, "w2")]]
    nodes = [helper.make_node("Flatten", ["x"], ["f"]),
             helper.make_node("Gemm", ["f", "w1", "b1"], ["h"], transB=1),
             helper.make_node("BatchNormalization", ["h", "g", "be", "mu", "var"], ["bn"]),
             helper.make_node("Sign", ["bn"], ["s1"]),
             helper.make_node("Gemm", ["s1", "w2"], ["y"], transB=1)]
    io = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8]),
          helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])]
    model = helper.make_model(helper.make_graph(nodes, "float_first_mlp", io[:1], io[1:], inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    return model, x


def test_float_first_dense_keeps_int16_weights(tmp_path):
    from tinybnn.check import check

    model, x = _float_first_mlp()
    path = tmp_path / "float_first_mlp.onnx"
    onnx.save(model, str(path))
    m = tinybnn.load(path, calibration=x)
    assert m.layers[0].op == "tb.Dense" and m.layers[0].attrs["weights"].dtype == np.int16
    rep = check(m, path, x)
    assert rep.first_layer["bit_agreement"] >= 0.999 and rep.argmax_agreement >= 0.99, rep.text()
    r = codegen.prepare(m)
    assert r.specs[0].fn == "tb_dense_s8s16"
    q = m.quantize(x[:64])
    assert np.array_equal(hostc.run_c(m, q), m.run_quantized(q))
