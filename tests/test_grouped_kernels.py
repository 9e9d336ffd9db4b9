"""The grouped and depthwise conv2d reference kernels (firmware/kernels/tb_kernels_grouped.h), bit for bit.

One driver (firmware/kernels/tests/tb_grouped_driver.c) runs thousands of random layers per call through
tb_conv2d_grouped_b1b1, tb_conv2d_grouped_s8s8 and tb_conv2d_grouped_s16s8: groups 1, 2, C (depthwise, depth
multiplier 1..3) and other divisors, 1..70 channels (groups whose bit range straddles words, several words per
group), strides, dilations, pads top/left/bottom/right, the three binary pad kinds, and every output stage the
header has (packed bits with thresholds and flip mask, int32, requantized int8, and int16 where TB_OUT_S16
exists). The reference is written here in NumPy int64 on the +-1 / integer values themselves (no packing, no
popcount): a padded input and one product sum per tap. Groups = 1 must give the bytes of tb_conv2d_b1b1 /
tb_conv2d_s8s8 (and tb_conv2d_s16s8 where it exists), and the reference's accumulators of a grouped layer must be
those of tb_conv2d_b1b1 / tb_conv2d_s8s8 run on its channel slices. Every buffer is an
exact-size heap block (int8 ones often at odd addresses, int16 ones at 2 mod 4), so the sanitizer build catches an
out-of-bounds access; a build with the argument checks compiled out (as in generated models) gives the same
outputs. On emulated cores the same driver runs as a firmware and prints the hash of its results, which must equal
the host's. Seeds are fixed; a failure names the kernel, seed and case index.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import numpy as np
import pytest

from test_stream_kernels import rand_constants
from tinybnn.backend import codegen, hostc
from tinybnn.ir import requant
from tinybnn.ir.bits import pack_bits, unpack_bits

SEED = 20261204
CASES = 1500            # per grouped kernel (x 3)
SANITIZE_DIVISOR = 10   # the sanitizer and the no-checks builds run a tenth of them

MAGIC = 0x47424254
OPS = {"b1b1": 1, "s8s8": 2, "s16s8": 3}
OP_CONV_B1B1, OP_CONV_S8S8, OP_CONV_S16S8 = 4, 5, 6
MODE_ODD_S8, MODE_INPUT_PLUS2, MODE_ODD_OUTPUT, MODE_NULL_PARAMS = 1, 2, 4, 8
MODE_INPUT_PLUS1, MODE_WEIGHTS_PLUS2 = 16, 32
TB_OK, TB_ERR_ARG, TB_ERR_ALIGN = 0, -1, -2
PAD_ZERO, PAD_ONE, PAD_MINUS_ONE = 0, 1, 2
OUT_BITS, OUT_S32, OUT_S8, OUT_S16 = 0, 1, 2, 3
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1

KDIR = codegen.kernels_dir()
HAS_S16_OUT = "TB_OUT_S16" in (KDIR / "tb_kernels.h").read_text()  # the int16 stream's output stage, once merged
OUT_KINDS = (OUT_BITS, OUT_S32, OUT_S8) + ((OUT_S16,) if HAS_S16_OUT else ())
HAS_S16S8 = "tb_conv2d_s16s8(" in (KDIR / "tb_kernels_stream.h").read_text()  # the ungrouped int16-stream conv
UNGROUPED = {1: OP_CONV_B1B1, 2: OP_CONV_S8S8, **({3: OP_CONV_S16S8} if HAS_S16S8 else {})}


# ------------------------------------------------------------------------------------------ driver --
def driver(sanitize: bool, flags=()):
    files = {p.name: p.read_bytes() for p in sorted(KDIR.iterdir()) if p.suffix in (".c", ".h")}
    files["tb_grouped_driver.c"] = (KDIR / "tests" / "tb_grouped_driver.c").read_bytes()
    have = ("-DTB_GROUPED_HAVE_S16S8",) if HAS_S16S8 else ()
    return hostc.cached_build(files, "grouped-driver", sanitize, exe_name="tb_grouped_driver",
                              extra_flags=("-Wvla", "-pedantic") + have + tuple(flags))


@pytest.fixture(scope="module")
def exe():
    return driver(False)


def _blob(a) -> bytes:
    data = b"" if a is None else np.ascontiguousarray(a).tobytes()
    return struct.pack("<i", len(data)) + data + b"\0" * (-len(data) % 4)


class Case:
    """One kernel call: op, 20 ints (conv params, groups, output kind), 7 blobs (weights, input, thresholds,
    flip, multiplier, offset, shift), and what it must produce: (status, bytes or None)."""

    def __init__(self, op, ints, blobs, want, where, mode=0):
        self.op, self.ints, self.blobs, self.want, self.where, self.mode = op, ints, blobs, want, where, mode

    @property
    def groups(self) -> int:
        return self.ints[18]

    def encode(self) -> bytes:
        return (struct.pack(f"<3i{len(self.ints)}i", self.op, self.mode, len(self.ints), *self.ints) +
                struct.pack("<i", len(self.blobs)) + b"".join(_blob(b) for b in self.blobs))


def run(exe_path, cases: list[Case]) -> list[tuple[int, bytes]]:
    blob = struct.pack("<2i", MAGIC, len(cases)) + b"".join(c.encode() for c in cases)
    r = subprocess.run([str(exe_path)], input=blob, capture_output=True, timeout=600, env=hostc.sanitizer_env())
    assert r.returncode == 0, f"grouped driver failed (exit {r.returncode}):\n{r.stderr.decode()[-4000:]}"
    raw, o, res = r.stdout, 0, []
    for _ in cases:
        st, n = struct.unpack_from("<2i", raw, o)
        res.append((st, raw[o + 8:o + 8 + n]))
        o += 8 + n
    assert o == len(raw), "driver result stream has trailing bytes"
    return res


def check(exe_path, cases: list[Case]) -> list[bytes]:
    """Every case's status and output bytes; returns the outputs."""
    res = run(exe_path, cases)
    for c, (st, got) in zip(cases, res):
        want_st, want = c.want
        assert st == want_st, f"status {st} != {want_st} for {c.where}"
        if want is not None:
            want = np.ascontiguousarray(want).tobytes()
            if got != want:
                g, w = np.frombuffer(got, np.uint8), np.frombuffer(want, np.uint8)
                i = int(np.argmax(g[:len(w)] != w[:len(g)])) if len(g) == len(w) else -1
                pytest.fail(f"C != NumPy at byte {i} of {len(w)} (got {len(g)} bytes) for {c.where}")
    return [got for _, got in res]


# ------------------------------------------------------------------------------- NumPy reference --
def grouped_conv_ref(x, w, groups, stride, dilation, pads, pad_value, out_hw):
    """acc[oy, ox, o] = sum over kh, kw and the group's channels c of w[o, kh, kw, c] * xp[.., g * C/G + c]
    (int64), xp the input padded with pad_value: (H, W, C) values, (O, KH, KW, C/G) weights."""
    H, W, C = x.shape
    O, KH, KW, cg = w.shape
    (sh, sw), (dh, dw), (pt, pl, pb, pr), (OH, OW) = stride, dilation, pads, out_hw
    G, og = groups, O // groups
    xp = np.full((H + pt + pb, W + pl + pr, C), pad_value, np.int64)
    xp[pt:pt + H, pl:pl + W] = x
    wg = w.astype(np.int64).reshape(G, og, KH, KW, cg)
    acc = np.zeros((OH, OW, G, og), np.int64)
    for kh in range(KH):
        for kw in range(KW):
            y0, x0 = kh * dh, kw * dw
            tap = xp[y0:y0 + (OH - 1) * sh + 1:sh, x0:x0 + (OW - 1) * sw + 1:sw].reshape(OH, OW, G, cg)
            acc += np.einsum("yxgc,gpc->yxgp", tap, wg[:, :, kh, kw, :])
    return acc.reshape(OH, OW, O)


# ---------------------------------------------------------------------------------- case makers --
def random_groups(rng):
    """(C, O, G): depthwise (G = C, depth multiplier 1..3), 1, 2 or another divisor; C, O in 1..70."""
    r = rng.random()
    if r < 0.35:  # depthwise
        C = int(rng.integers(1, 71)) if rng.random() < 0.8 else int(rng.choice([1, 31, 32, 33, 64, 65, 70]))
        m = int(rng.choice([1, 1, 1, 2, 3]))
        while C * m > 70:
            m -= 1
        return C, C * m, C
    if r < 0.55:
        G = 1
    elif r < 0.8:
        G = 2
    else:
        G = int(rng.integers(3, 11))
    cg = int(rng.integers(1, 70 // G + 1))
    if rng.random() < 0.2 and 70 // G >= 33:  # several words per group, at an unaligned start when G > 1
        cg = int(rng.integers(33, 70 // G + 1))
    og = int(rng.integers(1, 70 // G + 1))
    return G * cg, G * og, G


def random_geometry(rng):
    """((H, W), (KH, KW), stride, dilation, pads t/l/b/r, (OH, OW)) with OH, OW >= 1."""
    while True:
        H, W = int(rng.integers(1, 8)), int(rng.integers(1, 8))
        KH, KW = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        if rng.random() < 0.3:
            KH, KW = 3, 3
        stride = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dil = (1, 1) if rng.random() < 0.6 else (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        pads = tuple(int(rng.integers(0, 4)) for _ in range(4)) if rng.random() < 0.7 else (0, 0, 0, 0)
        sp_h = H + pads[0] + pads[2] - dil[0] * (KH - 1) - 1
        sp_w = W + pads[1] + pads[3] - dil[1] * (KW - 1) - 1
        if sp_h >= 0 and sp_w >= 0:
            return (H, W), (KH, KW), stride, dil, pads, (sp_h // stride[0] + 1, sp_w // stride[1] + 1)


def output_stage(rng, kind, acc, k_max):
    """(blobs thresholds, flip, multiplier, offset, shift; expected output) for output kind `kind`."""
    O = acc.shape[-1]
    if kind == OUT_BITS:
        flip = rng.random(O) < 0.4
        r = rng.random(O)
        tau = np.where(r < 0.04, I32_MIN, np.where(r < 0.08, I32_MAX,
                                                     rng.integers(-k_max - 2, k_max + 3, size=O))).astype(np.int32)
        a = np.where(flip, -acc - 1, acc)  # ~acc
        return [tau, pack_bits(flip), None, None, None], pack_bits(a < tau)
    if kind == OUT_S32:
        return [None] * 5, acc.astype(np.int32)
    vmax = np.abs(acc.reshape(-1, O)).max(axis=0) + 1
    m, o, s = rand_constants(rng, vmax, O)
    lo, hi = (-128, 127) if kind == OUT_S8 else (-32768, 32767)
    return [None, None, m, o, s], requant.requantize(acc, m, o, s, lo, hi)


def layer_case(rng, name, where):
    """A random grouped layer of kernel `name` and its expected output."""
    C, O, G = random_groups(rng)
    (H, W), (KH, KW), stride, dil, pads, (OH, OW) = random_geometry(rng)
    cg = C // G
    zp = 0
    if name == "b1b1":
        xb = rng.random((H, W, C)) < rng.uniform(0.1, 0.9)
        wb = rng.random((O, KH, KW, cg)) < rng.uniform(0.1, 0.9)
        pad = int(rng.choice([PAD_ZERO, PAD_ONE, PAD_MINUS_ONE]))
        x, w = np.where(xb, -1, 1), np.where(wb, -1, 1)
        x_blob, w_blob = pack_bits(xb), pack_bits(wb)
        pad_value = {PAD_ZERO: 0, PAD_ONE: 1, PAD_MINUS_ONE: -1}[pad]
    else:
        pad = PAD_ZERO
        w = rng.integers(-128, 128, size=(O, KH, KW, cg), dtype=np.int8)
        if rng.random() < 0.1:
            w = rng.choice(np.array([-128, 127], np.int8), size=w.shape)
        if name == "s8s8":
            zp = int(rng.integers(-128, 128)) if rng.random() < 0.8 else int(rng.integers(-2000, 2001))
            x_blob = rng.integers(-128, 128, size=(H, W, C), dtype=np.int8)
        else:  # int16 codes with |x - zp| * 128 * taps < 2^31 (the caller's guarantee)
            amp = min(65535, I32_MAX // (KH * KW * cg * 128))
            zp = int(rng.integers(-32768, 32768)) if rng.random() < 0.7 else int(rng.choice([-32768, 0, 32767]))
            lo, hi = max(-32768, zp - amp), min(32767, zp + amp)
            x_blob = rng.integers(lo, hi + 1, size=(H, W, C)).astype(np.int16)
            if rng.random() < 0.15:  # the extreme codes the range allows
                x_blob = rng.choice(np.array([lo, hi], np.int16), size=(H, W, C))
        x = x_blob.astype(np.int64) - zp
        w_blob, pad_value = w, 0
    acc = grouped_conv_ref(x, w, G, stride, dil, pads, pad_value, (OH, OW))
    assert np.abs(acc).max() < 1 << 31
    kind = int(rng.choice(OUT_KINDS))
    stage, want = output_stage(rng, kind, acc, KH * KW * cg)
    ints = [H, W, C, OH, OW, O, KH, KW, *stride, *dil, *pads, pad, zp, G, kind]
    mode = int(rng.choice([0, MODE_ODD_S8] + ([MODE_INPUT_PLUS2, MODE_INPUT_PLUS2 | MODE_ODD_S8] if name == "s16s8"
                                              else [])))
    desc = (f"{name} seed {where}: {H}x{W}x{C} -> {OH}x{OW}x{O}, groups {G}, kernel {KH}x{KW}, stride {stride}, "
            f"dilation {dil}, pads {pads}, pad {pad}, zp {zp}, out kind {kind}, mode {mode}")
    case = Case(OPS[name], ints, [w_blob, x_blob, *stage], (TB_OK, want), desc, mode)
    case.acc = acc
    return case


def make_cases(name, n, seed) -> list[Case]:
    k = list(OPS).index(name)
    return [layer_case(np.random.default_rng([seed, k, i]), name, [seed, k, i]) for i in range(n)]


def ungrouped_twins(cases: list[Case]) -> list[Case]:
    """For every groups = 1 case: the same call through tb_conv2d_b1b1 / tb_conv2d_s8s8 (/ tb_conv2d_s16s8 where
    it exists), which must give the same bytes."""
    return [Case(UNGROUPED[c.op], c.ints, c.blobs, c.want, c.where + " (ungrouped kernel)", c.mode)
            for c in cases if c.groups == 1 and c.op in UNGROUPED]


def group_slices(c: Case) -> list[Case]:
    """A grouped b1b1 / s8s8 case (int32 output) as G ungrouped layers on its channel slices: group g's
    outputs are tb_conv2d_b1b1 / tb_conv2d_s8s8 of input channels [g C/G, (g + 1) C/G) with its filters."""
    H, W, C, OH, OW, O = c.ints[:6]
    G = c.groups
    cg, og = C // G, O // G
    out = []
    for g in range(G):
        if c.op == OPS["b1b1"]:
            xb = unpack_bits(c.blobs[1], C)[..., g * cg:(g + 1) * cg]
            x, op = pack_bits(xb), OP_CONV_B1B1
        else:
            x, op = np.ascontiguousarray(c.blobs[1][..., g * cg:(g + 1) * cg]), OP_CONV_S8S8
        ints = [H, W, cg, OH, OW, og, *c.ints[6:18], 1, OUT_S32]
        w = np.ascontiguousarray(c.blobs[0][g * og:(g + 1) * og])
        want = c.acc[..., g * og:(g + 1) * og].astype(np.int32)
        out.append(Case(op, ints, [w, x, None, None, None, None, None], (TB_OK, want),
                        c.where + f" (group {g} as an ungrouped layer)"))
    return out


# ------------------------------------------------------------------------------------------- tests --
@pytest.mark.parametrize("name", list(OPS))
def test_grouped_kernels_bit_exact(exe, name, report):
    cases = make_cases(name, CASES, SEED)
    check(exe, cases)
    groups = [c.groups for c in cases]
    depthwise = sum(c.groups == c.ints[2] for c in cases)
    straddle = sum(c.groups > 1 and any((g * (c.ints[2] // c.groups)) % 32 + c.ints[2] // c.groups > 32
                                        for g in range(c.groups)) for c in cases)
    kinds = {k: sum(c.ints[19] == k for c in cases) for k in OUT_KINDS}
    report(f"{len(cases)} layers: groups 1 {groups.count(1)}, 2 {groups.count(2)}, depthwise {depthwise}, "
           f"a group straddling words {straddle}; output kinds {kinds}")
    assert depthwise > CASES // 5 and groups.count(1) > CASES // 10 and groups.count(2) > CASES // 10
    if name == "b1b1":
        assert straddle > CASES // 20
        pads = {p: sum(c.ints[16] == p and any(c.ints[12:16]) for c in cases) for p in (0, 1, 2)}
        assert min(pads.values()) > CASES // 10, pads


@pytest.mark.parametrize("name", [n for n in OPS if OPS[n] in UNGROUPED])
def test_groups_one_equals_the_ungrouped_kernel(exe, name):
    """groups = 1 gives the bytes of tb_conv2d_b1b1 / tb_conv2d_s8s8 (/ tb_conv2d_s16s8) on every output stage."""
    twins = ungrouped_twins(make_cases(name, CASES, SEED))
    assert len(twins) > CASES // 10
    check(exe, twins)


@pytest.mark.parametrize("name", ["b1b1", "s8s8"])
def test_groups_are_ungrouped_layers_on_channel_slices(exe, name):
    """A grouped layer is G ungrouped layers (tb_conv2d_b1b1 / tb_conv2d_s8s8) on its channel slices."""
    cases = [c for c in make_cases(name, 300, SEED + 5) if 1 < c.groups <= 8]
    slices = [s for c in cases for s in group_slices(c)]
    assert len(cases) > 50 and len(slices) > 200
    check(exe, slices)


def test_sanitized():
    """A tenth of the cases (and the groups = 1 twins) under -fsanitize=address,undefined, exact-size buffers."""
    san = driver(True)
    cases = [c for name in OPS for c in make_cases(name, CASES // SANITIZE_DIVISOR, SEED + 1)]
    check(san, cases + ungrouped_twins(cases))


def test_without_checks():
    """Generated models compile the argument checks out (TB_KERNEL_CHECKS=0): the same outputs without them."""
    exe = driver(False, ("-DTB_KERNEL_CHECKS=0",))
    cases = [c for name in OPS for c in make_cases(name, CASES // SANITIZE_DIVISOR, SEED + 2)]
    check(exe, cases + ungrouped_twins(cases))


def test_the_check_can_fail(exe):
    """A reference that forgot the group offset (every output reading the first C/G channels), or one bit off,
    is caught: the comparison is on every byte."""
    cases = [c for c in make_cases("b1b1", 200, SEED + 3) if c.groups > 1 and c.ints[19] == OUT_S32][:20]
    assert len(cases) >= 10
    wrong = 0
    for c in cases:
        H, W, C, OH, OW, O, KH, KW, sh, sw, dh, dw, pt, pl, pb, pr, pad = c.ints[:17]
        x = np.where(unpack_bits(c.blobs[1], C), -1, 1)
        w = np.where(unpack_bits(c.blobs[0], C // c.groups), -1, 1)
        x0 = np.concatenate([x[..., :C // c.groups]] * c.groups, axis=-1)  # group 0's channels everywhere
        bad = grouped_conv_ref(x0, w, c.groups, (sh, sw), (dh, dw), (pt, pl, pb, pr),
                               {0: 0, 1: 1, 2: -1}[pad], (OH, OW))
        wrong += int(np.any(bad != c.acc))
    assert wrong >= len(cases) // 2
    for c in cases[:5]:
        w = c.want[1].copy()
        w.flat[w.size // 2] ^= 1
        c.want = (TB_OK, w)
        with pytest.raises(pytest.fail.Exception, match="C != NumPy"):
            check(exe, [c])


def _small(name, kind=OUT_S32, groups=2, pad=PAD_ZERO, zp=0):
    """A fixed 3x3x4 -> 3x3x4 layer (kernel 3, pads 1) of kernel `name`, valid for the given options."""
    rng = np.random.default_rng([SEED, 77, OPS[name]])
    C = O = 4
    cg = C // max(groups, 1) if groups >= 1 and C % groups == 0 else 1
    ints = [3, 3, C, 3, 3, O, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, pad, zp, groups, kind]
    if name == "b1b1":
        w, x = pack_bits(rng.random((O, 3, 3, cg)) < 0.5), pack_bits(rng.random((3, 3, C)) < 0.5)
    else:
        w = rng.integers(-128, 128, (O, 3, 3, cg), dtype=np.int8)
        x = rng.integers(-128, 128, (3, 3, C), dtype=np.int8) if name == "s8s8" else \
            rng.integers(-999, 999, (3, 3, C)).astype(np.int16)
    stage = [None] * 5
    if kind == OUT_BITS:
        stage[:2] = [np.zeros(O, np.int32), np.zeros(1, np.uint32)]
    elif kind in (OUT_S8, OUT_S16):
        stage[2:] = [np.ones(O, np.int32), np.zeros(O, np.int64), np.zeros(O, np.int32)]
    return ints, [w, x, *stage]


def test_status_codes(exe):
    cases = []

    def add(name, want, what, mode=0, blobs_edit=None, **kw):
        ints, blobs = _small(name, **kw)
        if blobs_edit:
            blobs_edit(blobs)
        cases.append(Case(OPS[name], ints, blobs, (want, None), f"{name}: {what}", mode))

    def drop(i):
        return lambda b: b.__setitem__(i, None)

    for name in OPS:
        add(name, TB_OK, "a valid layer", mode=MODE_ODD_S8 if name == "s8s8" else 0)
        add(name, TB_ERR_ARG, "groups 0", groups=0)
        add(name, TB_ERR_ARG, "groups -2", groups=-2)
        add(name, TB_ERR_ARG, "groups 3 (does not divide 4)", groups=3)
        add(name, TB_ERR_ARG, "groups 8 (more than the channels)", groups=8)
        add(name, TB_ERR_ARG, "params NULL", mode=MODE_NULL_PARAMS)
        add(name, TB_ERR_ARG, "input NULL", blobs_edit=drop(1))
        add(name, TB_ERR_ARG, "weights NULL", blobs_edit=drop(0))
        add(name, TB_ERR_ARG, "bits output without thresholds", kind=OUT_BITS, blobs_edit=drop(2))
        add(name, TB_ERR_ARG, "S8 output without multipliers", kind=OUT_S8, blobs_edit=drop(4))
        add(name, TB_ERR_ARG, "output kind 9", kind=9)
        add(name, TB_ERR_ALIGN, "int32 output at an odd address", mode=MODE_ODD_OUTPUT)
        add(name, TB_ERR_ALIGN, "bits output at an odd address", kind=OUT_BITS, mode=MODE_ODD_OUTPUT)
        add(name, TB_OK, "S8 output at an odd address", kind=OUT_S8, mode=MODE_ODD_OUTPUT)
        if HAS_S16_OUT:
            add(name, TB_ERR_ALIGN, "S16 output at an odd address", kind=OUT_S16, mode=MODE_ODD_OUTPUT)
    for name in ("s8s8", "s16s8"):
        add(name, TB_ERR_ARG, "pad +1 on an integer input", pad=PAD_ONE)
        add(name, TB_ERR_ARG, "pad -1 on an integer input", pad=PAD_MINUS_ONE)
    add("s8s8", TB_OK, "zero point 32639", zp=32639)
    add("s8s8", TB_ERR_ARG, "zero point 32640", zp=32640)
    add("s8s8", TB_ERR_ARG, "zero point -32641", zp=-32641)
    add("s16s8", TB_OK, "zero point -32768", zp=-32768)
    add("s16s8", TB_ERR_ARG, "zero point 32768", zp=32768)
    add("s16s8", TB_ERR_ARG, "zero point -32769", zp=-32769)
    add("s16s8", TB_OK, "int16 input 2 bytes past a word", mode=MODE_INPUT_PLUS2)
    add("s16s8", TB_ERR_ALIGN, "int16 input at an odd address", mode=MODE_INPUT_PLUS1)
    add("s8s8", TB_OK, "int8 input and weights at odd addresses", mode=MODE_INPUT_PLUS1)
    add("b1b1", TB_ERR_ALIGN, "packed input 2 bytes past a word", mode=MODE_INPUT_PLUS2)
    add("b1b1", TB_ERR_ALIGN, "packed weights 2 bytes past a word", mode=MODE_WEIGHTS_PLUS2)
    add("b1b1", TB_OK, "pad -1", pad=PAD_MINUS_ONE)
    for name in OPS:  # groups 2 dividing one channel count only
        for i, what in ((2, "in_c"), (5, "out_c")):
            ints, blobs = _small(name)
            ints[i] = 3
            cases.append(Case(OPS[name], ints, blobs, (TB_ERR_ARG, None), f"{name}: groups 2, {what} 3"))
    ints, blobs = _small("b1b1")
    ints[3] = 4  # out_h inconsistent with the geometry
    cases.append(Case(OPS["b1b1"], ints, blobs, (TB_ERR_ARG, None), "b1b1: out_h 4 for a 3-row output"))
    res = run(exe, cases)
    bad = [f"{c.where}: {st} (want {c.want[0]})" for c, (st, _) in zip(cases, res) if st != c.want[0]]
    assert not bad, "\n".join(bad)


def test_depthwise_by_hand(exe):
    """A depthwise 3x3 conv on a 2x2x3 int8 input, pads 1, zero point 1: each output channel is its own input
    channel's window sum times the filter, worked out by hand."""
    x = np.array([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]], np.int8)  # (2, 2, 3)
    w = np.ones((3, 3, 3, 1), np.int8)
    w[1] *= 2
    w[2] *= -1
    # every 3x3 window with pads 1 on a 2x2 input covers all 4 pixels: sums of x - 1 per channel
    s = (x.astype(np.int64) - 1).sum(axis=(0, 1))  # [18, 22, 26]
    want = np.broadcast_to(np.array([s[0], 2 * s[1], -s[2]], np.int32), (2, 2, 3))
    ints = [2, 2, 3, 2, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, PAD_ZERO, 1, 3, OUT_S32]
    check(exe, [Case(OPS["s8s8"], ints, [w, x] + [None] * 5, (TB_OK, np.ascontiguousarray(want)), "by hand")])
    assert list(s) == [18, 22, 26]


# ------------------------------------------------------------------------------- source properties --
def test_header_documents_every_function():
    text = (KDIR / "tb_kernels_grouped.h").read_text()
    decls = re.findall(r"^(?:tb_status|int32_t) (tb_\w+)\(", text, flags=re.M)
    assert sorted(decls) == sorted(f"tb_conv2d_grouped_{n}{s}" for n in OPS for s in ("", "_get_buffer_size"))
    for fn in decls:
        before = text[:text.index(f" {fn}(")]
        doc = before[before.rindex("/**"):]
        assert "*/" in doc and doc[doc.index("*/") + 2:].strip() in ("tb_status", "int32_t"), \
            f"{fn} lacks a Doxygen comment right above it"
        if not fn.endswith("_get_buffer_size"):
            for word in ("@param", "@return"):
                assert word in doc, f"{fn}: Doxygen comment has no {word}"


def test_params_struct_layout():
    """The codegen renders nested designated initializers: .conv (a tb_conv2d_params), then .groups."""
    text = re.sub(r"/\*.*?\*/", " ", (KDIR / "tb_kernels_grouped.h").read_text(), flags=re.S)
    body = text[text.index("typedef struct {"):text.index("} tb_grouped_conv2d_params;")]
    assert re.findall(r"(\w+)\s+(\w+);", body) == [("tb_conv2d_params", "conv"), ("int32_t", "groups")]


# --------------------------------------------------------------------------------------- emulated cores --
DEVICE_BOARDS = ("qemu-m0", "qemu-m4", "qemu-rv32")
DEVICE_CASES = 60         # per grouped kernel, the smallest that fit the arena
DEVICE_ARENA_WORDS = 2000  # 8 KB: the micro:bit has 16 KB of RAM
DEVICE_KIND_BYTES = 45000  # case data per kernel (x 3 and the groups = 1 twins: ~150 KB of flash)


def _case_bytes(c: Case) -> int:
    """Generous bound of the arena bytes a case takes on the device (blobs, output, block rounding)."""
    return (sum(0 if b is None else np.asarray(b).nbytes + 8 for b in c.blobs) +
            np.asarray(c.want[1]).nbytes + 8)


def device_cases() -> list[Case]:
    out = []
    for name in OPS:
        fits = sorted((c for c in make_cases(name, 4 * DEVICE_CASES, SEED + 4)
                       if _case_bytes(c) <= 4 * DEVICE_ARENA_WORDS), key=lambda c: len(c.encode()))
        total = 0
        for c in fits[:DEVICE_CASES]:
            total += len(c.encode())
            if total > DEVICE_KIND_BYTES:
                break
            out.append(c)
    return out + [t for t in ungrouped_twins(out) if t.op != OP_CONV_S16S8]  # the firmware has b1b1 and s8s8


def _fnv1a(data: bytes) -> int:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


@pytest.mark.parametrize("board_id", DEVICE_BOARDS)
def test_grouped_kernels_on_emulated_core(exe, board_id, tmp_path, report):
    """The same cases on an emulated core: the hash of its results equals the host's, which equal NumPy's."""
    from tinybnn.targets import boards, platformio
    from tinybnn.targets.qemu import run_to_exit

    b = boards.load_board(board_id)
    missing = [t for t in (b["toolchain"] + "-gcc", b["qemu"]["binary"]) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    cases = device_cases()
    assert len(cases) >= 3 * DEVICE_CASES
    check(exe, cases)  # the host's results are NumPy's
    blob = struct.pack("<2i", MAGIC, len(cases)) + b"".join(c.encode() for c in cases)
    r = subprocess.run([str(exe)], input=blob, capture_output=True, timeout=600)
    assert r.returncode == 0
    stage = tmp_path / "stage" / "check"
    stage.mkdir(parents=True)
    for name in ("tb_kernels.h", "tb_kernels_internal.h", "tb_common.c", "tb_kernels_grouped.h",
                 "tb_conv2d_b1b1.c", "tb_conv2d_s8s8.c", *(f"tb_conv2d_grouped_{n}.c" for n in OPS)):
        shutil.copy2(KDIR / name, stage / name)
    shutil.copy2(KDIR / "tests" / "tb_grouped_driver.c", stage / "tb_grouped_driver.c")
    for name in ("tb_print.c", "tb_print.h"):
        shutil.copy2(KDIR.parent / "runtime" / name, stage / name)
    rows = ",\n".join(", ".join(f"0x{v:02x}" for v in blob[i:i + 24]) for i in range(0, len(blob), 24))
    (stage / "tb_grouped_cases.c").write_text(
        "#include <stdint.h>\n\nconst uint8_t tb_grouped_cases[] = {\n" + rows + "\n};\n"
        f"const int32_t tb_grouped_cases_len = {len(blob)};\n")
    project = platformio.write_project(b, tmp_path / "fw", [stage], extra_build_flags=[
        "-DTB_GROUPED_DEVICE", f"-DTB_GROUPED_ARENA_WORDS={DEVICE_ARENA_WORDS}"])
    res = platformio.run_pio(project)
    code, raw = run_to_exit(res.elf, b, timeout=300)
    log = raw.decode("utf-8", "replace")
    assert code == 0, log[-3000:]
    assert f"tb_grouped_check records {len(cases)} hash {_fnv1a(r.stdout)}\n" in log, log[-3000:]
    report(f"{len(cases)} calls ({sum(c.groups == c.ints[2] for c in cases)} depthwise) on {board_id}, "
           f"hash {_fnv1a(r.stdout):#010x} = the host's")
