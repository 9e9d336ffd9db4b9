"""Every exporter's trained fixture: the golden model agrees with the framework's own runtime."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.check import check

FIX = Path(__file__).parent / "fixtures"
NAMES = sorted(p.stem for p in FIX.glob("*.onnx"))


def load(name):
    d = np.load(FIX / f"{name}.npz")
    return tinybnn.load(FIX / f"{name}.onnx", calibration=d["x"]), d["x"], d["labels"]


def test_all_dialects_present():
    assert {"torch_mlp_legacy", "torch_cnn_legacy", "torch_cnn_dynamo", "brevitas_cnn", "brevitas_tfc",
            "larq_cnn", "larq_pool_bn"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_check_agreement(name):
    m, x, labels = load(name)
    rep = check(m, FIX / f"{name}.onnx", x, labels)
    assert rep.samples == len(x) == 360
    assert rep.argmax_agreement >= 0.99, rep.text()
    assert abs(rep.golden_accuracy - rep.float_accuracy) <= 0.01, rep.text()
    compared = [f for _, f in rep.layer_bit_agreement if f is not None]
    assert compared and min(compared) >= 0.95, rep.text()


@pytest.mark.parametrize("name", NAMES)
def test_reference_runner_matches_framework_outputs(name):
    """tinybnn's reference runner reproduces the outputs the exporting framework recorded."""
    from tinybnn.frontend.onnx.runtime import run_reference

    d = np.load(FIX / f"{name}.npz")
    y, _ = run_reference(FIX / f"{name}.onnx", d["x"][:40])
    ref = np.load(FIX / f"{name}.ref.npz")["y"][:40]
    np.testing.assert_allclose(y.reshape(ref.shape), ref, rtol=1e-4, atol=1e-4)


EXACT = {"brevitas_cnn", "brevitas_tfc", "torch_cnn_dynamo", "torch_mlp_legacy", "larq_cnn", "larq_pool_bn"}


@pytest.mark.parametrize("name", sorted(EXACT & set(NAMES)))
def test_exactly_representable_fixtures_match_every_bit(name):
    """Binary first-layer weights and an input on a grid: nothing is approximated, every bit agrees."""
    m, x, labels = load(name)
    rep = check(m, FIX / f"{name}.onnx", x, labels)
    assert rep.argmax_agreement == 1.0
    assert all(f == 1.0 for _, f in rep.layer_bit_agreement if f is not None), rep.text()


def test_cli_check_prints_agreement():
    r = subprocess.run([sys.executable, "-m", "tinybnn", "check", str(FIX / "larq_cnn.onnx"), "--data",
                        str(FIX / "larq_cnn.npz")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "argmax agreement with the float model: 100.00%" in r.stdout
    assert "activation bits agree" in r.stdout and "accuracy: golden" in r.stdout


@pytest.mark.parametrize("name", ["torch_mlp_legacy", "brevitas_cnn"])
def test_final_softmax_is_applied_on_the_host(name, tmp_path):
    """A model exported with a Softmax after its logits: the integer model is the one without it, predict()
    and check() give the probabilities (onnxruntime's, within float tolerance), the device's scores stay
    logits (the class is the same). A Softmax anywhere else stays refused (tests/fixtures/bad)."""
    import onnx
    from onnx import helper

    m = onnx.load(FIX / f"{name}.onnx")
    out = m.graph.output[0]
    m.graph.node.append(helper.make_node("Softmax", [out.name], ["probs"], name="final_softmax"))
    probs = onnx.ValueInfoProto()
    probs.CopyFrom(out)
    probs.name = "probs"
    m.graph.value_info.append(out)  # the logits, now an inner tensor (qonnx's executor wants every shape)
    del m.graph.output[:]
    m.graph.output.append(probs)
    path = tmp_path / f"{name}_softmax.onnx"
    onnx.save(m, path)
    d = np.load(FIX / f"{name}.npz")
    plain, soft = tinybnn.load(FIX / f"{name}.onnx", calibration=d["x"]), tinybnn.load(path, calibration=d["x"])
    assert np.array_equal(plain.run(d["x"][:64]), soft.run(d["x"][:64]))  # the same integer model
    p = soft.predict(d["x"][:64]).reshape(64, -1)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    logits = plain.predict(d["x"][:64]).reshape(64, -1)
    assert np.array_equal(p.argmax(axis=1), logits.argmax(axis=1))
    rep = check(soft, path, d["x"], d["labels"])
    assert rep.argmax_agreement >= 0.99, rep.text()
    from tinybnn.frontend.onnx.runtime import run_reference

    y, _ = run_reference(path, d["x"][:64])
    np.testing.assert_allclose(p, y.reshape(p.shape), atol=0.02)
