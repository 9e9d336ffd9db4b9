"""The optimized grouped / stream kernels (firmware/kernels/opt/, chosen by tinybnn/backend/stream_kernels.py)
against their reference kernels, bit for bit.

* Host: firmware/kernels/opt/tests/tb_stream_check.c draws random depthwise binary layers (channels on and off
  multiples of 32, kernels 1x1..7x7 and rows / columns up to the kernel's 62-tap limit, strides, dilations,
  pads up to the window on each side (windows with no valid tap), the three pad kinds, packed bits with
  thresholds at and beyond the window's range and random flips, int32, saturating int8 and int16 codes), runs
  tb_conv2d_grouped_b1b1 and tb_conv2d_grouped_b1b1_dw on them and compares statuses, every output byte and a
  guard word; and random int8 / int16 residual adds (every shift, multipliers up to INT32_MIN / INT32_MAX,
  offsets up to 2^61, saturating codes, in place) and binarizes (thresholds at and beyond the codes' range,
  INT32_MIN / INT32_MAX, random flips) through tb_add_s*, tb_binarize_s* and their _opt twins; also
  sanitized, and built with the argument checks compiled out (as in generated models).
* The C encoder (weight bits, popcount-domain thresholds) against its Python mirror
  (tinybnn.backend.stream_kernels), and those thresholds against the output rule they replace.
* Selection: a depthwise binary layer takes the fast kernel on every optimized variant, nothing else grouped
  does; int8 / int16 residual adds and binarizes take their fast twins; the rendered models (host C) equal the
  golden model.
* Emulated cores: the same check as a firmware on one board of each family (Cortex-M4 with DSP, Cortex-M0,
  RV32IMC, RV32 with Zbb).

Seeds are fixed; a failure prints the layer that reproduces it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.backend import codegen, hostc, kernels, stream_kernels
from tinybnn.ir.bits import pack_bits, words
from tinybnn.targets import boards, platformio

SEED = 20261203
HOST_CASES = 5000
SANITIZE_CASES = 1000
DEVICE_CASES = 100
FIX = Path(__file__).parent / "fixtures"
OPT = kernels.opt_dir()
KDIR = codegen.kernels_dir()


def _files() -> dict:
    files = {n: (KDIR / n).read_bytes() for n in ("tb_kernels.h", "tb_kernels_internal.h", "tb_common.c",
                                                 "tb_kernels_grouped.h", "tb_conv2d_grouped_b1b1.c",
                                                 "tb_kernels_stream.h", "tb_add_s8.c", "tb_add_s16.c",
                                                 "tb_binarize_s8.c", "tb_binarize_s16.c", "tb_avgpool_s8.c",
                                                 "tb_avgpool_s16.c", "tb_prelu_s8.c", "tb_prelu_s16.c",
                                                 "tb_conv2d_s16s8.c", "tb_dense_s16s8.c")}
    files.update({n: (OPT / n).read_bytes() for n in stream_kernels.SOURCES + stream_kernels.STREAM_SOURCES +
                  kernels.COMMON_SOURCES})
    files["tb_stream_check.c"] = (OPT / "tests" / "tb_stream_check.c").read_bytes()
    return files


def _check_exe(sanitize=False, flags=()):
    return hostc.cached_build(_files(), "stream-opt-check", sanitize, exe_name="tb_stream_check",
                              extra_flags=("-DTB_CHECK_HOST", "-Wvla", "-pedantic") + tuple(flags))


def _run(exe, *args, stdin=None):
    r = subprocess.run([str(exe), *map(str, args)], input=stdin, capture_output=True, text=True, timeout=300,
                       env=hostc.sanitizer_env())
    return r.returncode, r.stdout + r.stderr


KERNELS = ("dw_b1b1", "add_s16", "add_s8", "binarize_s16", "binarize_s8", "avgpool_s16", "avgpool_s8", "prelu_s16",
           "prelu_s8", "conv_s16s8", "dense_s16s8")


def _counts(log: str, kernel: str = "dw_b1b1") -> tuple[int, int]:
    m = re.search(rf"^kernel {kernel} cases (\d+) failed (\d+)$", log, re.M)
    assert m, log[-2000:]
    return int(m.group(1)), int(m.group(2))


def _all_counts(log: str) -> dict:
    return {k: _counts(log, k) for k in KERNELS}


# ------------------------------------------------------------------------------------------- host ---
def test_dw_random_layers_host():
    code, log = _run(_check_exe(), SEED, HOST_CASES)
    assert code == 0 and "tb_stream_check pass" in log, log[-3000:]
    assert _all_counts(log) == {k: (HOST_CASES, 0) for k in KERNELS}
    assert "argument checks failed 0" in log


def test_dw_random_layers_sanitized_and_without_checks():
    """Under the sanitizers where the compiler has them (out-of-bounds reads of the clipped windows, shifts),
    and with the argument checks compiled out, as a generated model builds the kernels."""
    code, log = _run(_check_exe(sanitize=hostc.sanitize_enabled()), SEED + 1, SANITIZE_CASES)
    assert code == 0 and _all_counts(log) == {k: (SANITIZE_CASES, 0) for k in KERNELS}, log[-3000:]
    code, log = _run(_check_exe(flags=("-DTB_KERNEL_CHECKS=0",)), SEED + 2, SANITIZE_CASES)
    assert code == 0 and _all_counts(log) == {k: (SANITIZE_CASES, 0) for k in KERNELS}, log[-3000:]
    # and without the requantization plan (TB_OPT_STREAM_PLAN=0): the int8 / int16 outputs of the
    # s16 x s8 twins take the reference's requantization, the same values
    code, log = _run(_check_exe(flags=("-DTB_KERNEL_CHECKS=0", "-DTB_OPT_STREAM_PLAN=0")), SEED + 3, SANITIZE_CASES)
    assert code == 0 and _all_counts(log) == {k: (SANITIZE_CASES, 0) for k in KERNELS}, log[-3000:]


def test_the_check_can_fail():
    """Flip one bit of every optimized output: every case must be reported."""
    code, log = _run(_check_exe(flags=("-DTB_CHECK_CORRUPT=1",)), SEED, 50)
    assert code != 0 and "tb_stream_check fail" in log and _all_counts(log) == {k: (50, 50) for k in KERNELS}


def test_python_encoder_equals_c():
    """tb_dw_b1b1_encode_weights and tb_dw_b1b1_encoded_words against their NumPy mirrors, with int32 outputs
    (weight bits only) and bits outputs (then the thresholds of every tap count: taus inside, at and beyond the
    window's range, INT32_MIN / INT32_MAX, random flips)."""
    rng = np.random.default_rng([SEED, 1])
    shapes = [(1, 1), (1, 9), (31, 9), (32, 9), (33, 9), (64, 25), (100, 3), (65, 62), (7, 49)]
    cases, lines = [], []
    for C, taps in shapes:
        for bits in (False, True):
            # reference depthwise weights: one word per tap, the channel's bit in bit 0 (tail bits 0)
            w = rng.integers(0, 2, size=(C, taps, 1), dtype=np.uint32)
            tau = rng.integers(-taps - 4, taps + 5, size=C)
            tau[rng.random(C) < 0.1] = np.iinfo(np.int32).min
            tau[rng.random(C) < 0.1] = np.iinfo(np.int32).max
            flip = rng.random(C) < 0.5
            line = f"{C} {taps} {0 if bits else 1} " + " ".join(f"{v:x}" for v in w.reshape(-1))
            if bits:
                line += " " + " ".join(str(int(t)) for t in tau) + " " + " ".join(f"{v:x}" for v in pack_bits(flip))
            cases.append((C, taps, bits, w, tau, flip))
            lines.append(line)
    code, out = _run(_check_exe(), "enc", stdin="\n".join(lines) + "\n")
    assert code == 0, out
    got_lines = out.splitlines()
    assert len(got_lines) == len(cases)
    for (C, taps, bits, w, tau, flip), got in zip(cases, got_lines):
        want = stream_kernels.encode_dw_b1b1(w, taps, tau if bits else None, flip if bits else None)
        assert want.size == stream_kernels.encoded_words(C, taps, bits)
        assert np.array_equal(np.array([int(v, 16) for v in got.split()], np.uint32), want), (C, taps, bits)
        # the weight bits: bit o of tap t is channel o's weight at tap t
        head = want[:taps * words(C)].reshape(taps, words(C))
        wbits = np.unpackbits(head.view(np.uint8), bitorder="little").reshape(taps, -1)[:, :C]
        assert np.array_equal(wbits.T, w[:, :, 0])


def test_popcount_thresholds_equal_the_output_rule():
    """(pop >= T(n, o)) XOR flip equals the reference output stage (a' < tau, a' = ~acc where flip) for every
    pop of n taps, acc = n - 2 pop."""
    for n in range(0, 63):
        tau = np.concatenate([np.arange(-n - 6, n + 7), [np.iinfo(np.int32).min, np.iinfo(np.int32).max]])
        for flip in (False, True):
            T = stream_kernels.pop_thresholds_dw(tau, np.full(len(tau), flip), n)
            assert T.min() >= 0 and T.max() <= n + 1
            for pop in range(n + 1):
                acc = n - 2 * pop
                a = ~acc if flip else acc
                assert np.array_equal((pop >= T) ^ flip, a < tau), (n, pop, flip)


# -------------------------------------------------------------------------------------- selection ---
def _host_outputs(rendered, q):
    import tempfile

    exe = hostc.build(rendered=rendered)
    with tempfile.TemporaryDirectory() as td:
        fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
        fin.write_bytes(np.ascontiguousarray(q.reshape(len(q), -1)).tobytes())
        r = subprocess.run([str(exe), str(fin), str(fout), str(len(q)), "0"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        return np.frombuffer(fout.read_bytes(), np.int32)


def test_dscnn_depthwise_layers_take_the_fast_kernel_on_every_variant():
    """The Brevitas DS-CNN's three binary depthwise convs run tb_conv2d_grouped_b1b1_dw on every optimized
    variant (tap-major weights and their thresholds: 49 words a layer instead of 288, no scratch), the
    reference variant renders the reference kernel, and the host C of every variant equals the golden model."""
    d = np.load(FIX / "brevitas_dscnn.npz")
    m = tinybnn.load(FIX / "brevitas_dscnn.onnx", calibration=d["x"])
    q = m.quantize(d["x"][:16])
    want = m.run_quantized(q).reshape(-1)
    dw = [n for n in m.layers if stream_kernels.is_depthwise_b1b1(n)]
    assert len(dw) == 3
    ref = codegen.prepare(m)
    assert [s.fn for s in ref.specs if s.name in {n.name for n in dw}] == ["tb_conv2d_grouped_b1b1"] * 3
    for v in kernels.VARIANTS:
        r = codegen.prepare(m, v)
        specs = {s.name: s for s in r.specs}
        for n in dw:
            s = specs[n.name]
            taps = int(n.attrs["kernel"][0]) * int(n.attrs["kernel"][1])
            assert s.fn == stream_kernels.DW_FN
            assert s.arrays["weights"].values.size == stream_kernels.encoded_words(
                int(n.attrs["out_shape"][-1]), taps, n.attrs["out"] == "bits")
            assert s.scratch_bytes == 0
        assert "tb_conv2d_grouped_b1b1_dw.c" in r.files and "tb_kernels_opt_grouped.h" in r.files
        assert b'#include "tb_kernels_opt_grouped.h"' in r.files["model.c"]
        assert np.array_equal(_host_outputs(r, q), want), f"brevitas_dscnn with the {v} kernels"


def test_stream_adds_and_binarizes_take_their_fast_twins():
    """The int16 residual adds, binarizes and average pools of the Bi-Real fixture run their _opt twins on every
    optimized variant (same params and arrays; on RV32 the 4x4 global pool keeps the reference), the reference
    kernels on the reference variant; the host C equals the golden model."""
    d = np.load(FIX / "torch_bireal_legacy.npz")
    m = tinybnn.load(FIX / "torch_bireal_legacy.onnx", calibration=d["x"])
    q = m.quantize(d["x"][:16])
    want = m.run_quantized(q).reshape(-1)
    ref = codegen.prepare(m)
    ref_fns = [s.fn for s in ref.specs]
    assert {"tb_add_s16", "tb_binarize_s16"} <= set(ref_fns)
    for v in kernels.VARIANTS:
        r = codegen.prepare(m, v)
        for a, b, node in zip(ref.specs, r.specs, m.layers):
            taps = int(node.attrs["kernel"][0]) * int(node.attrs["kernel"][1]) if "kernel" in node.attrs else 0
            if a.fn == "tb_avgpool_s16" and v in ("rv32", "rv32-zbb") and \
                    taps > stream_kernels.RV32_POOL_MAX_TAPS:  # the 4x4 global pool: slower there (measured)
                assert b.fn == a.fn
            elif a.fn in stream_kernels.STREAM_FNS:
                assert b.fn == stream_kernels.STREAM_FNS[a.fn] and b.params == a.params
                assert b.arrays.keys() == a.arrays.keys() and all(
                    b.arrays[k].name == a.arrays[k].name and np.array_equal(b.arrays[k].values, a.arrays[k].values)
                    for k in a.arrays)
                assert b.scratch_bytes == 0
            elif a.family in codegen.STREAM_FAMILIES:
                assert b.fn == a.fn
        assert "tb_stream_opt.c" in r.files and b'#include "tb_kernels_opt_stream.h"' in r.files["model.c"]
        assert "tb_add_s16.c" not in r.files and "tb_kernels_stream.h" in r.files
        assert np.array_equal(_host_outputs(r, q), want), f"torch_bireal_legacy with the {v} kernels"


def test_only_depthwise_binary_layers_are_chosen():
    class Node:
        def __init__(self, in_dtype, c, o, g, k=(3, 3)):
            self.attrs = {"in_dtype": in_dtype, "in_shape": (8, 8, c), "out_shape": (8, 8, o), "groups": g,
                          "kernel": k}
    assert stream_kernels.fn("armv7m", "tb_conv2d_grouped_b1b1", Node("bits", 32, 32, 32)) == stream_kernels.DW_FN
    assert stream_kernels.fn("reference", "tb_conv2d_grouped_b1b1", Node("bits", 32, 32, 32)) is None
    assert stream_kernels.fn("armv7m", "tb_conv2d_grouped_b1b1", Node("bits", 32, 64, 32)) is None  # multiplier 2
    assert stream_kernels.fn("armv7m", "tb_conv2d_grouped_b1b1", Node("bits", 32, 32, 16)) is None  # 2 per group
    assert stream_kernels.fn("rv32", "tb_conv2d_grouped_s8s8", Node("int8", 32, 32, 32)) is None
    assert stream_kernels.fn("rv32-zbb", "tb_conv2d_grouped_b1b1", Node("bits", 8, 8, 8, (1, 62))) is not None
    assert stream_kernels.fn("rv32-zbb", "tb_conv2d_grouped_b1b1", Node("bits", 8, 8, 8, (1, 63))) is None


# ---------------------------------------------------------------------------------- emulated cores --
DEVICE_BOARDS = ("qemu-m4", "qemu-m0", "qemu-rv32", "qemu-rv32zbb")


@pytest.mark.parametrize("board_id", DEVICE_BOARDS)
def test_dw_random_layers_on_emulated_core(board_id, tmp_path):
    b = boards.load_board(board_id)
    missing = [t for t in (b["toolchain"] + "-gcc", b["qemu"]["binary"]) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    from tinybnn.targets.qemu import run_to_exit

    stage = tmp_path / "stage" / "check"
    stage.mkdir(parents=True)
    for name, data in _files().items():
        (stage / name).write_bytes(data)
    runtime = KDIR.parent / "runtime"
    for name in ("tb_print.c", "tb_print.h"):
        shutil.copy2(runtime / name, stage / name)
    max_words = 320 if b["ram_bytes"] < 64 * 1024 else 2048  # micro:bit: 16 KB of RAM
    project = platformio.write_project(b, tmp_path / "fw", [stage], extra_build_flags=[
        f"-DTB_CHECK_CASES={DEVICE_CASES}", f"-DTB_CHECK_SEED={SEED}u", f"-DTB_CHECK_MAX_WORDS={max_words}"])
    res = platformio.run_pio(project)
    code, raw = run_to_exit(res.elf, b, timeout=120)
    log = raw.decode("utf-8", "replace")
    assert code == 0 and "tb_stream_check pass" in log, log[-3000:]
    assert _all_counts(log) == {k: (DEVICE_CASES, 0) for k in KERNELS}
