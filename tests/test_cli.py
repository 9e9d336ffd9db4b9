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
