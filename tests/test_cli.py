"""The command line: inspect, predict and the one-line error contract for bad flags and inputs."""

import subprocess
import sys
from pathlib import Path

import numpy as np

import tinybnn

FIX = Path(__file__).parent / "fixtures"


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd)


def test_inspect_table():
    r = cli("inspect", FIX / "torch_cnn_legacy.onnx", "--calibration", FIX / "torch_cnn_legacy.npz")
    assert r.returncode == 0, r.stderr
    for col in ("layer", "kind", "K", "params", "bytes", "binary MACs", "int MACs"):
        assert col in r.stdout
    assert "/3/Conv" in r.stdout and "conv2d bin->bits" in r.stdout and "294,912" in r.stdout


def test_inspect_without_calibration_says_so():
    r = cli("inspect", FIX / "torch_cnn_legacy.onnx")
    assert r.returncode == 0 and "needs calibration" in r.stdout


def test_predict_golden_matches_api(tmp_path):
    d = np.load(FIX / "brevitas_tfc.npz")
    np.save(tmp_path / "x.npy", d["x"][:17])
    r = cli("predict", FIX / "brevitas_tfc.onnx", "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert r.returncode == 0, r.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.dtype == np.float32 and y.shape == (17, 10)
    m = tinybnn.load(FIX / "brevitas_tfc.onnx")
    assert np.array_equal(y, m.predict(d["x"][:17]))


def test_predict_needs_calibration_one_line(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.float32))
    r = cli("predict", FIX / "torch_cnn_legacy.onnx", "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy",
            "--input-scale", "-1")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "input-scale" in r.stderr
    assert not (tmp_path / "y.npy").exists()


def test_predict_wrong_input_shape(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((2, 3, 8, 8), np.float32))
    r = cli("predict", FIX / "brevitas_tfc.onnx", "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy")
    assert r.returncode == 2 and "expected (N, 1, 8, 8)" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "y.npy").exists()


def test_usage_errors_are_one_line():
    for args in ([], ["inspect"], ["predict", "m.onnx"], ["nosuchcommand"], ["inspect", "missing.onnx"]):
        r = cli(*args)
        assert r.returncode == 2, args
        assert r.stderr.strip().count("\n") == 0 and r.stderr.startswith("tinybnn: error: "), r.stderr


def test_a_newline_in_a_file_name_is_shown_escaped(tmp_path):
    """What a message quotes from the user (here a file name) keeps its control characters as visible escapes:
    a newline neither breaks the line nor passes for a space."""
    r = cli("inspect", tmp_path / "a\nb.onnx")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "a\\nb.onnx: no such file" in r.stderr, r.stderr


def test_input_scale_flag(tmp_path):
    m = tinybnn.load(FIX / "torch_cnn_legacy.onnx", input_scale=1 / 16, input_zero_point=-128)
    assert m.input_quantization["scale"] == 1 / 16
    d = np.load(FIX / "torch_cnn_legacy.npz")
    q = m.quantize(d["x"][:3])
    assert q.dtype == np.int8 and q.shape == (3, 8, 8, 1)
    assert np.array_equal(q.astype(int), np.round(d["x"][:3] * 16).transpose(0, 2, 3, 1).astype(int) - 128)


def test_model_metadata_beats_self_calibration():
    """A model that names its own int8 input step (ONNX metadata) keeps it when a command runs on other data;
    explicit flags and --calibration still win."""
    kws = Path(__file__).resolve().parent.parent / "examples" / "kws" / "model" / "kws_bnn.onnx"
    import onnx

    md = {p.key: p.value for p in onnx.load(str(kws), load_external_data=False).metadata_props}
    step = float(md["tinybnn.input_scale"])
    wide = np.random.default_rng(0).normal(0, 50, (8, 10, 49, 1)).astype(np.float32)
    assert tinybnn.load(kws, fallback_calibration=wide).input_quantization["scale"] == step
    assert tinybnn.load(kws, calibration=wide).input_quantization["scale"] != step
    assert tinybnn.load(kws, input_scale=0.5).input_quantization["scale"] == 0.5


# ------------------------------------------------------------------ conventions of the command line -----
def test_version():
    r = cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"tinybnn {tinybnn.__version__}", r.stdout + r.stderr


def test_every_help_exits_0_and_shows_an_example():
    from tinybnn.cli import make_parser

    p = make_parser()
    sub = next(a for a in p._actions if a.dest == "cmd")
    commands = sorted(sub.choices)
    assert {"inspect", "predict", "check", "convert", "boards", "build", "validate", "report", "footprint",
            "bench"} <= set(commands)
    r = cli("--help")
    assert r.returncode == 0 and "examples:" in r.stdout
    for name in commands:
        r = cli(name, "--help")
        assert r.returncode == 0, (name, r.stderr)
        ex = r.stdout.split("examples:", 1)
        assert len(ex) == 2 and f"tinybnn {name}" in ex[1], (name, r.stdout)
        # every option and argument has a help text (suppressed aliases excepted)
        for a in sub.choices[name]._actions:
            assert a.help, (name, a.option_strings or a.dest)


def test_mistyped_board_suggests_the_near_ones(tmp_path):
    r = cli("build", FIX / "torch_mlp_legacy.onnx", "--board", "qemu-m5", "-o", tmp_path / "fw",
            "--calibration", FIX / "torch_mlp_legacy.npz")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("tinybnn: error: no such board 'qemu-m5' (did you mean ")
    for near in ("qemu-m55", "qemu-m7", "qemu-m4"):
        assert near in r.stderr.split("known:")[0], r.stderr
    assert not (tmp_path / "fw").exists()


def test_port_with_an_emulated_board_is_refused(tmp_path):
    r = cli("validate", FIX / "torch_mlp_legacy.onnx", "--data", FIX / "torch_mlp_legacy.npz", "--port",
            "/dev/ttyACM0", "--build-dir", tmp_path / "fw", "--results", tmp_path / "r.jsonl")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "'qemu-m4' is emulated" in r.stderr and "--port is for a real board" in r.stderr
    assert not (tmp_path / "fw").exists() and not (tmp_path / "r.jsonl").exists()


def test_run_on_a_real_board_is_refused_without_an_upload_hint(tmp_path):
    for extra in ((), ("--offline-check",)):
        r = cli("build", FIX / "torch_mlp_legacy.onnx", "--board", "nucleo_f446re", "-o", tmp_path / "fw", "--run",
                "--calibration", FIX / "torch_mlp_legacy.npz", *extra)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "real board: --run boots emulated boards only" in r.stderr
        assert "pio run" not in r.stderr and "-t upload" not in r.stderr and "validate MODEL" in r.stderr
        assert not (tmp_path / "fw").exists()


def test_json_instead_of_the_tables(tmp_path):
    import json

    r = cli("inspect", FIX / "torch_cnn_legacy.onnx", "--calibration", FIX / "torch_cnn_legacy.npz", "--json", "-")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert [row["name"] for row in d["layers"]][:2] == ["/0/Conv", "/3/Conv"]
    assert sum(row["binary_macs"] for row in d["layers"]) == 342_592
    r = cli("boards", "--json", "-")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["default"] == "qemu-m4" and any(b["id"] == "qemu-m55" and b["emulated"] for b in d["boards"])
    r = cli("convert", FIX / "torch_mlp_legacy.onnx", "-o", tmp_path / "c", "--calibration",
            FIX / "torch_mlp_legacy.npz", "--json", tmp_path / "c.json")
    assert r.returncode == 0, r.stderr
    d = json.loads((tmp_path / "c.json").read_text())
    assert f"weights: {d['weight_bytes']:,} bytes" in r.stdout and "model.c" in d["files"]
    # the table itself: drawn by rich, plain text in a pipe, numbers right-aligned under their heading
    r = cli("inspect", FIX / "torch_cnn_legacy.onnx", "--calibration", FIX / "torch_cnn_legacy.npz")
    lines = r.stdout.splitlines()
    head = next(ln for ln in lines if ln.startswith("layer"))
    row = next(ln for ln in lines if ln.startswith("/3/Conv"))
    assert row.rstrip().endswith("0") and row.index("294,912") + len("294,912") == head.index("binary MACs") + len(
        "binary MACs")
    assert "\x1b[" not in r.stdout


def test_progress_bar_on_a_terminal_only():
    import io
    import os
    import pty

    from tinybnn.console import progress

    buf = io.StringIO()
    with progress(5, enabled=True, stream=buf) as advance:
        for _ in range(5):
            advance()
    assert buf.getvalue() == ""  # not a terminal: nothing
    import select

    def read(fd):
        out = b""
        while select.select([fd], [], [], 0.5)[0]:
            out += os.read(fd, 65536)
        return out.decode("utf-8", "replace")

    master, slave = pty.openpty()
    try:
        with open(slave, "w", closefd=False) as tty:
            with progress(5, enabled=False, stream=tty) as advance:  # --quiet
                advance()
            tty.flush()
            assert read(master) == ""
            with progress(5, enabled=True, stream=tty) as advance:
                for _ in range(5):
                    advance()
            tty.flush()
        text = read(master)
        assert "5/5" in text and "samples" in text and "eta" in text, text
    finally:
        os.close(master)
        os.close(slave)


def test_build_log_jobs_and_verbose(tmp_path):
    import shutil

    import pytest

    if not shutil.which("arm-none-eabi-gcc"):
        pytest.skip("arm-none-eabi-gcc not installed")
    out = tmp_path / "fw"
    r = cli("build", FIX / "torch_mlp_legacy.onnx", "--board", "qemu-m4", "-o", out, "--jobs", "1", "--verbose",
            "--calibration", FIX / "torch_mlp_legacy.npz")
    assert r.returncode == 0, r.stderr[-2000:]
    log = (out / "build.log").read_text()
    assert "arm-none-eabi-gcc" in log and "model.c" in log  # the compiler lines, kept beside the firmware
    assert "building the firmware for qemu-m4 with PlatformIO (1 job;" in r.stderr
    assert "arm-none-eabi-gcc" in r.stderr  # --verbose shows them
    assert f"log {out.resolve() / 'build.log'}" in r.stdout
    r = cli("build", FIX / "torch_mlp_legacy.onnx", "-o", tmp_path / "fw2", "--jobs", "0")
    assert r.returncode == 2 and "expected at least 1 job" in r.stderr and not (tmp_path / "fw2").exists()


def test_control_characters_of_a_path_stay_on_one_visible_line(tmp_path):
    """A file name holding a newline, a terminal escape and a line separator: the error is one line (line
    breaks as spaces) and the escape is written visibly (nothing reaches the terminal raw), for a missing file
    and a bad one."""
    name = "m\nx\x1b[31m\u2028.onnx"
    bad = tmp_path / name
    for path in (tmp_path / ("missing" + name), bad):
        if path == bad:
            bad.write_bytes(b"not an onnx file")
        r = cli("inspect", path)
        assert r.returncode != 0 and r.stdout == ""
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("tinybnn: error: "), repr(r.stderr)
        assert "\x1b" not in r.stderr and "\u2028" not in r.stderr
        assert "x\\x1b[31m" in r.stderr, repr(r.stderr)  # the escape shown, not sent to the terminal
