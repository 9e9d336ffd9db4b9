"""tinybnn validate on the emulated boards: every fixture bit-exact on qemu-m4 and qemu-rv32, resume after a
kill, and the model-hash check.

CI runs a handful of samples per fixture and board (FIXTURE_SAMPLES) and a few hundred of each example; the
full test sets run in `make demo` (the KWS example, all 600 clips) and in the benchmarks."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.targets import boards
from tinybnn.device import validate

FIX = Path(__file__).parent / "fixtures"
FIXTURES = sorted(p.stem for p in FIX.glob("*.onnx"))
FIXTURE_SAMPLES = 48
EXAMPLE_SAMPLES = 120
pytestmark = pytest.mark.slow


def _tools(board_id):
    b = boards.load_board(board_id)
    return shutil.which(b["toolchain"] + "-gcc") and shutil.which(b["qemu"]["binary"])


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], capture_output=True, text=True, **kw)


# the residual networks (real-valued streams, depthwise blocks) also on RV32 with Zbb, the second board
STREAM_FIXTURES = {"torch_bireal_legacy", "torch_reactnet_dynamo", "torch_xnor_tcn_legacy", "larq_quicknet",
                   "brevitas_dscnn"}


@pytest.mark.parametrize("name,board", [(n, b) for n in FIXTURES for b in
                                        ("qemu-m4", "qemu-rv32") + (("qemu-rv32zbb",) if n in STREAM_FIXTURES else ())])
def test_validate_fixture(name, board, tmp_path):
    if not _tools(board):
        pytest.skip(f"toolchain or QEMU for {board} not installed")
    js = tmp_path / "summary.json"
    r = cli("validate", FIX / f"{name}.onnx", "--board", board, "--data", FIX / f"{name}.npz", "--json", js,
            "--limit", FIXTURE_SAMPLES, "--build-dir", tmp_path / "fw", "--results", tmp_path / "results.jsonl")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s = json.loads(js.read_text())
    n = FIXTURE_SAMPLES
    assert s["samples"] == n and s["matched"] == n and s["mismatched"] == 0
    assert s["device_accuracy"] == s["golden_accuracy"]
    assert abs(s["golden_accuracy"] - s["float_accuracy"]) <= 0.01
    assert s["instructions_per_inference"] > 0
    m = tinybnn.load(FIX / f"{name}.onnx", calibration=np.load(FIX / f"{name}.npz")["x"])
    assert [row["layer"] for row in s["per_layer"]] == [n.name for n in m.layers]
    assert all(row["count"] > 0 for row in s["per_layer"])
    # per-layer counts add up to the whole inference (minus the hook and call overhead)
    assert sum(row["count"] for row in s["per_layer"]) <= s["instructions_per_inference"] * 1.05
    assert f"bit-exact: {n}/{n}" in r.stdout
    _check_device_classes(s, r.stdout)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == n + 1 and all(json.loads(ln)["match"] for ln in lines[1:])


def _check_device_classes(s, stdout):
    """The device's own decisions (CLASSIFY: float sample in, class and scores out): on every sample the
    class is the golden model's argmax of the same floats, the int8 codes are the host's, the scores are
    predict's within 1e-5 relative; the accuracy is the golden model's."""
    c, n = s["classify"], s["samples"]
    assert c is not None, s.get("classify_note")
    assert c["samples"] == n and c["class_equal"] == n and c["codes_equal"] == n and not c["codes_differ"]
    assert c["scores_max_rel_diff"] <= 1e-5
    assert c["accuracy"] == s["golden_accuracy"]
    assert c["per_classify"] > s["instructions_per_inference"]  # quantize + run + affine
    assert f"{n}/{n} equal to the golden model's argmax; int8 codes {n}/{n} equal to the host's" in stdout


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("model,data", [("kws/model/kws_bnn.onnx", "kws/model/kws_bnn_test.npz"),
                                        ("vision/model/digits_bnn.onnx", "vision/model/digits_bnn_test.npz")])
def test_validate_examples(model, data, tmp_path):
    """The bundled example models on the default board: device accuracy equals golden, within 2 points of
    the float model (the main job's claim)."""
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU not installed")
    js = tmp_path / "s.json"
    r = cli("validate", EXAMPLES / model, "--data", EXAMPLES / data, "--json", js, "--build-dir", tmp_path / "fw",
            "--limit", EXAMPLE_SAMPLES, "--results", tmp_path / "r.jsonl")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s = json.loads(js.read_text())
    assert s["mismatched"] == 0 and s["matched"] == s["samples"] == EXAMPLE_SAMPLES
    assert s["device_accuracy"] == s["golden_accuracy"]
    assert abs(s["golden_accuracy"] - s["float_accuracy"]) <= 0.02
    _check_device_classes(s, r.stdout)


RESNET_SAMPLES = 24


def test_validate_kws_resnet(tmp_path):
    """The residual KWS example (int16 streams calibrated on its shipped TRAIN clips, the input step of its
    metadata) bit-exact on qemu-m4 on the first clips of the chain model's test file."""
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU not installed")
    import onnx

    model = EXAMPLES / "kws/model/kws_resnet.onnx"
    md = {p.key: p.value for p in onnx.load(str(model), load_external_data=False).metadata_props}
    js = tmp_path / "s.json"
    r = cli("validate", model, "--data", EXAMPLES / "kws/model/kws_bnn_test.npz",
            "--calibration", EXAMPLES / "kws/model/kws_resnet_calibration.npz",
            "--input-scale", md["tinybnn.input_scale"], "--json", js, "--build-dir", tmp_path / "fw",
            "--limit", RESNET_SAMPLES, "--results", tmp_path / "r.jsonl")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    s = json.loads(js.read_text())
    assert s["mismatched"] == 0 and s["matched"] == s["samples"] == RESNET_SAMPLES
    assert s["device_accuracy"] == s["golden_accuracy"]
    assert any(row["layer"].endswith("/Add") for row in s["per_layer"])  # the residual adds ran on the device
    _check_device_classes(s, r.stdout)


def test_resume_after_kill(tmp_path):
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU not installed")
    name = "brevitas_tfc"
    results = tmp_path / "results.jsonl"
    args = ["-m", "tinybnn", "validate", str(FIX / f"{name}.onnx"), "--data", str(FIX / f"{name}.npz"),
            "--build-dir", str(tmp_path / "fw"), "--results", str(results), "--json", str(tmp_path / "s.json")]
    p = subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results.is_file() and len(results.read_text().splitlines()) > 60:
            break
        time.sleep(0.05)
    os.killpg(p.pid, signal.SIGKILL)  # the whole run, QEMU included, dies mid-stream
    p.wait()
    before = len(results.read_text().splitlines()) - 1
    assert 60 <= before < 360, before
    r = cli(*args[2:])
    assert r.returncode == 0, r.stderr[-2000:]
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["resumed"] >= before - 1  # a line cut by the kill is redone
    assert s["matched"] == 360 and s["mismatched"] == 0
    idx = [json.loads(ln)["index"] for ln in results.read_text().splitlines()[1:]]
    assert sorted(set(idx)) == list(range(360))
    assert len(idx) == 360  # nothing validated twice


def test_device_with_another_model_is_refused(tmp_path, monkeypatch):
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU not installed")
    d = np.load(FIX / "brevitas_tfc.npz")
    other = tinybnn.load(FIX / "torch_mlp_legacy.onnx", calibration=np.load(FIX / "torch_mlp_legacy.npz")["x"])
    from tinybnn.targets.build import build

    fw_other = build(other, "qemu-m4", tmp_path / "other", app="serve")
    monkeypatch.setattr(validate, "_ensure_build", lambda *a, **k: fw_other)
    m = tinybnn.load(FIX / "brevitas_tfc.onnx")
    with pytest.raises(tinybnn.TinyBnnError, match="runs model .* not this model"):
        validate.run(m, FIX / "brevitas_tfc.onnx", "qemu-m4", d["x"][:5], d["labels"][:5],
                     build_dir=tmp_path / "fw", results_path=tmp_path / "r.jsonl")


def test_default_relative_build_dir(tmp_path):
    """validate's default build directory (out/validate/..., relative to where it runs) works."""
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU not installed")
    r = cli("validate", FIX / "brevitas_tfc.onnx", "--data", FIX / "brevitas_tfc.npz", "--limit", "20", cwd=tmp_path)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "bit-exact: 20/20" in r.stdout
    assert list((tmp_path / "out" / "validate").glob("qemu-m4-*/tinybnn-build.json"))
