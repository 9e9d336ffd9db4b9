"""Random lowered tinybnn layers and models, built directly at the IR level (the contract of tinybnn/ir/layers.py).

Everything is drawn from a NumPy Generator, so a case is reproduced from its seed. Thresholds are chosen
from the accumulators the layer actually produces on the drawn samples (so output bits are mixed), plus
clamped channels (always +1 / always -1, including INT32_MIN / INT32_MAX) and flipped channels.

Coverage: channels 1/5/31/32/33/63/64/100; kernels 1x1/3x3/5x5 (and non-square); stride 1/2; dilation 1/2;
padding valid, same (upper and lower), explicit asymmetric, with zero/one/minus-one values; odd spatial
sizes; int8 first layers with int8 or binary weights and non-zero zero points; max-pools with OR masks
and padding; dense after flatten; int32 output layers (conv and dense).
"""

from __future__ import annotations

import numpy as np

from tinybnn.ir import golden
from tinybnn.ir.bits import pack_bits, pack_pm1
from tinybnn.ir.graph import Graph, Node
from tinybnn.model import Model

CHANNELS = (1, 5, 31, 32, 33, 63, 64, 100)
SMALL_CHANNELS = (1, 2, 3, 5, 31, 32, 33)
KERNELS = (1, 3, 5)
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
LAYER_KINDS = ("conv_b1b1", "conv_s8s8", "conv_s8b1", "dense_b1b1", "dense_s8s8", "dense_s8b1", "maxpool")
# names that exercise the C escaping (comments, strings, trigraphs, non-ASCII)
ODD_NAMES = ("/0/Conv", 'dense "x"\\y', "a*/b/*c", "t??/rigraph??=", "слой_1", "conv 3x3", "x" * 80)


def _choice(rng, seq):
    return seq[int(rng.integers(len(seq)))]


# ------------------------------------------------------------------------------------------ geometry --
def _axis_pads(rng, mode, n, k, s, d):
    eff = d * (k - 1) + 1
    if mode == "valid":
        return 0, 0
    if mode in ("same_upper", "same_lower"):
        out = -(-n // s)
        total = max(0, (out - 1) * s + eff - n)
        small = total // 2
        return (small, total - small) if mode == "same_upper" else (total - small, small)
    return int(rng.integers(0, eff)), int(rng.integers(0, eff))  # explicit, asymmetric


def conv_geometry(rng, H, W, kernels=KERNELS, dilation=True):
    """kernel/stride/dilation/pads for an (H, W) input with at least one output pixel."""
    for _ in range(100):
        kh = _choice(rng, kernels)
        kw = kh if rng.random() < 0.75 else _choice(rng, kernels)
        sh, sw = (int(rng.integers(1, 3)) for _ in range(2))
        dh, dw = (2 if dilation and rng.random() < 0.2 else 1 for _ in range(2))
        mode = _choice(rng, ("valid", "same_upper", "same_lower", "explicit", "explicit"))
        pt, pb = _axis_pads(rng, mode, H, kh, sh, dh)
        pl, pr = _axis_pads(rng, mode, W, kw, sw, dw)
        OH = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
        OW = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
        if OH >= 1 and OW >= 1 and H + pt + pb >= dh * (kh - 1) + 1 and W + pl + pr >= dw * (kw - 1) + 1:
            return {"kernel": (kh, kw), "stride": (sh, sw), "dilation": (dh, dw), "pads": (pt, pl, pb, pr),
                    "out_hw": (OH, OW)}
    return {"kernel": (1, 1), "stride": (1, 1), "dilation": (1, 1), "pads": (0, 0, 0, 0), "out_hw": (H, W)}


def pool_geometry(rng, H, W):
    for _ in range(100):
        kh = int(rng.integers(1, 4))
        kw = kh if rng.random() < 0.8 else int(rng.integers(1, 4))
        sh = int(rng.integers(1, 4))
        sw = sh if rng.random() < 0.8 else int(rng.integers(1, 4))
        pads = tuple(int(rng.integers(0, k)) if rng.random() < 0.4 else 0 for k in (kh, kw, kh, kw))
        OH = (H + pads[0] + pads[2] - kh) // sh + 1
        OW = (W + pads[1] + pads[3] - kw) // sw + 1
        if H + pads[0] + pads[2] >= kh and W + pads[1] + pads[3] >= kw and OH >= 1 and OW >= 1:
            return {"kernel": (kh, kw), "stride": (sh, sw), "pads": pads, "out_hw": (OH, OW)}
    return {"kernel": (1, 1), "stride": (1, 1), "pads": (0, 0, 0, 0), "out_hw": (H, W)}


# ------------------------------------------------------------------------------------------- weights --
def _pm1(rng, shape):
    p = rng.random()
    return np.where(rng.random(shape) < p, -1, 1).astype(np.int8)


def _int8(rng, shape):
    w = rng.integers(-127, 128, size=shape).astype(np.int8)
    if rng.random() < 0.3:
        w.reshape(-1)[int(rng.integers(w.size))] = -128  # the one value a symmetric quantizer never makes
    return w


def random_bits(rng, shape_hwc):
    """Packed random activation bits with tail zero: (N, ..., C) -> (N, ..., words(C))."""
    p = _choice(rng, (0.5, 0.5, 0.1, 0.9))
    return pack_bits(rng.random(shape_hwc) < p)


def random_int8(rng, shape):
    if rng.random() < 0.2:
        vals = np.array([-128, -1, 0, 1, 127], dtype=np.int8)
        return vals[rng.integers(0, len(vals), size=shape)]
    return rng.integers(-128, 128, size=shape).astype(np.int8)


# ------------------------------------------------------------------------------------------- layers --
def conv_node(rng, name, in_shape, in_dtype, O, out, weight_kind="binary", geom=None):
    H, W, C = in_shape
    g = geom or conv_geometry(rng, H, W)
    KH, KW = g["kernel"]
    w = _pm1(rng, (O, KH, KW, C)) if (in_dtype == "bits" or weight_kind == "binary") else _int8(rng, (O, KH, KW, C))
    attrs = {"in_dtype": in_dtype, "weights": w, "weight_kind": weight_kind if in_dtype == "int8" else "binary",
             "in_shape": (H, W, C), "out_shape": g["out_hw"] + (O,), "kernel": g["kernel"],
             "stride": g["stride"], "dilation": g["dilation"], "pads": g["pads"], "out": out}
    if in_dtype == "bits":
        attrs["pad"] = _choice(rng, ("zero", "one", "minus-one"))
        attrs["packed"] = pack_pm1(w)
    else:
        attrs["pad"] = "zero"
        attrs["input_zero_point"] = int(rng.integers(-128, 128))
        if weight_kind == "binary":
            attrs["packed"] = pack_pm1(w.reshape(O, -1))
    return Node("tb.Conv2d", name, [], [], attrs)


def dense_node(rng, name, in_shape, in_dtype, O, out, weight_kind="binary"):
    P, C = in_shape
    w = _pm1(rng, (O, P, C)) if (in_dtype == "bits" or weight_kind == "binary") else _int8(rng, (O, P, C))
    attrs = {"in_dtype": in_dtype, "weights": w, "weight_kind": weight_kind if in_dtype == "int8" else "binary",
             "in_shape": (P, C), "out_shape": (O,), "out": out}
    if in_dtype == "bits":
        attrs["packed"] = pack_pm1(w)
    else:
        attrs["input_zero_point"] = int(rng.integers(-128, 128))
        if weight_kind == "binary":
            attrs["packed"] = pack_pm1(w.reshape(O, -1))
    return Node("tb.Dense", name, [], [], attrs)


def pool_node(rng, name, in_shape):
    H, W, C = in_shape
    g = pool_geometry(rng, H, W)
    r = rng.random()
    mask = np.zeros(C, bool) if r < 0.4 else (np.ones(C, bool) if r < 0.55 else rng.random(C) < 0.5)
    return Node("tb.MaxPool", name, [], [], {"in_shape": (H, W, C), "out_shape": g["out_hw"] + (C,),
                                             "kernel": g["kernel"], "stride": g["stride"], "pads": g["pads"],
                                             "or_mask": mask})


def accumulators(node, x):
    """The int32 accumulators (N, ..., O) of a conv/dense node on batch x: the golden model run with int32 output."""
    return golden.run_layer(Node(node.op, node.name, [], [], dict(node.attrs, out="int32")), x)


def set_thresholds(rng, node, x):
    """Thresholds and flips for a bits-out layer, drawn from its accumulators on x, with clamped channels."""
    a = node.attrs
    acc = accumulators(node, x).astype(np.int64)
    O = acc.shape[-1]
    vals = acc.reshape(-1, O)
    flip = rng.random(O) < 0.3
    tau = np.empty(O, np.int64)
    for o in range(O):
        ap = ~vals[:, o] if flip[o] else vals[:, o]
        r = rng.random()
        if r < 0.05:
            tau[o] = INT32_MIN  # a' < INT32_MIN never: always +1
        elif r < 0.10:
            tau[o] = INT32_MAX  # always -1 (a' < INT32_MAX for every reachable a')
        elif r < 0.15:
            tau[o] = ap.min()  # the clamp at the low end: always +1
        elif r < 0.20:
            tau[o] = ap.max() + 1  # the clamp at the high end: always -1
        else:
            tau[o] = int(ap[int(rng.integers(len(ap)))]) + int(rng.integers(-1, 2))
    a["thresholds"] = np.clip(tau, INT32_MIN, INT32_MAX).astype(np.int32)
    a["flip"] = flip


def random_layer_case(rng, n_samples=2, kind=None, name="layer"):
    """One random device layer and a batch of inputs for it: (node, x)."""
    kind = kind or _choice(rng, LAYER_KINDS)
    out = "int32" if (kind != "maxpool" and rng.random() < 0.25) else "bits"
    O = _choice(rng, CHANNELS)
    if kind.startswith("conv") or kind == "maxpool":
        H, W = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        C = _choice(rng, CHANNELS if kind != "conv_s8s8" else SMALL_CHANNELS + (64,))
        if kind == "maxpool":
            node = pool_node(rng, name, (H, W, C))
            return node, random_bits(rng, (n_samples, H, W, C))
        in_dtype = "bits" if kind == "conv_b1b1" else "int8"
        wk = "int8" if kind == "conv_s8s8" else "binary"
        node = conv_node(rng, name, (H, W, C), in_dtype, O, out, wk)
        x = random_bits(rng, (n_samples, H, W, C)) if in_dtype == "bits" else random_int8(rng, (n_samples, H, W, C))
    else:
        in_dtype = "bits" if kind == "dense_b1b1" else "int8"
        P = _choice(rng, (1, 1, 2, 4, 9)) if in_dtype == "bits" else 1
        C = _choice(rng, CHANNELS + (200, 256))
        wk = "int8" if kind == "dense_s8s8" else "binary"
        node = dense_node(rng, name, (P, C), in_dtype, O, out, wk)
        x = (random_bits(rng, (n_samples, P, C)).reshape(n_samples, -1) if in_dtype == "bits"
             else random_int8(rng, (n_samples, P * C)))
    if out == "bits":
        set_thresholds(rng, node, x)
    return node, x


# -------------------------------------------------------------------------------------------- models --
def _layer_name(rng, i, base):
    return _choice(rng, ODD_NAMES) + f"_{i}" if rng.random() < 0.15 else f"{base}_{i}"


def random_model(rng, n_samples=8, max_layers=5, source="random"):
    """A random chain model: int8 first layer -> binary layers / pools -> int32 output layer.

    Returns (Model, q) with q the int8 device inputs (n_samples, *device_input_shape) whose accumulators
    the thresholds were drawn from.
    """
    spatial = rng.random() < 0.75
    nodes: list[Node] = []
    if spatial:
        H, W = int(rng.integers(1, 10)), int(rng.integers(1, 10))
        C = _choice(rng, SMALL_CHANNELS)
        canonical, dev = (C, H, W), (H, W, C)
    else:
        F = _choice(rng, CHANNELS + (200,))
        canonical, dev = (F,), (F,)
    q = random_int8(rng, (n_samples,) + dev)
    zp = int(rng.integers(-128, 128))
    n_layers = int(rng.integers(1, max_layers + 1))
    h = q
    shape = dev  # current activation shape (H, W, C) or (F,)
    for i in range(n_layers):
        last = i == n_layers - 1
        out = "int32" if last else "bits"
        O = _choice(rng, CHANNELS)
        if i == 0:
            wk = "binary" if rng.random() < 0.5 else "int8"
            if len(shape) == 3:
                node = conv_node(rng, _layer_name(rng, i, "conv"), shape, "int8", O, out, wk)
            else:
                node = dense_node(rng, _layer_name(rng, i, "dense"), (1, shape[0]), "int8", O, out, wk)
            node.attrs["input_zero_point"] = zp
        elif len(shape) == 3:
            r = rng.random()
            if r < 0.3 and not last:
                node = pool_node(rng, _layer_name(rng, i, "pool"), shape)
            elif r < 0.7:
                node = conv_node(rng, _layer_name(rng, i, "conv"), shape, "bits", O, out)
            else:  # flatten -> dense, keeping the per-pixel packing
                node = dense_node(rng, _layer_name(rng, i, "dense"), (shape[0] * shape[1], shape[2]), "bits", O, out)
        else:
            node = dense_node(rng, _layer_name(rng, i, "dense"), (1, shape[0]), "bits", O, out)
        if out == "bits" and node.op != "tb.MaxPool":
            set_thresholds(rng, node, h)
        h = golden.run_layer(node, h)
        shape = tuple(node.attrs["out_shape"])
        nodes.append(node)
    # names must be unique in the C tables only for readability; make them unique anyway
    seen = set()
    for k, n in enumerate(nodes):
        if n.name in seen:
            n.name = f"{n.name}_{k}"
        seen.add(n.name)
    O_last = nodes[-1].attrs["out_shape"][-1]
    iq = Node("tb.InputQuant", "input", ["x"], ["input_q"], {
        "onnx_shape": canonical, "perm": None, "pre": [], "canonical_shape": canonical, "mode": "calibrated",
        "calib_scale": 1.0, "calib_zero_point": zp, "scale": 1.0, "zero_point": zp})
    outn = Node("tb.Output", "output", [], ["output"], {
        "steps": [(np.ones(O_last), np.zeros(O_last))], "out_shape": tuple(nodes[-1].attrs["out_shape"]),
        "output_perm": None})
    prev = "input_q"
    for k, n in enumerate(nodes):
        n.inputs, n.outputs = [prev], [f"t{k}"]
        prev = n.outputs[0]
    outn.inputs = [prev]
    g = Graph([iq] + nodes + [outn], {}, {}, "x", "output",
              {"source": source, "dialect": "random", "notes": []})
    return Model(g), q


def golden_layers(model, q):
    """Every layer's golden output for int8 device inputs q (the list model.run_layers gives, minus the input)."""
    h = q.reshape((q.shape[0],) + tuple(model.device_input_shape))
    outs = []
    for n in model.layers:
        h = golden.run_layer(n, h)
        outs.append(h)
    return outs
