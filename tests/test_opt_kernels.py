"""The optimized kernel families (firmware/kernels/opt/) against the reference kernels, bit for bit.

* Host: firmware/kernels/opt/tests/tb_opt_check.c draws thousands of random binary conv2d/dense layers
  (channels on and off multiples of 32, kernels 1..5, strides, dilations, asymmetric paddings of all three
  kinds, bits or int32 outputs, extreme thresholds) and compares every family's kernel (its portable C:
  the assembly only builds for Thumb-2) with the reference kernel, also under ASan/UBSan.
* Emulated cores: the same program as a firmware on every emulated board (the armv7m family runs its
  Thumb-2 assembly on the Cortex-M3..M55 boards, with and without the DSP extension; the rv32-zbb family
  runs cpop on qemu-rv32zbb; the rv32 family, qemu-rv32's, runs its RV32 assembly on both RISC-V boards).
* Python: the encoders and scratch sizes of tinybnn/backend/kernels.py equal the C ones; models rendered for each
  variant (fixtures and random models with OR-mask pools) compute exactly what the golden model computes.
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
from randmodels import random_model
from tinybnn.targets import boards, platformio
from tinybnn.backend import codegen, first_layer_kernels, hostc, kernels, stream_kernels

SEED = 20250611
HOST_CASES = 3000       # per family
SANITIZE_CASES = 400
DEVICE_CASES = 300      # per family and board
FIX = Path(__file__).parent / "fixtures"
FIXTURES = sorted(p.stem for p in FIX.glob("*.onnx"))
OPT = kernels.opt_dir()
VARIANTS = tuple(kernels.VARIANTS)
FAMILY_OF = {v.name: v.family for v in kernels.VARIANTS.values()}


# ------------------------------------------------------------------------------------------ helpers --
def _sources(*extra: str, asm: bool = False) -> dict:
    files = {p.name: p.read_bytes() for p in sorted(codegen.kernels_dir().iterdir()) if p.suffix in (".c", ".h")}
    files.update({p.name: p.read_bytes() for p in sorted(OPT.iterdir())
                  if p.suffix in (".c", ".h") or (asm and p.suffix == ".S")})
    for name in extra:
        files[Path(name).name] = (OPT / "tests" / name).read_bytes()
    return files


# the K of the tree kernels the randomized check renders: all up to ALWAYS_K, then some up to MAX_K (what the
# check's random layers reach: 5x5 kernels over 100 channels, K = 100)
TREE_CHECK_KS = tuple(range(2, 65)) + (72, 75, 80, 90, 96, 100)


def _tree_check_sources(ks=TREE_CHECK_KS) -> dict:
    """The tree kernels tinybnn renders (tinybnn.backend.kernels.render_layer_kernels), for every K of `ks`, every
    run that divides it and both output kinds, plus tb_tree_check_kernel(k, run, thresholds) looking them up
    for tb_opt_check.c (built with -DTB_CHECK_TREE_TABLE): the assembly on Thumb-2 cores, the generated
    column encoders everywhere."""
    items = []
    for k in ks:
        for run in (r for r in range(1, k + 1) if k % r == 0):
            for t in (False, True):
                i = len(items)
                items.append({"index": i, "name": f"K={k} run={run}", "fn": f"tb_l{i}_conv2d_b1b1_armv7m",
                              "family": "conv2d", "prefix": f"tb_l{i}", "run": run, "k": k, "k_bits": 32 * k,
                              "encoder": f"tb_tree{k}_r{run}_encode", "threshold": t, "contract": "tb_tree_conv2d",
                              "tree": f"tb_tree{k}{'t' if t else ''}", "summary": "tb_opt_check"})
    files = kernels.render_layer_kernels("armv7m", items)
    table = "\n".join(f"    &tb_l{i}_tree," for i in range(len(items)))
    files["model_kernels.c"] += (
        "\nstatic const tb_tree_kernel *const table[] = {\n" + table + "\n};\n\n"
        "const tb_tree_kernel *tb_tree_check_kernel(int32_t k, int32_t run, int32_t thresholds);\n"
        "const tb_tree_kernel *tb_tree_check_kernel(int32_t k, int32_t run, int32_t thresholds)\n{\n"
        "    for (unsigned i = 0; i < sizeof table / sizeof table[0]; i++)\n"
        "        if (table[i]->k_words == k && table[i]->run == run && table[i]->thresholds == thresholds)\n"
        "            return table[i];\n"
        "    return NULL;\n}\n").encode()
    return files


def _check_exe(sanitize=False, flags=(), table=False):
    files = _sources("tb_opt_check.c")
    if table:
        files.update(_tree_check_sources())
        flags = tuple(flags) + ("-DTB_CHECK_TREE_TABLE",)
    return hostc.cached_build(files, "opt-check", sanitize, exe_name="tb_opt_check",
                              extra_flags=("-DTB_CHECK_HOST", "-Wvla", "-pedantic") + tuple(flags))


def _run_check(exe, seed, cases):
    r = subprocess.run([str(exe), str(seed), str(cases)], capture_output=True, text=True, timeout=300,
                       env=hostc.sanitizer_env())
    return r.returncode, r.stdout + r.stderr


def _families(log: str) -> dict:
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^family (\w+) cases (\d+) failed (\d+)$", log, re.M)}


# ------------------------------------------------------------------------------------------- host ---
ALL_FAMILIES = ("armv7m", "armv6m", "rv32zbb", "tree", "rv32", "short")


def test_random_layers_host():
    code, log = _run_check(_check_exe(), SEED, HOST_CASES)
    fams = _families(log)
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]
    assert fams == {f: (HOST_CASES, 0) for f in ALL_FAMILIES}


def test_random_layers_host_rv32_long_dot_products():
    """The rv32 family's path for dot products longer than its halfword sums hold (more than 200 blocks of 9
    words), run on small layers by lowering that limit to 2 blocks."""
    code, log = _run_check(_check_exe(flags=("-DTB_CHECK_FAMILIES=16", "-DTB_RV32_BLOCKS_PER_SUM=2")), SEED + 4,
                           HOST_CASES)
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]
    assert _families(log) == {"rv32": (HOST_CASES, 0)}


def test_random_layers_host_rendered_tree_kernels():
    """The tree kernels as tinybnn renders them (generated column encoders, read in place from the input
    where the window allows) on random layers of every K up to 64: portable bits/pops on the host."""
    code, log = _run_check(_check_exe(table=True, flags=("-DTB_CHECK_FAMILIES=8",)), SEED + 2, HOST_CASES)
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]
    assert _families(log) == {"tree": (HOST_CASES, 0)}


def test_random_layers_host_without_the_requantization_plan():
    """Built with TB_OPT_STREAM_PLAN=0, as tinybnn builds a model without int8 / int16 outputs: every
    family's outputs, int8 and int16 included, still equal the reference's (its requantization runs)."""
    code, log = _run_check(_check_exe(flags=("-DTB_OPT_STREAM_PLAN=0",)), SEED + 5, HOST_CASES // 4)
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]
    assert _families(log) == {f: (HOST_CASES // 4, 0) for f in ALL_FAMILIES}


def test_random_layers_host_without_the_stream_stages():
    """Built with TB_STREAM_OUTPUTS=0 (and no plan), as tinybnn builds a model whose layers write no int8 /
    int16 output: bits and int32 outputs still equal the reference's in every family, and an int8 / int16
    stage is refused by both (TB_ERR_ARG), never written as something else."""
    flags = ("-DTB_OPT_STREAM_PLAN=0", "-DTB_STREAM_OUTPUTS=0")
    code, log = _run_check(_check_exe(flags=flags), SEED + 6, HOST_CASES // 4)
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]
    assert _families(log) == {f: (HOST_CASES // 4, 0) for f in ALL_FAMILIES}
    refused = int(re.search(r"^stream stages refused (\d+)$", log, re.M).group(1))
    assert refused >= len(ALL_FAMILIES) * HOST_CASES // 40, log[-3000:]  # about a quarter of the draws


def test_random_layers_sanitized():
    """ASan/UBSan: no out-of-bounds access into the exact-size scratch, no undefined behaviour."""
    code, log = _run_check(_check_exe(sanitize=True), SEED + 1, SANITIZE_CASES)
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]


def test_rendered_tree_kernels_sanitized():
    """The same for the tree kernels as rendered: their column encoders read windows in place from the input,
    so a wrong window test would read out of bounds."""
    code, log = _run_check(_check_exe(sanitize=True, table=True, flags=("-DTB_CHECK_FAMILIES=8",)), SEED + 3,
                           SANITIZE_CASES)
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]
    assert _families(log) == {"tree": (SANITIZE_CASES, 0)}


def _maxpool_check(seed: int, cases: int, sanitize: bool) -> tuple[int, str]:
    ref, opt = codegen.kernels_dir(), kernels.opt_dir()
    files = {n: (ref / n).read_bytes() for n in ("tb_kernels.h", "tb_kernels_internal.h", "tb_common.c",
                                                 "tb_maxpool_b1.c")}
    files.update({n: (opt / n).read_bytes() for n in ("tb_kernels_opt.h", "tb_maxpool_opt.c")})
    files["tb_maxpool_check.c"] = (opt / "tests" / "tb_maxpool_check.c").read_bytes()
    exe = hostc.cached_build(files, "maxpool-check", sanitize, exe_name="tb_maxpool_check",
                             extra_flags=("-Wvla", "-pedantic"))
    r = subprocess.run([str(exe), str(seed), str(cases)], capture_output=True, text=True, timeout=300,
                       env=hostc.sanitizer_env())
    return r.returncode, r.stdout + r.stderr


def test_maxpool_opt_equals_reference_on_random_geometries():
    """Every family's tb_maxpool_b1_opt against the reference on random windows, strides, paddings (windows
    with no valid tap included), channel counts and OR masks, into garbage-filled outputs; sanitized where
    the compiler can."""
    code, log = _maxpool_check(SEED, 20000, hostc.sanitize_enabled())
    assert code == 0 and "20000 cases, 0 mismatches" in log, log


def test_the_check_can_fail():
    """Flip one bit of every optimized output: every case must be reported."""
    code, log = _run_check(_check_exe(flags=("-DTB_CHECK_CORRUPT=1",)), SEED, 50)
    assert code != 0 and "tb_opt_check fail" in log
    assert all(failed >= 50 for _, failed in _families(log).values())


@pytest.fixture(scope="module")
def dump():
    exe = hostc.cached_build(_sources("tb_opt_dump.c"), "opt-dump", False, exe_name="tb_opt_dump")

    def run(lines: list[str]) -> list[str]:
        r = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()
    return run


@pytest.mark.parametrize("variant", VARIANTS)
def test_python_encoder_equals_c(dump, variant):
    rng = np.random.default_rng([SEED, 5])
    shapes = [(1, 1), (3, 2), (5, 9), (7, 10), (2, 11), (64, 18), (10, 32), (33, 27), (4, 40), (1, 17)]
    shapes += [(int(rng.integers(1, 70)), int(rng.integers(1, 60))) for _ in range(20)]
    lines, ws = [], []
    for O, K in shapes:
        w = rng.integers(0, 2**32, size=(O, K), dtype=np.uint64).astype(np.uint32)
        ws.append(w)
        lines.append(f"enc {FAMILY_OF[variant]} {O} {K} " + " ".join(f"{v:x}" for v in w.reshape(-1)))
    for (O, K), w, got in zip(shapes, ws, dump(lines)):
        want = kernels.encode(variant, w).reshape(-1)
        c = np.array([int(v, 16) for v in got.split()], np.uint32)
        assert np.array_equal(c, want), f"{variant} O={O} K={K}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_python_scratch_equals_c(dump, variant):
    fam = FAMILY_OF[variant]
    convs = [(kh, kw, c, o, pad) for kh, kw in ((1, 1), (3, 3), (2, 3), (5, 5)) for c in (1, 32, 33, 100)
             for o in (1, 10, 64, 65) for pad in (0, 1, 2)]
    dense = [(p, c, o) for p in (1, 3) for c in (1, 31, 256, 1024) for o in (1, 10, 1024)]
    lines = [f"conv {fam} {kh} {kw} {c} {o} {pad}" for kh, kw, c, o, pad in convs]
    lines += [f"dense {fam} {p} {c} {o}" for p, c, o in dense]
    got = [int(v) for v in dump(lines)]
    want = [kernels.conv2d_scratch_bytes(variant, (kh, kw), c, o, pad == 0) for kh, kw, c, o, pad in convs]
    want += [kernels.dense_scratch_bytes(variant, p, c, o) for p, c, o in dense]
    assert got == want


def test_tree_encoder_python_equals_c(dump):
    """armv7m_tree.encode (what tinybnn writes into a model) == tb_tree_encode_weights (the specification),
    and the NumPy model of the kernels' arithmetic counts pop(x XOR w) from the two encodings."""
    from tinybnn.backend import armv7m_tree

    rng = np.random.default_rng([SEED, 6])
    shapes = [(1, 2), (3, 3), (2, 4), (5, 5), (7, 9), (64, 18), (10, 32), (33, 27), (4, 40), (2, 64), (1, 65)]
    shapes += [(int(rng.integers(1, 40)), int(rng.integers(2, 100))) for _ in range(20)]
    ws = [rng.integers(0, 2**32, size=s, dtype=np.uint64).astype(np.uint32) for s in shapes]
    got = dump([f"enc tree {O} {K} " + " ".join(f"{v:x}" for v in w.reshape(-1)) for (O, K), w in zip(shapes, ws)])
    for (O, K), w, line in zip(shapes, ws, got):
        enc = armv7m_tree.encode(w)
        assert enc.shape == (O, armv7m_tree.encoded_words(K))
        assert np.array_equal(np.array([int(v, 16) for v in line.split()], np.uint32), enc.reshape(-1)), (O, K)
        x = rng.integers(0, 2**32, size=K, dtype=np.uint64).astype(np.uint32)
        want = np.unpackbits((x[None] ^ w).view(np.uint8), axis=-1).reshape(O, -1).sum(axis=1)
        assert np.array_equal(armv7m_tree.pop_reference(armv7m_tree.encode(x)[None], enc, K), want), (O, K)


def test_tree_scratch_python_equals_c(dump):
    from tinybnn.ir.graph import Node

    convs = [(kh, kw, c, o, pad) for kh, kw in ((1, 1), (3, 3), (2, 3), (5, 5)) for c in (1, 32, 33, 100)
             for o in (1, 10, 64, 65) for pad in (0, 1, 2)]
    dense = [(p, c, o) for p in (1, 3) for c in (33, 256, 1024) for o in (1, 10, 1024)]
    got = [int(v) for v in dump([f"conv tree {kh} {kw} {c} {o} {pad}" for kh, kw, c, o, pad in convs] +
                                [f"dense tree {p} {c} {o}" for p, c, o in dense])]
    want = []
    for kh, kw, c, o, pad in convs:  # the dump's layer: 8x8 input, one pixel of padding on every side
        want.append(kernels.tree_scratch_bytes(Node("tb.Conv2d", "c", [], [], {
            "kernel": (kh, kw), "in_shape": (8, 8, c), "out_shape": (10 - kh, 10 - kw, o), "pads": (1, 1, 1, 1),
            "pad": ("zero", "one", "minus-one")[pad]})))
    for p, c, o in dense:
        want.append(kernels.tree_scratch_bytes(Node("tb.Dense", "d", [], [], {"in_shape": (p, c), "out_shape": (o,)})))
    assert got == want


def test_reference_rendering_unchanged():
    """The default (reference) path renders exactly what it rendered before kernel variants existed."""
    d = np.load(FIX / "larq_cnn.npz")
    m = tinybnn.load(FIX / "larq_cnn.onnx", calibration=d["x"])
    a, b = codegen.prepare(m), codegen.prepare(m, "reference")
    assert a.files == b.files
    assert "kernel_variant" not in a.manifest
    assert not any(n.startswith(("tb_opt", "tb_bgemm")) for n in a.files)


def _host_outputs(rendered, q):
    exe = hostc.build(rendered=rendered)
    import tempfile

    with tempfile.TemporaryDirectory() as td:
        fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
        fin.write_bytes(np.ascontiguousarray(q.reshape(len(q), -1)).tobytes())
        r = subprocess.run([str(exe), str(fin), str(fout), str(len(q)), "0"], capture_output=True, text=True,
                           timeout=120)
        assert r.returncode == 0, r.stderr
        return np.frombuffer(fout.read_bytes(), np.int32)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_models_each_variant(name):
    d = np.load(FIX / f"{name}.npz")
    m = tinybnn.load(FIX / f"{name}.onnx", calibration=d["x"])
    q = m.quantize(d["x"][:32])
    want = m.run_quantized(q).reshape(-1)
    ref = codegen.prepare(m)
    for v in VARIANTS:
        r = codegen.prepare(m, v)
        assert r.hash == ref.hash  # the model's identity does not depend on the kernels
        assert r.manifest["kernel_variant"] == v
        assert np.array_equal(_host_outputs(r, q), want), f"{name} with the {v} kernels"
        opt_layers = [s for s in r.specs if s.fn.endswith("_" + kernels.VARIANTS[v].family)]
        eligible = [n for n in m.layers if kernels.uses_variant(v, n)]
        assert len(opt_layers) == len(eligible)
        assert all(re.fullmatch(r"tb_(l\d+_)?(conv2d|dense)_b1b1_\w+", s.fn) for s in opt_layers)
        # int8 first layers run the kernels of tinybnn/backend/first_layer_kernels.py, short binary dot products
        # (1x1 convs without padding and dense layers of at most two words) tb_*_b1b1_short, other short ones the
        # reference kernels; max-pools run every family's tb_maxpool_b1_opt; the real-valued stream's
        # ops and the layers reading an int16 stream run their _opt twins, joins and grouped convs reference
        # kernels, but depthwise binary convs (tests/test_stream_opt_kernels.py)
        assert all(s.fn in ("tb_conv2d_s8s8", "tb_conv2d_s8b1", "tb_conv2d_s8s16", "tb_dense_s8s8", "tb_dense_s8b1",
                            "tb_dense_s8s16", "tb_conv2d_b1b1", "tb_dense_b1b1")
                   or s.fn in stream_kernels.S16S8_FNS.values()
                   or s.family in codegen.STREAM_FAMILIES + ("conv2d_grouped", "concat", "concat_s", "maxpool_s")
                   or (s.family == "maxpool" and s.fn == kernels.MAXPOOL_FN)
                   or s.fn == first_layer_kernels.fn(v, s.fn.removesuffix("_ss"))
                   or s.fn in first_layer_kernels.PAIR_FNS.values()
                   or s.fn == kernels.short_fn(v, m.layers[s.index])
                   for s in r.specs if s not in opt_layers)
        assert not any(s.fn in ("tb_conv2d_b1b1", "tb_dense_b1b1") and kernels.short_fn(v, m.layers[s.index])
                       for s in r.specs)
        # subset-sum first layers: a byte per 4 taps; pair kernels: int8 weights widened to 16 bits
        fast_first = [s for s in r.specs if s.fn.endswith(("_ss", "_pairs"))]
        if any(s.fn == stream_kernels.DW_FN for s in r.specs):  # tap-major depthwise weights: 32 times smaller
            assert r.weight_bytes < ref.weight_bytes
        elif v != "armv6m" and opt_layers:
            assert r.weight_bytes > ref.weight_bytes  # the encodings cost flash (stated in kernels.py)
        elif fast_first:
            assert r.weight_bytes >= ref.weight_bytes
        else:
            assert r.weight_bytes == ref.weight_bytes


@pytest.mark.parametrize("i", range(6))
def test_random_models_each_variant(i):
    """Random chains: convs of every padding, flattened denses, max-pools with AND/OR masks."""
    m, q = random_model(np.random.default_rng([SEED, 77, i]), n_samples=4, source=f"opt-random-{i}")
    want = m.run_quantized(q).reshape(-1)
    for v in VARIANTS:
        assert np.array_equal(_host_outputs(codegen.prepare(m, v), q), want), f"random model {i}, {v}"


def _chain_with_conv(rng, H, W, C, O, kernel, pads, pad, source):
    """int8 1x1 conv (C channels) -> the binary conv under test -> binary dense with int32 outputs."""
    from randmodels import conv_node, dense_node, random_int8, set_thresholds
    from tinybnn.ir import golden
    from tinybnn.ir.graph import Graph, Node
    from tinybnn.model import Model

    q = random_int8(rng, (4, H, W, 3))
    first = conv_node(rng, "first", (H, W, 3), "int8", C, "bits", "binary",
                      {"kernel": (1, 1), "stride": (1, 1), "dilation": (1, 1), "pads": (0, 0, 0, 0), "out_hw": (H, W)})
    KH, KW = kernel
    pt, pl, pb, pr = pads
    geom = {"kernel": kernel, "stride": (1, 1), "dilation": (1, 1), "pads": pads,
            "out_hw": (H + pt + pb - KH + 1, W + pl + pr - KW + 1)}
    conv = conv_node(rng, "conv", (H, W, C), "bits", O, "bits", geom=geom)
    conv.attrs["pad"] = pad
    OH, OW = geom["out_hw"]
    dense = dense_node(rng, "dense", (OH * OW, O), "bits", 10, "int32")
    h = q
    for n in (first, conv, dense):
        if n.attrs["out"] == "bits":
            set_thresholds(rng, n, h)
        h = golden.run_layer(n, h)
    zp = first.attrs["input_zero_point"]
    iq = Node("tb.InputQuant", "input", ["x"], ["input_q"], {
        "onnx_shape": (3, H, W), "perm": None, "pre": [], "canonical_shape": (3, H, W), "mode": "calibrated",
        "calib_scale": 1.0, "calib_zero_point": zp, "scale": 1.0, "zero_point": zp})
    outn = Node("tb.Output", "output", ["t2"], ["output"], {"steps": [(np.ones(10), np.zeros(10))],
                                                            "out_shape": (10,), "output_perm": None})
    first.inputs, first.outputs = ["input_q"], ["t0"]
    conv.inputs, conv.outputs = ["t0"], ["t1"]
    dense.inputs, dense.outputs = ["t1"], ["t2"]
    g = Graph([iq, first, conv, dense, outn], {}, {}, "x", "output", {"source": source, "dialect": "random",
                                                                      "notes": []})
    return Model(g), q


# geometry of the conv: (H, W, C, O, kernel, pads, pad kind): odd and even widths, channels on and off
# multiples of 4 and 32, the largest windows that fit, +1 and -1 padding on some sides only
SPECIAL_LAYERS = [
    (18, 18, 64, 64, (3, 3), (0, 0, 0, 0), "zero"),
    (7, 9, 33, 10, (3, 3), (1, 1, 1, 1), "one"),
    (6, 5, 64, 37, (3, 3), (0, 1, 2, 0), "minus-one"),
    (5, 4, 100, 33, (2, 2), (1, 0, 0, 1), "minus-one"),
    (4, 7, 300, 65, (1, 1), (0, 0, 0, 0), "zero"),
    (3, 3, 5, 3, (3, 2), (1, 1, 1, 1), "one"),
    (1, 2, 130, 1, (1, 1), (0, 0, 0, 0), "zero"),
]


@pytest.mark.parametrize("i", range(len(SPECIAL_LAYERS)))
def test_layer_specialized_kernels(i):
    """rv32-zbb renders eligible convs as kernels specialized to their shape (model_kernels.c)."""
    H, W, C, O, kernel, pads, pad = SPECIAL_LAYERS[i]
    m, q = _chain_with_conv(np.random.default_rng([SEED, 91, i]), H, W, C, O, kernel, pads, pad, f"special-{i}")
    r = codegen.prepare(m, "rv32-zbb")
    assert r.specs[1].fn == "tb_l1_conv2d_b1b1_rv32zbb" and "model_kernels.c" in r.files
    assert "model_kernels.c" in r.manifest["files"]
    assert np.array_equal(_host_outputs(r, q), m.run_quantized(q).reshape(-1))
    # weights + one threshold word per channel (padded to runs of four)
    assert r.specs[1].arrays["weights"].count == -(-O // 4) * 4 * (kernel[0] * kernel[1] * -(-C // 32) + 1)


def test_short_dot_products_take_the_short_kernels():
    """brevitas_tfc's binary denses have 2 words per output and the DS-CNN's 1x1 convs one: below every family's
    break-even, so they run tb_dense_b1b1_short / tb_conv2d_b1b1_short on every variant, with the reference's
    weights. (tfc's int8 x binary first layer runs the family's subset-sum kernel where
    tinybnn/backend/first_layer_kernels.py says so.) Longer ones, and 1x1 convs with padding, do not."""
    for name, base, n in (("brevitas_tfc", "tb_dense_b1b1", 3), ("brevitas_dscnn", "tb_conv2d_b1b1", 3)):
        d = np.load(FIX / f"{name}.npz")
        m = tinybnn.load(FIX / f"{name}.onnx", calibration=d["x"])
        ref = codegen.prepare(m)
        for v in VARIANTS:
            r = codegen.prepare(m, v)
            binary = [(s, s0) for s, s0 in zip(r.specs, ref.specs) if s0.fn == base]
            assert len(binary) == n
            assert all(s.fn == base + "_short" and s.weight_bytes == s0.weight_bytes and s.scratch_bytes == 0
                       and np.array_equal(s.arrays["weights"].values, s0.arrays["weights"].values) for s, s0 in binary)
            assert "tb_short_opt.c" in r.files and "tb_short_opt.c" not in ref.files
            if name == "brevitas_tfc":
                assert r.specs[0].fn in (ref.specs[0].fn, first_layer_kernels.fn(v, ref.specs[0].fn))
    rng = np.random.default_rng([SEED, 94])
    m, _ = _chain_with_conv(rng, 8, 8, 64, 8, (1, 1), (1, 1, 1, 1), "zero", "padded 1x1")
    assert all(codegen.prepare(m, v).specs[1].fn != "tb_conv2d_b1b1_short" for v in VARIANTS)
    m, _ = _chain_with_conv(rng, 8, 8, 64, 8, (1, 1), (0, 0, 0, 0), "zero", "two words")
    assert all(codegen.prepare(m, v).specs[1].fn == "tb_conv2d_b1b1_short" for v in VARIANTS)
    m, _ = _chain_with_conv(rng, 8, 8, 96, 8, (1, 1), (0, 0, 0, 0), "zero", "three words")
    assert codegen.prepare(m, "armv6m").specs[1].fn == "tb_conv2d_b1b1"  # below armv6m's break-even: reference
    assert "tb_short_opt.c" not in codegen.prepare(m, "armv6m").files


def test_specialization_only_where_it_is_exact():
    rng = np.random.default_rng([SEED, 92])
    m, _ = _chain_with_conv(rng, 8, 8, 32, 8, (3, 3), (1, 1, 1, 1), "zero", "zero-padded")
    assert codegen.prepare(m, "rv32-zbb").specs[1].fn == "tb_conv2d_b1b1_rv32zbb"  # needs corrections: generic
    m, _ = _chain_with_conv(rng, 8, 8, 128, 8, (3, 3), (0, 0, 0, 0), "zero", "wide")
    assert codegen.prepare(m, "rv32-zbb").specs[1].fn == "tb_conv2d_b1b1_rv32zbb"  # 3x4x4 words: no registers
    assert "model_kernels.c" not in codegen.prepare(m, "armv6m").files
    # armv7m: a tree kernel for every binary layer of K <= 64 words (here 36), the generic kernel above
    r = codegen.prepare(m, "armv7m")
    assert r.specs[1].fn == "tb_l1_conv2d_b1b1_armv7m" and "model_kernels_armv7m.S" in r.files
    # K = 72: the tree kernel for 128 output channels; for 8, its code would outweigh the weights: generic
    m, _ = _chain_with_conv(rng, 6, 6, 256, 128, (3, 3), (0, 0, 0, 0), "zero", "wider")
    assert codegen.prepare(m, "armv7m").specs[1].fn == "tb_l1_conv2d_b1b1_armv7m"
    m, _ = _chain_with_conv(rng, 8, 8, 256, 8, (3, 3), (0, 0, 0, 0), "zero", "wider, few channels")
    assert codegen.prepare(m, "armv7m").specs[1].fn == "tb_conv2d_b1b1_armv7m"
    m, _ = _chain_with_conv(rng, 3, 3, 576, 256, (3, 3), (0, 0, 0, 0), "zero", "widest")  # K = 162
    r = codegen.prepare(m, "armv7m")
    assert r.specs[1].fn == "tb_conv2d_b1b1_armv7m" and "tb_bgemm_armv7m.c" in r.files
    # a model whose binary layers all run tree kernels ships no generic kernel
    d = np.load(FIX / "larq_cnn.npz")
    files = codegen.prepare(tinybnn.load(FIX / "larq_cnn.onnx", calibration=d["x"]), "armv7m").files
    assert "tb_tree.c" in files and not any(n.startswith("tb_bgemm") for n in files)


def test_boards_choose_their_family():
    want = {"cortex-m0": "armv6m", "cortex-m0plus": "armv6m", "cortex-m3": "armv7m", "cortex-m4": "armv7m",
            "cortex-m7": "armv7m", "cortex-m33": "armv7m", "cortex-m55": "armv7m"}
    for bid in boards.list_boards():
        b = boards.load_board(bid)
        if b["core"] in want:
            assert b["kernel_variant"] == want[b["core"]], bid
        elif "_zbb" in " ".join(b["cflags"]):
            assert b["kernel_variant"] == "rv32-zbb", bid
        elif b["core"] == "rv32imc":  # RV32 without Zbb: the ESP32-C3 and its stand-in
            assert b["kernel_variant"] == "rv32", bid
        else:
            assert b["kernel_variant"] == "reference", bid
    zbb = boards.load_board("qemu-rv32zbb")
    assert "-march=rv32imc" in zbb["ldflags"]  # the multilib pitfall: never _zbb when linking
    assert zbb["qemu"]["extra"][-1] == "rv32"


def _opt_sources_are_c99_rules(path: Path):
    code = re.sub(r"/\*.*?\*/", " ", path.read_text(), flags=re.S)
    for bad in (r"\bfloat\b", r"\bdouble\b", r"\bmalloc\b", r"\bfree\b", r"#\s*include\s*<(stdio|stdlib|math)\.h>"):
        assert not re.search(bad, code), f"{path.name}: uses {bad}"
    for m in re.finditer(r"^(static\s+)?(?!typedef|extern|return)[A-Za-z_][\w\s\*]*\b\w+\s*(\[[^\]]*\])?\s*(=|;)",
                         code, flags=re.M):
        assert "const" in m.group(0) or "(" in m.group(0), f"{path.name}: writable file-scope state: {m.group(0)}"


@pytest.mark.parametrize("path", sorted(p for p in OPT.iterdir() if p.suffix in (".c", ".h")), ids=lambda p: p.name)
def test_opt_source_rules(path):
    """No float, no malloc, no writable static state (as the reference kernels)."""
    _opt_sources_are_c99_rules(path)


# ---------------------------------------------------------------------------------- emulated cores --
DEVICE_BOARDS = ("qemu-m0", "qemu-m3", "qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55", "qemu-rv32", "qemu-rv32zbb")


@pytest.mark.parametrize("board_id", DEVICE_BOARDS)
def test_random_layers_on_emulated_core(board_id, tmp_path):
    b = boards.load_board(board_id)
    missing = [t for t in (b["toolchain"] + "-gcc", b["qemu"]["binary"]) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    from tinybnn.targets.qemu import run_to_exit

    stage = tmp_path / "stage" / "check"
    stage.mkdir(parents=True)
    tree_asm = b["kernel_variant"] == "armv7m"  # the rendered tree kernels, assembly included
    files = _sources("tb_opt_check.c", asm=True)
    if tree_asm:
        files.update(_tree_check_sources())
    for name, data in files.items():
        (stage / name).write_bytes(data)
    runtime = codegen.kernels_dir().parent / "runtime"
    for name in ("tb_print.c", "tb_print.h"):
        shutil.copy2(runtime / name, stage / name)
    arena = 2000 if b["ram_bytes"] < 64 * 1024 else 16384  # micro:bit: 16 KB of RAM
    project = platformio.write_project(b, tmp_path / "fw", [stage], extra_build_flags=[
        f"-DTB_CHECK_CASES={DEVICE_CASES}", f"-DTB_CHECK_SEED={SEED}u", f"-DTB_CHECK_ARENA_WORDS={arena}"]
        + (["-DTB_CHECK_TREE_TABLE"] if tree_asm else []))
    res = platformio.run_pio(project)
    if b["kernel_variant"] == "armv7m":  # the assembly is what runs here, not the C fallback
        syms = subprocess.run([b["toolchain"] + "-nm", str(res.elf)], capture_output=True, text=True).stdout
        assert re.search(r" T tb_armv7m_bits$", syms, re.M)
        assert re.search(r" T tb_tree18t_bits$", syms, re.M) and re.search(r" T tb_tree100_pops$", syms, re.M)
    if b["arch"] == "riscv32":  # the rv32 family's inner loop is its RV32 assembly here, not the C
        syms = subprocess.run([b["toolchain"] + "-nm", str(res.elf)], capture_output=True, text=True).stdout
        assert re.search(r" T tb_rv32_lt$", syms, re.M) and re.search(r" T tb_rv32_pops$", syms, re.M)
    if b["kernel_variant"] == "rv32-zbb":  # and the Zbb popcount instruction
        dis = subprocess.run([b["toolchain"] + "-objdump", "-d", str(res.elf)], capture_output=True, text=True).stdout
        assert re.search(r"\bcpop\b", dis)
    code, raw = run_to_exit(res.elf, b, timeout=120)
    log = raw.decode("utf-8", "replace")
    assert code == 0 and "tb_opt_check pass" in log, log[-3000:]
    assert _families(log) == {f: (DEVICE_CASES, 0) for f in ALL_FAMILIES}


@pytest.mark.parametrize("i", (1, 2))
def test_layer_specialized_on_rv32zbb(i, tmp_path):
    """The rendered kernel with cpop, padded windows and an odd output width, booted in QEMU."""
    b = boards.load_board("qemu-rv32zbb")
    if shutil.which(b["toolchain"] + "-gcc") is None or shutil.which(b["qemu"]["binary"]) is None:
        pytest.skip("riscv64-unknown-elf-gcc / qemu-system-riscv32 not installed")
    from tinybnn.targets import build

    H, W, C, O, kernel, pads, pad = SPECIAL_LAYERS[i]
    m, _ = _chain_with_conv(np.random.default_rng([SEED, 91, i]), H, W, C, O, kernel, pads, pad, f"special-{i}")
    x = np.random.default_rng([SEED, 93, i]).normal(0, 40, size=(3, H, W)).astype(np.float32)
    fw = build.build(m, "qemu-rv32zbb", tmp_path / "fw", sample=x)
    assert fw.kernel_variant == "rv32-zbb" and (fw.project / "src" / "tinybnn" / "model_kernels.c").is_file()
    res = build.run_selftest(fw)
    assert res.exit_code == 0, res.log
    assert np.array_equal(res.output, m.run(x[None])[0].reshape(-1))


def test_bench_cli_json(tmp_path):
    """tinybnn bench: the JSON fields of the issue, deterministic counts, the variant faster than reference."""
    import json
    import sys

    b = boards.load_board("qemu-m4")
    if shutil.which(b["toolchain"] + "-gcc") is None or shutil.which(b["qemu"]["binary"]) is None:
        pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed")
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "tinybnn", "bench", "--board", "qemu-m4", "--json", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr + r.stdout
    data = json.loads(out.read_text())
    assert data["board"] == "qemu-m4" and data["variant"] == "armv7m" and data["count_kind"] == "instructions"
    fields = {"name", "variant", "shape", "binary_macs", "instructions", "macs_per_instruction",
              "reference_instructions", "speedup"}
    assert data["kernels"] and all(fields <= set(k) for k in data["kernels"])
    conv = next(k for k in data["kernels"] if k["case"] == "conv3x3_64_valid" and k["variant"] == "armv7m")
    assert conv["binary_macs"] == 16 * 16 * 64 * 3 * 3 * 64 and conv["same_output_as_reference"]
    assert conv["speedup"] > 3 and conv["int8_instructions"] > conv["reference_instructions"]
    assert abs(conv["macs_per_instruction"] - conv["binary_macs"] / conv["instructions"]) < 1e-3
    assert "tb_conv2d_b1b1_armv7m" in r.stdout
    # what a model runs: the tree kernels rendered for the layer's K, bit-exact with the reference
    spec = {k["case"]: k for k in data["kernels"] if k.get("specialized")}
    assert set(spec) == {"conv3x3_64_valid", "conv3x3_64_same", "dense_1024", "dense_256_10_int32"}
    assert all(k["same_output_as_reference"] and k["variant"] == "armv7m" for k in spec.values())
    assert spec["conv3x3_64_valid"]["fn"] == "tb_l0_conv2d_b1b1_armv7m"


def test_bench_splits_what_does_not_fit(tmp_path):
    """qemu-m55 has 512 KB of flash: the benchmark data is spread over one firmware per case and kernel kind,
    and the results are those of the one-firmware run elsewhere (every kernel, outputs compared)."""
    from tinybnn.device import bench

    b = boards.load_board("qemu-m55")
    if shutil.which(b["toolchain"] + "-gcc") is None or shutil.which(b["qemu"]["binary"]) is None:
        pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed")
    cases = [c for c in bench.CASES if c.key in ("dense_1024", "dense_256_10_int32")]
    _, _, _, data = bench._render(b, "armv7m", cases)
    assert data > bench.FLASH_SHARE * b["flash_bytes"]
    res = bench.bench_kernels("qemu-m55", work_dir=tmp_path, cases=cases)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("part")) == [f"part{i}" for i in range(4)]
    fns = {(k["case"], k["fn"]) for k in res.kernels}
    assert ("dense_1024", "tb_dense_b1b1_armv7m") in fns and ("dense_1024", "tb_l2_dense_b1b1_armv7m") in fns
    assert all(k["same_output_as_reference"] for k in res.kernels)
