"""Grouped and depthwise convolutions (DS-CNN, MobileNet-style BNNs): binary depthwise-separable blocks.

The lowering against onnxruntime on random DS-CNNs (tests/resnets.py), chain and stream heads, depthwise
(group = C) and grouped (group = 4); the C kernels against golden.
"""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import tinybnn
from resnets import dscnn_onnx, inputs

CASES = [dict(), dict(group=4), dict(classes_from_stream=False), dict(C=40), dict(C=12, blocks=3)]


def _ort(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]


@pytest.mark.parametrize("i", range(len(CASES)))
def test_dscnn_agrees_with_onnxruntime(tmp_path, i):
    kw = CASES[i]
    p = dscnn_onnx(tmp_path / "m.onnx", seed=i, **kw)
    x = inputs(200, seed=30 + i)
    m = tinybnn.load(p, calibration=x)
    kinds = [r["kind"] for r in m.layer_table()]
    G = kw.get("group", kw.get("C", 16))
    want = "depthwise conv2d" if "group" not in kw else f"conv2d ({G} groups)"
    assert sum(k.startswith(want) for k in kinds) == kw.get("blocks", 2), kinds
    y, ref = m.predict(x), _ort(p, x)
    assert np.mean(y.argmax(1) == ref.argmax(1)) >= 0.97
    if not kw.get("classes_from_stream", True):  # binary after the stem: the float outputs themselves, up to
        # the stem's weight rounding (int16 where int8 could flip a sign) flipping a rare near-zero decision
        close = np.all(np.isclose(y, ref, rtol=1e-4, atol=1e-4), axis=1)
        assert close.mean() >= 0.99, close.mean()


def test_group_must_divide_the_channels(tmp_path):
    import onnx

    p = dscnn_onnx(tmp_path / "m.onnx", seed=0, group=4)
    m = onnx.load(p)
    for n in m.graph.node:
        if n.op_type == "Conv":
            for at in n.attribute:
                if at.name == "group" and at.i == 4:
                    at.i = 3
    bad = tmp_path / "bad.onnx"
    onnx.save(m, bad)
    with pytest.raises(tinybnn.TinyBnnError, match="group"):
        tinybnn.load(bad, calibration=inputs(8))


@pytest.mark.parametrize("i", range(len(CASES)))
def test_host_c_equals_golden(tmp_path, i):
    from tinybnn.backend import hostc

    p = dscnn_onnx(tmp_path / "m.onnx", seed=20 + i, **CASES[i])
    x = inputs(48, seed=3)
    m = tinybnn.load(p, calibration=x)
    q = m.quantize(x)
    np.testing.assert_array_equal(hostc.run_c(m, q, sanitize=(i == 1)), m.run_quantized(q))


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-rv32zbb"])
def test_validate_a_dscnn_on_emulated_boards(tmp_path, board):
    import subprocess
    import sys

    p = dscnn_onnx(tmp_path / "m.onnx", seed=5, C=24)
    x = inputs(24)
    np.savez(tmp_path / "d.npz", x=x, labels=_ort(p, x).argmax(1))
    r = subprocess.run([sys.executable, "-m", "tinybnn", "validate", str(p), "--data", str(tmp_path / "d.npz"),
                        "--board", board, "--build-dir", str(tmp_path / "build"), "--results", str(tmp_path / "r.jsonl")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "bit-exact: 24/24 outputs equal to the golden model" in r.stdout, r.stdout
