"""Real-valued (int8) streams: residual adds, average pools, RSign/RPReLU, full-precision convs on a stream.

The lowering against onnxruntime on random Bi-Real/ReActNet-style networks (tests/resnets.py), the
requantization rule, the exactness of the stream binarizer's thresholds, and the refusals.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import tinybnn
from resnets import bireal_onnx, inputs
from tinybnn.check import check
from tinybnn.errors import TinyBnnError
from tinybnn.ir.layers import ADD, AVGPOOL, BINARIZE, CONCAT, MAXPOOL, PRELU, out_dtype
from tinybnn.ir.requant import affine_constants, requantize, shared_shift_constants

VARIANTS = [dict(), dict(rsign=True), dict(rprelu=True), dict(rsign=True, rprelu=True, C=20),
            dict(down=False, C=33), dict(rsign=True, rprelu=True, concat=True), dict(maxpool=True, C=12),
            dict(xnor_in_graph=True)]


def _ort(path, x):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]


@pytest.mark.parametrize("i", range(len(VARIANTS)))
def test_residual_networks_agree_with_onnxruntime(tmp_path, i):
    kw = VARIANTS[i]
    p = bireal_onnx(tmp_path / "m.onnx", seed=i, **kw)
    x = inputs(300, seed=100 + i)
    m = tinybnn.load(p, calibration=x)
    ops = {n.op for n in m.layers}
    assert {ADD, BINARIZE, AVGPOOL} <= ops  # the global average pool at least
    assert (CONCAT in ops) == bool(kw.get("concat")) and (MAXPOOL in ops) == bool(kw.get("maxpool"))
    assert (PRELU in ops) == bool(kw.get("rprelu"))
    assert not m.is_chain
    y, ref = m.predict(x), _ort(p, x)
    agree = float(np.mean(y.argmax(1) == ref.argmax(1)))
    # untrained random weights: small logit margins (a median top-2 gap of 4% of the largest logit) and inputs near thresholds, so the
    # int8 streams' rounding moves some argmaxes; the trained fixtures hold the >= 99% agreement
    assert agree >= 0.65, agree
    rel = np.abs(y - ref).max() / np.abs(ref).max()
    assert rel < 0.25, rel
    rep = check(m, p, x)
    assert rep.stream_error and all(0 <= f <= 1 for _, f, _, _ in rep.stream_error)
    # the stem conv's int8 stream (nothing binarized before it): only its int8 weights' and its output's
    # rounding, within two steps of the float model everywhere
    name, within_one, worst, _ = rep.stream_error[0]
    assert name == m.layers[0].name and within_one >= 0.99 and worst < 2.0, rep.text()


def test_every_stream_layer_is_int8_and_the_layer_outputs_chain_up(tmp_path):
    p = bireal_onnx(tmp_path / "m.onnx", seed=3, rsign=True, rprelu=True)
    x = inputs(50)
    m = tinybnn.load(p, calibration=x)
    outs = m.run_layers(x)[1:]
    for n, o in zip(m.layers, outs):
        want = {"bits": np.uint32, "int8": np.int8, "int32": np.int32}[out_dtype(n)]
        assert o.data.dtype == want, (n.name, o.data.dtype)
    assert out_dtype(m.layers[-1]) == "int32"


def test_requantization_is_round_half_up_of_the_real_affine():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a = rng.uniform(-3, 3, 5) * 10.0 ** rng.integers(-6, 1)
        b = rng.uniform(-200, 200, 5)
        vmax = int(rng.integers(1, 2**24))
        m, o, s = affine_constants(a, b, vmax)
        v = rng.integers(-vmax, vmax + 1, (400, 5))
        y = requantize(v, m, o, s)
        ref = np.clip(np.floor(v * a + b + 0.5), -128, 127)
        # the constants carry >= 2^-30 relative precision: only values within that of a rounding tie can differ
        near_tie = np.abs((v * a + b + 0.5) - np.round(v * a + b + 0.5)) < 1e-6 * (1 + np.abs(v * a))
        assert np.all((y == ref) | near_tie)
        assert np.all(np.abs(v.astype(object) * m.astype(object)) + np.abs(o.astype(object)) < 2**62)


def test_requantization_saturates_and_never_overflows_int64():
    m, o, s = affine_constants(np.array([1000.0, -1000.0]), np.array([0.0, 0.0]), 2**31 - 1)
    v = np.array([[2**31 - 1, 2**31 - 1], [-(2**31), -(2**31)]], np.int64)
    assert requantize(v, m, o, s).tolist() == [[127, -128], [-128, 127]]
    (ma, mb), off, sh = shared_shift_constants([0.5, 0.25], 3.0, [128, 128])
    assert int(requantize(np.int64(100 * int(ma) + 40 * int(mb)), 1, off, sh)) == 63  # 50 + 10 + 3


def test_the_stream_binarizer_decides_exactly_as_the_float_chain(tmp_path):
    """Every code of every channel: the thresholds equal sign(chain(code)) of the float graph."""
    p = bireal_onnx(tmp_path / "m.onnx", seed=5, rsign=True, rprelu=True, C=40)
    m = tinybnn.load(p, calibration=inputs(200))
    from tinybnn.ir.golden import binarize_s8
    from tinybnn.ir.bits import unpack_bits

    binz = [n for n in m.layers if n.op == BINARIZE]
    assert binz
    for n in binz:
        C = n.attrs["in_shape"][-1]
        codes = np.arange(-128, 128, dtype=np.int8)
        x = np.repeat(codes[:, None], C, axis=1)  # (256, C): every code on every channel
        bits = unpack_bits(binz_out := binarize_s8(x, n.attrs), C)
        assert binz_out.dtype == np.uint32
        tau, flip = n.attrs["thresholds"].astype(np.int64), n.attrs["flip"]
        a = np.where(flip, ~x.astype(np.int64), x.astype(np.int64))
        assert np.array_equal(bits, a < tau)


def test_refusals_are_one_line(tmp_path):
    # count_include_pad=0 with padding: windows of different sizes, refused in one line
    p = bireal_onnx(tmp_path / "m.onnx", seed=0)
    mp = onnx.load(p)
    for n in mp.graph.node:
        if n.op_type == "AveragePool":  # 3x3, stride 2, pads 1: the same 4x4 output
            del n.attribute[:]
            n.attribute.extend([onnx.helper.make_attribute("kernel_shape", [3, 3]),
                                onnx.helper.make_attribute("strides", [2, 2]),
                                onnx.helper.make_attribute("pads", [1, 1, 1, 1])])
    bad = tmp_path / "pad.onnx"
    onnx.save(mp, bad)
    with pytest.raises(TinyBnnError, match="count_include_pad"):
        tinybnn.load(bad, calibration=inputs(20))
    # a stream is quantized from data: without it the model loads (inspect works) but does not run
    m = tinybnn.load(p, input_scale=1 / 16, input_zero_point=-128)
    assert m.streams_need_calibration
    with pytest.raises(TinyBnnError, match="residual stream.*calibration data"):
        m.run(inputs(2))


def test_cli_check_on_a_residual_model(tmp_path):
    p = bireal_onnx(tmp_path / "m.onnx", seed=2, rsign=True)
    x = inputs(80)
    np.savez(tmp_path / "d.npz", x=x, labels=_ort(p, x).argmax(1))
    r = subprocess.run([sys.executable, "-m", "tinybnn", "check", str(p), "--data", str(tmp_path / "d.npz")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "stream, " in r.stdout and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "tinybnn", "inspect", str(p)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "real-valued streams: int8, need calibration" in r.stdout and "add int8 (residual)" in r.stdout or "add int16 (residual)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "tinybnn", "convert", str(p), "-o", str(tmp_path / "out"),
                        "--input-scale", "0.0625", "--input-zero-point", "-128"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "residual stream" in r.stderr and not (tmp_path / "out").exists()


@pytest.mark.parametrize("i", range(len(VARIANTS)))
def test_host_c_equals_golden_on_int8_streams(tmp_path, i):
    """The rendered C (reference kernels) on the host: every output equal to the golden model's."""
    from tinybnn.backend import hostc

    p = bireal_onnx(tmp_path / "m.onnx", seed=10 + i, **VARIANTS[i])
    x = inputs(48, seed=7)
    m = tinybnn.load(p, calibration=x, stream_bits=8)
    q = m.quantize(x)
    np.testing.assert_array_equal(hostc.run_c(m, q, sanitize=(i == 3)), m.run_quantized(q))
    if i == 3:  # every layer's output, through the hook: int8 streams and bits alike
        for c, g in zip(hostc.run_c_layers(m, q[:8]), m.run_layers_quantized(q[:8])):
            assert c.name == g.name and np.array_equal(c.data, g.data), c.name


@pytest.mark.parametrize("board", ["qemu-m4", "qemu-rv32zbb"])
def test_validate_a_residual_network_on_emulated_boards(tmp_path, board):
    """The whole pipeline on an emulated board with its optimized kernel family: bit-exact on every sample."""
    p = bireal_onnx(tmp_path / "m.onnx", seed=4, rsign=True, rprelu=True, C=20)
    x = inputs(24)
    np.savez(tmp_path / "d.npz", x=x, labels=_ort(p, x).argmax(1))
    r = subprocess.run([sys.executable, "-m", "tinybnn", "validate", str(p), "--data", str(tmp_path / "d.npz"),
                        "--board", board, "--stream-bits", "8", "--build-dir", str(tmp_path / "build"),
                        "--results", str(tmp_path / "r.jsonl")],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "bit-exact: 24/24 outputs equal to the golden model" in r.stdout, r.stdout


def test_validate_names_the_first_differing_layer_of_a_residual_network(tmp_path):
    """validate's localization on a DAG with streams: the device's per-layer dumps (here: the rendered C on the
    host, through the same hook) against a golden model whose residual add was changed after the firmware was
    built: the add is named, not a layer scheduled before it nor one after it."""
    import copy

    from tinybnn.backend import hostc
    from tinybnn.device.validate import _first_differing_layer

    p = bireal_onnx(tmp_path / "m.onnx", seed=6, rsign=True, rprelu=True, concat=True)
    x = inputs(4)
    m = tinybnn.load(p, calibration=x, stream_bits=8)
    q = m.quantize(x)
    dumps = [np.ascontiguousarray(o.data[0]).tobytes() for o in hostc.run_c_layers(m, q[:1])[1:]]
    assert _first_differing_layer(m, dumps, q[0]).startswith("(none")
    adds = [i for i, n in enumerate(m.layers) if n.op == ADD]
    k = adds[1]
    wrong = copy.deepcopy(m)
    ma, mb, off, sh = wrong.layers[k].attrs["requant"]
    wrong.layers[k].attrs["requant"] = (ma, mb, off + (40 << sh), sh)  # 40 codes off
    assert _first_differing_layer(wrong, dumps, q[0]) == m.layers[k].name
