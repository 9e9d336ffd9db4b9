"""``tinybnn.load(path)``: the converter pipeline up to the golden model.

import -> fold -> layout -> canonicalize -> (calibrate) -> lower -> pack, each a pass over one Graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .ir import golden
from .ir.bits import words
from .errors import NeedsCalibration, TinyBnnError
from .ir.graph import Graph
from .passes.canonicalize import canonicalize
from .passes.fold import fold_constants
from .frontend.onnx.importer import import_onnx
from .passes.layout import absorb_transposes
from .ir.prologue import apply_prologue, prologue_ops
from .passes.lower import lower
from .passes.pack import pack_weights
from .ir.layers import (ADD, AVGPOOL, BINARIZE, CONCAT, CONV2D, DEVICE_OPS, INPUT_QUANT, LINEAR_OPS, MAXPOOL, PRELU,
                        out_dtype)



@dataclass
class LayerOutput:
    name: str
    op: str
    dtype: str  # "int8" | "int16" | "bits" | "int32"
    shape: tuple  # logical device shape per sample: (H, W, C) or (F,)
    data: np.ndarray  # (N, ...) in device representation (bits packed in uint32 words)


def float_graph(path) -> Graph:
    """The first passes: a canonical float graph (still exactly the ONNX model's computation). A Larq Compute
    Engine .tflite file (recognised by its content) is read straight into the canonical op set."""
    from .frontend.tflite import import_tflite, is_tflite

    if is_tflite(path):
        return import_tflite(path)
    g = import_onnx(path)
    g = fold_constants(g)
    g = absorb_transposes(g)
    return canonicalize(g)


def calibrate(g: Graph, data: np.ndarray, where: str = "calibration data") -> dict:
    """Per-tensor asymmetric int8 parameters for a real input that has no quantizer of its own.

    The range is taken after the model's own input scaling (the Affine ops before the first layer) and
    always contains 0, so zero padding stays exact.
    """
    from .data import check_samples

    x = check_samples(data, where, g.meta["onnx_input_shape"][1:])
    perm = g.meta.get("input_perm")
    if perm is not None:
        x = np.transpose(x, perm)
    x = apply_prologue(prologue_ops(g.nodes), x)
    grid = _grid(x)
    if grid is not None:
        return grid
    lo, hi = min(0.0, float(x.min())), max(0.0, float(x.max()))
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    zp = int(np.clip(np.round(-128 - lo / scale), -128, 127))
    return {"scale": scale, "zero_point": zp}


def _grid(x: np.ndarray) -> dict | None:
    """If every value is an integer multiple of one step and 0..range fits 256 codes, quantize losslessly.

    Data that is already quantized (8-bit images, the 0..16 levels of sklearn's digits) then reaches the
    device without any rounding.
    """
    u = np.unique(x.astype(np.float64))
    if u.size < 2 or u.size > 256:
        return None
    step = float(np.min(np.diff(u)))
    k = u / step
    if step <= 0 or not np.allclose(k, np.round(k), rtol=0, atol=1e-4):
        return None
    kmin, kmax = int(np.round(k.min())), int(np.round(k.max()))
    kmin, kmax = min(kmin, 0), max(kmax, 0)
    if kmax - kmin > 255:
        return None
    zp = -128 - kmin
    # the step as the data's own float32 arithmetic sees it: the quotient x/step rounds to the grid exactly
    return {"scale": step, "zero_point": int(zp)}


class Model:
    """A lowered, packed tinybnn model. ``run`` gives exactly what the device computes.

    The device layers form a DAG in schedule order (the graph's topological order): ``layer_inputs[i]`` lists
    where layer i reads its activations, -1 for the model input and j for layer j's output (always j < i).
    A chain is the DAG with ``layer_inputs[i] == [i - 1]``. The last layer produces the model output.
    """

    def __init__(self, graph: Graph):
        self.graph = graph
        self.nodes = graph.nodes
        self.input_node = graph.nodes[0]
        self.output_node = graph.nodes[-1]
        self.layers = [n for n in graph.nodes if n.op in DEVICE_OPS]
        self.layer_inputs = _wiring(graph, self.input_node, self.layers, self.output_node)

    @property
    def is_chain(self) -> bool:
        return all(ins == [i - 1] for i, ins in enumerate(self.layer_inputs))

    def consumers(self, i: int) -> list[int]:
        """The layers that read layer i's output (i = -1: the model input), in schedule order."""
        return [k for k, ins in enumerate(self.layer_inputs) if i in ins]

    # -- facts -------------------------------------------------------------------------------
    @property
    def source(self) -> str:
        return self.graph.meta["source"]

    @property
    def input_shape(self) -> tuple:
        """Per-sample input shape in the ONNX layout."""
        return tuple(self.input_node.attrs["onnx_shape"])

    @property
    def device_input_shape(self) -> tuple:
        s = self.input_node.attrs["canonical_shape"]
        return (s[1], s[2], s[0]) if len(s) == 3 else tuple(s)

    @property
    def device_output_shape(self) -> tuple:
        return tuple(self.output_node.attrs["out_shape"])

    @property
    def notes(self) -> list[str]:
        return list(self.graph.meta.get("notes", []))

    @property
    def needs_calibration(self) -> bool:
        a = self.input_node.attrs
        return a["mode"] == "calibrated" and a.get("calib_scale") is None

    @property
    def streams_need_calibration(self) -> bool:
        """A residual network lowered without calibration data: its int8 streams have no quantization yet."""
        return bool(self.graph.meta.get("uncalibrated_streams"))

    @property
    def input_quantization(self) -> dict:
        a = self.input_node.attrs
        return {"mode": a["mode"], "scale": a["scale"], "zero_point": a["zero_point"]}

    # -- execution -----------------------------------------------------------------------------
    def quantize(self, x) -> np.ndarray:
        return golden.quantize_input(self.input_node.attrs, x)

    def run_quantized(self, q: np.ndarray) -> np.ndarray:
        return self._run(q, None)

    def run(self, x) -> np.ndarray:
        """Float input (N, *input_shape) -> int32 device outputs (N, *device_output_shape)."""
        return self._run(self.quantize(x), None)

    def run_layers(self, x) -> list[LayerOutput]:
        """Every layer's output, in device representation, for float input x (N, ...)."""
        return self.run_layers_quantized(self.quantize(x))

    def run_layers_quantized(self, q: np.ndarray) -> list[LayerOutput]:
        """Every layer's output for int8 device inputs q (N, ...), the input itself first."""
        outs = [LayerOutput("input", INPUT_QUANT, "int8", self.device_input_shape, q)]
        self._run(q, outs)
        return outs

    def _run(self, q, record):
        if self.streams_need_calibration:
            raise NeedsCalibration(streams=True)
        if q.dtype != np.int8:
            raise TinyBnnError(f"quantized input must be int8, got {q.dtype}")
        h = q.reshape((q.shape[0],) + self.device_input_shape)
        values = {-1: h}
        last_use = {j: i for i, ins in enumerate(self.layer_inputs) for j in ins}
        for i, n in enumerate(self.layers):
            h = golden.run_node(n, [values[j] for j in self.layer_inputs[i]])
            values[i] = h
            for j in set(self.layer_inputs[i]):
                if last_use[j] == i:
                    del values[j]  # no later layer reads it
            if record is not None:
                dt = out_dtype(n)
                record.append(LayerOutput(n.name, n.op, dt, tuple(n.attrs["out_shape"]), h))
        return h

    def dequantize(self, acc) -> np.ndarray:
        return golden.dequantize_output(self.output_node.attrs, np.asarray(acc))

    def predict(self, x) -> np.ndarray:
        """Float input -> float32 outputs in the ONNX layout: the golden model plus the output affine."""
        return self.dequantize(self.run(x))

    # -- description -----------------------------------------------------------------------------
    def layer_table(self) -> list[dict]:
        rows = []
        for i, n in enumerate(self.layers):
            a = n.attrs
            ins = a["in_shapes"] if n.op == CONCAT else [a["in_shape"]] * (2 if n.op == ADD else 1)
            row = {"name": n.name, "kind": _kind(n), "in": " + ".join(_shape_str(s, n) for s in ins),
                   "reads": ["input" if j < 0 else self.layers[j].name for j in self.layer_inputs[i]],
                   "out": _shape_str(a["out_shape"], n), "K": "", "params": 0, "bytes": 0,
                   "binary_macs": 0, "int_macs": 0}
            if n.op == MAXPOOL and np.any(a.get("or_mask", False)):
                row["bytes"] = 4 * words(a["in_shape"][-1])  # the packed OR mask
            if n.op == BINARIZE:
                row["bytes"] = 4 * (a["in_shape"][-1] + words(a["in_shape"][-1]))  # thresholds, flip mask
            if n.op == PRELU:
                row["bytes"] = 32 * a["in_shape"][-1]  # breakpoint, 2 multipliers, shift (int32), 2 offsets (int64)
            if n.op in LINEAR_OPS:
                w = a["weights"]
                O = w.shape[0]
                K = int(np.prod(w.shape[1:]))
                outs = int(np.prod(a["out_shape"]))
                row["K"] = K
                row["params"] = int(w.size) + (O if a["out"] != "int32" else 0)
                wbytes = a["packed"].nbytes if "packed" in a else int(w.nbytes)  # int8 or int16 codes
                tbytes = {"bits": 4 * O + 4 * words(O), "int8": 16 * O}.get(a["out"], 0)
                row["bytes"] = int(wbytes + tbytes)
                if a["in_dtype"] == "bits":
                    row["binary_macs"] = outs * K
                else:
                    row["int_macs"] = outs * K
            rows.append(row)
        return rows

    def weight_bytes(self) -> int:
        return sum(r["bytes"] for r in self.layer_table())


def _wiring(graph: Graph, input_node, layers, output_node) -> list[list[int]]:
    """Per device layer, the indices of the layers it reads (-1: the model input); checks the schedule."""
    producer = {input_node.outputs[0]: -1}
    wiring = []
    for i, n in enumerate(layers):
        ins = []
        for t in graph.act_inputs(n):
            if t not in producer:
                raise TinyBnnError(f"layer '{n.name}' ({n.op}) reads '{t}', which no earlier layer produces")
            ins.append(producer[t])
        if not ins:
            raise TinyBnnError(f"layer '{n.name}' ({n.op}) reads no activation")
        if n.op == ADD and len(ins) != 2:
            raise TinyBnnError(f"layer '{n.name}' ({n.op}) adds two activations, got {len(ins)}")
        if n.op not in (CONCAT, ADD) and len(ins) != 1:
            raise TinyBnnError(f"layer '{n.name}' ({n.op}) takes one activation input, got {len(ins)}")
        wiring.append(ins)
        for t in n.outputs:
            producer[t] = i
    if layers:
        src = graph.act_inputs(output_node)
        if len(src) != 1 or producer.get(src[0]) != len(layers) - 1:
            raise TinyBnnError(f"the model output must be the last layer's ('{layers[-1].name}'); it reads {src}")
        unread = [layers[i].name for i in range(len(layers) - 1) if not any(i in w for w in wiring)]
        if unread:
            raise TinyBnnError(f"layer '{unread[0]}': its output is never read (a dead branch)")
    return wiring


def _kind(n) -> str:
    a = n.attrs
    if n.op == CONCAT:
        return f"concat {'int%d' % a['bits'] if 'bits' in a else 'bits'} ({len(a['in_shapes'])} inputs)"
    if n.op == MAXPOOL and "bits" in a:
        return f"maxpool int{a['bits']}"
    if n.op == MAXPOOL:
        return "maxpool(bits" + (", or" if np.any(a["or_mask"]) else "") + ")"
    t = f"int{a.get('bits', 8)}"
    if n.op in (ADD, AVGPOOL, PRELU, BINARIZE):
        return {ADD: f"add {t} (residual)", AVGPOOL: f"avgpool {t}", PRELU: f"prelu {t} (per channel)",
                BINARIZE: f"binarize int{a.get('in_bits', 8)}->bits"}[n.op]
    base = "conv2d" if n.op == CONV2D else "dense"
    if a.get("groups", 1) > 1:
        G, C = a["groups"], a["in_shape"][-1]
        base = "depthwise conv2d" if G == C else f"conv2d ({G} groups)"
    src = "bin" if a["in_dtype"] == "bits" else f"int{a.get('in_bits', 8)}"
    dst = {"bits": "bits", "int8": t}.get(a["out"], "int32 out")
    wide = ", int16 weights" if a["in_dtype"] != "bits" and a["weights"].dtype == np.int16 else ""
    return f"{base} {src}->{dst}{wide}"


def _shape_str(s, n) -> str:
    return "x".join(str(v) for v in s)


def _input_params(scale, zero_point, scale_what: str, zp_what: str) -> dict:
    """int8 input parameters given by the user or the model's metadata: a finite positive scale, an int8 zero point."""
    scale = float(scale)
    if not (np.isfinite(scale) and scale > 0):
        raise TinyBnnError(f"{scale_what} must be a finite positive number, got {scale}")
    if not -128 <= int(zero_point) <= 127:
        raise TinyBnnError(f"{zp_what} {zero_point} is outside int8; supported: -128..127")
    return {"scale": scale, "zero_point": int(zero_point)}


def load(path: str | Path, calibration=None, input_scale: float | None = None,
         input_zero_point: int | None = None, fallback_calibration=None, data_name: str | None = None,
         stream_bits: int | None = None) -> Model:
    """Convert an ONNX BNN into a :class:`Model` (golden model included).

    A model whose real-valued input has no quantizer of its own needs its int8 input parameters. In order of
    precedence: ``input_scale``/``input_zero_point``; ``calibration`` data (N, ...) in the input layout; the
    ONNX metadata keys ``tinybnn.input_scale`` / ``tinybnn.input_zero_point`` (the model's own choice);
    ``fallback_calibration`` data (what the CLI passes: the data it was given to run on). ``data_name``
    names the calibration data in errors (the CLI passes the file).
    """
    g = float_graph(path)
    md = g.meta.get("metadata", {})
    iq = None
    data = calibration  # what a float first layer's weight precision is decided on
    if input_scale is not None:
        iq = _input_params(input_scale, input_zero_point or 0, "--input-scale", "--input-zero-point")
    elif calibration is not None:
        iq = calibrate(g, calibration, data_name or "calibration data")
    elif "tinybnn.input_scale" in md:
        try:
            scale, zp = float(md["tinybnn.input_scale"]), int(md.get("tinybnn.input_zero_point", 0))
        except ValueError:
            raise TinyBnnError(f"{path}: metadata tinybnn.input_scale/zero_point are not numbers") from None
        iq = _input_params(scale, zp, f"{path}: metadata tinybnn.input_scale", f"{path}: metadata tinybnn.input_zero_point")
    elif fallback_calibration is not None:
        iq = calibrate(g, fallback_calibration, data_name or "calibration data")
    if data is None:
        data = fallback_calibration
    if data is not None:  # the first layer's weight precision is decided on it: checked like calibration data
        from .data import check_samples

        data = check_samples(data, data_name or "calibration data", g.meta["onnx_input_shape"][1:])
    if stream_bits not in (None, 8, 16):
        raise TinyBnnError(f"stream width {stream_bits}: supported 8 or 16 bits")
    if stream_bits is not None:
        return Model(pack_weights(lower(g, iq, data, stream_bits=stream_bits)))
    return _lowered(g, iq, data)


def _lowered(g: Graph, iq, data) -> "Model":
    """Lower and pack. A model with real-valued streams gets int8 streams, or int16 ones when int8 changes
    any decision of the float model on the calibration data and int16 changes fewer (said in its notes)."""
    float_g = g.copy()
    m8 = Model(pack_weights(lower(g, iq, data, stream_bits=8)))
    if data is None or not any(out_dtype(n) == "int8" for n in m8.layers[:-1]) or m8.needs_calibration:
        return m8
    ref = _float_decisions(float_g, data)
    agree8 = _stream_agreement(m8, ref, data)
    if agree8 == 1.0:
        return m8
    m16 = Model(pack_weights(lower(float_g.copy(), iq, data, stream_bits=16)))
    agree16 = _stream_agreement(m16, ref, data)
    best = m16 if agree16 > agree8 else m8
    best.graph.meta["notes"].append(
        f"real-valued streams: int{16 if best is m16 else 8} (the model's decisions on the calibration data agree "
        f"with the float model on {100 * agree8:.2f}% of the samples with int8 streams, {100 * agree16:.2f}% with "
        "int16 streams)")
    return best


def _float_decisions(float_g: Graph, data) -> np.ndarray:
    """The canonical float graph's argmax on the calibration samples (computed once per load)."""
    from .ir.floatref import run

    x = np.asarray(data, np.float32)
    perm = float_g.meta.get("input_perm")
    xc = np.transpose(x, perm) if perm is not None else x
    return run(float_g, xc, keep={float_g.output})[float_g.output].reshape(len(x), -1).argmax(1)


def _stream_agreement(m: "Model", ref: np.ndarray, data) -> float:
    """Argmax agreement of the integer model with the float graph's decisions ``ref`` on the calibration samples."""
    x = np.asarray(data, np.float32)
    y = m.dequantize(m.run(x))
    return float(np.mean(y.reshape(len(x), -1).argmax(1) == ref))
