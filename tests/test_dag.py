"""Models that branch and join, built by hand at the IR level: the golden model, the memory planner and the
generated C (compiled on the host) on a DAG.

The DAG: an int8 first conv whose bits feed three readers (a binary conv, a max-pool, and a join far down),
a channel concatenation of the conv and pool branches at a channel offset that is not word aligned, a 1x1
binary conv on the join, a second join with the first layer's output, and a dense int32 output layer.
Each layer's expected output is computed here from the layer semantics alone (golden.run_layer per layer and
a concatenation of unpacked +-1 values), not by the Model's DAG executor under test.
"""

from __future__ import annotations

import numpy as np
import pytest

from randmodels import conv_node, dense_node, pool_node, random_int8, set_thresholds
from tinybnn.backend import codegen, hostc, planner
from tinybnn.errors import TinyBnnError
from tinybnn.ir import golden
from tinybnn.ir.bits import pack_pm1, unpack_pm1
from tinybnn.ir.graph import Graph, Node
from tinybnn.ir.layers import CONCAT, INPUT_QUANT, OUTPUT
from tinybnn.model import Model

GEOM_3x3 = {"kernel": (3, 3), "stride": (1, 1), "dilation": (1, 1), "pads": (1, 1, 1, 1)}


def _geom(H, W, k=3):
    p = k // 2
    return {"kernel": (k, k), "stride": (1, 1), "dilation": (1, 1), "pads": (p, p, p, p), "out_hw": (H, W)}


def _concat_ref(xs, shapes):
    """Concatenation on +-1 values, packed again: the meaning of tb.Concat, independent of golden.concat_bits."""
    vals = [unpack_pm1(x, int(s[-1])) for x, s in zip(xs, shapes)]
    return pack_pm1(np.concatenate(vals, axis=-1))


def branchy_model(rng, n=24, H=5, W=6, C=8, c_conv=24, c_first=40, c_mid=20, O=10, pool_pad=True):
    """(model, q, expected per-layer outputs) for the DAG of the module docstring."""
    q = random_int8(rng, (n, H, W, C))
    zp = int(rng.integers(-20, 20))
    outs, nodes = [], []

    def add(node, inputs, x):
        if node.op != CONCAT and node.attrs.get("out") == "bits" and node.op != "tb.MaxPool":
            set_thresholds(rng, node, x)
        nodes.append((node, inputs))

    l0 = conv_node(rng, "first conv", (H, W, C), "int8", c_first, "bits", "binary", _geom(H, W))
    l0.attrs["input_zero_point"] = zp
    add(l0, ["input_q"], q)
    y0 = golden.run_layer(l0, q)
    outs.append(y0)

    l1 = conv_node(rng, "branch conv", (H, W, c_first), "bits", c_conv, "bits", geom=_geom(H, W))
    add(l1, ["t0"], y0)
    y1 = golden.run_layer(l1, y0)
    outs.append(y1)

    l2 = pool_node(rng, "branch pool", (H, W, c_first))
    l2.attrs.update(kernel=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1) if pool_pad else (0, 0, 0, 0),
                    out_shape=(H, W, c_first) if pool_pad else (H - 2, W - 2, c_first))
    if not pool_pad:
        raise ValueError("the join needs equal pixels")
    add(l2, ["t0"], y0)
    y2 = golden.run_layer(l2, y0)
    outs.append(y2)

    shapes3 = [(H, W, c_conv), (H, W, c_first)]
    l3 = Node(CONCAT, "join", [], [], {"in_shapes": shapes3, "out_shape": (H, W, c_conv + c_first)})
    add(l3, ["t1", "t2"], None)
    y3 = _concat_ref([y1, y2], shapes3)
    outs.append(y3)

    l4 = conv_node(rng, "mix 1x1", (H, W, c_conv + c_first), "bits", c_mid, "bits", geom=_geom(H, W, 1))
    add(l4, ["t3"], y3)
    y4 = golden.run_layer(l4, y3)
    outs.append(y4)

    shapes5 = [(H, W, c_mid), (H, W, c_first)]
    l5 = Node(CONCAT, "skip join", [], [], {"in_shapes": shapes5, "out_shape": (H, W, c_mid + c_first)})
    add(l5, ["t4", "t0"], None)
    y5 = _concat_ref([y4, y0], shapes5)
    outs.append(y5)

    l6 = dense_node(rng, "classifier", (H * W, c_mid + c_first), "bits", O, "int32")
    add(l6, ["t5"], y5)
    y6 = golden.run_layer(l6, y5.reshape(n, H * W, -1))
    outs.append(y6)

    layer_nodes = []
    for k, (node, ins) in enumerate(nodes):
        node.inputs, node.outputs = ins, [f"t{k}"]
        layer_nodes.append(node)
    iq = Node(INPUT_QUANT, "input", ["x"], ["input_q"], {
        "onnx_shape": (C, H, W), "perm": None, "pre": [], "canonical_shape": (C, H, W), "mode": "calibrated",
        "calib_scale": 1.0, "calib_zero_point": zp, "scale": 1.0, "zero_point": zp})
    outn = Node(OUTPUT, "output", [f"t{len(nodes) - 1}"], ["output"], {
        "steps": [(np.ones(O), np.zeros(O))], "out_shape": (O,), "output_perm": None})
    g = Graph([iq] + layer_nodes + [outn], {}, {}, "x", "output", {"source": "dag", "dialect": "hand", "notes": []})
    return Model(g), q, outs


@pytest.fixture(scope="module", params=[0, 1, 2])
def case(request):
    rng = np.random.default_rng(100 + request.param)
    kw = [{}, {"c_conv": 33, "c_first": 31, "c_mid": 7}, {"c_conv": 64, "c_first": 32, "c_mid": 40, "C": 3}][request.param]
    return branchy_model(rng, **kw)


def test_the_model_sees_the_dag(case):
    model, _, _ = case
    assert model.layer_inputs == [[-1], [0], [0], [1, 2], [3], [4, 0], [5]]
    assert not model.is_chain
    assert model.consumers(0) == [1, 2, 5]


def test_golden_runs_the_dag(case):
    model, q, expected = case
    got = model.run_layers_quantized(q)[1:]
    assert len(got) == len(expected)
    for g, e, n in zip(got, expected, model.layers):
        np.testing.assert_array_equal(g.data, e, err_msg=n.name)
    np.testing.assert_array_equal(model.run_quantized(q), expected[-1])


def test_planner_keeps_a_branch_alive_until_its_join(case):
    model, _, _ = case
    plan = planner.plan_model(model)
    planner.check_plan(plan)
    b = {x.name: x for x in plan.buffers}
    assert (b["input"].first, b["input"].last) == (0, 0)
    assert (b["L0.out"].first, b["L0.out"].last) == (0, 5)  # read by layers 1, 2 and the skip join (5)
    assert (b["L1.out"].first, b["L1.out"].last) == (1, 3)  # the conv branch waits for the join
    assert (b["L2.out"].first, b["L2.out"].last) == (2, 3)
    assert b["L0.out"].offset + b["L0.out"].size <= b["L5.out"].offset or \
        b["L5.out"].offset + b["L5.out"].size <= b["L0.out"].offset
    assert plan.arena_bytes >= planner.lower_bound(plan)


def test_generated_c_runs_the_dag_bit_exact(case):
    model, q, expected = case
    r = codegen.prepare(model)
    src = r.files["model.c"].decode()
    assert '#include "tb_kernels_concat.h"' in src and "tb_kernels_concat.h" in r.files
    assert src.count("tb_concat_b1(&ctx") == 4  # two joins of two inputs
    assert 'reads layer 4 ("mix 1x1"), layer 0 ("first conv")' in src
    assert r.manifest["layers"][5]["inputs"] == [4, 0]
    layers = hostc.run_c_layers(model, q)[1:]
    for c, e, n in zip(layers, expected, model.layers):
        np.testing.assert_array_equal(c.data, e, err_msg=n.name)
    np.testing.assert_array_equal(hostc.run_c(model, q), expected[-1])


def test_the_wiring_is_part_of_the_model_hash():
    """Two models with the same layers and arrays, joined in a different order, hash differently."""
    m1, _, _ = branchy_model(np.random.default_rng(7))
    m2, _, _ = branchy_model(np.random.default_rng(7))
    h1 = codegen.prepare(m1).hash
    assert codegen.prepare(m2).hash == h1
    join = m2.layers[5]
    join.inputs = list(reversed(join.inputs))
    join.attrs["in_shapes"] = list(reversed(join.attrs["in_shapes"]))
    m2 = Model(m2.graph)
    assert codegen.prepare(m2).hash != h1


def test_a_chain_renders_as_before():
    """The DAG machinery leaves chains alone: no 'reads' comments, no inputs in the manifest, no join header."""
    from randmodels import random_model

    model, _ = random_model(np.random.default_rng(3))
    assert model.is_chain
    r = codegen.prepare(model)
    assert "reads " not in r.files["model.c"].decode() and "tb_kernels_concat.h" not in r.files
    assert all("inputs" not in layer for layer in r.manifest["layers"])


def test_a_dead_branch_or_a_misplaced_output_is_refused():
    model, _, _ = branchy_model(np.random.default_rng(9))
    g = model.graph
    g.nodes[6].inputs = ["t4"]  # the skip join now reads only the 1x1 conv: layer 0 still read; drop layer 2's reader
    g.nodes[4].inputs = ["t1"]  # the first join no longer reads the pool: the pool is a dead branch
    g.nodes[4].attrs["in_shapes"] = g.nodes[4].attrs["in_shapes"][:1]
    with pytest.raises(TinyBnnError, match="'branch pool': its output is never read"):
        Model(g)


# ------------------------------------------------------------------------- the join kernel alone --
def _concat_driver():
    kdir = codegen.kernels_dir()
    files = {p.name: p.read_bytes() for p in sorted(kdir.iterdir()) if p.suffix in (".c", ".h")}
    files["tb_concat_driver.c"] = (kdir / "tests" / "tb_concat_driver.c").read_bytes()
    return hostc.cached_build(files, "concat-driver", hostc.sanitize_enabled(), exe_name="tb_concat_driver",
                              extra_flags=("-Wvla", "-pedantic"))


def test_concat_kernel_any_call_order_any_prior_content():
    """tb_concat_b1 against golden.concat_bits on random channel counts (word-straddling offsets included),
    the calls in a random order, on an output buffer full of garbage: every call writes exactly its channels."""
    import subprocess

    rng = np.random.default_rng(5)
    cases, blob = [], bytearray()
    for _ in range(300):
        n = int(rng.integers(1, 5))
        in_c = [int(rng.choice([1, 5, 31, 32, 33, 63, 64, 65, 100])) if rng.random() < 0.5 else int(rng.integers(1, 80))
                for _ in range(n)]
        pixels = int(rng.integers(1, 5))
        out_c = sum(in_c)
        order = [int(i) for i in rng.permutation(n)]
        xs = [pack_pm1(rng.choice([-1, 1], size=(pixels, c))) for c in in_c]
        garbage = rng.integers(0, 2**32, size=(pixels, -(-out_c // 32)), dtype=np.uint64).astype(np.uint32)
        blob += np.array([pixels, out_c, n] + in_c + order, "<i4").tobytes()
        for x in xs:
            blob += x.astype("<u4").tobytes()
        blob += garbage.astype("<u4").tobytes()
        cases.append((pixels, out_c, in_c, xs))
    r = subprocess.run([str(_concat_driver())], input=bytes(blob), capture_output=True, check=True, timeout=120)
    out, pos = r.stdout, 0
    for pixels, out_c, in_c, xs in cases:
        status = int(np.frombuffer(out, "<i4", 1, pos)[0])
        nw = pixels * -(-out_c // 32)
        got = np.frombuffer(out, "<u4", nw, pos + 4).reshape(pixels, -1)
        pos += 4 + 4 * nw
        assert status == 0
        want = golden.concat_bits(xs, {"in_shapes": [(c,) for c in in_c]})
        np.testing.assert_array_equal(got, want, err_msg=f"in_c {in_c}")
    assert pos == len(out)


# ------------------------------------------------------------------------------------ on a device --
@pytest.mark.slow
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-rv32zbb"])
def test_the_dag_runs_on_emulated_boards(board, tmp_path):
    """The DAG built into firmware with the board's kernel family (binary convs on the optimized kernels,
    the joins on the reference kernel), booted in QEMU: the self-test output equals the golden model's."""
    import shutil

    from tinybnn.targets import boards, build

    b = boards.load_board(board)
    if not shutil.which(f"{b['toolchain']}-gcc") or not shutil.which(b["qemu"]["binary"]):
        pytest.skip(f"cross compiler or QEMU for {board} not installed")
    model, q, expected = branchy_model(np.random.default_rng(101), c_conv=33, c_first=31, c_mid=7)
    x = q[3:4].astype(np.float32) - model.input_node.attrs["zero_point"]  # float input whose codes are q[3]
    x = x.transpose(0, 3, 1, 2)
    np.testing.assert_array_equal(model.quantize(x), q[3:4])
    fw = build.build(model, b, tmp_path / "fw", sample=x[0])
    res = build.run_selftest(fw)
    assert res.exit_code == 0, res.log
    assert fw.kernel_variant != "reference"
    np.testing.assert_array_equal(res.output, expected[-1][3].reshape(-1))


# ------------------------------------------------------------------------- from an ONNX file --
def _branchy_onnx(path, rng, opset=17, double=False):
    """A float ONNX BNN that branches after a Sign and joins with Concat (DenseNet-style):

    x -> Conv 3x3 (8) -> BN -> Sign -+-> Conv 3x3 (16, pad 1) -> BN -> Sign -+-> Concat (24) -> Conv 1x1 (12) -> BN
                                     +-> MaxPool 3x3 s1 p1 ------------------+
         -> Sign -> Concat with the first Sign (20) -> Flatten -> Gemm (10)
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes = [], []

    def const(name, a):
        inits.append(numpy_helper.from_array(np.asarray(a, np.float64 if double else np.float32), name))
        return name

    def conv_bn_sign(x, name, cin, cout, k, pad, binary):
        w = rng.standard_normal((cout, cin, k, k))
        w = np.sign(w) if binary else np.round(w * 8)  # stem weights on an int8 grid: no rounding anywhere
        nodes.append(helper.make_node("Conv", [x, const(f"{name}.w", w)], [f"{name}.c"], name=f"{name}.conv",
                                      kernel_shape=[k, k], pads=[pad] * 4))
        nodes.append(helper.make_node("BatchNormalization", [f"{name}.c", const(f"{name}.g", rng.uniform(0.5, 2, cout) *
                                      rng.choice([-1, 1], cout)), const(f"{name}.b", rng.normal(0, 1, cout)),
                                      const(f"{name}.m", rng.normal(0, 2, cout)), const(f"{name}.v", rng.uniform(0.5, 4, cout))],
                                      [f"{name}.bn"], name=f"{name}.bn", epsilon=1e-5))
        nodes.append(helper.make_node("Sign", [f"{name}.bn"], [f"{name}.s"], name=f"{name}.sign"))
        return f"{name}.s"

    s0 = conv_bn_sign("x", "stem", 3, 8, 3, 1, False)
    s1 = conv_bn_sign(s0, "branch", 8, 16, 3, 1, True)
    nodes.append(helper.make_node("MaxPool", [s0], ["pool"], name="pool", kernel_shape=[3, 3], pads=[1] * 4))
    nodes.append(helper.make_node("Concat", [s1, "pool"], ["cat1"], name="join", axis=1))
    s2 = conv_bn_sign("cat1", "mix", 24, 12, 1, 0, True)
    nodes.append(helper.make_node("Concat", [s2, s0], ["cat2"], name="skip_join", axis=1))
    nodes.append(helper.make_node("Flatten", ["cat2"], ["flat"], name="flatten"))
    w = np.sign(rng.standard_normal((10, 20 * 8 * 8)))
    nodes.append(helper.make_node("Gemm", ["flat", const("fc.w", w), const("fc.b", rng.normal(0, 1, 10))], ["y"],
                                  name="fc", transB=1))
    ft = TensorProto.DOUBLE if double else TensorProto.FLOAT
    graph = helper.make_graph(nodes, "branchy", [helper.make_tensor_value_info("x", ft, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", ft, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="tinybnn-test")
    onnx.save(model, str(path))
    return path


def test_an_onnx_model_that_branches_and_joins_converts_exactly(tmp_path):
    """The passes lower a DAG from a file: the branch after a Sign, the two Concat joins; golden against
    ONNX's reference runtime on every sample, and the host C against golden. The reference runs the same graph in float64:
    tinybnn's thresholds are exact against the float64 expression, while a float32 runtime may decide a value
    within its rounding of 0 either way."""
    import tinybnn

    rng = np.random.default_rng(11)
    path = _branchy_onnx(tmp_path / "branchy.onnx", np.random.default_rng(11))
    ref64 = _branchy_onnx(tmp_path / "branchy64.onnx", np.random.default_rng(11), double=True)
    x = rng.integers(-8, 8, (64, 3, 8, 8)).astype(np.float32)  # on a grid: the int8 input is lossless
    m = tinybnn.load(path, calibration=x)
    assert [n.op for n in m.layers] == ["tb.Conv2d", "tb.Conv2d", "tb.MaxPool", "tb.Concat", "tb.Conv2d",
                                        "tb.Concat", "tb.Dense"]
    assert m.layer_inputs == [[-1], [0], [0], [1, 2], [3], [4, 0], [5]]
    assert [r["reads"] for r in m.layer_table()][3] == ["branch.conv", "pool"]  # inspect's "reads" column
    from onnx.reference import ReferenceEvaluator

    sess = ReferenceEvaluator(str(ref64))
    ref = np.concatenate([sess.run(None, {"x": x[i:i + 1].astype(np.float64)})[0] for i in range(len(x))])
    got = m.predict(x)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)
    q = m.quantize(x)
    np.testing.assert_array_equal(hostc.run_c(m, q), m.run_quantized(q))


def test_a_branch_of_real_values_is_a_stream(tmp_path):
    """A branch before the binarizer (the pool reads the stem's real-valued BatchNorm output) makes the stem
    write a real-valued stream, which the Sign and a max-pool of codes read; here the pooled stream then joins
    binary activations in one Concat, which is refused in one line naming the join."""
    import onnx

    import tinybnn

    path = _branchy_onnx(tmp_path / "b.onnx", np.random.default_rng(1))
    m = onnx.load(str(path))
    for n in m.graph.node:  # the pool now reads the stem's BatchNorm output, before its Sign
        if n.name == "pool":
            n.input[0] = "stem.bn"
    onnx.save(m, str(path))
    with pytest.raises(TinyBnnError, match=r"node 'join' \(Concat\): concatenates binary and real-valued tensors"):
        tinybnn.load(path, calibration=np.random.default_rng(2).integers(-8, 8, (16, 3, 8, 8)).astype(np.float32))
