"""The golden model against an independent float64 execution of random BNN graphs: exactly equal.

Inputs lie on a k/16 grid (represented exactly by tinybnn's calibration) and every weight is +-alpha, so
the float model computes integers scaled by constants and every binarizer decision must match: every
activation bit and the final outputs (within float64 rounding of the output affine).
"""

import numpy as np
import pytest

import tinybnn
from tinybnn.bits import unpack_bits
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
