"""Golden-model throughput against onnxruntime on the same ONNX and batch, and convert time of a CNV-sized BNN.

Printed, not asserted. Targets: golden/onnxruntime throughput ratio >= 1.0 for a conv BNN and an MLP BNN;
convert (load: import -> lower -> pack, threshold verification included) of a CNV-sized model
(~1.5 M binary weights) <= 2 s.

    python benchmarks/bench_golden.py [--batch 1024] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinybnn  # noqa: E402


def dynamic_batch(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same graph with a symbolic batch axis, so onnxruntime can run a whole batch at once."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for vi in list(m.graph.input) + list(m.graph.output):
        if vi.type.tensor_type.HasField("shape") and len(vi.type.tensor_type.shape.dim):
            vi.type.tensor_type.shape.dim[0].dim_param = "N"
    del m.graph.value_info[:]
    return m


def best_of(fn, repeat):
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


def throughput(path: Path, x: np.ndarray, repeat: int):
    import onnxruntime as ort

    m = tinybnn.load(path, calibration=x)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    as_is = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    batched = ort.InferenceSession(dynamic_batch(onnx.load(str(path))).SerializeToString(), so,
                                   providers=["CPUExecutionProvider"])
    name = as_is.get_inputs()[0].name
    declared = as_is.get_inputs()[0].shape[0]
    m.run(x)

    def per_call():  # the file as exported: its declared batch per call
        b = declared if isinstance(declared, int) and declared > 0 else len(x)
        for i in range(0, len(x), b):
            as_is.run(None, {name: x[i:i + b]})

    t_file = best_of(per_call, repeat)
    t_batch = best_of(lambda: batched.run(None, {name: x}), repeat)
    t_gold = best_of(lambda: m.predict(x), repeat)
    n = len(x)
    return n / t_gold, n / t_file, n / t_batch


def cnv_model(path: Path, seed=0):
    """FINN's CNV topology (conv 64,64,pool,128,128,pool,256,256, FC 512,512,10) with random +-1 weights."""
    rng = np.random.default_rng(seed)
    nodes, inits = [], []
    k = [0]

    def c(arr):
        k[0] += 1
        nm = f"c{k[0]}"
        inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), nm))
        return nm

    def node(op, ins, **a):
        k[0] += 1
        out = f"t{k[0]}"
        nodes.append(helper.make_node(op, ins, [out], name=f"{op.lower()}{k[0]}", **a))
        return out

    def bn_sign(t, ch):
        t = node("BatchNormalization", [t, c(rng.uniform(.5, 1.5, ch)), c(rng.normal(0, .5, ch)),
                                        c(rng.normal(0, 5, ch)), c(rng.uniform(10, 100, ch))])
        return node("Sign", [t])

    t, cin = "x", 3
    for cout, pool in [(64, False), (64, True), (128, False), (128, True), (256, False), (256, False)]:
        t = node("Conv", [t, c(rng.choice([-1.0, 1.0], (cout, cin, 3, 3)))], kernel_shape=[3, 3])
        if pool:
            t = node("MaxPool", [t], kernel_shape=[2, 2], strides=[2, 2])
        t = bn_sign(t, cout)
        cin = cout
    t = node("Flatten", [t], axis=1)
    fin = 256
    for fout in (512, 512):
        t = bn_sign(node("Gemm", [t, c(rng.choice([-1.0, 1.0], (fout, fin)))], transB=1), fout)
        fin = fout
    t = node("Gemm", [t, c(rng.choice([-1.0, 1.0], (10, fin)))], transB=1)
    g = helper.make_graph(nodes, "cnv", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info(t, TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    n_w = sum(int(np.prod(i.dims)) for i in inits if len(i.dims) >= 2)
    return n_w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    fix = ROOT / "tests" / "fixtures"
    print(f"golden model vs onnxruntime (1 thread each), batch {args.batch}, best of {args.repeat}")
    print("  ort(file): the ONNX as exported, its declared batch (1) per call; ort(batched): a copy with a "
          "dynamic batch axis, the whole batch in one call")
    print(f"{'model':<18} {'golden/s':>10} {'ort(file)/s':>12} {'ratio':>7} {'ort(batched)/s':>15} {'ratio':>7}")
    for name in ("torch_cnn_legacy", "larq_cnn", "torch_mlp_legacy", "brevitas_tfc"):
        d = np.load(fix / f"{name}.npz")["x"]
        x = np.resize(d, (args.batch,) + d.shape[1:]).astype(np.float32)
        if name.startswith("brevitas"):
            continue  # onnxruntime cannot run QONNX's custom ops
        g, f, b = throughput(fix / f"{name}.onnx", x, args.repeat)
        print(f"{name:<18} {g:>10,.0f} {f:>12,.0f} {g / f:>6.2f}x {b:>15,.0f} {g / b:>6.2f}x")
    with tempfile.TemporaryDirectory() as td:
        p = Path(td) / "cnv.onnx"
        n_w = cnv_model(p)
        x = np.random.default_rng(1).integers(0, 256, (64, 3, 32, 32)).astype(np.float32) / 255
        t = best_of(lambda: tinybnn.load(p, calibration=x), 3)
        print(f"convert CNV-sized model ({n_w:,} binary weights): {t:.2f} s (target <= 2 s): "
              f"{2.0 / t:.2f}x under budget")


if __name__ == "__main__":
    main()
