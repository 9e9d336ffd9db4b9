"""The golden model's fast paths against a slow, obviously-correct reference of the same layer semantics.

The reference below (kept here, not in the package) unpacks every bit to a +-1 integer, pads with the
layer's padding value, loops over the taps and sums in int64 — the contract of tinybnn/layers.py read
literally. golden.py computes the same layers with packed words, popcount bounds, BLAS matmuls, strided
im2col views, batch chunks and cached per-node constants; every output word must be equal.

Random layers come from tests/randmodels.py (paddings zero/one/minus-one, strides, dilations, channel counts
off multiples of 32, flips, clamped thresholds, int8 and binary first layers, int32 outputs) plus int16
weights near the int32 bound, long binary dot products, and tiny chunk/tile sizes that split batches and
tiles at every boundary.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from randmodels import LAYER_KINDS, random_layer_case, set_thresholds
from tinybnn.ir import golden
from tinybnn.ir.bits import pack_bits, pack_pm1, unpack_bits
from tinybnn.ir.graph import Node


# ------------------------------------------------------------------------------- slow reference --
def _pm1(bits_packed, n):
    return np.where(unpack_bits(bits_packed, n), -1, 1).astype(np.int64)


def _pad(x, pads, value):
    t, l, b, r = pads
    out = np.full((x.shape[0], x.shape[1] + t + b, x.shape[2] + l + r, x.shape[3]), value, dtype=np.int64)
    out[:, t:t + x.shape[1], l:l + x.shape[2]] = x
    return out


def _conv_ref(v, w, a):
    """v: padded int64 (N, Hp, Wp, C); w: int64 (O, KH, KW, C) -> int64 (N, OH, OW, O), tap by tap."""
    KH, KW = a["kernel"]
    sh, sw = a["stride"]
    dh, dw = a.get("dilation", (1, 1))
    OH, OW, O = a["out_shape"]
    acc = np.zeros((v.shape[0], OH, OW, O), np.int64)
    for kh in range(KH):
        for kw in range(KW):
            r0, c0 = kh * dh, kw * dw
            tap = v[:, r0:r0 + (OH - 1) * sh + 1:sh, c0:c0 + (OW - 1) * sw + 1:sw, :]
            acc += np.einsum("nhwc,oc->nhwo", tap, w[:, kh, kw, :])
    return acc


def _accumulators_ref(node, x):
    a = node.attrs
    w = a["weights"].astype(np.int64)
    if node.op == "tb.Conv2d":
        H, W, C = a["in_shape"]
        if a["in_dtype"] == "bits":
            v = _pm1(x, C)
            pad = {"zero": 0, "one": 1, "minus-one": -1}[a["pad"]]
        else:
            v = x.astype(np.int64) - int(a["input_zero_point"])
            pad = 0
        return _conv_ref(_pad(v, a["pads"], pad), w, a)
    P, C = a["in_shape"]
    if a["in_dtype"] == "bits":
        v = _pm1(x.reshape(x.shape[0], P, -1), C).reshape(x.shape[0], -1)
    else:
        v = x.reshape(x.shape[0], -1).astype(np.int64) - int(a["input_zero_point"])
    return v @ w.reshape(w.shape[0], -1).T


def _maxpool_ref(x, a):
    H, W, C = a["in_shape"]
    OH, OW, _ = a["out_shape"]
    KH, KW = a["kernel"]
    sh, sw = a["stride"]
    t, l, b, r = a["pads"]
    v = _pm1(x, C)
    out = np.empty((x.shape[0], OH, OW, C), np.int64)
    for i in range(OH):
        for j in range(OW):
            rows = [i * sh + k - t for k in range(KH) if 0 <= i * sh + k - t < H]
            cols = [j * sw + k - l for k in range(KW) if 0 <= j * sw + k - l < W]
            win = v[:, rows][:, :, cols].reshape(x.shape[0], -1, C)
            out[:, i, j] = np.where(a["or_mask"], win.min(axis=1), win.max(axis=1))  # OR of bits = min of +-1
    return pack_bits(out < 0)


def reference(node, x):
    """The layer's output in device representation, computed literally from layers.py."""
    a = node.attrs
    if node.op == "tb.MaxPool":
        return _maxpool_ref(x, a)
    acc = _accumulators_ref(node, x)
    if a["out"] == "int32":
        assert np.all((acc >= -(2**31)) & (acc < 2**31))
        return acc.astype(np.int32)
    ap = np.where(a["flip"], -acc - 1, acc)  # ~acc
    return pack_bits(ap < a["thresholds"].astype(np.int64))


def _check(node, x, where):
    want = reference(node, x)
    got = golden.run_layer(node, x)
    assert got.dtype == want.dtype and got.shape == want.shape, f"{where}: {got.dtype}{got.shape} != {want.dtype}{want.shape}"
    if not np.array_equal(got, want):
        bad = tuple(np.argwhere(got != want)[0])
        pytest.fail(f"{where}: golden {got[bad]} != reference {want[bad]} at {bad}; {node.op} "
                    + ", ".join(f"{k}={node.attrs[k]}" for k in ("in_dtype", "in_shape", "out_shape", "kernel",
                                                                 "stride", "dilation", "pads", "pad", "out")
                                if k in node.attrs))


# ------------------------------------------------------------------------------------- cases --
def int16_case(rng, kind):
    """An int8-input layer with int16 weights at codes up to the int32 bound (the float64 path)."""
    node, x = random_layer_case(rng, 5, kind)
    a = node.attrs
    K = int(np.prod(a["weights"].shape[1:]))
    qmax = min(32767, ((1 << 31) - 1) // (K * (128 + abs(int(a["input_zero_point"])))))
    a["weights"] = rng.integers(-qmax, qmax + 1, size=a["weights"].shape).astype(np.int16)
    a["weight_kind"] = "int16 (quantized per output channel)"
    if a["out"] == "bits":
        set_thresholds(rng, node, x)
    return node, x


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_random_layers_equal_reference(kind):
    k = LAYER_KINDS.index(kind)
    for i in range(120):
        rng = np.random.default_rng([7101, k, i])
        node, x = random_layer_case(rng, int(rng.integers(1, 7)), kind)
        _check(node, x, f"seed [7101, {k}, {i}]")


@pytest.mark.parametrize("kind", ["conv_s8s8", "dense_s8s8"])
def test_int16_weights_equal_reference(kind):
    for i in range(60):
        rng = np.random.default_rng([7102, len(kind), i])
        node, x = int16_case(rng, kind)
        _check(node, x, f"seed [7102, {len(kind)}, {i}]")


def test_long_binary_dot_products():
    """K past the uint8 and uint16 popcount counters (255, 65535 bits)."""
    rng = np.random.default_rng(7103)
    for P, C, O in [(1, 254, 9), (1, 255, 9), (3, 100, 5), (1, 65534, 3), (1, 65535, 3), (2, 40000, 2)]:
        w = np.where(rng.random((O, P, C)) < 0.5, -1, 1).astype(np.int8)
        x = pack_bits(rng.random((4, P, C)) < 0.5).reshape(4, -1)
        for out in ("int32", "bits"):
            a = {"in_dtype": "bits", "weights": w, "weight_kind": "binary", "in_shape": (P, C), "out_shape": (O,),
                 "out": out, "packed": pack_pm1(w)}
            node = Node("tb.Dense", "long", [], [], a)
            if out == "bits":
                set_thresholds(rng, node, x)
            _check(node, x, f"dense P={P} C={C} O={O} {out}")


def test_chunks_and_tiles_split_everywhere(monkeypatch):
    """Tiny chunk and tile sizes: batches split into many chunks, tiles end mid-batch; same words."""
    monkeypatch.setattr(golden, "TEMP_BYTES", 3000)
    monkeypatch.setattr(golden, "TILE_COLS", 7)
    for k, kind in enumerate(LAYER_KINDS):
        for i in range(25):
            rng = np.random.default_rng([7104, k, i])
            node, x = random_layer_case(rng, int(rng.integers(3, 12)), kind)
            _check(node, x, f"seed [7104, {k}, {i}] (small chunks)")


def test_cached_constants_follow_attrs():
    """The per-node constants are rebuilt when thresholds, flips or weights change, in place or replaced."""
    for k, kind in enumerate(("conv_b1b1", "conv_s8b1", "dense_b1b1", "dense_s8s8")):
        rng = np.random.default_rng([7105, k])
        while True:
            node, x = random_layer_case(rng, 6, kind)
            if node.attrs["out"] == "bits":
                break
        a = node.attrs
        _check(node, x, f"{kind} first run")
        a["thresholds"][:] = rng.permutation(a["thresholds"])  # in place
        _check(node, x, f"{kind} thresholds changed in place")
        a["flip"] = ~a["flip"]  # replaced
        _check(node, x, f"{kind} flips replaced")
        a["weights"][...] = -a["weights"]  # in place, and its packed copy with it
        if "packed" in a:
            w = a["weights"]
            a["packed"][...] = pack_pm1(w) if a["in_dtype"] == "bits" else pack_pm1(w.reshape(w.shape[0], -1))
        _check(node, x, f"{kind} weights negated in place")
        a["out"] = "int32"
        _check(node, x, f"{kind} output switched to int32")


def test_copied_attrs_do_not_share_stale_constants():
    """A node built from dict(node.attrs, ...) (as tests and passes do) carries the cache entry along; the
    entry must not apply to the changed copy."""
    rng = np.random.default_rng(7106)
    node, x = random_layer_case(rng, 4, "conv_b1b1")
    golden.run_layer(node, x)
    other = Node(node.op, node.name, [], [], dict(node.attrs, out="int32"))
    _check(other, x, "copy with int32 output")
    if node.attrs["out"] == "bits":
        other2 = Node(node.op, node.name, [], [], dict(node.attrs, thresholds=node.attrs["thresholds"] + 1))
        _check(other2, x, "copy with other thresholds")


def test_geometry_outside_input_is_refused():
    """The strided im2col never reads outside the padded input: an inconsistent out_shape is an error."""
    rng = np.random.default_rng(7107)
    node, x = random_layer_case(rng, 2, "conv_b1b1")
    a = dict(node.attrs)
    a["out_shape"] = (a["out_shape"][0] + 5,) + tuple(a["out_shape"][1:])
    with pytest.raises(golden.TinyBnnError, match="outside"):
        golden.run_layer(Node(node.op, node.name, [], [], a), x)


def test_sign_inputs_of_binary_dense_layers():
    """int8 x binary dense layers whose inputs are all zero_point +- 1 (a sign-quantized input) go through the
    binary path; one other value sends them back to the matmul; both equal the reference."""
    for i in range(60):
        rng = np.random.default_rng([7108, i])
        node, x = random_layer_case(rng, int(rng.integers(1, 9)), "dense_s8b1")
        a = node.attrs
        zp = int(rng.integers(-127, 127))
        a["input_zero_point"] = zp
        x = (zp + rng.choice([-1, 1], size=x.shape)).astype(np.int8)
        if a["out"] == "bits":
            set_thresholds(rng, node, x)
        _check(node, x, f"seed [7108, {i}] (+-1 inputs)")
        y = x.copy()
        y.reshape(-1)[int(rng.integers(y.size))] = np.int8(zp)  # a 0 input: not a sign input any more
        _check(node, y, f"seed [7108, {i}] (one 0 input)")


def test_empty_batch():
    """N = 0 samples: every layer kind returns an empty batch of the right shape and type."""
    for k, kind in enumerate(LAYER_KINDS):
        for i in range(10):
            rng = np.random.default_rng([7109, k, i])
            node, x = random_layer_case(rng, 2, kind)
            want = reference(node, x)
            got = golden.run_layer(node, x[:0])
            assert got.shape == (0,) + want.shape[1:] and got.dtype == want.dtype, f"seed [7109, {k}, {i}]"


def test_the_python_api_refuses_nan_and_infinite_input():
    """Model.run / predict / quantize from Python: one clear error, never an arbitrary int8 code."""
    import tinybnn
    from tinybnn.errors import TinyBnnError

    fix = Path(__file__).resolve().parent / "fixtures"
    d = np.load(fix / "torch_mlp_legacy.npz")
    m = tinybnn.load(fix / "torch_mlp_legacy.onnx", calibration=d["x"])
    x = d["x"][:4].copy()
    x[2].reshape(-1)[5] = np.nan
    for f in (m.run, m.predict, m.quantize):
        with pytest.raises(TinyBnnError, match=r"1 value\(s\) that are NaN or infinite \(first in sample 2\)"):
            f(x)
    x[2].reshape(-1)[5] = np.inf
    with pytest.raises(TinyBnnError, match="NaN or infinite"):
        m.run(x)
