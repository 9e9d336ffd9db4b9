"""The fast int8 first-layer kernels (firmware/kernels/opt/tb_first_ss.c) against the reference, bit for bit.

* Host: firmware/kernels/opt/tests/tb_first_check.c draws thousands of random int8 x binary conv2d and dense
  layers (kernels 1..5, strides 1..3, dilations, asymmetric zero paddings, zero points over the whole
  allowed range so that the two-pixel and one-pixel paths both run, several blocks of tables; bits, int32 or
  requantized int8/int16 outputs, extreme thresholds) and compares tb_conv2d_s8b1_ss / tb_dense_s8b1_ss with tb_conv2d_s8b1 /
  tb_dense_s8b1, also under ASan/UBSan.
* Emulated cores: the same program as a firmware on the boards of the variants that run these kernels
  (Cortex-M0; Cortex-M3 without, M4..M55 with the DSP extension; RV32IMC with Zbb).
* Python: tinybnn/backend/first_layer_kernels.py's encoder and scratch sizes equal the C ones; models rendered for
  those variants run the subset-sum kernel for their int8 x binary first layer and compute what the golden model does.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.targets import boards, platformio
from tinybnn.backend import codegen, first_layer_kernels, hostc, kernels

FIX = Path(__file__).resolve().parent / "fixtures"
SEED = 20251203
HOST_CASES = 3000
SANITIZE_CASES = 400
DEVICE_CASES = 100  # per family and board (six families: 600 random layers per board)
OPT = kernels.opt_dir()
REF = codegen.kernels_dir()
C_FILES = {REF: ("tb_kernels.h", "tb_kernels_internal.h", "tb_kernels_s16.h", "tb_common.c", "tb_conv2d_s8b1.c",
                 "tb_dense_s8b1.c", "tb_conv2d_s8s8.c", "tb_dense_s8s8.c", "tb_conv2d_s8s16.c", "tb_dense_s8s16.c"),
           OPT: ("tb_kernels_opt.h", "tb_opt_internal.h", "tb_opt_common.c", "tb_first_ss.c", "tb_first_pairs.c")}
FAMILIES = ("ss_conv2d", "ss_dense", "pairs_conv2d_s8", "pairs_dense_s8", "pairs_conv2d_s16", "pairs_dense_s16")


def _sources(*tests: str) -> dict:
    files = {name: (d / name).read_bytes() for d, names in C_FILES.items() for name in names}
    for name in tests:
        files[name] = (OPT / "tests" / name).read_bytes()
    return files


def _check(seed, cases, sanitize=False, flags=()):
    exe = hostc.cached_build(_sources("tb_first_check.c"), "first-check", sanitize, exe_name="tb_first_check",
                             extra_flags=("-DTB_CHECK_HOST", "-Wvla", "-pedantic") + tuple(flags))
    r = subprocess.run([str(exe), str(seed), str(cases)], capture_output=True, text=True, timeout=300,
                       env=hostc.sanitizer_env())
    return r.returncode, r.stdout + r.stderr


def _families(log: str) -> dict:
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^family (\w+) cases (\d+) failed (\d+)$", log, re.M)}


def test_random_layers_host():
    code, log = _check(SEED, HOST_CASES)
    assert code == 0 and "tb_first_check pass" in log, log[-3000:]
    assert _families(log) == {f: (HOST_CASES, 0) for f in FAMILIES}


def test_random_layers_sanitized():
    code, log = _check(SEED + 1, SANITIZE_CASES, sanitize=True)
    assert code == 0 and "tb_first_check pass" in log, log[-3000:]


def test_random_layers_host_without_the_requantization_plan():
    """Built with TB_OPT_STREAM_PLAN=0 (a model without int8 / int16 outputs): every output, int8 and int16
    included, still equals the reference, through the reference's requantization."""
    code, log = _check(SEED + 2, HOST_CASES // 4, flags=("-DTB_OPT_STREAM_PLAN=0",))
    assert code == 0 and "tb_first_check pass" in log, log[-3000:]
    assert _families(log) == {f: (HOST_CASES // 4, 0) for f in FAMILIES}


def test_the_check_can_fail():
    """Flip one bit of every optimized output: every case must be reported."""
    code, log = _check(SEED, 50, flags=("-DTB_CHECK_CORRUPT=1",))
    assert code != 0 and "tb_first_check fail" in log
    assert all(failed >= 50 for _, failed in _families(log).values())


@pytest.fixture(scope="module")
def dump():
    exe = hostc.cached_build(_sources("tb_first_dump.c"), "first-dump", False, exe_name="tb_first_dump")

    def run(lines: list[str]) -> list[str]:
        r = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.splitlines()
    return run


def test_python_encoder_equals_c(dump):
    rng = np.random.default_rng([SEED, 5])
    shapes = [(1, 1), (3, 4), (5, 9), (128, 50), (2, 31), (7, 32), (3, 33), (4, 64), (2, 65), (1, 300), (3, 1200)]
    shapes += [(int(rng.integers(1, 70)), int(rng.integers(1, 400))) for _ in range(20)]
    lines, ws = [], []
    for O, K in shapes:
        w = rng.integers(0, 2**32, size=(O, -(-K // 32)), dtype=np.uint64).astype(np.uint32)
        if K % 32:
            w[:, -1] &= np.uint32((1 << (K % 32)) - 1)  # tail bits 0, as the packed weights have
        ws.append(w)
        lines.append(f"enc {O} {K} " + " ".join(f"{v:x}" for v in w.reshape(-1)))
    for (O, K), w, got in zip(shapes, ws, dump(lines)):
        want = first_layer_kernels.encode_ss(w, K)
        assert want.shape == (O, first_layer_kernels.encoded_words(O, K) // O)
        assert np.array_equal(np.array([int(v, 16) for v in got.split()], np.uint32), want.reshape(-1)), (O, K)


def test_python_scratch_equals_c(dump):
    convs = [(kh, kw, c, o) for kh, kw in ((1, 1), (3, 3), (5, 1), (5, 5)) for c in (1, 3, 10, 64) for o in (1, 33, 128)]
    dense = [(p, c, o) for p in (1, 3) for c in (1, 31, 256, 784) for o in (1, 10, 100)]
    got = [int(v) for v in dump([f"conv {kh} {kw} {c} {o}" for kh, kw, c, o in convs] +
                                [f"dense {p} {c} {o}" for p, c, o in dense])]
    want = [first_layer_kernels.scratch_bytes(kh * kw * c, o) for kh, kw, c, o in convs]
    want += [first_layer_kernels.scratch_bytes(p * c, o) for p, c, o in dense]
    assert got == want


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


FIRST_LAYER_MODELS = [("examples/kws/model/kws_bnn.onnx", "examples/kws/model/kws_bnn_test.npz"),
                      ("examples/vision/model/digits_bnn.onnx", "examples/vision/model/digits_bnn_test.npz"),
                      ("tests/fixtures/torch_mlp_legacy.onnx", "tests/fixtures/torch_mlp_legacy.npz")]


@pytest.mark.parametrize("model,data", FIRST_LAYER_MODELS, ids=lambda v: Path(v).stem)
def test_models_run_the_subset_sum_kernel(model, data):
    """Each variant of SUBSET_SUM renders the int8 x binary first layer with the subset-sum kernel and its
    encoded weights and scratch; the model's outputs on the host equal the golden model's; the reference
    variant renders the reference kernel."""
    root = Path(__file__).parent.parent
    d = np.load(root / data)
    m = tinybnn.load(root / model, calibration=d["x"])
    q = m.quantize(d["x"][:40])
    ref = codegen.prepare(m)
    if ref.specs[0].fn not in first_layer_kernels.BASE_FNS:
        pytest.skip(f"first layer runs {ref.specs[0].fn}")
    K, O = int(ref.specs[0].extra["K"]), ref.specs[0].out_shape[-1]
    want = m.run_quantized(q).reshape(-1)
    for v in first_layer_kernels.SUBSET_SUM:
        r = codegen.prepare(m, v)
        first = r.specs[0]
        assert first.fn == ref.specs[0].fn + "_ss"
        assert first.arrays["weights"].values.shape == (O, first_layer_kernels.encoded_words(1, K))
        assert first.scratch_bytes == first_layer_kernels.scratch_bytes(K, O)
        assert "tb_first_ss.c" in r.manifest["kernel_sources"]
        assert r.hash == ref.hash
        assert np.array_equal(_host_outputs(r, q), want), v
    assert "tb_first_ss.c" not in ref.manifest["kernel_sources"]


def test_each_variant_chooses_its_first_layer_kernels():
    """int8 x binary: the subset-sum kernels on SUBSET_SUM; int8 x int8/int16: the pair kernels on PAIRS;
    the reference variant keeps the reference kernels."""
    for v in kernels.VARIANTS:
        for base in ("tb_conv2d_s8b1", "tb_dense_s8b1", "tb_conv2d_s8s8", "tb_dense_s8s16"):
            f = first_layer_kernels.fn(v, base)
            if base.endswith("s8b1"):
                assert f == (base + "_ss" if v in first_layer_kernels.SUBSET_SUM else None)
            else:
                assert f == (first_layer_kernels.PAIR_FNS[base] if v in first_layer_kernels.PAIRS else None)
    assert all(first_layer_kernels.fn("reference", b) is None for b in first_layer_kernels.PAIR_FNS)


# ---------------------------------------------------------------------------------- emulated cores --
SS_BOARDS = ("qemu-m0", "qemu-m3", "qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55", "qemu-rv32zbb", "qemu-rv32")


@pytest.mark.parametrize("board_id", SS_BOARDS)
def test_random_layers_on_emulated_core(board_id, tmp_path):
    b = boards.load_board(board_id)
    missing = [t for t in (b["toolchain"] + "-gcc", b["qemu"]["binary"]) if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    from tinybnn.targets.qemu import run_to_exit

    stage = tmp_path / "stage" / "check"
    stage.mkdir(parents=True)
    for name, data in _sources("tb_first_check.c").items():
        (stage / name).write_bytes(data)
    runtime = REF.parent / "runtime"
    for name in ("tb_print.c", "tb_print.h"):
        shutil.copy2(runtime / name, stage / name)
    assert b["kernel_variant"] in first_layer_kernels.SUBSET_SUM
    arena = 2000 if b["ram_bytes"] < 64 * 1024 else 16384  # micro:bit: 16 KB of RAM
    project = platformio.write_project(b, tmp_path / "fw", [stage], extra_build_flags=[
        f"-DTB_CHECK_CASES={DEVICE_CASES}", f"-DTB_CHECK_SEED={SEED}u", f"-DTB_CHECK_ARENA_WORDS={arena}"])
    res = platformio.run_pio(project)
    if board_id in ("qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55"):  # DSP extension: the pair kernels use SMLAD
        dis = subprocess.run([b["toolchain"] + "-objdump", "-d", str(res.elf)], capture_output=True, text=True).stdout
        assert re.search(r"\bsmlad\b", dis)
    code, raw = run_to_exit(res.elf, b, timeout=180)
    log = raw.decode("utf-8", "replace")
    assert code == 0 and "tb_first_check pass" in log, log[-3000:]
    assert _families(log) == {f: (DEVICE_CASES, 0) for f in FAMILIES}


def test_int8_and_int16_weight_first_layers_take_the_pair_kernels():
    """torch_cnn_legacy's float first layer keeps int16 weights: on every family it runs tb_conv2d_s8_pairs
    with its weights as 16-bit pairs (the same values), and the reference variant keeps tb_conv2d_s8s16."""
    d = np.load(FIX / "torch_cnn_legacy.npz")
    m = tinybnn.load(FIX / "torch_cnn_legacy.onnx", calibration=d["x"])
    ref = codegen.prepare(m)
    assert ref.specs[0].fn == "tb_conv2d_s8s16"
    w16 = ref.specs[0].arrays["weights"].values.reshape(ref.specs[0].arrays["weights"].values.shape[0], -1)
    for v in first_layer_kernels.PAIRS:
        s = codegen.prepare(m, v).specs[0]
        assert s.fn == "tb_conv2d_s8_pairs"
        enc = s.arrays["weights"].values.astype(np.uint32)
        lo = (enc & 0xFFFF).astype(np.uint16).view(np.int16)
        hi = (enc >> 16).astype(np.uint16).view(np.int16)
        back = np.stack([lo, hi], axis=-1).reshape(enc.shape[0], -1)[:, :w16.shape[1]]
        np.testing.assert_array_equal(back, w16)
        assert s.scratch_bytes == 2 * 4 * ((w16.shape[1] + 1) // 2)
