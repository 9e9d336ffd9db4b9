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
            "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "RESHAPE", "MUL", "ADD"} <= ops


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
    ("lce_cnn", 2, "fused_activation_function", 1, r"operator 2 \(LceBconv2d\): has the fused activation 1"),
    ("lce_cnn", 2, "pad_values", 2, r"operator 2 \(LceBconv2d\): pad_values 2; supported: 0 or 1"),
    ("lce_cnn", 2, "channels_in", 17, r"operator 2 \(LceBconv2d\): channels_in 17 .* groups = 1"),
    ("lce_bitpacked", 2, "pad_values", 0, r"operator 2 \(LceBconv2d\): writes bitpacked output with zero padding"),
    ("lce_bitpacked", 3, "stride_height", 0, r"operator 3 \(LceBMaxPool2d\): .*sizes >= 1"),
])
def test_unsupported_options_are_one_line(tmp_path, name, k, key, value, match):
    """LCE's FlexBuffer options are read: what tinybnn cannot convert exactly is refused in one line."""
    with pytest.raises(TinyBnnError, match=match) as e:
        float_graph(_patch_options(tmp_path, name, k, key, value))
    assert "\n" not in str(e.value)


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
