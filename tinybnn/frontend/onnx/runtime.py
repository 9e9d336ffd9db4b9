"""The original framework's float runtime, for ``tinybnn check``: onnxruntime, or qonnx for QONNX graphs.

Optional extra for QONNX: ``pip install tinybnn[qonnx]``.
"""

from __future__ import annotations

import numpy as np

from ...errors import TinyBnnError
from .importer import QONNX_DOMAINS


def _is_qonnx(model) -> bool:
    return any(n.domain in QONNX_DOMAINS for n in model.graph.node)


QONNX_INSTALL = "pip install 'tinybnn[qonnx]'"


def require(path) -> None:
    """Raise a one-line TinyBnnError unless the float runtime for the model at ``path`` is installed
    (qonnx for QONNX graphs, onnxruntime otherwise): checked before any work that needs it."""
    import importlib

    import onnx

    from ..tflite import is_tflite
    from ..tflite.runtime import INTERPRETER_NOTE

    if is_tflite(path):
        raise TinyBnnError(f"{path} is a Larq Compute Engine .tflite file: {INTERPRETER_NOTE}")
    model = onnx.load(str(path), load_external_data=False)
    name = "qonnx" if _is_qonnx(model) else "onnxruntime"
    try:
        importlib.import_module(name)
    except ImportError:
        if name == "qonnx":
            raise TinyBnnError(f"{path} is a QONNX model: its float runtime is qonnx, which is not installed "
                               f"({QONNX_INSTALL})") from None
        raise TinyBnnError("the float runtime onnxruntime is not installed (pip install onnxruntime)") from None


def run_reference(path, x: np.ndarray, probes: list[str] = ()) -> tuple[np.ndarray, dict]:
    """Run the float model on x (N, ...) one sample at a time; returns (outputs, {probe: values})."""
    import onnx

    model = onnx.load(str(path))
    out_name = model.graph.output[0].name
    have = {vi.name for vi in model.graph.output}
    if not _is_qonnx(model):  # qonnx returns every tensor anyway; extra outputs confuse its ModelWrapper
        for p in probes:
            if p not in have:
                model.graph.output.append(onnx.ValueInfoProto(name=p))
    names = [out_name] + list(probes)
    in_name = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}][0]
    if _is_qonnx(model):
        run = _qonnx_runner(model, in_name, names)
    else:
        run = _ort_runner(model, in_name, names)
    results = {n: [] for n in names}
    for i in range(x.shape[0]):
        vals = run(x[i:i + 1].astype(np.float32))
        for n, v in zip(names, vals):
            results[n].append(np.asarray(v))
    y = np.concatenate(results[out_name], axis=0)
    return y, {p: np.concatenate(results[p], axis=0) for p in probes}


def _ort_runner(model, in_name, names):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return lambda xi: sess.run(names, {in_name: xi})


def _qonnx_runner(model, in_name, names):
    try:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.core.onnx_exec import execute_onnx
    except ImportError:
        raise TinyBnnError(f"this is a QONNX model: its reference runtime needs qonnx ({QONNX_INSTALL})") from None
    mw = ModelWrapper(model)

    def run(xi):
        res = execute_onnx(mw, {in_name: xi}, return_full_exec_context=True)
        return [res[n] for n in names]

    return run
