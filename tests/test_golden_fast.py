"""The golden model's fast paths against a slow, obviously-correct reference of the same layer semantics.

The reference below (kept here, not in the package) unpacks every bit to a +-1 integer, pads with the
layer's padding value, loops over the taps and sums in int64 — the contract of tinybnn/ir/layers.py read
literally (and for real-valued streams the requantization of tinybnn/ir/requant.py, in Python integers). golden.py computes the same layers with packed words, popcount bounds, BLAS matmuls, strided
im2col views, batch chunks and cached per-node constants; every output word must be equal.

Random layers come from tests/randmodels.py (paddings zero/one/minus-one, strides, dilations, channel counts
off multiples of 32, flips, clamped thresholds, int8 and binary first layers, int32 outputs) plus int16
weights near the int32 bound, long binary dot products, and tiny chunk/tile sizes that split batches and
tiles at every boundary; stream ops (add, PReLU, average pool, binarize) and int8/int16-stream outputs of
conv/dense layers on int8 and int16 codes with saturating and float64-defeating constants; grouped and
depthwise convs.
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


# ------------------------------------------------------------------------- real-valued streams --
# The stream ops and the int8-stream outputs of conv/dense layers, against literal int64 references: the
# requantization rule of tinybnn/ir/requant.py on the exact integer sums, written out here. golden.py runs them
# in float64 where it proves the result exact, through tables of every reachable accumulator, or in blocked
# int64; the random constants below reach every one of those paths (and the int64 fallbacks) and saturate.
from tinybnn.ir.layers import ADD, AVGPOOL, BINARIZE, CONV2D, DENSE, PRELU  # noqa: E402
from tinybnn.ir.requant import affine_constants  # noqa: E402


def _rq_ref(v, mult, offset, shift, bits):
    """floor((v * m + offset) / 2**shift) clamped, with Python integers (no overflow, no float)."""
    v = np.asarray(v, np.int64)
    C = v.shape[-1] if v.ndim else 1
    m, o, s = (np.broadcast_to(np.asarray(t, np.int64), v.shape[-1:] if v.ndim else ()) for t in (mult, offset, shift))
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    flat = v.reshape(-1, C) if v.ndim else v.reshape(1, 1)
    out = np.empty(flat.shape, np.int64)
    mm, oo, ss = (np.broadcast_to(t, (C,)).tolist() for t in (m, o, s))
    for c in range(C):
        col = flat[:, c].tolist()
        out[:, c] = [min(hi, max(lo, (int(x) * mm[c] + oo[c]) >> ss[c])) for x in col]
    return out.reshape(v.shape).astype(np.int8 if bits == 8 else np.int16)


def _stream_codes(rng, shape, bits):
    lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    x = rng.integers(lo, hi + 1, size=shape)
    edge = rng.random(shape) < 0.1  # the type's ends, where the sums and products are largest
    x[edge] = rng.choice([lo, hi, lo + 1, hi - 1, 0], size=int(edge.sum()))
    return x.astype(np.int8 if bits == 8 else np.int16)


def _requant_consts(rng, C, vmax, bits):
    """(mult, offset, shift) per channel: the converter's constants for a random real step and bias (steps up
    to several codes, so outputs saturate at both ends), or raw ones near the int64 bound (past float64)."""
    r = rng.random()
    if r < 0.35:
        top = 4.0 * (1 << bits) / vmax  # the full output range in a quarter of the input's
        a = rng.choice([-1, 1], C) * np.exp(rng.uniform(np.log(top * 1e-5), np.log(top), C))
        b = rng.uniform(-2.0, 2.0, C) * (1 << (bits - 1))
        return affine_constants(a, b, vmax)
    if r < 0.7:  # like the fixtures' layers: shifts in the 30s, offsets below 2**53 (the float64 paths)
        a = rng.choice([-1, 1], C) * np.exp2(rng.uniform(-9, -1, C))
        b = rng.uniform(-1.0, 1.0, C) * (1 << min(bits + 2, 12))
        m, _, s = affine_constants(a, b, vmax)
        s = np.minimum(s, 36)
        m = np.round(a * np.exp2(s)).astype(np.int64)
        m = np.clip(m, -(1 << 30) + 1, (1 << 30) - 1).astype(np.int32)
        o = np.array([int(np.floor(bb * 2.0 ** ss + 0.5)) + (1 << (int(ss) - 1)) for bb, ss in zip(b, s)], np.int64)
        return m, o, s.astype(np.int32)
    shift = rng.integers(0, 63, C)
    mult = rng.integers(-(1 << 30) + 1, 1 << 30, C)
    room = np.maximum((1 << 62) - vmax * np.abs(mult) - 1, 1)
    offset = np.array([int(rng.integers(-r, r)) for r in room.tolist()], np.int64)
    return mult.astype(np.int32), offset, shift.astype(np.int32)


def _stream_check(node, inputs, want, where):
    got = golden.run_node(node, inputs)
    assert got.dtype == want.dtype and got.shape == want.shape, f"{where}: {got.dtype}{got.shape} != {want.dtype}{want.shape}"
    if not np.array_equal(got, want):
        bad = tuple(np.argwhere(got != want)[0])
        pytest.fail(f"{where}: golden {got[bad]} != reference {want[bad]} at {bad}")


def _spatial(rng, n):
    return (n, int(rng.integers(1, 7)), int(rng.integers(1, 7)), int(rng.choice([1, 3, 8, 16, 17, 32, 40])))


@pytest.mark.parametrize("bits", [8, 16])
def test_stream_add_equals_reference(bits):
    for i in range(40):
        rng = np.random.default_rng([7201, bits, i])
        shape = _spatial(rng, int(rng.integers(1, 40)))
        a, b = _stream_codes(rng, shape, bits), _stream_codes(rng, shape, bits)
        vmax = 1 << (bits - 1)
        (ma, mb), off, sh = (affine_constants(rng.uniform(-3, 3), rng.uniform(-300, 300), 2 * vmax)[0], ) * 2, 0, 0
        if rng.random() < 0.7:
            from tinybnn.ir.requant import shared_shift_constants
            (ma, mb), off, sh = shared_shift_constants([rng.uniform(0.01, 3), rng.uniform(-3, 3)], rng.uniform(-300, 300), [vmax, vmax])
            ma, mb, off, sh = int(ma), int(mb), int(off), int(sh)
        else:  # raw constants past the float64 bound
            sh = int(rng.integers(0, 63))
            ma, mb = (int(rng.integers(-(1 << 30) + 1, 1 << 30)) for _ in range(2))
            room = (1 << 62) - vmax * (abs(ma) + abs(mb)) - 1
            off = int(rng.integers(-room, room))
        node = Node(ADD, "add", [], [], {"in_shape": shape[1:], "out_shape": shape[1:], "requant": (ma, mb, off, sh),
                                         "bits": bits})
        v = a.astype(np.int64) * ma + b.astype(np.int64) * mb
        _stream_check(node, [a, b], _rq_ref(v, 1, off, sh, bits), f"add seed [7201, {bits}, {i}]")


@pytest.mark.parametrize("table", [True, False], ids=["table", "float64"])
@pytest.mark.parametrize("bits", [8, 16])
def test_stream_prelu_equals_reference(bits, table, monkeypatch):
    """Both paths: the per-channel table of every input code, and the float64 pieces (tables refused)."""
    if not table:
        monkeypatch.setattr(golden, "PRELU_LUT_ENTRIES", 0)
    for i in range(40):
        rng = np.random.default_rng([7202, bits, i])
        shape = _spatial(rng, int(rng.integers(1, 40)))
        C = shape[-1]
        x = _stream_codes(rng, shape, bits)
        vmax = 1 << (bits - 1)
        mp, op, sh = _requant_consts(rng, C, vmax, bits)
        mn, on, sh2 = _requant_consts(rng, C, vmax, bits)
        if rng.random() < 0.5:  # shared shift, as the converter makes (the pieces' offsets from the same fit)
            mn, on = np.asarray(mn, np.int64) >> 1, np.asarray(op, np.int64) // 3
        lo, hi = -vmax, vmax - 1
        bp = rng.integers(lo - 1, hi + 2, C)
        a = {"in_shape": shape[1:], "out_shape": shape[1:], "breakpoint": bp.astype(np.int32),
             "mult_pos": np.asarray(mp, np.int32), "mult_neg": np.asarray(mn, np.int32),
             "offset_pos": np.asarray(op, np.int64), "offset_neg": np.asarray(on, np.int64),
             "shift": np.asarray(sh, np.int32), "bits": bits}
        xv = x.astype(np.int64)
        pos = xv >= bp
        want = np.where(pos, _rq_ref(xv, mp, op, sh, bits), _rq_ref(xv, mn, on, sh, bits))
        _stream_check(Node(PRELU, "prelu", [], [], a), [x], want, f"prelu seed [7202, {bits}, {i}]")


@pytest.mark.parametrize("bits", [8, 16])
def test_stream_avgpool_equals_reference(bits):
    from randmodels import pool_geometry

    for i in range(40):
        rng = np.random.default_rng([7203, bits, i])
        n, H, W, C = _spatial(rng, int(rng.integers(1, 30)))
        if rng.random() < 0.3:
            g = {"kernel": (H, W), "stride": (1, 1), "pads": (0, 0, 0, 0), "out_hw": (1, 1)}  # global pool
        else:
            g = pool_geometry(rng, H, W)
        x = _stream_codes(rng, (n, H, W, C), bits)
        vmax = 1 << (bits - 1)
        zp = int(rng.integers(-vmax, vmax)) if rng.random() < 0.8 else int(rng.choice([-vmax - 5, vmax + 3]))
        T = g["kernel"][0] * g["kernel"][1]
        m, o, s = _requant_consts(rng, 1, T * 2 * vmax, bits)
        a = {"in_shape": (H, W, C), "out_shape": g["out_hw"] + (C,), "kernel": g["kernel"], "stride": g["stride"],
             "pads": g["pads"], "input_zero_point": zp, "requant": (int(m[0]), int(o[0]), int(s[0])), "bits": bits}
        # literal: the sum of (x - zp) over the valid taps of each window
        OH, OW = g["out_hw"]
        t, l = g["pads"][:2]
        v = np.zeros((n, OH, OW, C), np.int64)
        for oh in range(OH):
            for ow in range(OW):
                for kh in range(g["kernel"][0]):
                    for kw in range(g["kernel"][1]):
                        r, c = oh * g["stride"][0] + kh - t, ow * g["stride"][1] + kw - l
                        if 0 <= r < H and 0 <= c < W:
                            v[:, oh, ow] += x[:, r, c].astype(np.int64) - zp
        _stream_check(Node(AVGPOOL, "pool", [], [], a), [x], _rq_ref(v, m[0], o[0], s[0], bits),
                      f"avgpool seed [7203, {bits}, {i}]")


@pytest.mark.parametrize("bits", [8, 16])
def test_stream_binarize_equals_reference(bits):
    for i in range(40):
        rng = np.random.default_rng([7204, bits, i])
        shape = _spatial(rng, int(rng.integers(1, 40)))
        if rng.random() < 0.2:
            shape = (shape[0], shape[-1])  # a flat stream
        C = shape[-1]
        x = _stream_codes(rng, shape, bits)
        vmax = 1 << (bits - 1)
        tau = rng.integers(-vmax - 2, vmax + 3, C)
        edge = rng.random(C) < 0.3
        tau[edge] = rng.choice([-vmax - 1, -vmax, -vmax + 1, vmax - 1, vmax, vmax + 1, INT32_MIN, INT32_MAX], int(edge.sum()))
        flip = rng.random(C) < 0.5
        a = {"in_shape": shape[1:], "out_shape": shape[1:], "thresholds": tau.astype(np.int32), "flip": flip}
        xv = x.astype(np.int64)
        want = pack_bits(np.where(flip, ~xv, xv) < tau)
        _stream_check(Node(BINARIZE, "sign", [], [], a), [x], want, f"binarize seed [7204, {bits}, {i}]")


INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def _stream_out(rng, node, bits, in_range):
    """Make node an int8/int16-stream layer: per-channel requantization for accumulators up to in_range."""
    a = node.attrs
    O = a["weights"].shape[0]
    a["out"], a["bits"] = "int8", bits
    a["requant"] = _requant_consts(rng, O, in_range, bits)
    a.pop("thresholds", None)
    a.pop("flip", None)


def _linear_bound(a):
    K = int(np.prod(a["weights"].shape[1:]))
    if a["in_dtype"] == "bits":
        return K
    return int(np.abs(a["weights"].astype(np.int64)).reshape(a["weights"].shape[0], -1).sum(1).max()) * (
        (1 << (int(a.get("in_bits", 8)) - 1)) + abs(int(a["input_zero_point"])))


@pytest.mark.parametrize("kind", [k for k in LAYER_KINDS if k != "maxpool"])
@pytest.mark.parametrize("bits", [8, 16])
def test_stream_outputs_of_linear_layers_equal_reference(kind, bits):
    """conv/dense with an int8/int16 stream output: binary inputs through the table of every accumulator,
    int8 inputs with the requantization folded into the float64 matmul when exact, else blocked int64."""
    k = LAYER_KINDS.index(kind)
    for i in range(30):
        rng = np.random.default_rng([7205, k, bits, i])
        node, x = random_layer_case(rng, int(rng.integers(1, 7)), kind)
        if kind == "conv_s8s8" and rng.random() < 0.3:
            node, x = int16_case(rng, kind)
        _stream_out(rng, node, bits, _linear_bound(node.attrs))
        want = _rq_ref(_accumulators_ref(node, x), *node.attrs["requant"], bits)
        _check_stream_layer(node, x, want, f"{kind} seed [7205, {k}, {bits}, {i}]")


def test_stream_outputs_of_binary_layers_in_small_tiles(monkeypatch):
    """Binary layers writing a stream, with tiles of a few pixels: tiles end mid-batch and the last one is
    short; the tiled segment offsets line up with every tile."""
    monkeypatch.setattr(golden, "TILE_COLS", 7)
    for k, kind in enumerate(LAYER_KINDS):
        if kind == "maxpool" or not kind.endswith("b1b1"):
            continue
        for i in range(20):
            rng = np.random.default_rng([7206, k, i])
            node, x = random_layer_case(rng, int(rng.integers(2, 9)), kind)
            bits = (8, 16)[i % 2]
            _stream_out(rng, node, bits, _linear_bound(node.attrs))
            want = _rq_ref(_accumulators_ref(node, x), *node.attrs["requant"], bits)
            _check_stream_layer(node, x, want, f"{kind} seed [7206, {k}, {i}] (small tiles)")


def _check_stream_layer(node, x, want, where):
    got = golden.run_layer(node, x)
    assert got.dtype == want.dtype and got.shape == want.shape, f"{where}: {got.dtype}{got.shape} != {want.dtype}{want.shape}"
    if not np.array_equal(got, want):
        bad = tuple(np.argwhere(got != want)[0])
        pytest.fail(f"{where}: golden {got[bad]} != reference {want[bad]} at {bad}")


def test_stream_outputs_without_tables_or_float(monkeypatch):
    """The fallbacks: no accumulator table (LUT_ENTRIES tiny) and requantization past the float64 bound."""
    monkeypatch.setattr(golden, "LUT_ENTRIES", 4)
    monkeypatch.setattr(golden, "F64_EXACT", 1)
    for k, kind in enumerate(("conv_b1b1", "dense_b1b1", "conv_s8s8", "dense_s8b1")):
        for i in range(15):
            rng = np.random.default_rng([7206, k, i])
            node, x = random_layer_case(rng, int(rng.integers(1, 5)), kind)
            _stream_out(rng, node, 16, _linear_bound(node.attrs))
            want = _rq_ref(_accumulators_ref(node, x), *node.attrs["requant"], 16)
            _check_stream_layer(node, x, want, f"{kind} seed [7206, {k}, {i}] (fallback)")


def test_the_float64_paths_are_taken():
    """The fast paths above are the ones the fixtures' constants take (not only the int64 fallbacks)."""
    rng = np.random.default_rng(7207)
    m, o, s = affine_constants(rng.uniform(1e-4, 1e-2, 16), rng.uniform(-1000, 1000, 16), 1 << 16)
    assert golden._fixed_point((m, o, s), 16, 1 << 15) is not None
    assert golden._fixed_point((m, o, s), 16, 1 << 40) is None


# ------------------------------------------------------------------------------ grouped convs --
def _grouped_ref(node, x):
    """Per group the literal reference of the ungrouped conv on its channel slice, laid end to end."""
    a = node.attrs
    G = a["groups"]
    H, W, C = a["in_shape"]
    OH, OW, O = a["out_shape"]
    Cg, Og = C // G, O // G
    xs = unpack_bits(x, C) if a["in_dtype"] == "bits" else x
    accs = []
    for g in range(G):
        sub = {k: v for k, v in a.items() if k not in ("groups", "_golden", "out", "thresholds", "flip", "requant")}
        sub.update(in_shape=(H, W, Cg), out_shape=(OH, OW, Og), weights=a["weights"][g * Og:(g + 1) * Og], out="int32")
        part = xs[..., g * Cg:(g + 1) * Cg]
        accs.append(_accumulators_ref(Node(CONV2D, "g", [], [], sub), pack_bits(part) if a["in_dtype"] == "bits" else part))
    acc = np.concatenate(accs, axis=-1)
    if a["out"] == "int32":
        return acc.astype(np.int32)
    if a["out"] == "int8":
        return _rq_ref(acc, *a["requant"], a["bits"])
    ap = np.where(a["flip"], -acc - 1, acc)
    return pack_bits(ap < a["thresholds"].astype(np.int64))


def grouped_case(rng, n, depthwise):
    from randmodels import conv_geometry

    G = int(rng.choice([1, 2, 3, 5, 16, 32, 33, 40])) if depthwise else int(rng.choice([2, 3, 4]))
    Cg, Og = (1, 1) if depthwise else (int(rng.integers(1, 9)), int(rng.integers(1, 6)))
    if depthwise and rng.random() < 0.2:
        Og = 2  # a channel multiplier: the per-group path
    H, W = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    C, O = G * Cg, G * Og
    geo = conv_geometry(rng, H, W)
    KH, KW = geo["kernel"]
    in_dtype = "bits" if (depthwise or rng.random() < 0.6) else "int8"
    w = np.where(rng.random((O, KH, KW, Cg)) < rng.random(), -1, 1).astype(np.int8)
    a = {"in_dtype": in_dtype, "weights": w, "weight_kind": "binary", "in_shape": (H, W, C),
         "out_shape": geo["out_hw"] + (O,), "kernel": geo["kernel"], "stride": geo["stride"],
         "dilation": geo["dilation"], "pads": geo["pads"], "groups": G}
    if in_dtype == "bits":
        a["pad"] = str(rng.choice(["zero", "one", "minus-one"]))
        a["packed"] = pack_pm1(w)
        x = pack_bits(rng.random((n, H, W, C)) < rng.choice([0.1, 0.5, 0.9]))
    else:
        a["pad"] = "zero"
        a["input_zero_point"] = int(rng.integers(-128, 128))
        a["packed"] = pack_pm1(w.reshape(O, -1))
        x = rng.integers(-128, 128, (n, H, W, C)).astype(np.int8)
    node = Node(CONV2D, "grouped", [], [], a)
    out = rng.choice(["bits", "bits", "int32", "int8"])
    a["out"] = "int32"
    acc = _grouped_ref(node, x).astype(np.int64)
    if out == "bits":
        vals = acc.reshape(-1, O)
        flip = rng.random(O) < 0.3
        tau = np.array([int((~vals[:, o] if flip[o] else vals[:, o])[int(rng.integers(len(vals)))]) + int(rng.integers(-1, 2))
                        for o in range(O)], np.int64)
        tau[rng.random(O) < 0.1] = INT32_MIN
        tau[rng.random(O) < 0.1] = INT32_MAX
        a.update(out="bits", thresholds=tau.astype(np.int32), flip=flip)
    elif out == "int8":
        bits = int(rng.choice([8, 16]))
        K = KH * KW * Cg
        a.update(out="int8", bits=bits, requant=_requant_consts(rng, O, K if in_dtype == "bits" else K * 256, bits))
    return node, x


@pytest.mark.parametrize("depthwise", [True, False])
def test_grouped_convs_equal_reference(depthwise):
    """Depthwise binary convs (the bit-plane counter on packed words) and general grouped convs (per group),
    every padding value, bits / int32 / stream outputs, strides, dilations, channels off word sizes."""
    for i in range(80):
        rng = np.random.default_rng([7208, depthwise, i])
        node, x = grouped_case(rng, int(rng.integers(1, 6)), depthwise)
        _check_stream_layer(node, x, _grouped_ref(node, x), f"grouped seed [7208, {depthwise}, {i}]")


def test_grouped_constants_follow_attrs(monkeypatch):
    """A grouped conv's per-group constants live in the node's one cache entry and follow its attrs."""
    monkeypatch.setattr(golden, "BLOCK", 37)  # the depthwise counter over many sample blocks, too
    for depthwise in (True, False):
        rng = np.random.default_rng([7209, depthwise])
        while True:
            node, x = grouped_case(rng, 9, depthwise)
            if node.attrs["out"] == "bits":
                break
        a = node.attrs
        _check_stream_layer(node, x, _grouped_ref(node, x), "first run")
        assert set(k for k in a if k.startswith("_")) == {"_golden"}
        a["thresholds"][:] = rng.permutation(a["thresholds"])
        _check_stream_layer(node, x, _grouped_ref(node, x), "thresholds changed in place")
        a["weights"][...] = -a["weights"]
        a["packed"][...] = pack_pm1(a["weights"]) if a["in_dtype"] == "bits" else pack_pm1(a["weights"].reshape(a["weights"].shape[0], -1))
        _check_stream_layer(node, x, _grouped_ref(node, x), "weights negated in place")
        a["out"] = "int32"
        _check_stream_layer(node, x, _grouped_ref(node, x), "output switched to int32")


def test_stream_ops_in_small_blocks(monkeypatch):
    """Blocks that end mid-pixel and mid-batch: the tiled per-channel constants stay aligned."""
    monkeypatch.setattr(golden, "BLOCK", 37)
    for i in range(10):
        rng = np.random.default_rng([7210, i])
        shape = _spatial(rng, int(rng.integers(2, 9)))
        C = shape[-1]
        x = _stream_codes(rng, shape, 16)
        tau, flip = rng.integers(-40000, 40000, C), rng.random(C) < 0.5
        node = Node(BINARIZE, "sign", [], [], {"in_shape": shape[1:], "out_shape": shape[1:],
                                               "thresholds": tau.astype(np.int32), "flip": flip})
        xv = x.astype(np.int64)
        _stream_check(node, [x], pack_bits(np.where(flip, ~xv, xv) < tau), f"binarize [7210, {i}]")
        m, o, s = _requant_consts(rng, C, 1 << 15, 16)
        bp = rng.integers(-40000, 40000, C)
        a = {"in_shape": shape[1:], "out_shape": shape[1:], "breakpoint": bp.astype(np.int32), "mult_pos": m,
             "mult_neg": (np.asarray(m) // 2).astype(np.int32), "offset_pos": o, "offset_neg": o, "shift": s, "bits": 16}
        want = np.where(xv >= bp, _rq_ref(xv, m, o, s, 16), _rq_ref(xv, a["mult_neg"], o, s, 16))
        _stream_check(Node(PRELU, "prelu", [], [], a), [x], want, f"prelu [7210, {i}]")
        node, xl = random_layer_case(rng, 3, "conv_s8s8")
        _stream_out(rng, node, 16, _linear_bound(node.attrs))
        monkeypatch.setattr(golden, "F64_EXACT", 1)  # the blocked int64 requantization
        _check_stream_layer(node, xl, _rq_ref(_accumulators_ref(node, xl), *node.attrs["requant"], 16), f"conv [7210, {i}]")
        monkeypatch.setattr(golden, "F64_EXACT", 1 << 53)


def test_two_stage_requantization_of_int32_accumulators():
    """The float64 two-stage requantization of int32 accumulators at the int32 ends and around every
    rounding boundary, against Python integers; it is the path the fixtures' constants take."""
    for i in range(30):
        rng = np.random.default_rng([7211, i])
        C = int(rng.integers(1, 40))
        m = rng.integers(-(1 << 30) + 1, 1 << 30, C)
        s = rng.integers(22, 48, C)  # the converter's range for int32 accumulators (a smaller shift saturates)
        o = rng.integers(-(1 << 50), 1 << 50, C)
        v = rng.integers(INT32_MIN, INT32_MAX, (int(rng.integers(1, 300)), C), endpoint=True)
        v[:4] = np.array([INT32_MIN, INT32_MAX, -1, 0])[:, None]
        # values whose v * m + offset is a multiple of 2**shift, or one off it (where a floor can go wrong)
        k = rng.integers(-(1 << 20), 1 << 20, (8, C))
        near = (k * (1 << s) - o) // np.where(m == 0, 1, m)
        v = np.concatenate([v, np.clip(near + rng.integers(-1, 2, near.shape), INT32_MIN, INT32_MAX)])
        bits = int(rng.choice([8, 16]))
        a = {"requant": (m.astype(np.int32), o, s.astype(np.int32)), "bits": bits}
        assert golden._two_stage(a["requant"], C, 1 << 31) is not None
        got = golden.requantized(v.astype(np.int32), a)
        want = _rq_ref(v, m, o, s, bits)
        assert np.array_equal(got, want), f"seed [7211, {i}]"


def test_saturating_single_stage_at_its_ends():
    """_saturating's identity, clamp(floor(fl(fl(v * M) + B))) == clamp(f(v)), against Python integers on
    accumulators around both saturation points (where exactness ends and monotony takes over), around
    rounding boundaries, at +-vmax and at random; multipliers of both signs and zero, int8 and int16 streams."""
    ends = 0
    for i in range(40):
        rng = np.random.default_rng([7213, i])
        C = int(rng.integers(1, 24))
        bits = int(rng.choice([8, 16]))
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        m = rng.integers(1 << 28, 1 << 31, C) * rng.choice([-1, 1, 1, 1], C)
        m[1:][rng.random(C - 1) < 0.1] = 0
        s = rng.integers(30, 38, C)  # the products that do not saturate stay near hi * 2**shift < 2**53
        o = rng.integers(-(1 << 45), 1 << 45, C)
        vmax = int(rng.integers(1 << 25, 1 << 28))  # vmax * |m| >= 2**53 on channel 0
        assert golden._fixed_point((m, o, s), C, vmax) is None, f"seed [7213, {i}]: one stage would do"
        sat = golden._saturating((m, o, s), C, vmax, lo, hi)
        assert sat is not None, f"seed [7213, {i}]"
        M, B = sat
        mm = np.where(m == 0, 1, m)
        # the saturation points: v * m + offset at (lo + 1) * 2**shift and hi * 2**shift
        sat_pts = np.stack([((lo + 1) * (1 << s) - o) // mm, (hi * (1 << s) - o) // mm])
        k = rng.integers(-(1 << 14), 1 << 14, (6, C))
        near = (k * (1 << s) - o) // mm  # where v * m + offset crosses a multiple of 2**shift
        v = np.concatenate([sat_pts[:1] + np.arange(-3, 4)[:, None], sat_pts[1:] + np.arange(-3, 4)[:, None],
                            near + rng.integers(-1, 2, near.shape), np.full((1, C), vmax), np.full((1, C), -vmax),
                            rng.integers(-vmax, vmax, (50, C), endpoint=True)])
        v = np.clip(v, -vmax, vmax)
        f = v.astype(np.float64) * M
        f += B
        got = np.clip(np.floor(f), lo, hi)
        want = _rq_ref(v, m, o, s, bits)
        assert np.array_equal(got, want), f"seed [7213, {i}]"
        ends += int(((want == lo) | (want == hi)).any())
    assert ends >= 30
    # a shift so large that the accumulators which do not saturate already reach 2**53 with the multiplier
    assert golden._saturating((np.array([1 << 30]), np.array([0]), np.array([60])), 1, 1 << 30, -128, 127) is None


def _int16_weight_stems(path_key):
    """20 first layers with int16 weights writing an int16 stream (the residual fixtures' stems: sums reach
    2**25), each checked against the literal rule; returns how many took the golden path with path_key."""
    taken = 0
    for i in range(20):
        rng = np.random.default_rng([7212, i])
        node, x = int16_case(rng, "conv_s8s8")
        a = node.attrs
        O = a["weights"].shape[0]
        a["out"], a["bits"] = "int8", 16
        a.pop("thresholds", None), a.pop("flip", None)
        s = rng.integers(33, 37, O)
        m = rng.integers(1 << 29, 1 << 30, O) * rng.choice([-1, 1], O)
        o = rng.integers(-(1 << 49), 1 << 49, O)
        a["requant"] = (m.astype(np.int32), o, s.astype(np.int32))
        prep = golden._prepared(a, golden._int8_prep)
        assert "limits" in prep, f"seed [7212, {i}]: not a float64 path"
        taken += path_key in prep
        x[0].reshape(-1)[:2] = [-128, 127]
        _check_stream_layer(node, x, _rq_ref(_accumulators_ref(node, x), *a["requant"], 16), f"seed [7212, {i}]")
    return taken


def test_saturating_single_stage_inside_the_matmul_of_an_int16_weight_stem():
    """The int16-weight stems: past a one-stage float64 requantization of every accumulator, but not of those
    that do not saturate the stream: the matmul gives v exactly, then one stage (see _saturating)."""
    assert _int16_weight_stems("M") >= 10


def test_two_stage_inside_the_matmul_of_an_int16_weight_stem(monkeypatch):
    """The same stems with the single stage refused: both stages of _two_stage run as matmuls."""
    monkeypatch.setattr(golden, "_saturating", lambda *args: None)
    assert _int16_weight_stems("W2") >= 10


def test_output_beyond_float32_is_inf_without_a_warning():
    """An output affine whose result exceeds float32 gives +-inf (what the float runtime gives), and no
    RuntimeWarning on the user's terminal (found by the .tflite fuzzer: classifier weights near 1e30)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = golden.dequantize_output({"steps": [(np.array([1e30, 1.0]), np.array([0.0, 0.5]))]},
                                     np.array([[1 << 30, -3], [-(1 << 30), 4]], np.int32))
    assert y.dtype == np.float32 and np.array_equal(y, np.array([[np.inf, -2.5], [-np.inf, 4.5]], np.float32))
