"""Golden-model throughput beside the float runtime a user would run the same ONNX file with, and convert time.

Printed, not asserted (no timed test). One thread each: the golden model's NumPy/BLAS and every peer runtime
are pinned to one thread, and every runtime gets the same float32 batch (the fixture's own samples,
repeated to --batch). Each figure is the fastest run over --repeat rounds; in every round each runtime runs
back to back for at least 50 ms (warm caches, whatever ran before it), golden and peers interleaved (a
shared machine's load then weighs on all of them alike). The golden model is timed end to end:
``Model.predict`` = input quantization, every layer, output affine.

Rows: every trained fixture in tests/fixtures/MANIFEST.json and the examples' models (examples/*/model/).
Peers, named in each row:

* ``onnxruntime`` for plain ONNX files, twice: ``per call`` runs the file as exported, its declared batch
  per call (1 for every fixture); ``batched`` runs a copy with a symbolic batch axis, the whole batch in
  one call (a Reshape shape whose leading entry is the literal batch 1 gets -1 there, or 0 = "copy the batch dim"; its
  outputs are checked equal to the per-call ones before timing).
* ``qonnx`` for QONNX graphs (Brevitas): ``qonnx.core.onnx_exec.execute_onnx``, the float runtime that
  ``tinybnn check`` compares QONNX models with, one sample per call like ``tinybnn check`` runs it (timed on
  --qonnx-samples samples, it is slow). onnxruntime cannot run QONNX's Quant/BipolarQuant ops, so the same
  rows also time ``ort(qonnx->std)``: onnxruntime on a standard-op copy made by qonnx's own transformations
  (FoldConstants folds the weight quantizers, QuantToQCDQ turns the input Quant into
  QuantizeLinear/Clip/DequantizeLinear) plus one rewrite done here because qonnx has none: each remaining
  activation BipolarQuant(x, s) becomes Where(x >= 0, s, -s). Its outputs are checked against qonnx's on
  the fixture's samples before timing.

Target (issue 16): golden / peer >= 1.00 on every row, against the fastest of that row's peers (the
``vs best`` column: onnxruntime per call or batched; for QONNX rows also qonnx and ort(qonnx->std)).
Convert (load: import -> lower -> pack, threshold verification included) of a CNV-sized model (~1.5 M binary
weights) <= 2 s.

    python benchmarks/bench_golden.py [--batch 1024] [--repeat 5] [--qonnx-samples 64]
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # before NumPy loads its BLAS
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinybnn  # noqa: E402
from tinybnn.frontend.onnx.runtime import _is_qonnx, run_reference  # noqa: E402

EXAMPLES = {"kws (example)": "examples/kws/model/kws_bnn", "digits (example)": "examples/vision/model/digits_bnn"}


def models():
    """(row name, onnx path, npz path) for every fixture in the manifest and every example model."""
    fix = ROOT / "tests" / "fixtures"
    names = sorted(f["name"] for f in json.loads((fix / "MANIFEST.json").read_text())["fixtures"])
    rows = [(n, fix / f"{n}.onnx", fix / f"{n}.npz") for n in names]
    rows += [(n, ROOT / f"{p}.onnx", ROOT / f"{p}_test.npz") for n, p in EXAMPLES.items()]
    return rows


def best_of(fn, repeat):
    t = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return min(t)


# ------------------------------------------------------------------------------------------- peers --
def session(model: onnx.ModelProto):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.log_severity_level = 4
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def _shape_values(model: onnx.ModelProto, names: list[str]) -> dict:
    """The values of tensors computed from constants only (Reshape shapes), by running the per-sample graph."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for nm in names:
        m.graph.output.append(onnx.ValueInfoProto(name=nm))
    sess = session(m)
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
    vals = sess.run(names, {inp.name: np.zeros(shape, np.float32)})
    return dict(zip(names, vals))


def dynamic_batch(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same graph with a symbolic batch axis, so onnxruntime can run a whole batch at once."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    for vi in list(m.graph.input) + list(m.graph.output):
        if vi.type.tensor_type.HasField("shape") and len(vi.type.tensor_type.shape.dim):
            vi.type.tensor_type.shape.dim[0].dim_param = "N"
    del m.graph.value_info[:]
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    reshapes = [n for n in m.graph.node if n.op_type == "Reshape" and len(n.input) > 1]
    computed = [n.input[1] for n in reshapes if n.input[1] not in inits]
    if computed:
        inits.update(_shape_values(model, computed))
    for n in reshapes:
        s = np.asarray(inits[n.input[1]]).astype(np.int64).copy()
        if not (s.ndim == 1 and s.size > 1 and s[0] == 1) or 0 in s:  # s[0] == 1: the exporter's batch
            continue
        if -1 not in s[1:]:
            s[0] = -1
        else:  # 0 = "copy this dim from the input", which needs allowzero = 0
            s[0] = 0
            for a in n.attribute:
                if a.name == "allowzero":
                    a.i = 0
        name = f"{n.input[1]}__batched"
        m.graph.initializer.append(numpy_helper.from_array(s, name))
        n.input[1] = name
    return m


def ort_runners(model: onnx.ModelProto, x: np.ndarray):
    """(per-call runner, batched runner or None) of onnxruntime on model, the batched one checked equal."""
    as_is = session(model)
    inp = as_is.get_inputs()[0]
    declared = inp.shape[0]
    b = declared if isinstance(declared, int) and declared > 0 else len(x)

    def per_call():
        return np.concatenate([as_is.run(None, {inp.name: x[i:i + b]})[0] for i in range(0, len(x), b)])

    ref = per_call()
    try:
        batched = session(dynamic_batch(model))
        y = batched.run(None, {inp.name: x})[0]
        if not np.allclose(y.reshape(ref.shape), ref, rtol=1e-4, atol=1e-4):
            raise ValueError("batched outputs differ from per-call outputs")
    except Exception as e:  # noqa: BLE001 - a graph that cannot be batched is reported, not fatal
        print(f"  note: no batched onnxruntime run ({type(e).__name__}: {str(e).splitlines()[0][:120]})")
        return per_call, None
    return per_call, lambda: batched.run(None, {inp.name: x})


def rates(n: int, runners: dict, repeat: int, burst: float = 0.05) -> dict:
    """Samples/s of each runner: its fastest run over `repeat` rounds. In each round every runner runs
    back to back for at least `burst` seconds (its caches warm, whatever ran before it), the runners
    interleaved so that a change of machine load weighs on all of them alike."""
    best = {k: float("inf") for k, f in runners.items() if f is not None}
    for _ in range(repeat):
        for k in best:
            start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                runners[k]()
                t1 = time.perf_counter()
                best[k] = min(best[k], t1 - t0)
                if t1 - start >= burst:
                    break
    return {k: (n / best[k] if k in best else None) for k in runners}


def qonnx_rate(path: Path, x: np.ndarray):
    """Samples/s of qonnx's execute_onnx as tinybnn check runs it (one sample per call)."""
    run_reference(path, x[:2])  # warm-up
    t0 = time.perf_counter()
    run_reference(path, x)
    return len(x) / (time.perf_counter() - t0)


def qonnx_to_standard(path: Path) -> onnx.ModelProto:
    """A standard-op copy of a QONNX graph: qonnx's FoldConstants and QuantToQCDQ, then each remaining
    BipolarQuant(x, s) as Where(x >= 0, s, -s) (qonnx has no transformation for it)."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.qonnx_to_qcdq import QuantToQCDQ

    with warnings.catch_warnings():  # QuantToQCDQ warns that it raises the opset, which is raised below anyway
        warnings.simplefilter("ignore")
        mw = ModelWrapper(str(path)).transform(InferShapes()).transform(FoldConstants())
        mw = mw.transform(QuantToQCDQ())
    m = mw.model
    nodes = []
    for n in m.graph.node:
        if n.op_type == "BipolarQuant":
            x, s = n.input[0], n.input[1]
            ge, pos, neg = (f"{n.name}_{k}" for k in ("ge", "pos", "neg"))
            zero = f"{n.name}_zero"
            m.graph.initializer.append(numpy_helper.from_array(np.zeros((), np.float32), zero))
            nodes += [helper.make_node("GreaterOrEqual", [x, zero], [ge], name=ge),
                      helper.make_node("Identity", [s], [pos], name=pos),
                      helper.make_node("Neg", [s], [neg], name=neg),
                      helper.make_node("Where", [ge, pos, neg], [n.output[0]], name=n.name)]
        else:
            nodes.append(n)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    keep = [o for o in m.opset_import if o.domain in ("", "ai.onnx")]
    del m.opset_import[:]
    m.opset_import.extend(keep or [helper.make_opsetid("", 17)])
    for o in m.opset_import:
        o.version = max(o.version, 16)
    del m.graph.value_info[:]
    return m


# ------------------------------------------------------------------------------------------- table --
def fmt(v):
    return f"{v:>12,.0f}" if v is not None else f"{'-':>12}"


def ratio(g, v):
    return f"{g / v:>6.2f}x" if v else f"{'':>7}"


def row(name, peer, g, per_call, batched, best=None):
    tail = f"  {g / best:>6.2f}x {'ok' if g >= best else 'BELOW'}" if best else ""
    print(f"{name:<18} {peer:<16} {g:>10,.0f} {fmt(per_call)} {ratio(g, per_call)} {fmt(batched)} "
          f"{ratio(g, batched)}{tail}")


def bench_model(name, path, data, args):
    d = np.load(data)["x"]
    x = np.resize(d, (args.batch,) + d.shape[1:]).astype(np.float32)
    m = tinybnn.load(path, calibration=x)
    m.predict(x[:8])  # builds the per-layer constants once, as any repeated use does
    golden = lambda: m.predict(x)  # noqa: E731
    if not _is_qonnx(onnx.load(str(path), load_external_data=False)):
        f, b = ort_runners(onnx.load(str(path)), x)
        r = rates(len(x), {"golden": golden, "file": f, "batched": b}, args.repeat)
        row(name, "onnxruntime", r["golden"], r["file"], r["batched"],
            max(v for k, v in r.items() if v and k != "golden"))
        return
    q = qonnx_rate(path, x[:args.qonnx_samples])
    std = qonnx_to_standard(path)
    y_std = session(std)
    inp = y_std.get_inputs()[0].name
    n = min(len(d), 256)
    want, _ = run_reference(path, d[:n].astype(np.float32))
    got = np.concatenate([y_std.run(None, {inp: d[i:i + 1].astype(np.float32)})[0] for i in range(n)])
    err = float(np.abs(got.reshape(want.shape) - want).max())
    f, b = ort_runners(std, x)
    r = rates(len(x), {"golden": golden, "file": f, "batched": b}, args.repeat)
    g = r["golden"]
    row(name, "qonnx", g, q, None)
    row("", "ort(qonnx->std)", g, r["file"], r["batched"], max(v for v in (q, r["file"], r["batched"]) if v))
    print(f"{'':<18} (ort(qonnx->std) vs qonnx on {n} samples: max abs diff {err:.2g}; "
          f"qonnx timed on {min(len(x), args.qonnx_samples)} samples)")


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
    ap.add_argument("--qonnx-samples", type=int, default=64)
    ap.add_argument("--only", nargs="*", help="row names to run (default: all)")
    args = ap.parse_args()
    print(f"golden model vs the float runtimes (1 thread each), batch {args.batch}, best of {args.repeat}; "
          "samples per second")
    print("  per call: the file as exported, its declared batch (1) per call; batched: a copy with a dynamic "
          "batch axis, the whole batch in one call; vs best: golden / the fastest peer of the row (target >= 1)")
    print(f"{'model':<18} {'peer':<16} {'golden/s':>10} {'per call/s':>12} {'ratio':>7} {'batched/s':>12} "
          f"{'ratio':>7}  {'vs best':>7}")
    for name, path, data in models():
        if args.only and name not in args.only:
            continue
        bench_model(name, path, data, args)
    if args.only:
        return
    with tempfile.TemporaryDirectory() as td:
        p = Path(td) / "cnv.onnx"
        n_w = cnv_model(p)
        x = np.random.default_rng(1).integers(0, 256, (64, 3, 32, 32)).astype(np.float32) / 255
        t = best_of(lambda: tinybnn.load(p, calibration=x), 3)
        print(f"convert CNV-sized model ({n_w:,} binary weights): {t:.2f} s (target <= 2 s): "
              f"{2.0 / t:.2f}x under budget")


if __name__ == "__main__":
    main()
