"""The canonical float graph, evaluated in float64: what calibration measures the real-valued tensors on.

After :func:`tinybnn.passes.canonicalize.canonicalize` a graph holds a small op set, exactly equivalent to the
ONNX model. :func:`tensor_ranges` runs it on calibration samples and returns, per tensor, the smallest and the
largest value seen: the int8 stream quantization of a residual network (its per-tensor scale and zero point) is
chosen from them, as TFLite and Larq Compute Engine calibrate their int8 tensors.
"""

from __future__ import annotations

import numpy as np

from .quant import int_quant

CHUNK = 256  # samples per evaluation batch


def _pad(x, pads, value):
    t, l, b, r = pads
    if not any(pads):
        return x
    return np.pad(x, ((0, 0), (0, 0), (t, b), (l, r)), constant_values=value)


def _windows(xp, kernel, strides, dilations=(1, 1)):
    """(N, C, OH, OW, KH, KW) views of a padded NCHW tensor."""
    KH, KW = kernel
    dh, dw = dilations
    v = np.lib.stride_tricks.sliding_window_view(xp, ((KH - 1) * dh + 1, (KW - 1) * dw + 1), axis=(2, 3))
    return v[:, :, ::strides[0], ::strides[1], ::dh, ::dw]


def _conv(x, a):
    W = a["W"]
    G = int(a.get("group", 1))
    xp = _pad(x, a["pads"], a.get("pad_value", 0.0))
    win = _windows(xp, W.shape[2:], a["strides"], a["dilations"])
    if G == 1:
        return np.einsum("ncyxhw,ochw->noyx", win, W, optimize=True)
    Cg, Og = W.shape[1], W.shape[0] // G
    return np.concatenate([np.einsum("ncyxhw,ochw->noyx", win[:, g * Cg:(g + 1) * Cg], W[g * Og:(g + 1) * Og],
                                     optimize=True) for g in range(G)], axis=1)


def _avgpool(x, a):
    KH, KW = a["kernel"]
    xp = _pad(x, a["pads"], 0.0)
    s = _windows(xp, (KH, KW), a["strides"]).sum(axis=(-2, -1))
    if a.get("count_include_pad", 0) or not any(a["pads"]):
        return s / (KH * KW)
    ones = _pad(np.ones((1, 1) + x.shape[2:]), a["pads"], 0.0)
    return s / _windows(ones, (KH, KW), a["strides"]).sum(axis=(-2, -1))


def _maxpool(x, a):
    xp = _pad(x, a["pads"], -np.inf)
    return _windows(xp, a["kernel"], a["strides"]).max(axis=(-2, -1))


def _sign(x, zero):
    if zero == "0":
        return np.sign(x)
    return np.where(x > 0 if zero == "-1" else x >= 0, 1.0, -1.0)


def _channel(v, x):
    return np.asarray(v, np.float64).reshape((1, -1) + (1,) * (x.ndim - 2))


def _flatten(x, perm):
    if perm is not None and x.ndim == 4:
        x = np.transpose(x, perm)
    return x.reshape(x.shape[0], -1)


def _quant(x, a):
    return int_quant(x, _channel(a["scale"], x) if np.size(a["scale"]) > 1 else a["scale"],
                     a["zero_point"], a["bitwidth"], a["signed"], a["narrow"], a["rounding"]).astype(np.float64)


_OPS = {
    "Conv": lambda xs, a: _conv(xs[0], a),
    "Dense": lambda xs, a: xs[0] @ a["W"].T,
    "Affine": lambda xs, a: xs[0] * _channel(a["scale"], xs[0]) + _channel(a["bias"], xs[0]),
    "Sign": lambda xs, a: _sign(xs[0], a["zero"]),
    "MaxPool": lambda xs, a: _maxpool(xs[0], a),
    "AvgPool": lambda xs, a: _avgpool(xs[0], a),
    "Flatten": lambda xs, a: _flatten(xs[0], a.get("perm")),
    "Quant": lambda xs, a: _quant(xs[0], a),
    "Concat": lambda xs, a: np.concatenate(xs, axis=1),
    "Sum": lambda xs, a: xs[0] + xs[1],
    "PRelu": lambda xs, a: np.where(xs[0] >= 0, xs[0], xs[0] * _channel(a["slope"], xs[0])),
    "Softmax": lambda xs, a: softmax(xs[0], a["beta"]),
}


def softmax(y, beta=1.0):
    """exp(beta y) normalized over the classes (axis 1), from the largest value down (no overflow)."""
    e = np.exp(beta * (y - y.max(axis=1, keepdims=True)))
    return e / e.sum(axis=1, keepdims=True)


def run(g, x: np.ndarray, keep=None) -> dict:
    """Evaluate the canonical graph ``g`` on canonical-layout samples ``x`` (N, ...) in float64; returns every
    tensor in ``keep`` (default: all) by name."""
    x = np.asarray(x, np.float64)
    vals = {g.input: x.reshape((len(x),) + tuple(g.shapes[g.input][1:]))}  # a 1-D model runs as (N, C, T, 1)
    out = {}
    readers: dict[str, int] = {}
    for n in g.nodes:
        for t in g.act_inputs(n):
            readers[t] = readers.get(t, 0) + 1
    for n in g.nodes:
        ins = [vals[t] for t in g.act_inputs(n)]
        vals[n.output] = _OPS[n.op](ins, n.attrs)
        for t in g.act_inputs(n):  # free what no later node reads
            readers[t] -= 1
            if readers[t] == 0 and t != g.output:
                if keep is None or t in keep:
                    out[t] = vals[t]
                del vals[t]
    out.update({t: v for t, v in vals.items() if keep is None or t in keep})
    return out


def tensor_ranges(g, x: np.ndarray, tensors) -> dict[str, tuple[float, float]]:
    """(min, max) of each of ``tensors`` over the canonical-layout samples ``x``, batch by batch."""
    lo = {t: np.inf for t in tensors}
    hi = {t: -np.inf for t in tensors}
    for i in range(0, len(x), CHUNK):
        vals = run(g, x[i:i + CHUNK], keep=set(tensors))
        for t in tensors:
            lo[t] = min(lo[t], float(vals[t].min()))
            hi[t] = max(hi[t], float(vals[t].max()))
    return {t: (lo[t], hi[t]) for t in tensors}
