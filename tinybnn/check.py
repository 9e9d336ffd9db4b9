"""``tinybnn check``: the golden model beside the original framework's float runtime."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ir import golden
from .ir.bits import unpack_bits
from .ir.layers import out_dtype
from .errors import TinyBnnError
from .frontend.onnx.runtime import run_reference


@dataclass
class CheckReport:
    samples: int
    argmax_agreement: float
    max_abs_diff: float
    max_rel_diff: float
    layer_bit_agreement: list = field(default_factory=list)  # (layer name, fraction or None)
    golden_accuracy: float | None = None
    float_accuracy: float | None = None
    first_layer: dict | None = None  # rounding before the first binarizer (see first_layer_rounding)
    stream_error: list = field(default_factory=list)  # (layer, fraction within one step, max error in steps,
    #                                                   the same as a fraction of the tensor's range)
    reference: str | None = None  # what the float model is, when it is not the ONNX file's runtime (.tflite)

    def text(self) -> str:
        lines = [f"samples: {self.samples}"] + ([f"float model: {self.reference}"] if self.reference else []) + [
                 f"argmax agreement with the float model: {100 * self.argmax_agreement:.2f}%",
                 f"final outputs: max abs diff {self.max_abs_diff:.4g}, max rel diff {self.max_rel_diff:.4g} "
                 "(relative to the largest float output)"]
        f = self.first_layer
        if f is not None:
            n = f["bits"]
            if f["input_mode"] == "calibrated":
                lines.append(f"  input: int8, rounding error up to {f['input_error_steps']:.3g} step(s) "
                             f"({f['input_error']:.4g}); {f['input_flips']:,} of {n:,} bits of layer "
                             f"{f['layer']} flip from it")
            else:
                lines.append(f"  input: the model's own quantizer ({f['input_mode']}), no host rounding")
            lines.append(f"  layer {f['layer']}: {f['weights']} weights, rounding error up to "
                         f"{f['weight_error']:.3g} of a channel's largest |w|; {f['weight_flips']:,} of {n:,} bits "
                         f"flip from it; {100 * f['bit_agreement']:.3f}% of its bits agree with the float layer")
        for name, frac in self.layer_bit_agreement:
            lines.append(f"  layer {name}: " + ("activation bits agree " + f"{100 * frac:.3f}%" if frac is not None
                                                else "compared after the max-pool that follows"))
        for name, frac, worst, rel in self.stream_error:
            lines.append(f"  layer {name}: stream, {100 * frac:.2f}% of its values within one step of the "
                         f"float model's (largest error {worst:.3g} steps, {100 * rel:.2g}% of its range)")
        if self.golden_accuracy is not None:
            lines.append(f"accuracy: golden {100 * self.golden_accuracy:.2f}%, float {100 * self.float_accuracy:.2f}%")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _inverse(perm):
    return list(np.argsort(perm))


def first_layer_rounding(model, x, outs) -> dict | None:
    """What the host and the first layer round before the first binarizer, and how many of its output bits
    that flips: the float layer on the float input, on the int8 input (input rounding alone) and the
    device's integer layer (weight rounding on top). None when the first layer does not end in bits."""
    from .passes.lower import float_decisions

    layer = model.layers[0]
    a = layer.attrs
    if a.get("out") != "bits" or "float_weights" not in a:
        return None
    iq = model.input_node.attrs
    q = outs[0].data
    u_float = golden.input_units(iq, x)
    u_int = q.astype(np.float64) - iq["zero_point"]
    d_float = float_decisions(a, u_float)
    d_int = float_decisions(a, u_int)
    O = a["float_weights"].shape[0]
    d_dev = ~unpack_bits(outs[1].data, O).reshape(-1, O).T  # True = +1
    W, w = a["float_weights"], a["weights"].reshape(O, -1).astype(np.float64)
    m = np.abs(W).max(axis=1)
    scale = np.where(m > 0, m / np.maximum(np.abs(w).max(axis=1), 1), 1.0)
    werr = float((np.abs(W - w * scale[:, None]).max(axis=1) / np.where(m > 0, m, 1)).max())
    kind = a.get("weight_kind", "")
    ierr = float(np.abs(u_float - u_int).max()) if len(x) else 0.0
    return {"layer": layer.name, "bits": int(d_dev.size), "input_mode": iq["mode"],
            "input_error_steps": ierr, "input_error": ierr * float(iq["scale"]),
            "input_flips": int(np.count_nonzero(d_float != d_int)),
            "weights": "binary" if kind == "binary" else kind.split(" ")[0],
            "weight_error": werr, "weight_flips": int(np.count_nonzero(d_int != d_dev)),
            "bit_agreement": float(np.mean(d_float == d_dev)) if d_dev.size else 1.0}


def _float_run(path, x, probes):
    """The float runtime's outputs; a model the runtime itself refuses is one line, not a traceback."""
    try:
        from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

        ort_failures = tuple(v for v in vars(ort_errors).values()
                             if isinstance(v, type) and issubclass(v, Exception))
    except ImportError:  # pragma: no cover - onnxruntime is a dependency
        ort_failures = ()
    try:
        return run_reference(path, x, probes)
    except ort_failures as e:
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:300]
        raise TinyBnnError(f"{path}: onnxruntime cannot run this model, so there is no float reference to "
                           f"compare with ({type(e).__name__}: {first})") from None


def _stream_error(node, codes, ref) -> tuple[float, float, float]:
    """A stream layer against the float tensor it stands for: the fraction of values within one step of their
    grid, the largest error in steps and as a fraction of the tensor's range (an int16 grid is 256 times finer
    than an int8 one, so the flips of the binarizers before it show as many more steps)."""
    a = node.attrs
    ref = golden.device_layout(ref)
    y = (codes.astype(np.float64) - a["out_zero_point"]) * a["out_scale"]
    err = np.abs(y.reshape(ref.shape) - ref) / a["out_scale"]
    worst = float(err.max()) if err.size else 0.0
    return float(np.mean(err <= 1.0)), worst, worst / ((1 << int(a.get("bits", 8))) - 1)


def check(model, path, x, labels=None, reference=None, reference_name=None) -> CheckReport:
    """``reference``: the original runtime's outputs for ``x`` (a .tflite file's LCE interpreter), if given."""
    x = np.asarray(x, dtype=np.float32)
    outs = model.run_layers(x)
    y_gold = model.dequantize(outs[-1].data)
    refs = {}
    for n in model.layers:
        r = n.attrs.get("onnx_ref")
        if r is not None:
            refs[n.name] = r
    from .frontend.tflite import is_tflite

    what = None
    if is_tflite(path):  # no runtime of its own in tinybnn: the stored outputs, or the canonical float graph
        from .frontend.tflite.runtime import run_reference as run_tflite

        y_ref, probes, what = run_tflite(path, x, sorted({r[0] for r in refs.values()}), reference, reference_name)
    else:
        y_ref, probes = _float_run(path, x, sorted({r[0] for r in refs.values()}))
    y_ref = y_ref.reshape(y_gold.shape)
    diff = np.abs(y_gold.astype(np.float64) - y_ref)
    scale = max(float(np.abs(y_ref).max()), 1e-12)
    agree = float(np.mean(y_gold.reshape(len(x), -1).argmax(1) == y_ref.reshape(len(x), -1).argmax(1)))
    layer_rows, stream_rows = [], []
    by_name = {o.name: o for o in outs}
    for n in model.layers:
        if n.attrs.get("out") == "int32":
            continue
        r = refs.get(n.name)
        if out_dtype(n) in ("int8", "int16"):
            if r is not None and r[0] in probes:
                stream_rows.append((n.name,) + _stream_error(n, by_name[n.name].data, probes[r[0]]))
            continue
        if r is None or r[0] not in probes:
            layer_rows.append((n.name, None))
            continue
        ref = probes[r[0]]
        if r[1] is not None:
            ref = np.transpose(ref, _inverse(r[1]))
        ref_bits = golden.device_layout(ref < 0)
        shape = n.attrs["out_shape"]
        dev = unpack_bits(by_name[n.name].data, shape[-1])
        flat = n.attrs.get("onnx_ref_flat")
        if flat is not None:  # the float model flattened before binarizing: compare in its order
            from .passes.lower import _flatten_index

            idx = _flatten_index(flat[0], flat[1])
            ref_bits = ref_bits.reshape(len(x), -1)[:, idx]
        dev = dev.reshape(ref_bits.shape)
        layer_rows.append((n.name, float(np.mean(dev == ref_bits))))
    if reference is not None:  # outputs only: no layer to compare
        layer_rows = []
    rep = CheckReport(samples=len(x), argmax_agreement=agree, max_abs_diff=float(diff.max()),
                      max_rel_diff=float(diff.max() / scale), layer_bit_agreement=layer_rows,
                      first_layer=first_layer_rounding(model, x, outs), stream_error=stream_rows, reference=what)
    if labels is not None:
        lab = np.asarray(labels).reshape(-1)
        rep.golden_accuracy = float(np.mean(y_gold.reshape(len(x), -1).argmax(1) == lab))
        rep.float_accuracy = float(np.mean(y_ref.reshape(len(x), -1).argmax(1) == lab))
    return rep
