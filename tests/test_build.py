"""tinybnn build: every fixture on one board of each kernel family and a covering set on the other boards
(TINYBNN_FULL_MATRIX=1: every fixture on every board), booted in QEMU, output equal to the golden model;
footprint figures equal to the converter's; models that cannot fit are refused before building."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.targets import boards, build, footprint
from tinybnn.backend import codegen

FIX = Path(__file__).parent / "fixtures"
FIXTURES = sorted(p.stem for p in FIX.glob("*.onnx"))
EMULATED = boards.list_boards(emulated=True)


def _tools(board_id):
    b = boards.load_board(board_id)
    return shutil.which(b["toolchain"] + "-gcc") and shutil.which(b["qemu"]["binary"])


def _model(name):
    d = np.load(FIX / f"{name}.npz")
    return tinybnn.load(FIX / f"{name}.onnx", calibration=d["x"]), d["x"]


@pytest.fixture(scope="module")
def models():
    return {n: _model(n) for n in FIXTURES}


def test_seven_emulated_boards():
    assert set(EMULATED) == {"qemu-m0", "qemu-m3", "qemu-m4", "qemu-m7", "qemu-m33", "qemu-m55", "qemu-rv32",
                             "qemu-rv32zbb"}
    assert boards.default_board() == "qemu-m4"


# Every fixture runs on one board of each kernel family (armv7m with DSP, armv6m, rv32, rv32-zbb). The other
# armv7m-family boards (M3 without DSP instructions, M7, M33, M55: the same kernel sources, other compiler flags)
# run fixtures that together use every layer kind: streams, PReLU, Concat, depthwise, 1-D, int8 first layer and
# shortcut convs, max-pool, dense. TINYBNN_FULL_MATRIX=1 runs every fixture on every board.
FAMILY_BOARDS = ("qemu-m4", "qemu-m0", "qemu-rv32", "qemu-rv32zbb")
COVERING = ("brevitas_dscnn", "larq_quicknet", "torch_cnn_legacy", "torch_reactnet_dynamo",
            "torch_xnor_tcn_legacy")


def _matrix():
    full = os.environ.get("TINYBNN_FULL_MATRIX") == "1"
    return [(name, board) for board in EMULATED for name in FIXTURES
            if full or board in FAMILY_BOARDS or name in COVERING]


def test_matrix_covers_every_board_and_fixture():
    pairs = _matrix()
    assert {b for _, b in pairs} == set(EMULATED)
    assert {n for n, _ in pairs} == set(FIXTURES)
    assert set(COVERING) <= set(FIXTURES)


@pytest.mark.slow
@pytest.mark.parametrize("name,board", _matrix())
def test_build_and_boot(models, name, board, tmp_path):
    if not _tools(board):
        pytest.skip(f"cross compiler or QEMU for {board} not installed")
    m, x = models[name]
    sample = x[7]
    fw = build.build(m, board, tmp_path / "fw", sample=sample)
    res = build.run_selftest(fw)
    assert res.exit_code == 0, res.log
    assert res.hash == fw.hash
    golden = m.run(sample[None])[0].reshape(-1)
    assert np.array_equal(res.output, golden), f"{name} on {board}: {res.output} != {golden}"
    assert res.count and res.count > 0 and res.count_kind == "instructions"
    # footprint: weights measured in the ELF equal the converter's packed size, arena too
    fp = footprint.from_build(fw.project)
    # the board's kernel variant may encode the weights (tinybnn/backend/kernels.py): compare with that rendering
    assert fp.flash_components["weights"] == fw.weight_bytes == codegen.prepare(m, fw.kernel_variant).weight_bytes
    assert fp.ram_components["arena"] == fw.arena_bytes
    assert fp.flash == fw.flash_used and fp.ram == fw.ram_used  # same totals as PlatformIO's own report
    assert fp.stack["measured"] and fp.stack["measured"] <= fp.stack["reserved"]
    assert fp.stack["static_worst"] and fp.stack["measured"] <= fp.stack["static_worst"] + 64


def test_footprint_cli_json(models, tmp_path):
    if not _tools("qemu-m4"):
        pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed")
    out = tmp_path / "fw"
    r = subprocess.run([sys.executable, "-m", "tinybnn", "build", str(FIX / "larq_cnn.onnx"), "--board", "qemu-m4",
                        "-o", str(out), "--calibration", str(FIX / "larq_cnn.npz"), "--run"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr + r.stdout
    assert "selftest pass" in r.stdout and "flash" in r.stdout
    js = tmp_path / "fp.json"
    r = subprocess.run([sys.executable, "-m", "tinybnn", "footprint", str(out), "--json", str(js)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = json.loads(js.read_text())
    assert data["flash"] > 0 and data["ram"] > 0
    m, _ = models["larq_cnn"]
    assert data["components"]["weights"] == codegen.prepare(m, boards.load_board("qemu-m4")["kernel_variant"]).weight_bytes
    # the figures `tinybnn convert --board` prints are the measured ones
    r = subprocess.run([sys.executable, "-m", "tinybnn", "convert", str(FIX / "larq_cnn.onnx"), "-o", str(tmp_path / "c"),
                        "--board", "qemu-m4", "--calibration", str(FIX / "larq_cnn.npz")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert f"weights: {data['components']['weights']:,} bytes" in r.stdout
    assert f"arena: {data['components']['arena']:,} bytes" in r.stdout
    for key in ("weights", "kernels", "model", "runtime", "port", "libc", "arena", "stack", "other"):
        assert key in data["components"]
    assert sum(data["flash_components"].values()) == data["flash"]
    assert sum(data["ram_components"].values()) == data["ram"]


def _big_mlp(path, k=4096, n=1024):
    """x (k) -> binary dense k -> n -> binary dense n -> 10: k*n/8 bytes of packed weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.choice([-1.0, 1.0], (n, k)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.choice([-1.0, 1.0], (10, n)).astype(np.float32), "w2")]
    nodes = [helper.make_node("Sign", ["x"], ["s0"]),
             helper.make_node("Gemm", ["s0", "w1"], ["h"], transB=1),
             helper.make_node("Sign", ["h"], ["s1"]),
             helper.make_node("Gemm", ["s1", "w2"], ["y"], transB=1)]
    g = helper.make_graph(nodes, "big", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_too_large_model_refused_before_build(tmp_path):
    """512 KB of packed weights do not fit the micro:bit (256 KB of flash): refused with the numbers."""
    p = tmp_path / "big.onnx"
    _big_mlp(p)
    out = tmp_path / "fw"
    r = subprocess.run([sys.executable, "-m", "tinybnn", "build", str(p), "--board", "qemu-m0", "-o", str(out)],
                       capture_output=True, text=True)
    assert r.returncode == 2, r.stdout + r.stderr
    line = r.stderr.strip()
    assert line.count("\n") == 0 and "does not fit board 'qemu-m0'" in line, line
    assert "262,144" in line and "flash" in line  # the board's flash size, and what the model needs
    assert not out.exists()


REAL = [b for b in boards.list_boards(emulated=False)]
OFFLINE = [b for b in REAL if "offline" in boards.load_board(b)]


def test_every_real_cortex_m_and_riscv_board_has_an_offline_check():
    for b in REAL:
        core = boards.load_board(b)["core"]
        assert (b in OFFLINE) == (not core.startswith("xtensa")), b
        assert boards.load_board(b)["verified"] == ("offline-compile" if b in OFFLINE else "generated-only")


@pytest.mark.parametrize("board", OFFLINE)
def test_offline_compile_and_link(models, board, tmp_path):
    b = boards.offline_board(boards.load_board(board))
    if not shutil.which(b["toolchain"] + "-gcc"):
        pytest.skip(f"{b['toolchain']}-gcc not installed")
    m, x = models["torch_cnn_legacy"]
    fw = build.build(m, board, tmp_path / "fw", sample=x[0], opt="Os", offline_check=True)
    assert fw.elf.is_file() and fw.flash_used > fw.weight_bytes
    fp = footprint.from_build(fw.project)
    assert fp.flash_components["weights"] == fw.weight_bytes
    assert fp.limits["flash_bytes"] == boards.load_board(board)["flash_bytes"]
    assert fp.flash < fp.limits["flash_bytes"] and fp.ram < fp.limits["ram_bytes"]


@pytest.mark.parametrize("board", REAL)
def test_real_board_projects_are_generated(models, board, tmp_path):
    """Checked structurally here (the official platforms need PlatformIO's registry)."""
    m, x = models["larq_cnn"]
    b = boards.load_board(board)
    fw = build.build(m, board, tmp_path / "p", sample=x[0], generate_only=True)
    ini = (fw.project / "platformio.ini").read_text()
    assert f"[env:{board}]" in ini
    assert f"platform = {b['platformio']['platform']}" in ini and f"board = {b['platformio']['board']}" in ini
    assert "framework = arduino" in ini and f'TB_BOARD_ID=\\"{board}\\"' in ini
    src = fw.project / "src"
    for f in ("tinybnn/model.c", "tinybnn/model.h", "tinybnn/model_weights.c", "tinybnn/tb_main.c",
              "port/arduino/tb_port_arduino.cpp"):
        assert (src / f).is_file(), f
    assert (fw.project / "include" / "tb_port.h").is_file()
    assert json.loads((fw.project / "tinybnn-build.json").read_text())["model_hash"] == fw.hash


def test_registry_board_fails_fast_without_registry(models, tmp_path):
    from tinybnn.targets import platformio

    if platformio.registry_reachable(timeout=3.0):
        pytest.skip("PlatformIO's registry is reachable here: a real build would download the platform")
    import time

    m, x = models["larq_cnn"]
    t0 = time.monotonic()
    with pytest.raises(tinybnn.TinyBnnError, match="registry .* is unreachable"):
        build.build(m, "nucleo_f446re", tmp_path / "p", sample=x[0])
    assert time.monotonic() - t0 < 15


def test_requantization_plan_only_where_a_layer_writes_a_stream(models, tmp_path):
    """A model without int8 / int16 outputs builds its optimized kernels with TB_OPT_STREAM_PLAN=0 (their
    requantization plan, over 500 bytes of stack per call, compiled out) and every kernel with
    TB_STREAM_OUTPUTS=0 (the int8 / int16 output stages left out); a residual model keeps both."""
    for name, wants_plan in (("larq_cnn", False), ("torch_bireal_legacy", True)):
        m, x = models[name]
        r = codegen.prepare(m, "armv7m")
        streams = [s.name for s in r.specs if s.out_kind in ("TB_OUT_S8", "TB_OUT_S16")]
        assert bool(streams) == wants_plan, (name, streams)
        assert r.defines == ([] if wants_plan else ["-DTB_OPT_STREAM_PLAN=0", "-DTB_STREAM_OUTPUTS=0"])
        fw = build.build(m, "qemu-m4", tmp_path / name, sample=x[0], generate_only=True)
        ini = (fw.project / "platformio.ini").read_text()
        assert ("-DTB_OPT_STREAM_PLAN=0" in ini) != wants_plan, ini
        assert ("-DTB_STREAM_OUTPUTS=0" in ini) != wants_plan, ini
