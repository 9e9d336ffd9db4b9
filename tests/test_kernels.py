"""The C reference kernels (firmware/kernels/) against the golden model, bit for bit.

One driver binary (firmware/kernels/tests/tb_kernel_driver.c) is compiled once and runs thousands of
random layers (tests/randmodels.py) per call; every buffer it hands a kernel is an exact-size heap block,
so the sanitizer build also catches any out-of-bounds access. Seeds are fixed; every failure message
names the seed and case index that reproduce it: ``random_layer_case(np.random.default_rng([SEED, kind_index, i]))``.
"""

from __future__ import annotations

import re
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from randmodels import LAYER_KINDS, random_layer_case
from tinybnn.backend import codegen, hostc, planner
from tinybnn.ir import golden

SEED = 20250611
CASES_PER_KIND = 750  # x 7 kinds = 5,250 random layers, 2 samples each
SAMPLES = 2
SANITIZE_CASES_PER_KIND = 60

MAGIC = 0x444B4254
OPS = {"tb_conv2d_b1b1": 1, "tb_conv2d_s8s8": 2, "tb_conv2d_s8b1": 3, "tb_dense_b1b1": 4, "tb_dense_s8s8": 5,
       "tb_dense_s8b1": 6, "tb_maxpool_b1": 7, "tb_conv2d_s8s16": 8, "tb_dense_s8s16": 9}
S16_KINDS = ("conv_s8s16", "dense_s8s16")  # int16-weight first layers: an int8 case with int16 weights
ENUMS = {"TB_PAD_ZERO": 0, "TB_PAD_ONE": 1, "TB_PAD_MINUS_ONE": 2}
TB_OK, TB_ERR_ARG, TB_ERR_ALIGN, TB_ERR_SCRATCH = 0, -1, -2, -3
MODE_NORMAL, MODE_NO_SCRATCH, MODE_MISALIGN, MODE_SHORT_SCRATCH = 0, 1, 2, 3

KDIR = codegen.kernels_dir()


# ------------------------------------------------------------------------------------------ driver --
def driver(sanitize: bool) -> Path:
    files = {p.name: p.read_bytes() for p in sorted(KDIR.iterdir()) if p.suffix in (".c", ".h")}
    files["tb_kernel_driver.c"] = (KDIR / "tests" / "tb_kernel_driver.c").read_bytes()
    return hostc.cached_build(files, "kernel-driver", sanitize, exe_name="tb_kernel_driver",
                              extra_flags=("-Wvla", "-pedantic"))


@pytest.fixture(scope="module")
def exe():
    return driver(False)


def _blob(data: bytes) -> bytes:
    return struct.pack("<i", len(data)) + data + b"\0" * (-len(data) % 4)


def encode_case(node, x, mode=MODE_NORMAL, params_override=None) -> tuple[bytes, int]:
    """One driver case from a lowered node and a batch x; returns (bytes, output bytes per sample)."""
    spec = codegen.layer_spec(node, 0)
    params = [int(ENUMS.get(v, v)) for f, v in spec.params if f != "or_mask"]
    if params_override:
        for i, v in params_override.items():
            params[i] = v
    arr = spec.arrays
    dt = {"uint32_t": "<u4", "int32_t": "<i4", "int16_t": "<i2", "int8_t": "i1"}

    def raw(role):
        a = arr.get(role)
        return b"" if a is None else np.ascontiguousarray(a.values, dtype=dt[a.ctype]).tobytes()

    x = np.ascontiguousarray(x)
    n = x.shape[0]
    in_bytes = x[0].nbytes
    out_kind = 1 if spec.out_kind == "TB_OUT_S32" else 0
    head = struct.pack("<5i", OPS[spec.fn], n, out_kind, mode, len(params)) + struct.pack(f"<{len(params)}i", *params)
    body = (_blob(raw("weights")) + _blob(raw("thresholds")) + _blob(raw("flip")) + _blob(raw("or_mask")) +
            struct.pack("<2i", in_bytes, spec.out_bytes) + _blob(x.tobytes()))
    return head + body, spec.out_bytes


def run_driver(exe_path, cases):
    """cases: list of (node, x, mode[, params_override]) -> list of (status[N], scratch[N], outputs bytes[N])."""
    enc = [encode_case(*c) for c in cases]
    blob = struct.pack("<2i", MAGIC, len(cases)) + b"".join(e for e, _ in enc)
    with tempfile.TemporaryDirectory(prefix="tb-kd-") as td:
        fin, fout = Path(td) / "cases.bin", Path(td) / "results.bin"
        fin.write_bytes(blob)
        r = subprocess.run([str(exe_path), str(fin), str(fout)], capture_output=True, text=True, timeout=600,
                           env=hostc.sanitizer_env())
        assert r.returncode == 0, f"kernel driver failed (exit {r.returncode}):\n{r.stderr[-4000:]}"
        raw = fout.read_bytes()
    res, o = [], 0
    for (node, x, *_), (_, ob) in zip(cases, enc):
        st, sc, outs = [], [], []
        for _ in range(x.shape[0]):
            s, k = struct.unpack_from("<2i", raw, o)
            st.append(s)
            sc.append(k)
            outs.append(raw[o + 8:o + 8 + ob])
            o += 8 + ob
        res.append((st, sc, outs))
    assert o == len(raw), "driver result stream has trailing bytes"
    return res


def describe(node) -> str:
    a = node.attrs
    keys = ("in_dtype", "weight_kind", "in_shape", "out_shape", "kernel", "stride", "dilation", "pads", "pad",
            "out", "input_zero_point")
    return f"{node.op} " + ", ".join(f"{k}={a[k]}" for k in keys if k in a)


def s16_layer_case(rng, n_samples, kind):
    """A random int8-input layer with int16 weights, at the largest codes whose int32 accumulator cannot
    overflow (the bound the converter enforces: K * max|w| * max|x - zp| < 2^31)."""
    from randmodels import set_thresholds

    node, x = random_layer_case(rng, n_samples, kind.replace("s8s16", "s8s8"))
    a = node.attrs
    w = a["weights"]
    K = int(np.prod(w.shape[1:]))
    xmax = 128 + abs(int(a["input_zero_point"]))
    qmax = min(32767, ((1 << 31) - 1) // (K * xmax))
    r = rng.random()
    lim = qmax if r < 0.5 else int(rng.integers(128, qmax + 1))
    a["weights"] = rng.integers(-lim, lim + 1, size=w.shape).astype(np.int16)
    if r < 0.2:  # the extreme codes on every channel's first tap
        a["weights"].reshape(w.shape[0], -1)[:, 0] = np.where(rng.random(w.shape[0]) < 0.5, -qmax, qmax)
    a["weight_kind"] = "int16 (quantized per output channel)"
    if a["out"] == "bits":
        set_thresholds(rng, node, x)
    return node, x


def make_case(rng, n_samples, kind):
    return s16_layer_case(rng, n_samples, kind) if kind in S16_KINDS else random_layer_case(rng, n_samples, kind)


def check_cases(exe_path, kind_index, kind, n_cases, seed=SEED):
    cases, seeds = [], []
    for i in range(n_cases):
        rng = np.random.default_rng([seed, kind_index, i])
        node, x = make_case(rng, SAMPLES, kind)
        cases.append((node, x, MODE_NORMAL))
        seeds.append((seed, kind_index, i))
    results = run_driver(exe_path, cases)
    for (node, x, _), (st, sc, outs), sd in zip(cases, results, seeds):
        where = f"seed {list(sd)} ({kind}): {describe(node)}"
        assert st == [TB_OK] * len(st), f"status {st} for {where}"
        assert sc[0] == planner.scratch_bytes(node), \
            f"C scratch {sc[0]} != planner.scratch_bytes {planner.scratch_bytes(node)} for {where}"
        want = golden.run_layer(node, x)
        got = np.frombuffer(b"".join(outs), dtype=want.dtype).reshape(want.shape)
        if not np.array_equal(got, want):
            bad = np.argwhere(got != want)[0]
            pytest.fail(f"C != golden at {tuple(bad)} (C {got[tuple(bad)]}, golden {want[tuple(bad)]}) for {where}")
    return len(cases)


# ------------------------------------------------------------------------------------------- tests --
@pytest.mark.parametrize("kind", LAYER_KINDS)
def test_random_layers_bit_exact(exe, kind):
    n = check_cases(exe, LAYER_KINDS.index(kind), kind, CASES_PER_KIND)
    assert n == CASES_PER_KIND


@pytest.mark.parametrize("kind", S16_KINDS)
def test_random_s16_layers_bit_exact(exe, kind):
    """The int16-weight first-layer kernels against the golden model, up to the int32 bound."""
    n = check_cases(exe, len(LAYER_KINDS) + S16_KINDS.index(kind), kind, CASES_PER_KIND // 2)
    assert n == CASES_PER_KIND // 2


def test_random_layers_sanitized():
    """A subset under -fsanitize=address,undefined with exact-size buffers: no out-of-bounds, no UB."""
    san = driver(True)
    for k, kind in enumerate(LAYER_KINDS + S16_KINDS):
        check_cases(san, k, kind, SANITIZE_CASES_PER_KIND, seed=SEED + 1)


def test_the_check_can_fail(exe):
    """A wrong threshold must be seen: the comparison is real."""
    rng = np.random.default_rng([SEED, 99])
    node, x = random_layer_case(rng, 2, "conv_b1b1")
    node.attrs["out"] = "bits"
    from randmodels import set_thresholds

    set_thresholds(rng, node, x)
    (st, _, outs), = run_driver(exe, [(node, x, MODE_NORMAL)])
    want = golden.run_layer(node, x)
    node.attrs["thresholds"] = node.attrs["thresholds"].copy()
    node.attrs["flip"] = ~node.attrs["flip"]  # every channel decided the other way round
    (st2, _, outs2), = run_driver(exe, [(node, x, MODE_NORMAL)])
    got = np.frombuffer(b"".join(outs), dtype=want.dtype).reshape(want.shape)
    got2 = np.frombuffer(b"".join(outs2), dtype=want.dtype).reshape(want.shape)
    assert np.array_equal(got, want)
    assert not np.array_equal(got2, want)


def test_status_codes(exe):
    rng = np.random.default_rng([SEED, 7])
    conv_s8, x_s8 = random_layer_case(rng, 1, "conv_s8b1")
    conv_b1, x_b1 = random_layer_case(rng, 1, "conv_b1b1")
    dense_b1, x_d = random_layer_case(rng, 1, "dense_b1b1")
    pool, x_p = random_layer_case(rng, 1, "maxpool")
    cases = [
        (conv_s8, x_s8, MODE_NO_SCRATCH), (conv_s8, x_s8, MODE_SHORT_SCRATCH),
        (conv_b1, x_b1, MODE_MISALIGN), (dense_b1, x_d, MODE_MISALIGN), (pool, x_p, MODE_MISALIGN),
        (conv_s8, x_s8, MODE_MISALIGN),  # misaligned int32/bits output
        (conv_b1, x_b1, MODE_NORMAL, {3: conv_b1.attrs["out_shape"][0] + 1}),  # wrong out_h
        (conv_b1, x_b1, MODE_NORMAL, {16: 3}),  # unknown pad kind
        (conv_s8, x_s8, MODE_NORMAL, {16: 1}),  # int8 input padded with +1
        (conv_s8, x_s8, MODE_NORMAL, {17: 40000}),  # zero point does not fit the int16 column
        (pool, x_p, MODE_NORMAL, {5: 0}),  # kernel 0
        (dense_b1, x_d, MODE_NORMAL, {2: 0}),  # no outputs
    ]
    want = [TB_ERR_SCRATCH, TB_ERR_SCRATCH, TB_ERR_ALIGN, TB_ERR_ALIGN, TB_ERR_ALIGN, TB_ERR_ALIGN, TB_ERR_ARG,
            TB_ERR_ARG, TB_ERR_ARG, TB_ERR_ARG, TB_ERR_ARG, TB_ERR_ARG]
    got = [r[0][0] for r in run_driver(exe, cases)]
    assert got == want


def test_s16_status_codes(exe):
    rng = np.random.default_rng([SEED, 8])
    conv, x = s16_layer_case(rng, 1, "conv_s8s16")
    dense, xd = s16_layer_case(rng, 1, "dense_s8s16")
    cases = [(conv, x, MODE_NO_SCRATCH), (conv, x, MODE_SHORT_SCRATCH), (conv, x, MODE_MISALIGN),
             (conv, x, MODE_NORMAL, {16: 1}), (conv, x, MODE_NORMAL, {17: 40000}), (dense, xd, MODE_MISALIGN),
             (dense, xd, MODE_NORMAL, {2: 0}), (conv, x, MODE_NORMAL), (dense, xd, MODE_NORMAL)]
    want = [TB_ERR_SCRATCH, TB_ERR_SCRATCH, TB_ERR_ALIGN, TB_ERR_ARG, TB_ERR_ARG, TB_ERR_ALIGN, TB_ERR_ARG, TB_OK,
            TB_OK]
    assert [r[0][0] for r in run_driver(exe, cases)] == want


def test_channel_sweep_tail_bits(exe):
    """LCE-style sweep over channel counts: every kernel, tails of the packed output words are zero."""
    cases = []
    for c in (1, 3, 31, 32, 33, 63, 64, 65, 100, 128):
        for kind in ("conv_b1b1", "dense_b1b1", "maxpool"):
            rng = np.random.default_rng([SEED, 11, c, LAYER_KINDS.index(kind)])
            node, x = random_layer_case(rng, 2, kind)
            cases.append((node, x, MODE_NORMAL))
    for (node, x, _), (st, _, outs) in zip(cases, run_driver(exe, cases)):
        want = golden.run_layer(node, x)
        got = np.frombuffer(b"".join(outs), dtype=want.dtype).reshape(want.shape)
        assert st == [TB_OK, TB_OK] and np.array_equal(got, want), describe(node)


# ------------------------------------------------------------------------------- source properties --
def _code(path: Path) -> str:
    """C source without comments and string literals."""
    s = path.read_text()
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    s = re.sub(r"//[^\n]*", " ", s)
    return re.sub(r'"(\\.|[^"\\])*"', '""', s)


KERNEL_FILES = sorted(p for p in KDIR.iterdir() if p.suffix in (".c", ".h"))


@pytest.mark.parametrize("path", KERNEL_FILES, ids=lambda p: p.name)
def test_kernel_source_rules(path):
    """No float, no malloc, no builtin popcount, no writable static/global state in the reference kernels."""
    code = _code(path)
    for bad in (r"\bfloat\b", r"\bdouble\b", r"\bmalloc\b", r"\bcalloc\b", r"\bfree\b", r"__builtin",
                r"\balloca\b", r"#\s*include\s*<(stdio|stdlib|math)\.h>"):
        assert not re.search(bad, code), f"{path.name}: uses {bad}"
    for m in re.finditer(r"^(static\s+)?(?!typedef|extern|return)[A-Za-z_][\w\s\*]*\b\w+\s*(\[[^\]]*\])?\s*(=|;)",
                         code, flags=re.M):
        line = m.group(0)
        assert "const" in line or "(" in line, f"{path.name}: file-scope variable (hidden state): {line.strip()}"


def test_header_documents_every_function():
    text = (KDIR / "tb_kernels.h").read_text()
    decls = re.findall(r"^(?:tb_status|int32_t) (tb_\w+)\(", text, flags=re.M)
    assert len(decls) == 14  # 7 kernels and their _get_buffer_size
    for fn in decls:
        before = text[:text.index(f" {fn}(")]
        doc = before[before.rindex("/**"):]
        assert "*/" in doc and doc[doc.index("*/") + 2:].strip() in ("tb_status", "int32_t"), \
            f"{fn} lacks a Doxygen comment right above it"
        if not fn.endswith("_get_buffer_size"):
            for word in ("@param", "@return"):
                assert word in doc, f"{fn}: Doxygen comment has no {word}"
