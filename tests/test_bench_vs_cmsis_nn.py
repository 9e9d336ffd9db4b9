"""benchmarks/bench_vs_cmsis_nn.py without QEMU: the layer mapping of the KWS example, the rendered CMSIS-NN
firmware source, and the one-line skip when CMSIS-NN is absent."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_vs_cmsis_nn", ROOT / "benchmarks" / "bench_vs_cmsis_nn.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def kws(bench):
    name, onnx, data = bench.model_list({"kws_bnn"})[0]
    model, _ = bench.load_model(onnx, data)
    return model, bench.cmsis_layers(model)


def test_kws_layers_map_to_cmsis_nn_on_the_same_shapes(bench, kws):
    model, layers = kws
    assert [c.op for c in layers] == ["conv", "maxpool"] * 4 + ["dense"]
    first = layers[0]
    assert (first.fn, first.path) == ("arm_convolve_wrapper_s8", "arm_convolve_s8")
    assert (first.in_shape, first.out_shape, first.kernel, first.pad) == ((49, 1, 10), (49, 1, 128), (5, 1), (2, 0))
    assert first.macs == 313_600
    pool = layers[1]
    assert (pool.fn, pool.in_shape, pool.out_shape, pool.kernel, pool.stride) == \
        ("arm_max_pool_s8", (49, 1, 128), (24, 1, 128), (2, 1), (2, 1))
    conv = layers[2]
    assert (conv.in_shape, conv.out_shape, conv.kernel, conv.pad) == ((24, 1, 128), (24, 1, 128), (3, 1), (1, 0))
    dense = layers[-1]
    assert (dense.fn, dense.in_features, dense.out_features) == ("arm_fully_connected_s8", 384, 12)
    assert [c.name for c in layers] == [layer.name for layer in model.layers]


def test_wrapper_dispatch_follows_cmsis_nn_predicates(bench):
    assert bench._conv_path((8, 8, 16), (1, 1), (1, 1), (1, 1), (0, 0)) == "arm_convolve_1x1_s8_fast"
    assert bench._conv_path((8, 8, 16), (1, 1), (2, 2), (1, 1), (0, 0)) == "arm_convolve_1x1_s8"
    assert bench._conv_path((1, 49, 128), (1, 3), (1, 1), (1, 1), (0, 1)) == "arm_convolve_1_x_n_s8"
    assert bench._conv_path((1, 49, 10), (1, 5), (1, 1), (1, 1), (0, 2)) == "arm_convolve_s8"  # C*stride % 4
    assert bench._conv_path((8, 8, 16), (3, 3), (1, 1), (1, 1), (1, 1)) == "arm_convolve_s8"


def test_rendered_firmware_calls_each_kernel_once_per_layer(bench, kws):
    _, layers = kws
    src = bench.render_firmware("qemu-m4", [("kws_bnn", layers)])
    assert src.count("return arm_convolve_wrapper_s8(") == 4
    assert src.count("return arm_max_pool_s8(") == 4
    assert src.count("return arm_fully_connected_s8(") == 1
    assert "arm_convolve_wrapper_s8_get_buffer_size(&m0_l0_conv" in src
    assert "static const cmsis_nn_dims m0_l0_in = { 1, 49, 1, 10 };" in src
    assert "static const cmsis_nn_dims m0_l0_filter = { 128, 5, 1, 10 };" in src


def test_absent_cmsis_nn_is_one_line(bench, tmp_path, capsys):
    assert bench.main(["--cmsis-nn", str(tmp_path)]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CMSIS-NN not found" in err[0] and str(tmp_path) in err[0]
    assert bench.main(["--cmsis-nn", str(tmp_path), "--require"]) == 2


def test_kws_as_1xn_is_laid_out_along_w(bench, kws):
    model, _ = kws
    layers = bench.cmsis_layers(model, conv1d_as_1xn=True)
    conv = layers[2]
    assert (conv.in_shape, conv.kernel, conv.pad, conv.path) == ((1, 24, 128), (1, 3), (0, 1), "arm_convolve_1_x_n_s8")
    assert layers[0].path == "arm_convolve_s8"  # 10 input channels: not a multiple of 4
    assert (layers[1].in_shape, layers[1].kernel, layers[1].stride) == ((1, 49, 128), (1, 2), (1, 2))
    assert (layers[-1].in_features, layers[-1].out_features) == (384, 12)
