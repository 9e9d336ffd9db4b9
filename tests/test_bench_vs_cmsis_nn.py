"""benchmarks/bench_vs_cmsis_nn.py: the layer mapping of the KWS example and of the residual, depthwise and
grouped networks (every layer kind to its int8 CMSIS-NN equivalent), the arena plan of a DAG, the rendered
CMSIS-NN firmware source, the one-line skip when CMSIS-NN is absent, and (slow) the CMSIS-NN firmware of the
stream-op networks built and run on qemu-m4."""

import importlib.util
import os
import shutil
import sys
from pathlib import Path

import pytest

# one xdist worker runs the whole module (make test runs in parallel): the benchmark's builds, made once
pytestmark = pytest.mark.xdist_group("test_bench_vs_cmsis_nn")

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


STREAM_FIXTURES = ("torch_bireal_legacy", "torch_reactnet_dynamo", "torch_xnor_tcn_legacy", "larq_quicknet",
                   "brevitas_dscnn")


@pytest.fixture(scope="module")
def streams(bench):
    """The five residual / depthwise fixtures: {name: (model, CMSIS-NN layers)}."""
    out = {}
    for name, onnx, data in bench.model_list(set(STREAM_FIXTURES)):
        model, _ = bench.load_model(onnx, data)
        out[name] = (model, bench.cmsis_layers(model))
    return out


@pytest.fixture(scope="module")
def grouped(bench, tmp_path_factory):
    """A random DS-CNN with grouped (4 groups, not depthwise) binary convolutions (tests/resnets.py)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import tinybnn
    from resnets import dscnn_onnx, inputs

    p = dscnn_onnx(tmp_path_factory.mktemp("grouped") / "g.onnx", seed=1, group=4)
    model = tinybnn.load(p, calibration=inputs(64, seed=3))
    return model, bench.cmsis_layers(model)


def test_every_stream_fixture_maps_every_layer(bench, streams):
    assert set(streams) == set(STREAM_FIXTURES)
    fn = {"tb.Add": "arm_elementwise_add_s8", "tb.AvgPool": "arm_avgpool_s8", "tb.Concat": "arm_concatenation_s8_z",
          "tb.PReLU": bench.PRELU_FN, "tb.Binarize": bench.NO_SIGN, "tb.Dense": "arm_fully_connected_s8"}
    for name, (model, layers) in streams.items():
        assert [c.name for c in layers] == [layer.name for layer in model.layers], name
        for layer, c, ins in zip(model.layers, layers, model.layer_inputs):
            assert c.inputs == list(ins)
            if layer.op in fn:
                assert c.fn == fn[layer.op], (name, layer.name)
            elif layer.attrs.get("groups", 1) == layer.attrs["in_shape"][-1] > 1:
                assert c.fn == "arm_depthwise_conv_wrapper_s8"
            else:
                assert c.fn == "arm_convolve_wrapper_s8"
            if layer.attrs.get("bits") == 16 or layer.attrs.get("in_bits") == 16:
                assert bench.NOTE_INT16 in c.notes, (name, layer.name)
    _, rn = streams["torch_reactnet_dynamo"]
    cat = next(c for c in rn if c.op == "concat")
    assert (cat.in_channels, cat.out_shape) == ([16, 16], (4, 4, 32)) and len(cat.inputs) == 2
    assert all(len(c.inputs) == 2 for c in rn if c.op == "add")
    assert sum(c.op == "prelu" for c in rn) == 3 and all(bench.NOTE_PRELU in c.notes for c in rn if c.op == "prelu")
    assert all(c.macs == 0 and bench.NOTE_BINARIZE in c.notes for c in rn if c.op == "none")
    gap = next(c for c in rn if c.op == "avgpool" and c.out_shape == (1, 1, 32))
    assert (gap.in_shape, gap.kernel) == ((4, 4, 32), (4, 4))


def test_depthwise_maps_to_the_depthwise_wrapper(bench, streams):
    _, layers = streams["brevitas_dscnn"]
    dw = [c for c in layers if c.op == "dwconv"]
    assert len(dw) == 3
    assert all((c.path, c.mve_path) == ("arm_depthwise_conv_3x3_s8", "arm_depthwise_conv_s8_opt") for c in dw)
    assert (dw[1].in_shape, dw[1].out_shape, dw[1].stride, dw[1].pad) == ((8, 8, 32), (4, 4, 32), (2, 2), (1, 1))
    assert dw[0].binary_macs == dw[0].macs == 8 * 8 * 32 * 9
    assert bench._dw_path((8, 8, 1), (8, 8, 16), (3, 3), (1, 1), (1, 1), mve=True) == "arm_convolve_wrapper_s8"
    assert bench._dw_path((8, 8, 8), (8, 8, 16), (3, 3), (1, 1), (1, 1), mve=False) == "arm_depthwise_conv_s8"
    assert bench._dw_path((8, 8, 8), (8, 8, 8), (5, 5), (1, 1), (2, 2), mve=False) == "arm_depthwise_conv_s8_opt"
    src = bench.render_firmware("qemu-m4", [("brevitas_dscnn", layers)])
    i = dw[0].index
    assert f"static const cmsis_nn_dims m0_l{i}_filter = {{ 1, 3, 3, 32 }};" in src
    assert f"static const int8_t m0_l{i}_w[288]" in src
    assert src.count("return arm_depthwise_conv_wrapper_s8(") == 3
    assert src.count("return arm_avgpool_s8(") == 1


def test_grouped_conv_runs_arm_convolve_s8_with_its_groups(bench, grouped):
    model, layers = grouped
    g = [c for c in layers if c.groups > 1]
    assert g and all(c.op == "conv" and c.path == "arm_convolve_s8" and bench.NOTE_GROUPED in c.notes for c in g)
    assert bench._conv_path((8, 8, 16), (1, 1), (1, 1), (1, 1), (0, 0), groups=4) == "arm_convolve_s8"
    c = g[0]
    O, C = c.out_shape[2], c.in_shape[2]
    src = bench.render_firmware("qemu-m4", [("grouped", layers)])
    assert f"static const cmsis_nn_dims m0_l{c.index}_filter = {{ {O}, 3, 3, {C // 4} }};" in src
    assert f"static const int8_t m0_l{c.index}_w[{O * 9 * C // 4}]" in src


def _intervals(bench, layers, src, offsets):
    """Per layer with an op: (its index, the last index that reads its output, its output's byte range)."""
    last = {i: i for i in range(len(layers))}
    for i, rs in enumerate(src):
        if layers[i].op != "none":
            for s in rs:
                if s >= 0:
                    last[s] = max(last[s], i)
    return [(i, last[i], offsets[i], offsets[i] + bench._io_bytes(layers[i])[1]) for i in range(len(layers))
            if layers[i].op != "none"]


def test_arena_keeps_every_live_output_apart(bench, streams, kws):
    """No two outputs alive at once share a byte (a residual add's two branches included); a binarize passes its
    input through; the arena holds them all."""
    for name, layers in [(n, ls) for n, (_, ls) in streams.items()] + [("kws_bnn", kws[1])]:
        src, offsets, size = bench.plan_arena(layers)
        for i, c in enumerate(layers):
            if c.op != "none":
                assert all(s < 0 or layers[s].op != "none" for s in src[i]), (name, c.name)
        spans = _intervals(bench, layers, src, offsets)
        for a in spans:
            assert a[2] % 4 == 0 and a[3] <= size
            for b in spans:
                if a[0] < b[0] <= a[1]:  # b is written while a is still to be read
                    assert a[3] <= b[2] or b[3] <= a[2], (name, layers[a[0]].name, layers[b[0]].name)
    _, rn = streams["torch_reactnet_dynamo"]
    src, _, _ = bench.plan_arena(rn)
    first_add = next(i for i, c in enumerate(rn) if c.op == "add")
    assert sorted(src[first_add]) == [0, 2]  # the stem's output (through the binarize's conv) and the conv's


def test_rendered_dag_firmware_calls_each_stream_kernel(bench, streams):
    _, rn = streams["torch_reactnet_dynamo"]
    src = bench.render_firmware("qemu-m4", [("torch_reactnet_dynamo", rn)])
    assert src.count("return arm_elementwise_add_s8(in[0], in[1],") == 4
    assert src.count("arm_concatenation_s8_z(in[") == 2
    assert "arm_concatenation_s8_z(in[1], 4, 4, 16, 1, out, 32, 16);" in src
    assert src.count("return prelu_s8(") == 3 and "static arm_cmsis_nn_status prelu_s8(" in src
    none = [c.index for c in rn if c.op == "none"]
    assert none and all(f"bench_m0_l{i}(" not in src for i in none)  # no int8 op: never called
    assert "#define MAX_INPUTS 2" in src
    dscnn_src = bench.render_firmware("qemu-m4", [("brevitas_dscnn", streams["brevitas_dscnn"][1])])
    assert "prelu_s8" not in dscnn_src  # the harness PReLU only where a model has one


def _tools_missing(board_id="qemu-m4"):
    from tinybnn.targets import boards

    b = boards.load_board(board_id)
    return [t for t in (b["toolchain"] + "-gcc", b["qemu"]["binary"]) if shutil.which(t) is None]


@pytest.mark.slow
def test_stream_networks_run_on_cmsis_nn(bench, streams, grouped, tmp_path, monkeypatch):
    """The CMSIS-NN firmware of the residual, depthwise and grouped networks, built and run on qemu-m4: every
    layer returns ARM_CMSIS_NN_SUCCESS, every layer with an op counts instructions, a binarize counts 0, and the
    whole model in its schedule costs about the sum of its layers."""
    cmsis, ok = bench.find_cmsis_nn(None)
    if not ok:
        pytest.skip(f"CMSIS-NN not found at {cmsis}")
    missing = _tools_missing()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    if not os.environ.get("TINYBNN_CACHE"):
        monkeypatch.setenv("TINYBNN_CACHE", str(tmp_path / "cache"))
    models = [(n, streams[n][1]) for n in ("torch_reactnet_dynamo", "brevitas_dscnn")] + [("grouped", grouped[1])]
    out = bench.run_cmsis("qemu-m4", cmsis, models, tmp_path)  # raises on a non-zero status or a missing count
    assert out["path"] == "DSP"
    for mi, (name, layers) in enumerate(models):
        counts = out[mi]["layers"]
        for c in layers:
            if c.op == "none":
                assert counts[c.index] == 0, (name, c.name)
            else:
                assert counts[c.index] > 0, (name, c.name)
        total = sum(counts.values())
        assert 0.9 * total <= out[mi]["total"] <= 1.1 * total, (name, out[mi]["total"], total)
