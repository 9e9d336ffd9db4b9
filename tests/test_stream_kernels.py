"""The real-valued stream kernels (firmware/kernels/tb_kernels_stream.h) and the TB_OUT_S8 / TB_OUT_S16 output
stages, bit for bit.

One driver (firmware/kernels/tests/tb_stream_driver.c) runs thousands of random cases per call: tb_add_s8,
tb_avgpool_s8, tb_maxpool_s8, tb_binarize_s8, tb_prelu_s8 and their int16 twins (_s16) against NumPy references
whose requantization is tinybnn.ir.requant.requantize itself, with the clamp of the width (constants from
affine_constants, and extreme ones: shift 0 and 62, |multiplier| up to 2^31, offsets up to the 2^62 bound, both
saturations, negative multipliers), and every conv/dense kernel (the reference ones, the int16-input
tb_conv2d_s16s8 / tb_dense_s16s8 against a NumPy int64 reference, the subset-sum first layers of
opt/tb_first_ss.c, the binary conv2d and dense of every optimized family in its portable C) with TB_OUT_S32,
TB_OUT_S8 and TB_OUT_S16: the int32 output equals the golden accumulators, the int8 and int16 ones their
requantizations. Every buffer is an exact-size heap block (int8 ones often at odd addresses, int16 ones 2 bytes
past a word), so the sanitizer build catches any out-of-bounds access; a build with the argument
checks compiled out (as in generated models) gives the same outputs. On the emulated cores (Cortex-M0, M4,
RV32IMC) the same driver runs as a firmware over ~600 cases that fit the micro:bit and prints the hash of its
results, which must equal the host's. Seeds are fixed; a failure names the generator, seed and case index.
"""

from __future__ import annotations

import functools
import re
import struct
import subprocess

import numpy as np
import pytest

from randmodels import accumulators, random_layer_case
from test_kernels import s16_layer_case
from tinybnn.backend import codegen, hostc, kernels
from tinybnn.ir import requant
from tinybnn.ir.bits import pack_bits, words

SEED = 20261203
CASES = 2000            # per element-wise / pool kernel
LAYER_CASES = 300       # per conv/dense kernel (each run with int32 and int8 outputs)
SANITIZE_DIVISOR = 10   # the sanitizer build runs a tenth of them

MAGIC = 0x53424254
OP_ADD, OP_AVGPOOL, OP_MAXPOOL, OP_BINARIZE, OP_PRELU = 1, 2, 3, 4, 5  # the int16 twin with MODE_S16
LAYER_OPS = {"conv_b1b1": 10, "conv_s8s8": 11, "conv_s8b1": 12, "conv_s8s16": 13, "dense_b1b1": 14,
             "dense_s8s8": 15, "dense_s8b1": 16, "dense_s8s16": 17, "conv_s8b1_ss": 18, "dense_s8b1_ss": 19}
OPT_FAMILIES = ("armv7m", "armv6m", "rv32zbb", "rv32", "tree")  # their portable C, binary conv2d and dense
for _i, _f in enumerate(OPT_FAMILIES):
    LAYER_OPS[f"conv_b1b1_{_f}"], LAYER_OPS[f"dense_b1b1_{_f}"] = 20 + 2 * _i, 21 + 2 * _i
LAYER_OPS["conv_s16s8"], LAYER_OPS["dense_s16s8"] = 30, 31  # an int16 stream x int8 weights
MODE_ODD_S8, MODE_IN_PLACE, MODE_ODD_WORDS, MODE_S16, MODE_ODD_S16 = 1, 2, 4, 8, 16
TB_OK, TB_ERR_ARG, TB_ERR_ALIGN = 0, -1, -2
LIMIT = requant.V_LIMIT  # |v * multiplier| + |offset| < 2^62
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
S16 = (-32768, 32767)  # the clamp of the int16 codes
HALF = {8: 128, 16: 32768}  # half the code range of a width

KDIR = codegen.kernels_dir()
OPT = kernels.opt_dir()


# ------------------------------------------------------------------------------------------ driver --
def driver(sanitize: bool, flags=()):
    files = {p.name: p.read_bytes() for d in (KDIR, OPT) for p in sorted(d.iterdir()) if p.suffix in (".c", ".h")}
    files["tb_stream_driver.c"] = (KDIR / "tests" / "tb_stream_driver.c").read_bytes()
    return hostc.cached_build(files, "stream-driver", sanitize, exe_name="tb_stream_driver",
                              extra_flags=("-Wvla", "-pedantic") + tuple(flags))


@pytest.fixture(scope="module")
def exe():
    return driver(False)


def _blob(a) -> bytes:
    data = b"" if a is None else np.ascontiguousarray(a).tobytes()
    return struct.pack("<i", len(data)) + data + b"\0" * (-len(data) % 4)


def _i64(v: int) -> list[int]:
    """An int64 as the driver's (lo, hi) pair of int32."""
    u = int(v) & ((1 << 64) - 1)
    lo, hi = u & 0xFFFFFFFF, u >> 32
    return [lo - (1 << 32) if lo >= 1 << 31 else lo, hi - (1 << 32) if hi >= 1 << 31 else hi]


class Case:
    """One driver case and what it must produce: want[i] = (status, bytes or None) per kernel call."""

    def __init__(self, op, ints, blobs, want, where, mode=0):
        self.op, self.ints, self.blobs, self.want, self.where, self.mode = op, ints, blobs, want, where, mode

    def encode(self) -> bytes:
        return (struct.pack(f"<3i{len(self.ints)}i", self.op, self.mode, len(self.ints), *self.ints) +
                struct.pack("<i", len(self.blobs)) + b"".join(_blob(b) for b in self.blobs))


def run(exe_path, cases: list[Case]) -> list[list[tuple[int, bytes]]]:
    blob = struct.pack("<2i", MAGIC, len(cases)) + b"".join(c.encode() for c in cases)
    r = subprocess.run([str(exe_path)], input=blob, capture_output=True, timeout=600, env=hostc.sanitizer_env())
    assert r.returncode == 0, f"stream driver failed (exit {r.returncode}):\n{r.stderr.decode()[-4000:]}"
    raw, o, res = r.stdout, 0, []
    for c in cases:
        recs = []
        for _ in c.want:
            st, n = struct.unpack_from("<2i", raw, o)
            recs.append((st, raw[o + 8:o + 8 + n]))
            o += 8 + n
        res.append(recs)
    assert o == len(raw), "driver result stream has trailing bytes"
    return res


def check(exe_path, cases: list[Case]) -> int:
    for c, recs in zip(cases, run(exe_path, cases)):
        for k, ((st, got), (want_st, want)) in enumerate(zip(recs, c.want)):
            assert st == want_st, f"status {st} != {want_st} (call {k}) for {c.where}"
            if want is not None:
                want = np.ascontiguousarray(want)
                if got != want.tobytes():
                    g, w = np.frombuffer(got[:len(got) - len(got) % want.itemsize], want.dtype), want.reshape(-1)
                    i = int(np.argmax(g != w)) if len(g) == len(w) else -1
                    pytest.fail(f"C != NumPy at element {i} (C {g[i] if i >= 0 else len(got)}, NumPy "
                                f"{w[i] if i >= 0 else want.nbytes}) (call {k}) for {c.where}")
    return len(cases)


# ------------------------------------------------------------------------------ requant constants --
def rand_constants(rng, vmax, n: int, extra: int = 0, bits: int = 8):
    """(multiplier int32[n], offset int64[n], shift int32[n]) with |v * m| + extra + |o| < 2^62 for |v| <= vmax
    (vmax a scalar or [n]): realistic ones from affine_constants and extreme ones (shift 0 or 62, multipliers
    up to |2^31|, offsets up to the bound, negative multipliers), mixed per channel; the realistic ones give
    outputs around the code range of `bits` (8 or 16), saturating at both ends."""
    q = HALF[bits]
    f = q // 128
    vmax = np.broadcast_to(np.asarray(vmax, np.int64), (n,))
    m = np.zeros(n, np.int64)
    o = np.zeros(n, np.int64)
    s = np.zeros(n, np.int64)
    for i in range(n):
        vm = max(int(vmax[i]), 1)
        r = rng.random()
        if r < 0.45:  # a real affine map whose outputs span the int8 range and saturate at both ends
            a = float(rng.uniform(0.3, 3.0)) * q / vm * (1 if rng.random() < 0.6 else -1)
            b = float(rng.uniform(-160, 160)) * f
            mi, oi, si = (int(t[0]) for t in requant.affine_constants([a], [b], [vm]))
        elif r < 0.6:  # shift 0: small multipliers and offsets (interesting), or huge ones (saturation)
            si = 0
            if rng.random() < 0.5:
                mi, oi = int(rng.integers(-3, 4)), int(rng.integers(-300 * f, 300 * f + 1))
            else:
                mi = int(rng.integers(I32_MIN, I32_MAX + 1))
                oi = int(rng.integers(-(1 << 40), 1 << 40))
        elif r < 0.72:  # shift 62: the largest sums give -1 or 0
            si = 62
            mi = int(rng.integers(I32_MIN, I32_MAX + 1))
            room = LIMIT - 1 - vm * abs(mi) - extra
            oi = int(rng.integers(-room, room + 1))
        elif r < 0.8:  # the extreme multipliers
            si = int(rng.integers(0, 63))
            mi = I32_MIN if rng.random() < 0.5 else I32_MAX
            room = LIMIT - 1 - vm * abs(mi) - extra
            oi = int(rng.integers(-room, room + 1)) if rng.random() < 0.5 else (room if rng.random() < 0.5 else -room)
        else:  # any shift, outputs around the int8 range: |v m| ~ 2^shift * 2^7
            si = int(rng.integers(0, 63))
            mag = min(I32_MAX, max(1, (1 << si) * int(rng.integers(1, 400 * f)) // vm), (LIMIT // 2) // vm)
            mi = int(rng.integers(-mag, mag + 1))
            room = min(LIMIT - 1 - vm * abs(mi) - extra, (300 * f) << si)
            oi = int(rng.integers(-room, room + 1))
        assert abs(mi) * vm + abs(oi) + extra < LIMIT and 0 <= si <= 62 and I32_MIN <= mi <= I32_MAX
        m[i], o[i], s[i] = mi, oi, si
    return m.astype(np.int32), o, s.astype(np.int32)


# ------------------------------------------------------------------------------- NumPy references --
def add_ref(a, b, ma, mb, off, shift, lo=-128, hi=127):
    """requantize with the two products summed: b * mb + offset is the offset of a's product."""
    return requant.requantize(a.astype(np.int64), ma, b.astype(np.int64) * mb + off, shift, lo, hi)


def clamp_of(bits):
    return (-128, 127) if bits == 8 else S16


def window_view(xp, kh, kw, sh, sw):
    """(OH, OW, C, kh, kw) windows of a padded (H, W, C) array."""
    v = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(0, 1))
    return v[::sh, ::sw]


def pool_geometry(rng, H, W, global_pool=False, pads_below_kernel=False):
    if global_pool:
        return (H, W), (1, 1), (0, 0, 0, 0), (1, 1)
    kh, kw = int(rng.integers(1, min(H, 4) + 1)), int(rng.integers(1, min(W, 4) + 1))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    pmax = (kh - 1, kw - 1) if pads_below_kernel else (kh, kw)
    pads = (int(rng.integers(0, pmax[0] + 1)), int(rng.integers(0, pmax[1] + 1)),
            int(rng.integers(0, pmax[0] + 1)), int(rng.integers(0, pmax[1] + 1)))
    if rng.random() < 0.4:
        pads = (0, 0, 0, 0)
    pt, pl, pb, pr = pads
    oh, ow = (H + pt + pb - kh) // sh + 1, (W + pl + pr - kw) // sw + 1
    return (kh, kw), (sh, sw), pads, (oh, ow)


def geometry_ints(H, W, C, g):
    (kh, kw), (sh, sw), (pt, pl, pb, pr), (oh, ow) = g
    return [H, W, C, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr]


def random_int8(rng, shape):
    r = rng.random()
    if r < 0.15:  # the extreme codes only
        return rng.choice(np.array([-128, 127], np.int8), size=shape)
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def random_codes(rng, shape, bits):
    """Random int8 or int16 codes (int16 ones: all of the range, small ones, or the extremes only)."""
    if bits == 8:
        return random_int8(rng, shape)
    r = rng.random()
    if r < 0.15:
        return rng.choice(np.array([-32768, 32767], np.int16), size=shape)
    if r < 0.3:
        return rng.integers(-300, 301, size=shape).astype(np.int16)
    return rng.integers(-32768, 32768, size=shape, dtype=np.int16)


def s16_mode(bits):
    return MODE_S16 if bits == 16 else 0


def n_channels(rng):
    return int(rng.integers(1, 71)) if rng.random() < 0.8 else int(rng.choice([1, 31, 32, 33, 63, 64, 65, 70]))


# ---------------------------------------------------------------------------------- case makers --
def add_case(rng, where, bits=8):
    q = HALF[bits]
    n = int(rng.integers(1, 300))
    a, b = random_codes(rng, n, bits), random_codes(rng, n, bits)
    r = rng.random()
    if r < 0.5:  # a residual add of two tensors with their own scales and zero points
        sa, sb, so = (float(10 ** rng.uniform(-3, 0)) for _ in range(3))
        za, zb, zo = (int(rng.integers(-q, q)) for _ in range(3))
        ka, kb = sa / so * float(rng.uniform(0.2, 1.5)), sb / so * float(rng.uniform(0.2, 1.5))
        ka, kb = ka * (1 if rng.random() < 0.8 else -1), kb * (1 if rng.random() < 0.8 else -1)
        _, _, sh = requant.affine_constants([max(abs(ka), abs(kb))], [0.0], [2 * q])
        s = int(sh[0])
        ma, mb = int(round(ka * 2.0 ** s)), int(round(kb * 2.0 ** s))
        off = int(np.floor((zo - ka * za - kb * zb) * 2.0 ** s + 0.5)) + ((1 << (s - 1)) if s else 0)
    else:  # extreme constants (the bound holds for both products and the offset together)
        mb_ = rand_constants(rng, q, 1, bits=bits)
        mb = int(mb_[0][0])
        m, o, sh = rand_constants(rng, q, 1, extra=q * abs(mb), bits=bits)
        ma, off, s = int(m[0]), int(o[0]), int(sh[0])
    assert q * (abs(ma) + abs(mb)) + abs(off) < LIMIT
    mode = int(rng.choice([0, MODE_ODD_S8, MODE_IN_PLACE, MODE_IN_PLACE | MODE_ODD_S8])) | s16_mode(bits)
    want = add_ref(a, b, ma, mb, off, s, *clamp_of(bits))
    return Case(OP_ADD, [n, ma, mb, *_i64(off), s], [a, b], [(TB_OK, want)], where, mode)


def avgpool_case(rng, where, bits=8):
    q = HALF[bits]
    H, W, C = int(rng.integers(1, 9)), int(rng.integers(1, 9)), n_channels(rng)
    glob = rng.random() < 0.25
    g = pool_geometry(rng, H, W, global_pool=glob)
    (kh, kw), (sh, sw), (pt, pl, pb, pr), (oh, ow) = g
    x = random_codes(rng, (H, W, C), bits)
    zp_ends = [-32640, 32639] if bits == 8 else [-32768, 32767]
    zp = int(rng.integers(-q, q)) if rng.random() < 0.9 else int(rng.choice(zp_ends))
    vmax = kh * kw * (q + abs(zp))
    if rng.random() < 0.5:  # the mean with its scales: the divisor in the multiplier
        a = float(rng.uniform(0.2, 3.0)) / (kh * kw)
        b = float(rng.uniform(-140, 140)) * q / 128
        m, o, s = (int(t[0]) for t in requant.affine_constants([a], [b], [vmax]))
    else:
        m, o, s = (int(t[0]) for t in rand_constants(rng, vmax, 1, bits=bits))
    xp = np.zeros((H + pt + pb, W + pl + pr, C), np.int64)
    xp[pt:pt + H, pl:pl + W] = x.astype(np.int64) - zp
    v = window_view(xp, kh, kw, sh, sw).sum(axis=(3, 4))[:oh, :ow]
    want = requant.requantize(v, m, o, s, *clamp_of(bits))
    mode = (MODE_ODD_S8 if rng.random() < 0.5 else 0) | s16_mode(bits)
    return Case(OP_AVGPOOL, geometry_ints(H, W, C, g) + [zp, m, *_i64(o), s], [x], [(TB_OK, want)],
                where + (" (global)" if glob else ""), mode)


def maxpool_case(rng, where, bits=8):
    H, W, C = int(rng.integers(1, 9)), int(rng.integers(1, 9)), n_channels(rng)
    g = pool_geometry(rng, H, W, global_pool=rng.random() < 0.2, pads_below_kernel=True)
    (kh, kw), (sh, sw), (pt, pl, pb, pr), (oh, ow) = g
    x = random_codes(rng, (H, W, C), bits)
    xp = np.full((H + pt + pb, W + pl + pr, C), -100000, np.int32)
    xp[pt:pt + H, pl:pl + W] = x
    want = window_view(xp, kh, kw, sh, sw).max(axis=(3, 4))[:oh, :ow]
    assert want.min() >= -HALF[bits]  # every window holds a valid tap
    mode = (MODE_ODD_S8 if rng.random() < 0.5 else 0) | s16_mode(bits)
    return Case(OP_MAXPOOL, geometry_ints(H, W, C, g), [x, None], [(TB_OK, want.astype(x.dtype))], where, mode)


def binarize_case(rng, where, bits=8):
    q = HALF[bits]
    P, C = int(rng.integers(1, 20)), n_channels(rng)
    x = random_codes(rng, (P, C), bits)
    flip = rng.random(C) < 0.4
    r = rng.random(C)
    near = rng.integers(-q - 2, q + 3, size=C) if rng.random() < 0.5 else rng.integers(-300, 301, size=C)
    tau = np.where(r < 0.05, I32_MIN, np.where(r < 0.1, I32_MAX, near)).astype(np.int32)
    xi = x.astype(np.int32)
    want = pack_bits(np.where(flip, ~xi, xi) < tau)
    mode = int(rng.choice([0, MODE_ODD_S8])) | s16_mode(bits)
    return Case(OP_BINARIZE, [P, C], [tau, pack_bits(flip), x], [(TB_OK, want)], where, mode)


def prelu_case(rng, where, bits=8):
    q = HALF[bits]
    P, C = int(rng.integers(1, 20)), n_channels(rng)
    x = random_codes(rng, (P, C), bits)
    bp = rng.integers(-q - 1, q + 1, size=C).astype(np.int32)
    if rng.random() < 0.5:  # PReLU / RPReLU from real slopes: both pieces at the shift of the steeper one
        mp, op_, mn, on, s = (np.zeros(C, t) for t in (np.int32, np.int64, np.int32, np.int64, np.int32))
        for c in range(C):
            kp = float(rng.uniform(0.2, 2.5)) * (1 if rng.random() < 0.85 else -1)
            kn = kp * float(rng.uniform(-0.5, 1.0))
            bb = float(rng.uniform(-100, 100)) * q / 128
            _, _, sh = requant.affine_constants([max(abs(kp), abs(kn))], [bb], [q + q // 4])
            sc = int(sh[0])
            bpc = float(bp[c])  # both pieces meet at the breakpoint (a continuous PReLU around it)
            for k, (mm, oo) in ((kp, (mp, op_)), (kn, (mn, on))):
                mm[c] = int(round(k * 2.0 ** sc))
                oo[c] = int(np.floor((bb - k * bpc) * 2.0 ** sc + 0.5)) + ((1 << (sc - 1)) if sc else 0)
            s[c] = sc
        if rng.random() < 0.2:  # a plain affine map: both pieces equal
            mn, on = mp.copy(), op_.copy()
    else:
        mp, op_, s = rand_constants(rng, q, C, bits=bits)
        mn, on = mp.copy(), op_.copy()
        for c in range(C):  # the negative piece at the same shift, its own multiplier and offset
            mag = min(I32_MAX, max(1, abs(int(mp[c])) + 1))
            mn[c] = int(rng.integers(-mag, mag + 1))
            room = min(LIMIT - 1 - q * abs(int(mn[c])), abs(int(op_[c])) + ((300 * q // 128) << int(s[c])))
            on[c] = int(rng.integers(-room, room + 1))
    xi = x.astype(np.int64)
    lo, hi = clamp_of(bits)
    want = np.where(xi >= bp, requant.requantize(xi, mp, op_, s, lo, hi), requant.requantize(xi, mn, on, s, lo, hi))
    mode = int(rng.choice([0, MODE_ODD_S8, MODE_IN_PLACE, MODE_IN_PLACE | MODE_ODD_S8])) | s16_mode(bits)
    return Case(OP_PRELU, [P, C], [bp, mp, op_, mn, on, s, x], [(TB_OK, want.astype(x.dtype))], where, mode)


def s16s8_layer(rng, kind):
    """A random tb_conv2d_s16s8 / tb_dense_s16s8 layer: the geometry and int8 weights of a random s8s8 one, an
    int16 input and zero point (any int16 value) as large as the int32 bound allows (K * 128 * max|x - zp| <
    2^31), and its accumulators from a NumPy int64 reference: (params, weights int8, x int16, acc int64)."""
    node, _ = random_layer_case(rng, 1, kind.replace("s16s8", "s8s8"))
    node.attrs["out"] = "int32"
    spec = codegen.layer_spec(node, 0)
    params = [int({"TB_PAD_ZERO": 0, "TB_PAD_ONE": 1, "TB_PAD_MINUS_ONE": 2}.get(v, v)) for f, v in spec.params]
    w = np.asarray(spec.arrays["weights"].values, np.int8)
    O = params[5] if kind.startswith("conv") else params[2]
    w = w.reshape(O, -1)
    K = w.shape[1]
    zp = int(rng.integers(-32768, 32768)) if rng.random() < 0.7 else int(rng.choice([-32768, 32767, 0]))
    dmax = min(65535, ((1 << 31) - 1) // (K * 128))
    lo, hi = max(-32768, zp - dmax), min(32767, zp + dmax)
    if kind.startswith("conv"):
        H, W_, C, OH, OW, _, KH, KW, SH, SW, DH, DW, PT, PL, PB, PR = params[:16]
        shape = (H, W_, C)
    else:
        P, C = params[0], params[1]
        shape = (P * C,)
    r = rng.random()
    if r < 0.2:  # the ends of the allowed range only
        x = rng.choice(np.array([lo, hi], np.int16), size=shape)
    else:
        x = rng.integers(lo, hi + 1, size=shape).astype(np.int16)
    params[-1] = zp  # input_zero_point is the last field of both params structs
    d = x.astype(np.int64) - zp
    if kind.startswith("conv"):  # zero padding of the real value: padded taps are 0 after the zero point
        dp = np.zeros((H + PT + PB, W_ + PL + PR, C), np.int64)
        dp[PT:PT + H, PL:PL + W_] = d
        w4 = w.reshape(O, KH, KW, C).astype(np.int64)
        acc = np.zeros((OH, OW, O), np.int64)
        for kh in range(KH):
            for kw in range(KW):
                tap = dp[kh * DH:kh * DH + (OH - 1) * SH + 1:SH, kw * DW:kw * DW + (OW - 1) * SW + 1:SW]
                acc += np.einsum("hwc,oc->hwo", tap, w4[:, kh, kw, :])
    else:
        acc = w.astype(np.int64) @ d
    assert np.abs(acc).max(initial=0) < 1 << 31
    return params, w.reshape(-1), x, acc, spec.summary


def layer_case(rng, kind, where):
    """A random conv/dense layer run with int32, int8 and int16 outputs: the golden accumulators and their
    requantizations with per-channel constants (of each width)."""
    if kind.endswith("s16s8"):
        params, w, x0, acc, summary = s16s8_layer(rng, kind)
        O = acc.shape[-1]
        vmax = np.abs(acc.reshape(-1, O)).max(axis=0) + 1
        m, o, s = rand_constants(rng, vmax, O)
        m16, o16, s16 = rand_constants(rng, vmax, O, bits=16)
        mode = MODE_ODD_S8 if rng.random() < 0.5 else 0
        return Case(LAYER_OPS[kind], params, [w, m, o, s, x0, m16, o16, s16],
                    [(TB_OK, acc.astype(np.int32)), (TB_OK, requant.requantize(acc, m, o, s)),
                     (TB_OK, requant.requantize(acc, m16, o16, s16, *S16))], where + f": {summary} (x int16)", mode)
    base = kind.replace("_ss", "")
    for fam in OPT_FAMILIES:
        base = base.replace(f"_{fam}", "")
    while True:
        node, x = s16_layer_case(rng, 1, base) if base.endswith("s8s16") else random_layer_case(rng, 1, base)
        a = node.attrs
        k_words = (int(np.prod(a["kernel"])) * words(a["in_shape"][-1]) if base == "conv_b1b1"
                   else int(np.prod(a["in_shape"][:-1])) * words(a["in_shape"][-1]))
        if not kind.endswith("_tree") or k_words >= 2:  # a tree kernel adds K >= 2 words
            break
    if base.endswith("s8b1") and rng.random() < 0.3:  # accumulators past 16 bits: the one-pixel path of _ss
        a["input_zero_point"] = int(rng.choice([-32640, 32639, int(rng.integers(-32640, 32640))]))
    a["out"] = "int32"
    spec = codegen.layer_spec(node, 0)
    params = [int({"TB_PAD_ZERO": 0, "TB_PAD_ONE": 1, "TB_PAD_MINUS_ONE": 2}.get(v, v)) for f, v in spec.params]
    acc = accumulators(node, x)[0].astype(np.int64)
    O = acc.shape[-1]
    vmax = np.abs(acc.reshape(-1, O)).max(axis=0) + 1
    m, o, s = rand_constants(rng, vmax, O)
    want8 = requant.requantize(acc, m, o, s)
    m16, o16, s16 = rand_constants(rng, vmax, O, bits=16)
    want16 = requant.requantize(acc, m16, o16, s16, *S16)
    w = spec.arrays["weights"]
    dt = {"uint32_t": "<u4", "int16_t": "<i2", "int8_t": "i1"}[w.ctype]
    mode = MODE_ODD_S8 if rng.random() < 0.5 else 0
    return Case(LAYER_OPS[kind], params, [np.asarray(w.values, dt), m, o, s, x[0], m16, o16, s16],
                [(TB_OK, acc.astype(np.int32)), (TB_OK, want8), (TB_OK, want16)], where + f": {spec.summary}", mode)


MAKERS = {"add": add_case, "avgpool": avgpool_case, "maxpool": maxpool_case, "binarize": binarize_case,
          "prelu": prelu_case}
for _n, _m in list(MAKERS.items()):  # the int16 twins (seeds of their own: appended)
    MAKERS[f"{_n}_s16"] = functools.partial(_m, bits=16)
LAYER_KINDS = tuple(LAYER_OPS)


def make_cases(name, n, seed):
    k = list(MAKERS).index(name) if name in MAKERS else 10 + LAYER_KINDS.index(name)
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, k, i])
        where = f"{name} seed {[seed, k, i]}"
        out.append(MAKERS[name](rng, where) if name in MAKERS else layer_case(rng, name, where))
    return out


# ------------------------------------------------------------------------------------------- tests --
@pytest.mark.parametrize("name", list(MAKERS))
def test_stream_kernels_bit_exact(exe, name):
    assert check(exe, make_cases(name, CASES, SEED)) == CASES


@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_s8_output_stage_bit_exact(exe, kind):
    """Every conv/dense kernel (the reference ones, the subset-sum first layers, the binary ones of every optimized
    family): TB_OUT_S32 equals the golden accumulators, TB_OUT_S8 their requantization."""
    assert check(exe, make_cases(kind, LAYER_CASES, SEED)) == LAYER_CASES


def test_sanitized():
    """A subset under -fsanitize=address,undefined with exact-size buffers: no out-of-bounds, no UB."""
    san = driver(True)
    cases = [c for name in list(MAKERS) + list(LAYER_KINDS)
             for c in make_cases(name, (CASES if name in MAKERS else LAYER_CASES) // SANITIZE_DIVISOR, SEED + 1)]
    assert check(san, cases) == len(cases)


def test_without_checks():
    """Generated models compile the argument checks out (TB_KERNEL_CHECKS=0): the same outputs without them."""
    exe = driver(False, ("-DTB_KERNEL_CHECKS=0",))
    cases = [c for name in list(MAKERS) + list(LAYER_KINDS)
             for c in make_cases(name, (CASES if name in MAKERS else LAYER_CASES) // SANITIZE_DIVISOR, SEED + 2)]
    assert check(exe, cases) == len(cases)


def test_requantize_edges(exe):
    """The rule at its corners through tb_add_s8 with mult_b = 0: (a * m + offset) >> shift, exactly."""
    rows = []  # (a, m, offset, shift)
    for s in (0, 1, 7, 31, 32, 61, 62):
        for off in (0, -1, 1, (1 << s) - 1, -(1 << s), -(1 << s) - 1, 127 << s, (128 << s) - 1, 128 << s,
                    -128 << s, (-128 << s) - 1, (-129 << s) + 1):
            if abs(off) < LIMIT:
                rows.append((0, 0, off, s))
        rows.append((0, 0, LIMIT - 1, s))
        rows.append((0, 0, -(LIMIT - 1), s))
        for a in (-128, -1, 1, 127):
            rows += [(a, I32_MIN, 0, s), (a, I32_MAX, 0, s), (a, -1, 0, s), (a, 1, -1, s)]
    cases = []
    for i, (a, m, off, s) in enumerate(rows):
        x = np.array([a], np.int8)
        want = requant.requantize(x, m, off, s)
        v = a * m + off
        assert int(want[0]) == max(-128, min(127, v // (1 << s)))  # Python's // is the floor
        cases.append(Case(OP_ADD, [1, m, 0, *_i64(off), s], [x, np.array([5], np.int8)], [(TB_OK, want)],
                          f"edge row {i}: a={a} m={m} offset={off} shift={s}"))
    assert check(exe, cases) == len(rows)


def test_the_check_can_fail(exe):
    """The cases exercise what a wrong C rule would get wrong: truncating instead of flooring, or not clamping,
    gives other bytes on many of them (and the comparison is on every byte)."""
    cases = make_cases("add", 300, SEED)
    trunc = clamp = 0
    for c in cases:
        n, ma, mb, lo, hi, s = c.ints
        a, b = (t.astype(np.int64) for t in c.blobs)
        off = (hi << 32) | (lo & 0xFFFFFFFF)
        v = a * ma + b * mb + off
        t = np.where(v >= 0, v >> s, -((-v) >> s))  # C's / 2^s: rounds toward zero
        trunc += int(np.any(np.clip(t, -128, 127) != c.want[0][1]))
        clamp += int(np.any((v >> s) < -128)) + int(np.any((v >> s) > 127))
    assert trunc > 50 and clamp > 100
    bad = cases[:20]
    for c in bad:  # one output byte off by one: check() must notice on every case
        w = c.want[0][1].copy()
        w[len(w) // 2] ^= np.int8(1)
        c.want = [(TB_OK, w)]
    for c in bad:
        with pytest.raises(pytest.fail.Exception, match="C != NumPy"):
            check(exe, [c])


def test_status_codes(exe):
    rng = np.random.default_rng([SEED, 99])
    x8 = np.arange(-6, 6, dtype=np.int8)
    one = np.ones(1, np.int32)
    geo = [2, 3, 2, 2, 3, 1, 1, 1, 1, 0, 0, 0, 0]  # 2x3x2 -> 2x3, kernel 1
    conv = layer_case(rng, "conv_s8b1", "conv")
    c16, d16 = layer_case(rng, "conv_s16s8", "conv16"), layer_case(rng, "dense_s16s8", "dense16")
    shift63 = conv.blobs[3].copy()
    shift63[-1] = 63
    cases = [
        Case(OP_ADD, [12, 1, 1, 0, 0, 63], [x8, x8], [(TB_ERR_ARG, None)], "add shift 63"),
        Case(OP_ADD, [12, 1, 1, 0, 0, -1], [x8, x8], [(TB_ERR_ARG, None)], "add shift -1"),
        Case(OP_ADD, [0, 1, 1, 0, 0, 0], [x8, x8], [(TB_ERR_ARG, None)], "add size 0"),
        Case(OP_ADD, [12, 1, 1, 0, 0, 0], [x8, None], [(TB_ERR_ARG, None)], "add b NULL"),
        Case(OP_AVGPOOL, geo + [0, 1, 0, 0, 63], [x8], [(TB_ERR_ARG, None)], "avgpool shift 63"),
        Case(OP_AVGPOOL, geo + [40000, 1, 0, 0, 0], [x8], [(TB_ERR_ARG, None)], "avgpool zero point"),
        Case(OP_AVGPOOL, [2, 3, 2, 3, 3] + geo[5:] + [0, 1, 0, 0, 0], [x8], [(TB_ERR_ARG, None)], "avgpool out_h"),
        Case(OP_AVGPOOL, geo + [0, 1, 0, 0, 0], [x8], [(TB_OK, x8)], "avgpool identity"),
        Case(OP_MAXPOOL, [2, 3, 2, 3, 4, 2, 2, 1, 1, 2, 0, 0, 1], [x8, None], [(TB_ERR_ARG, None)],
             "maxpool pad_top = kernel_h"),
        Case(OP_MAXPOOL, geo, [x8, one.view(np.uint32)], [(TB_ERR_ARG, None)], "maxpool OR mask"),
        Case(OP_MAXPOOL, geo, [x8, None], [(TB_OK, x8)], "maxpool identity"),
        Case(OP_BINARIZE, [6, 2], [np.zeros(2, np.int32), None, x8], [(TB_ERR_ARG, None)], "binarize flip NULL"),
        Case(OP_BINARIZE, [6, 2], [np.zeros(2, np.int32), np.zeros(1, np.uint32), x8], [(TB_ERR_ALIGN, None)],
             "binarize output misaligned", MODE_ODD_WORDS),
        Case(OP_PRELU, [6, 2], [np.zeros(2, np.int32), one.repeat(2), np.zeros(2, np.int64), one.repeat(2),
                                np.zeros(2, np.int64), np.array([0, 63], np.int32), x8], [(TB_ERR_ARG, None)],
             "prelu shift 63"),
        Case(OP_PRELU, [6, 2], [np.zeros(2, np.int32), None, np.zeros(2, np.int64), one.repeat(2),
                                np.zeros(2, np.int64), np.zeros(2, np.int32), x8], [(TB_ERR_ARG, None)],
             "prelu multiplier NULL"),
        Case(OP_PRELU, [6, 2], [np.zeros(2, np.int32), one.repeat(2), np.zeros(2, np.int64), one.repeat(2),
                                np.zeros(2, np.int64), np.zeros(2, np.int32), x8], [(TB_OK, x8)], "prelu identity"),
        # int8 outputs need no alignment, int16 ones 2 bytes (MODE_ODD_S8 puts them 2 bytes past a word), int32
        # ones 4
        Case(conv.op, conv.ints, conv.blobs, [(TB_ERR_ALIGN, None), conv.want[1], conv.want[2]], "conv odd outputs",
             MODE_ODD_WORDS | MODE_ODD_S8),
        Case(conv.op, conv.ints, conv.blobs, [conv.want[0], conv.want[1], (TB_ERR_ALIGN, None)],
             "conv S16 output at an odd address", MODE_ODD_S16),
        Case(conv.op, conv.ints, conv.blobs[:3] + [shift63] + conv.blobs[4:7] + [shift63],
             [conv.want[0], (TB_ERR_ARG, None), (TB_ERR_ARG, None)], "conv S8/S16 shift 63"),
        Case(conv.op, conv.ints, [conv.blobs[0], None] + conv.blobs[2:5] + [None] + conv.blobs[6:],
             [conv.want[0], (TB_ERR_ARG, None), (TB_ERR_ARG, None)], "conv S8/S16 multiplier NULL"),
        Case(LAYER_OPS["conv_s8b1_ss"], conv.ints, conv.blobs, [(TB_ERR_ALIGN, None), conv.want[1], conv.want[2]],
             "conv_ss odd outputs", MODE_ODD_WORDS | MODE_ODD_S8),
        Case(LAYER_OPS["conv_s8b1_ss"], conv.ints, conv.blobs, [conv.want[0], conv.want[1], (TB_ERR_ALIGN, None)],
             "conv_ss S16 output at an odd address", MODE_ODD_S16),
        # the int16-input layers: the input 2-byte aligned, the zero point any int16 value, zero padding only
        Case(c16.op, c16.ints, c16.blobs, c16.want, "conv_s16s8 input 2 bytes past a word", MODE_ODD_S8),
        Case(c16.op, c16.ints, c16.blobs, [(TB_ERR_ALIGN, None)] * 3, "conv_s16s8 input at an odd address",
             MODE_ODD_S16),
        Case(c16.op, c16.ints[:17] + [32768], c16.blobs, [(TB_ERR_ARG, None)] * 3, "conv_s16s8 zero point 32768"),
        Case(c16.op, c16.ints[:17] + [-32769], c16.blobs, [(TB_ERR_ARG, None)] * 3, "conv_s16s8 zero point -32769"),
        Case(c16.op, c16.ints[:16] + [1, c16.ints[17]], c16.blobs, [(TB_ERR_ARG, None)] * 3, "conv_s16s8 pad one"),
        Case(d16.op, d16.ints, d16.blobs, [(TB_ERR_ALIGN, None)] * 3, "dense_s16s8 input at an odd address",
             MODE_ODD_S16),
        Case(d16.op, d16.ints[:3] + [40000], d16.blobs, [(TB_ERR_ARG, None)] * 3, "dense_s16s8 zero point 40000"),
        Case(d16.op, d16.ints, d16.blobs[:4] + [None] + d16.blobs[5:], [(TB_ERR_ARG, None)] * 3,
             "dense_s16s8 input NULL"),
    ]
    # the int16 stream kernels: their buffers 2-byte aligned (2 bytes past a word is fine), any int16 zero point
    x16 = np.arange(-6, 6, dtype=np.int16) * 5000
    s16 = MODE_S16
    cases += [
        Case(OP_ADD, [12, 1, 1, 0, 0, 1], [x16, x16], [(TB_OK, x16)], "add_s16 (a + a) / 2", s16 | MODE_ODD_S8),
        Case(OP_ADD, [12, 1, 1, 0, 0, 0], [x16, x16], [(TB_OK, np.clip(x16.astype(np.int64) * 2, *S16)
                                                             .astype(np.int16))], "add_s16 saturates", s16),
        Case(OP_ADD, [12, 1, 1, 0, 0, 0], [x16, x16], [(TB_ERR_ALIGN, None)], "add_s16 odd", s16 | MODE_ODD_S16),
        Case(OP_ADD, [12, 1, 1, 0, 0, 63], [x16, x16], [(TB_ERR_ARG, None)], "add_s16 shift 63", s16),
        Case(OP_AVGPOOL, geo + [-32768, 1, 0, 0, 0], [x16], [(TB_OK, np.clip(x16.astype(np.int64) + 32768, *S16)
                                                              .astype(np.int16))], "avgpool_s16 zp -32768", s16),
        Case(OP_AVGPOOL, geo + [32768, 1, 0, 0, 0], [x16], [(TB_ERR_ARG, None)], "avgpool_s16 zero point", s16),
        Case(OP_AVGPOOL, geo + [0, 1, 0, 0, 0], [x16], [(TB_ERR_ALIGN, None)], "avgpool_s16 odd", s16 | MODE_ODD_S16),
        Case(OP_MAXPOOL, geo, [x16, None], [(TB_OK, x16)], "maxpool_s16 identity", s16 | MODE_ODD_S8),
        Case(OP_MAXPOOL, geo, [x16, None], [(TB_ERR_ALIGN, None)], "maxpool_s16 odd", s16 | MODE_ODD_S16),
        Case(OP_MAXPOOL, geo, [x16, one.view(np.uint32)], [(TB_ERR_ARG, None)], "maxpool_s16 OR mask", s16),
        Case(OP_BINARIZE, [6, 2], [np.zeros(2, np.int32), np.zeros(1, np.uint32), x16], [(TB_ERR_ALIGN, None)],
             "binarize_s16 input odd", s16 | MODE_ODD_S16),
        Case(OP_BINARIZE, [6, 2], [np.zeros(2, np.int32), None, x16], [(TB_ERR_ARG, None)], "binarize_s16 flip", s16),
        Case(OP_PRELU, [6, 2], [np.zeros(2, np.int32), one.repeat(2), np.zeros(2, np.int64), one.repeat(2),
                                np.zeros(2, np.int64), np.zeros(2, np.int32), x16], [(TB_OK, x16)], "prelu_s16 identity",
             s16 | MODE_ODD_S8),
        Case(OP_PRELU, [6, 2], [np.zeros(2, np.int32), one.repeat(2), np.zeros(2, np.int64), one.repeat(2),
                                np.zeros(2, np.int64), np.zeros(2, np.int32), x16], [(TB_ERR_ALIGN, None)],
             "prelu_s16 odd", s16 | MODE_ODD_S16),
        Case(OP_PRELU, [6, 2], [np.zeros(2, np.int32), one.repeat(2), np.zeros(2, np.int64), one.repeat(2),
                                np.zeros(2, np.int64), np.array([0, 63], np.int32), x16], [(TB_ERR_ARG, None)],
             "prelu_s16 shift 63", s16),
    ]
    assert check(exe, cases) == len(cases)


# ------------------------------------------------------------------------------- source properties --
def test_header_documents_every_function():
    text = (KDIR / "tb_kernels_stream.h").read_text()
    decls = re.findall(r"^(?:tb_status|int32_t) (tb_\w+)\(", text, flags=re.M)
    assert len(decls) == 24  # 5 kernels at int8 and at int16, 2 int16-input layers, and their _get_buffer_size
    for fn in decls:
        before = text[:text.index(f" {fn}(")]
        doc = before[before.rindex("/**"):]
        assert "*/" in doc and doc[doc.index("*/") + 2:].strip() in ("tb_status", "int32_t"), \
            f"{fn} lacks a Doxygen comment right above it"
        if not fn.endswith("_get_buffer_size"):
            for word in ("@param", "@return"):
                assert word in doc, f"{fn}: Doxygen comment has no {word}"


def test_out_params_keep_their_first_fields():
    """Positional initializers {kind, thresholds, flip} of existing code stay valid: the S8 fields come after."""
    text = re.sub(r"/\*.*?\*/", " ", (KDIR / "tb_kernels.h").read_text(), flags=re.S)
    body = text[:text.index("} tb_out_params;")]
    fields = re.findall(r"(\w+);", body[body.rindex("typedef struct {"):])
    assert fields == ["kind", "thresholds", "flip", "multiplier", "offset", "shift"]


# --------------------------------------------------------------------------------------- emulated cores --
DEVICE_BOARDS = ("qemu-m0", "qemu-m4", "qemu-rv32")  # Thumb-1 without a 64-bit multiply; Thumb-2 + DSP; RV32IMC
DEVICE_CASES = 60        # per stream kernel and per reference conv/dense kind that fit the arena
DEVICE_ARENA_WORDS = 2000  # 8 KB: the micro:bit has 16 KB of RAM
DEVICE_KIND_BYTES = 6000   # case data per kind (x 22 kinds, in flash)
DEVICE_KINDS = tuple(k for k in LAYER_OPS if not 20 <= LAYER_OPS[k] < 30)  # the families' assembly: another test's


def _case_bytes(c: Case) -> int:
    """Generous bound of the arena bytes a case takes on the device (blobs, both outputs, encodings, scratch)."""
    blobs = sum(0 if b is None else np.asarray(b).nbytes + 4 for b in c.blobs)
    outs = sum(0 if w is None else np.asarray(w).nbytes + 4 for _, w in c.want)
    k = max((np.asarray(c.blobs[0]).nbytes if c.op >= 10 else 0), 1)
    return blobs + outs + (6 * k + 4 * 256 + 16 * c.ints[5 if len(c.ints) == 18 else 2] + 64 if c.op >= 10 else 0)


def device_cases() -> list[Case]:
    """Cases that fit the arena, the smallest first, up to DEVICE_CASES and DEVICE_KIND_BYTES of data per kind (the
    micro:bit has 256 KB of flash)."""
    out = []
    for name in list(MAKERS) + list(DEVICE_KINDS):
        fits = sorted((c for c in make_cases(name, 4 * DEVICE_CASES, SEED + 3)
                       if _case_bytes(c) <= 4 * DEVICE_ARENA_WORDS), key=lambda c: len(c.encode()))
        total = 0
        for c in fits[:DEVICE_CASES]:
            total += len(c.encode())
            if total > DEVICE_KIND_BYTES:
                break
            out.append(c)
    return out


def _fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


@pytest.mark.parametrize("board_id", DEVICE_BOARDS)
def test_stream_kernels_on_emulated_core(exe, board_id, tmp_path):
    """The same cases on an emulated core: the hash of its results equals the host's, which equal NumPy's."""
    import shutil

    from tinybnn.targets import boards, platformio
    from tinybnn.targets.qemu import run_to_exit

    b = boards.load_board(board_id)
    missing = [t for t in (b["toolchain"] + "-gcc", b["qemu"]["binary"]) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    cases = device_cases()
    assert len(cases) >= 6 * DEVICE_CASES
    check(exe, cases)  # the host's results are NumPy's
    blob = struct.pack("<2i", MAGIC, len(cases)) + b"".join(c.encode() for c in cases)
    r = subprocess.run([str(exe)], input=blob, capture_output=True, timeout=600)
    assert r.returncode == 0
    records = sum(len(c.want) for c in cases)
    stage = tmp_path / "stage" / "check"
    stage.mkdir(parents=True)
    for d in (KDIR, OPT):
        for p in d.iterdir():
            if p.suffix == ".h" or p.name == "tb_first_ss.c" or (d == KDIR and p.suffix == ".c"):
                shutil.copy2(p, stage / p.name)
    shutil.copy2(KDIR / "tests" / "tb_stream_driver.c", stage / "tb_stream_driver.c")
    for name in ("tb_print.c", "tb_print.h"):
        shutil.copy2(KDIR.parent / "runtime" / name, stage / name)
    rows = ",\n".join(", ".join(f"0x{v:02x}" for v in blob[i:i + 24]) for i in range(0, len(blob), 24))
    (stage / "tb_stream_cases.c").write_text(
        "#include <stdint.h>\n\nconst uint8_t tb_stream_cases[] = {\n" + rows + "\n};\n"
        f"const int32_t tb_stream_cases_len = {len(blob)};\n")
    project = platformio.write_project(b, tmp_path / "fw", [stage], extra_build_flags=[
        "-DTB_STREAM_DEVICE", "-DTB_STREAM_NO_FAMILIES", f"-DTB_STREAM_ARENA_WORDS={DEVICE_ARENA_WORDS}"])
    res = platformio.run_pio(project)
    code, raw = run_to_exit(res.elf, b, timeout=300)
    log = raw.decode("utf-8", "replace")
    assert code == 0, log[-3000:]
    assert f"tb_stream_check records {records} hash {_fnv1a(r.stdout)}\n" in log, log[-3000:]
