"""Larq's pooled-BN order: conv -> MaxPool on the real-valued conv output -> BatchNorm -> (Flatten ->) sign.

The pool moves across the threshold: a BatchNorm is monotonic per channel, so sign(BN(max y)) is the max of the
signs (a bit AND, bit 1 = -1) where the channel's scale is positive and their min (a bit OR) where it is
negative. Random graphs in that order, with mixed and all-negative gammas, odd maps pooled in floor mode and
both flatten spellings (ONNX Flatten, tf2onnx's NHWC Transpose + Reshape), are compared with an independent
float64 execution (tests/onnx_rand.py) on every activation bit and on the outputs, and with the generated C.
"""

from pathlib import Path

import numpy as np
import pytest
from onnx import numpy_helper

import tinybnn
from onnx_rand import Builder, execute
from tinybnn.backend import hostc
from tinybnn.ir.bits import unpack_bits

SEEDS = list(range(24))
FIX = Path(__file__).parent / "fixtures"


def _bn(b, t, c, gamma_sign, x):
    """A BatchNorm whose mean sits inside the pooled values the samples produce, so both signs occur."""
    r = b.rng
    pooled = execute(b.model(t), x)
    mean = np.quantile(pooled, r.uniform(0.3, 0.7, c), axis=(0, 2, 3)).diagonal() + r.uniform(-0.1, 0.1, c)
    g = r.uniform(0.5, 1.5, c) * gamma_sign
    return b.node("BatchNormalization", [t, b.const(g), b.const(r.normal(0, 0.05, c)), b.const(mean),
                                         b.const(r.uniform(0.5, 20, c))], epsilon=1e-3)


def pooled_bn_cnn(seed):
    """conv -> MaxPool (floor mode, often an odd map) -> BN -> [flatten] -> sign, one or two times, then a dense
    output layer with a Mul+Add BN. Returns (model, x, expected device-order reference per binary tensor)."""
    r = np.random.default_rng([7, seed])
    C, H, W = int(r.integers(1, 4)), int(r.integers(7, 12)), int(r.integers(7, 12))
    b = Builder(r, (C, H, W))
    x = (r.integers(0, 17, size=(24, C, H, W)) / 16.0).astype(np.float32)
    style = ("larq", "where", "sign")[seed % 3]
    t, c_in, shape = "x", C, (H, W)
    refs = []  # (onnx tensor name, how to bring it to the device's HWC / flattened-HWC order)
    n_conv = 1 + seed % 2
    for i in range(n_conv):
        O = int(r.choice([3, 8, 32, 33]))
        k = min(int(r.choice([1, 2, 3])), *shape)
        pads = [0, 0, 0, 0] if r.integers(0, 2) else [k // 2] * 4
        t = b.node("Conv", [t, b.const(b.binary_weight((O, c_in, k, k)))], pads=pads)
        shape = (shape[0] + pads[0] + pads[2] - k + 1, shape[1] + pads[1] + pads[3] - k + 1)
        pk = min(int(r.choice([2, 3])), *shape)
        ps = int(r.choice([1, 2, pk]))
        pp = [0, 0, 0, 0] if r.integers(0, 3) else [int(v) for v in r.integers(0, pk, 4)]
        t = b.node("MaxPool", [t], kernel_shape=[pk, pk], strides=[ps, ps], pads=pp)
        shape = ((shape[0] + pp[0] + pp[2] - pk) // ps + 1, (shape[1] + pp[1] + pp[3] - pk) // ps + 1)
        # gamma signs: all negative for some seeds, mixed otherwise (and at least one of each then)
        sign = -np.ones(O) if seed % 4 == 1 else np.where(r.random(O) < 0.5, -1.0, 1.0)
        if seed % 4 != 1:
            sign[0], sign[-1] = -1.0, 1.0
        t = _bn(b, t, O, sign, x)
        last = i == n_conv - 1
        if last:
            if (seed // 2) % 2:  # tf2onnx: NHWC Transpose + Reshape
                t = b.node("Transpose", [t], perm=[0, 2, 3, 1])
                dims = b.name("dims")
                b.inits.append(numpy_helper.from_array(np.array([-1, O * shape[0] * shape[1]], np.int64), dims))
                t = b.node("Reshape", [t, dims])
                order = "hwc"
            else:
                t = b.node("Flatten", [t], axis=1)
                order = "chw"
        else:
            order = "nchw"
        t = b.binarize(t, style)
        refs.append((t, order, (O,) + shape))
        c_in = O
    F = c_in * shape[0] * shape[1]
    t = b.node("Gemm", [t, b.const(b.binary_weight((10, F)))], transB=1)
    t = b.node("Add", [b.node("Mul", [t, b.const(r.uniform(0.05, 0.2, 10))]), b.const(r.normal(0, 1, 10))])
    return b.model(t), x, refs


def _device_bits(t, order, chw):
    """The float model's binarized tensor as device bits (bit 1 = -1), HWC order (flattened as the device does)."""
    N = t.shape[0]
    C, H, W = chw
    if order == "nchw":
        return (t < 0).transpose(0, 2, 3, 1)
    if order == "chw":
        return (t < 0).reshape(N, C, H, W).transpose(0, 2, 3, 1).reshape(N, -1)
    return (t < 0).reshape(N, -1)  # already (h, w, c)


def _load(seed, tmp_path):
    model, x, refs = pooled_bn_cnn(seed)
    path = tmp_path / f"poolbn{seed}.onnx"
    path.write_bytes(model.SerializeToString())
    return tinybnn.load(path, calibration=x), model, x, refs


def _pool_layers(m):
    return [n for n in m.layers if n.op == "tb.MaxPool"]


def _gammas(model):
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    return [inits[n.input[1]] for n in model.graph.node if n.op_type == "BatchNormalization"]


def _bits_of(outs, n, like):
    return unpack_bits(outs[n.name].data, n.attrs["out_shape"][-1]).reshape(like.shape)


@pytest.mark.parametrize("seed", SEEDS)
def test_pooled_bn_exact(seed, tmp_path):
    m, model, x, refs = _load(seed, tmp_path)
    ref, env = execute(model, x, keep=True)
    np.testing.assert_allclose(m.predict(x), ref, rtol=1e-5, atol=1e-4, err_msg=f"seed {seed}")
    pools = _pool_layers(m)
    assert len(pools) == len(refs) == len(_gammas(model))
    outs = {o.name: o for o in m.run_layers(x)}
    for pool, (name, order, chw), gamma in zip(pools, refs, _gammas(model)):
        want = _device_bits(env[name], order, chw)
        got = _bits_of(outs, pool, want)
        assert np.array_equal(got, want), f"seed {seed}: pool {pool.name} differs from the float model"
        assert np.array_equal(pool.attrs["or_mask"], gamma < 0)  # min after a decreasing BN: OR of bits
        assert 0 < want.mean() < 1  # both signs occur


def test_negative_gammas_need_the_or(tmp_path):
    """Pooling with AND on every channel (as if max commuted with a decreasing BN) breaks the bits: the
    negative-gamma channels are really exercised."""
    broken = 0
    for seed in (1, 2, 5):
        m, model, x, refs = _load(seed, tmp_path)
        _, env = execute(model, x, keep=True)
        pool = _pool_layers(m)[-1]
        name, order, chw = refs[-1]
        want = _device_bits(env[name], order, chw)
        pool.attrs["or_mask"] = np.zeros_like(pool.attrs["or_mask"])
        got = _bits_of({o.name: o for o in m.run_layers(x)}, pool, want)
        broken += not np.array_equal(got, want)
    assert broken == 3


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_pooled_bn_host_c(seed, tmp_path):
    m, _, x, _ = _load(seed, tmp_path)
    q = m.quantize(x)
    c = hostc.run_c_layers(m, q)
    g = m.run_layers(x)
    assert [a.name for a in c] == [b.name for b in g]
    for a, b in zip(c, g):
        assert np.array_equal(a.data, b.data), f"seed {seed}: layer {a.name}: C != golden"


def test_larq_pool_bn_fixture_layers():
    """The Larq fixture in Larq's order: the 7x7 conv map pooled to 3x3 (floor), OR exactly on the channels
    whose trained gamma is negative, the dense layer reading the flattened 3x3x32 pooled map (its bits and
    outputs are compared with onnxruntime in test_fixtures.py, with the C in test_codegen.py, on the emulated
    boards in test_build.py and test_validate.py)."""
    import onnx

    x = np.load(FIX / "larq_pool_bn.npz")["x"]
    m = tinybnn.load(FIX / "larq_pool_bn.onnx", calibration=x)
    assert [n.op for n in m.layers] == ["tb.Conv2d", "tb.Conv2d", "tb.MaxPool", "tb.Dense"]
    pool = m.layers[2]
    assert pool.attrs["in_shape"] == (7, 7, 32) and pool.attrs["out_shape"] == (3, 3, 32)
    (gamma,) = _gammas(onnx.load(FIX / "larq_pool_bn.onnx"))
    assert 0 < (gamma < 0).sum() < len(gamma)
    assert np.array_equal(pool.attrs["or_mask"], gamma < 0)
    assert m.layers[3].attrs["in_shape"] == (9, 32)


@pytest.mark.parametrize("pool", [True, False])
@pytest.mark.parametrize("scale,bias", [(2.0, 0.0), (-1.5, 0.0), (-1.5, 0.25)])
def test_per_tensor_affine_after_the_flatten(pool, scale, bias, tmp_path):
    """conv -> [MaxPool ->] BN -> Flatten -> Mul/Add by one constant -> sign: the constant applies to every
    channel; a negative one turns every channel's pool into the other of AND/OR."""
    r = np.random.default_rng(3)
    C, H, W, O = 2, 9, 9, 8
    b = Builder(r, (C, H, W))
    x = (r.integers(0, 17, size=(24, C, H, W)) / 16.0).astype(np.float32)
    t = b.node("Conv", ["x", b.const(b.binary_weight((O, C, 2, 2)))], strides=[1, 1] if pool else [2, 2])
    if pool:
        t = b.node("MaxPool", [t], kernel_shape=[2, 2], strides=[2, 2])
    gamma_sign = np.where(np.arange(O) % 2, -1.0, 1.0)
    t = _bn(b, t, O, gamma_sign, x)
    t = b.node("Flatten", [t], axis=1)
    t = b.node("Add", [b.node("Mul", [t, b.const(scale)]), b.const(bias)])
    s = b.binarize(t, "larq")
    t = b.node("Gemm", [s, b.const(b.binary_weight((10, O * 16)))], transB=1)
    model = b.model(t)
    path = tmp_path / "affine.onnx"
    path.write_bytes(model.SerializeToString())
    m = tinybnn.load(path, calibration=x)
    ref, env = execute(model, x, keep=True)
    np.testing.assert_allclose(m.predict(x), ref, rtol=1e-5, atol=1e-4)
    last = m.layers[-2]
    want = _device_bits(env[s], "chw", (O, 4, 4))
    got = _bits_of({o.name: o for o in m.run_layers(x)}, last, want)
    assert np.array_equal(got, want) and 0 < want.mean() < 1
    if pool:
        assert np.array_equal(last.attrs["or_mask"], (gamma_sign * scale) < 0)
