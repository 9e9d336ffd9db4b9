"""The golden model against an independent float64 execution of random BNN graphs: exactly equal.

Inputs lie on a k/16 grid (represented exactly by tinybnn's calibration) and every weight is +-alpha, so
the float model computes integers scaled by constants and every binarizer decision must match: every
activation bit and the final outputs (within float64 rounding of the output affine).
"""

import numpy as np
import pytest

import tinybnn
from tinybnn.ir.bits import unpack_bits
from onnx_rand import execute, random_cnn

SEEDS = list(range(60))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_cnn_exact(seed, tmp_path):
    model, x = random_cnn(seed)
    path = tmp_path / f"rand{seed}.onnx"
    path.write_bytes(model.SerializeToString())
    m = tinybnn.load(path, calibration=x)
    ref, env = execute(model, x, keep=True)
    got = m.predict(x)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4, err_msg=f"seed {seed}")
    # every binary layer's bits equal the float model's binarizer output
    outs = {o.name: o for o in m.run_layers(x)}
    checked = 0
    for n in m.layers:
        ref_name = n.attrs.get("onnx_ref")
        if ref_name is None or n.attrs.get("out") == "int32":
            continue
        t = env[ref_name[0]]
        if ref_name[1] is not None:
            t = np.transpose(t, np.argsort(ref_name[1]))
        ref_bits = (t < 0)
        if ref_bits.ndim == 4:
            ref_bits = ref_bits.transpose(0, 2, 3, 1)
        dev = unpack_bits(outs[n.name].data, n.attrs["out_shape"][-1]).reshape(ref_bits.shape)
        assert np.array_equal(dev, ref_bits), f"seed {seed}: layer {n.name} differs"
        checked += 1
    assert checked >= 1


def test_run_batch_semantics(tmp_path):
    model, x = random_cnn(3)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    m = tinybnn.load(path, calibration=x)
    full = m.run(x)
    assert full.shape[0] == len(x) and full.dtype == np.int32
    one = np.concatenate([m.run(x[i:i + 1]) for i in range(len(x))])
    assert np.array_equal(full, one)
    layers = m.run_layers(x)
    assert layers[0].name == "input" and layers[-1].data.shape == full.shape
    assert np.array_equal(layers[-1].data, full)
    with pytest.raises(tinybnn.TinyBnnError, match="expected"):
        m.run(x[0])  # missing the leading N axis


def test_per_channel_input_quantizer(tmp_path):
    """A QONNX Quant with one scale per input channel: the scales fold into the first layer's weights (which
    become int8), and the result follows the float model."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from onnx_rand import execute
    from tinybnn.ir.quant import int_quant

    rng = np.random.default_rng(5)
    C = 3
    scales = np.array([0.02, 0.05, 0.011], np.float32).reshape(C, 1, 1)
    w1 = rng.choice([-1.0, 1.0], (16, C, 3, 3)).astype(np.float32)
    w2 = rng.choice([-1.0, 1.0], (10, 16 * 6 * 6)).astype(np.float32)
    inits = [numpy_helper.from_array(v, n) for v, n in [
        (scales, "s"), (np.zeros(1, np.float32), "z"), (np.array(8.0, np.float32), "b"), (w1, "w1"), (w2, "w2"),
        (rng.uniform(0.5, 1.5, 16).astype(np.float32), "g"), (rng.normal(0, .5, 16).astype(np.float32), "be"),
        (rng.normal(0, 2, 16).astype(np.float32), "mu"), (rng.uniform(1, 9, 16).astype(np.float32), "var")]]
    body = [helper.make_node("Conv", ["xq", "w1"], ["c1"], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["bn"]),
            helper.make_node("Sign", ["bn"], ["s1"]),
            helper.make_node("Flatten", ["s1"], ["f"]),
            helper.make_node("Gemm", ["f", "w2"], ["y"], transB=1)]
    quant = helper.make_node("Quant", ["x", "s", "z", "b"], ["xq"], domain="qonnx.custom_op.general", signed=1,
                             narrow=0, rounding_mode="ROUND")
    io = [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, 6, 6]),
          helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])]
    m = helper.make_model(helper.make_graph([quant] + body, "pcq", io[:1], io[1:], inits),
                          opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("qonnx.custom_op.general", 1)])
    path = tmp_path / "pcq.onnx"
    onnx.save(m, str(path))
    model = tinybnn.load(path)
    assert model.input_quantization["mode"] == "quant"
    assert model.layers[0].attrs["weight_kind"].startswith("int8")  # per-channel scales folded into weights
    x = rng.normal(0, 1, (64, C, 6, 6)).astype(np.float32)
    # reference: the Quant in numpy, the rest in float64
    xq = int_quant(x, scales, 0.0, 8, 1, 0, "ROUND")
    ref_model = helper.make_model(helper.make_graph(body, "ref", [helper.make_tensor_value_info(
        "xq", TensorProto.FLOAT, [1, C, 6, 6])], io[1:], inits[3:]), opset_imports=[helper.make_opsetid("", 17)])
    ref = execute(ref_model, xq)
    got = model.predict(x)
    assert np.mean(got.argmax(1) == ref.argmax(1)) >= 0.9
    assert np.corrcoef(got.ravel(), ref.ravel())[0, 1] > 0.98
