"""Pass 3: rewrite the dialects' op patterns into a small canonical float op set.

After this pass a graph holds only these ops (all in NCHW / (N, F) float semantics, exactly equivalent to
the ONNX graph):

``Conv``      attrs W (O,I/group,KH,KW), strides, dilations, pads (t,l,b,r), pad_value, group
``Dense``     attrs W (O,K)
``Affine``    attrs scale, bias: per-channel (axis 1) or scalar, ``y = x * scale + bias``
``Sign``      attrs zero: what an exact 0 becomes: "+1" (x >= 0), "-1" (x > 0) or "0" (torch.sign)
``MaxPool``   attrs kernel, strides, pads
``Flatten``   attrs perm (the axis order the flatten reads the 4-D tensor in, None for NCHW)
``Quant``     attrs scale, zero_point, bitwidth, signed, narrow, rounding (QONNX Quant on the input)
``Concat``    activations on the channel axis
``Sum``       two activations added elementwise (a residual connection): ``y = a + b``
``AvgPool``   attrs kernel, strides, pads, count_include_pad (0: a window's mean over its valid taps; 1: padded
              taps count as zeros); global average pooling is the window of the whole map
``PRelu``     attrs slope (per channel): ``y = x if x >= 0 else slope * x``

``Softmax``   attrs beta, over axis 1 of the (N, classes) output: the graph's output only (ONNX Softmax over the
              last axis, the TFLite frontend's SOFTMAX); lowering applies it on the host, after the output affine
"""

from __future__ import annotations

import numpy as np

from ..errors import node_error
from ..ir.graph import Graph, Node
from .fold import auto_pads

SCALAR_TOL = 0.0  # constants must match exactly (they are parsed from the file, never recomputed)


def _channel_const(g: Graph, node: Node, c: np.ndarray, rank: int, channels: int) -> np.ndarray:
    """A constant that broadcasts against an activation of the given rank, as a per-channel (C,) vector."""
    c = np.asarray(c, dtype=np.float64)
    if c.size == 1:
        return np.full(channels, float(c.reshape(-1)[0]))
    full = c.reshape((1,) * (rank - c.ndim) + c.shape) if c.ndim <= rank else None
    if full is None or full.shape[0] != 1 or any(d != 1 for d in full.shape[2:]) or full.shape[1] not in (1, channels):
        raise node_error(node, f"constant of shape {list(c.shape)} is not per-tensor or per-channel",
                         "scalars or per-channel constants (shape [C], [C,1,1] or [1,C,1,1])")
    return np.broadcast_to(full.reshape(-1), (channels,)).astype(np.float64)


def _affine(g, node, scale, bias, x, out):
    return Node("Affine", node.name, [x], [out], {"scale": scale, "bias": bias, "origin": node.op})


def _channels(g, t):
    s = g.shapes[t]
    return s[1] if len(s) >= 2 else 1


def _canon_node(g: Graph, n: Node) -> list[Node] | None:
    """Return the replacement for ``n`` (a list, possibly empty) or None to keep it.

    Each supported ONNX op has its rule in :data:`_RULES` (``rule(g, n, x, out, rank, C)``, x the activation
    input of rank ``rank`` with C channels); ops without a rule are refused here, in one line."""
    acts = g.act_inputs(n)
    x = acts[0] if acts else None
    if n.op in ("Identity", "Dropout"):
        return []
    if n.op in ("Cast", "CastLike"):
        return []  # float -> float casts on activations change nothing tinybnn computes
    if len(acts) > 1 and n.op not in ("Where", "Concat", "Add"):
        raise node_error(n, f"combines {len(acts)} activation tensors",
                         "Add of two activations (a residual), Concat on channels")
    if n.op == "Transpose":
        raise node_error(n, f"transposes an activation (perm={list(n.attrs.get('perm', []))}) between layers",
                         "NHWC<->NCHW transposes around layers (absorbed), at the input or output")
    rule = _RULES.get(n.op)
    if rule is None:
        raise node_error(n, "this op is not supported on activations")
    rank = len(g.shapes[x]) if x else 0
    C = _channels(g, x) if x else 0
    return rule(g, n, x, n.output, rank, C)


def _split_bias(g: Graph, n: Node, nodes: list[Node], out: str, scale, bias, origin: str) -> list[Node]:
    """The linear node ``nodes[0]`` writes a fresh tensor; an Affine adds its bias into ``out``."""
    mid = g.fresh(out + "_nobias")
    nodes[0].outputs = [mid]
    g.shapes[mid] = g.shapes[out]
    nodes.append(Node("Affine", n.name + "/bias", [mid], [out], {"scale": scale, "bias": bias, "origin": origin}))
    return nodes


def _canon_conv(g, n, x, out, rank, C):
    W = g.const(n.inputs[1]).astype(np.float64)
    k = tuple(n.attrs.get("kernel_shape", W.shape[2:]))
    s = tuple(n.attrs.get("strides", (1, 1)))
    d = tuple(n.attrs.get("dilations", (1, 1)))
    pads = auto_pads(n, g.shapes[x][2:], k, s, d)
    nodes = [Node("Conv", n.name, [x], [out], {"W": W, "strides": s, "dilations": d, "pads": pads,
                                               "pad_value": 0.0, "group": int(n.attrs.get("group", 1))})]
    if len(n.inputs) > 2 and n.inputs[2]:
        bias = g.const(n.inputs[2]).astype(np.float64)
        if bias.shape != (W.shape[0],):
            raise node_error(n, f"bias of shape {list(bias.shape)} for {W.shape[0]} output channels",
                             "one bias per output channel")
        return _split_bias(g, n, nodes, out, np.ones(W.shape[0]), bias, "Conv bias")
    return nodes


def _canon_dense(g, n, x, out, rank, C):
    W = g.const(n.inputs[1]).astype(np.float64)
    if n.op == "Gemm":
        W = W if n.attrs.get("transB", 0) else W.T
        W = W * float(n.attrs.get("alpha", 1.0))
    else:
        W = W.T
    if rank != 2:
        raise node_error(n, f"input of rank {rank}; expected (N, features)")
    nodes = [Node("Dense", n.name, [x], [out], {"W": W})]
    if n.op == "Gemm" and len(n.inputs) > 2 and n.inputs[2]:
        b = g.const(n.inputs[2]).astype(np.float64) * float(n.attrs.get("beta", 1.0))
        return _split_bias(g, n, nodes, out, np.ones(W.shape[0]), _channel_const(g, n, b, 2, W.shape[0]),
                           "Gemm bias")
    return nodes


def _canon_batchnorm(g, n, x, out, rank, C):
    gamma, beta, mean, var = (g.const(t).astype(np.float64) for t in n.inputs[1:5])
    if any(p.shape != (C,) for p in (gamma, beta, mean, var)):
        raise node_error(n, f"parameters of shapes {[list(p.shape) for p in (gamma, beta, mean, var)]} for "
                         f"{C} channels", "scale, bias, mean and variance of shape [C]")
    eps = float(n.attrs.get("epsilon", 1e-5))
    if np.any(var + eps <= 0):
        raise node_error(n, "variance + epsilon is not positive")
    scale = gamma / np.sqrt(var + eps)
    return [_affine(g, n, scale, beta - mean * scale, x, out)]


def _canon_arith(g, n, x, out, rank, C):
    ci = [i for i, t in enumerate(n.inputs) if t in g.consts]
    if len(ci) != 1:
        raise node_error(n, "needs one constant operand", "Add/Sub/Mul/Div by a constant")
    c = _channel_const(g, n, g.const(n.inputs[ci[0]]), rank, C)
    const_first = ci[0] == 0
    one, zero = np.ones(C), np.zeros(C)
    if n.op == "Add":
        sc, b = one, c
    elif n.op == "Sub":
        sc, b = (-one, c) if const_first else (one, -c)
    elif n.op == "Mul":
        sc, b = c, zero
    else:
        if const_first:
            raise node_error(n, "divides a constant by an activation", "division of an activation by a constant")
        if np.any(c == 0):
            raise node_error(n, "divides by zero")
        sc, b = 1.0 / c, zero
    return [_affine(g, n, sc, b, x, out)]


def _canon_bipolar(g, n, x, out, rank, C):
    s = _channel_const(g, n, g.const(n.inputs[1]), rank, C)
    mid = g.fresh(out + "_sign")
    g.shapes[mid] = g.shapes[x]
    return [Node("Sign", n.name, [x], [mid], {"zero": "+1"}),
            Node("Affine", n.name + "/scale", [mid], [out], {"scale": s, "bias": np.zeros(C),
                                                             "origin": "BipolarQuant scale"})]


def _canon_quant(g, n, x, out, rank, C):
    scale, zp, bw = (g.const(t) for t in n.inputs[1:4])
    return [Node("Quant", n.name, [x], [out], {
        "scale": np.asarray(scale, np.float64), "zero_point": np.asarray(zp, np.float64),
        "bitwidth": int(np.asarray(bw).reshape(-1)[0]), "signed": int(n.attrs.get("signed", 1)),
        "narrow": int(n.attrs.get("narrow", 0)), "rounding": str(n.attrs.get("rounding_mode", "ROUND"))})]


def _canon_maxpool(g, n, x, out, rank, C):
    k = tuple(n.attrs["kernel_shape"])
    s = tuple(n.attrs.get("strides", (1, 1)))
    pads = auto_pads(n, g.shapes[x][2:], k, s, (1, 1))
    return [Node("MaxPool", n.name, [x], [out], {"kernel": k, "strides": s, "pads": pads})]


def _canon_flatten(g, n, x, out, rank, C):
    shape_in, shape_out = g.shapes[x], g.shapes[out]
    if tuple(shape_in) == tuple(shape_out) and not n.attrs.get("flatten_perm"):
        return []
    if not (len(shape_out) == 2 and shape_out[0] == shape_in[0]):
        raise node_error(n, f"reshapes {list(shape_in)} to {list(shape_out)}",
                         "flattening to (N, features) before a Gemm/MatMul")
    return [Node("Flatten", n.name, [x], [out], {"perm": n.attrs.get("flatten_perm")})]


def _canon_concat(g, n, x, out, rank, C):
    axis = int(n.attrs.get("axis", 1))
    if axis + (rank if axis < 0 else 0) != 1 or any(t in g.consts for t in n.inputs):
        raise node_error(n, f"concatenates on axis {axis}", "Concat of activations on the channel axis (1)")
    return [Node("Concat", n.name, list(n.inputs), [out], {})]


def _canon_add(g, n, x, out, rank, C):
    """Add: of a constant (an Affine), or of two activations of the same shape (a residual: Sum)."""
    acts = g.act_inputs(n)
    if len(acts) < 2:
        return _canon_arith(g, n, x, out, rank, C)
    if len(acts) != 2 or tuple(g.shapes[acts[0]]) != tuple(g.shapes[acts[1]]):
        raise node_error(n, f"adds activations of shapes {[list(g.shapes[t]) for t in acts]}",
                         "Add of two activations of the same shape (a residual connection)")
    return [Node("Sum", n.name, list(acts), [out], {})]


def _canon_avgpool(g, n, x, out, rank, C):
    k = tuple(n.attrs["kernel_shape"])
    s = tuple(n.attrs.get("strides", (1, 1)))
    pads = auto_pads(n, g.shapes[x][2:], k, s, (1, 1))
    if any(pads) and not int(n.attrs.get("count_include_pad", 0)):
        raise node_error(n, "averages windows over their valid taps only (count_include_pad=0 with padding)",
                         "AveragePool without padding, or with count_include_pad=1")
    return [Node("AvgPool", n.name, [x], [out], {"kernel": k, "strides": s, "pads": pads,
                                                 "count_include_pad": int(n.attrs.get("count_include_pad", 0))})]


def _canon_global_pool(g, n, x, out, rank, C):
    """GlobalAveragePool, or ReduceMean over (H, W): a window of the whole map (then a flatten when the
    ReduceMean drops the axes)."""
    H, W = g.shapes[x][2:]
    pool = Node("AvgPool", n.name, [x], [out], {"kernel": (H, W), "strides": (1, 1), "pads": (0, 0, 0, 0),
                                                "count_include_pad": 0, "global": True})
    if len(g.shapes[out]) == 4:
        return [pool]
    mid = g.fresh(out + "_pooled")
    g.shapes[mid] = tuple(g.shapes[x][:2]) + (1, 1)
    pool.outputs = [mid]
    return [pool, Node("Flatten", n.name + "/flatten", [mid], [out], {"perm": None})]


def _canon_prelu(g, n, x, out, rank, C):
    if n.inputs[1] not in g.consts:
        raise node_error(n, "its slope is not a constant", "PRelu with a constant slope")
    return [Node("PRelu", n.name, [x], [out], {"slope": _channel_const(g, n, g.const(n.inputs[1]), rank, C)})]


def _canon_softmax(g, n, x, out, rank, C):
    axis = int(n.attrs.get("axis", -1))  # rank 2: opset 13's default (-1) and older opsets' (1) are one axis
    if out != g.output or rank != 2 or axis not in (1, -1):
        raise node_error(n, f"softmax over axis {axis} of a rank-{rank} tensor"
                         + (" inside the model" if out != g.output else ""),
                         "Softmax over the classes of a (N, classes) output, as the model's last op (applied on "
                         "the host)")
    return [Node("Softmax", n.name, [x], [out], {"beta": 1.0})]


def _keep(g, n, x, out, rank, C):
    """Kept for a rewrite below: GreaterOrEqual/Greater (consumed by the Where that follows), Pad (merged
    into the following Conv), Clip/Relu (checked against the following Sign)."""
    return None


_RULES = {
    "Conv": _canon_conv,
    "Gemm": _canon_dense, "MatMul": _canon_dense,
    "BatchNormalization": _canon_batchnorm,
    "Add": _canon_add, "Sub": _canon_arith, "Mul": _canon_arith, "Div": _canon_arith,
    "Neg": lambda g, n, x, out, rank, C: [_affine(g, n, -np.ones(C), np.zeros(C), x, out)],
    "Sign": lambda g, n, x, out, rank, C: [Node("Sign", n.name, [x], [out], {"zero": "0"})],
    "Where": lambda g, n, x, out, rank, C: _canon_where(g, n),
    "BipolarQuant": _canon_bipolar,
    "Quant": _canon_quant, "IntQuant": _canon_quant,
    "MaxPool": _canon_maxpool,
    "AveragePool": _canon_avgpool, "GlobalAveragePool": _canon_global_pool, "ReduceMean": _canon_global_pool,
    "PRelu": _canon_prelu,
    "Softmax": _canon_softmax,
    "Concat": _canon_concat,
    "Flatten": _canon_flatten, "Reshape": _canon_flatten, "Squeeze": _canon_flatten,
    "GreaterOrEqual": _keep, "Greater": _keep, "Pad": _keep, "Clip": _keep, "Relu": _keep,
}


def _const_scalar(g, t):
    if t not in g.consts:
        return None
    v = np.unique(np.asarray(g.consts[t], dtype=np.float64))
    return float(v[0]) if v.size == 1 else None


def _canon_where(g: Graph, n: Node) -> list[Node]:
    cond, a, b = n.inputs
    cmp = g.producer(cond)
    va, vb = _const_scalar(g, a), _const_scalar(g, b)
    if cmp is None or cmp.op not in ("GreaterOrEqual", "Greater") or va is None or vb is None:
        raise node_error(n, "is not a binarizer", "Where(GreaterOrEqual(x, t), +a, -a) with constant t and a")
    x = cmp.inputs[0]
    t = _const_scalar(g, cmp.inputs[1])
    if x in g.consts or t is None:
        raise node_error(cmp, "is not a comparison of an activation with a constant", "x >= t")
    if not (va > 0 and vb == -va):
        raise node_error(n, f"maps to ({va:g}, {vb:g}), which is not a binarization to +-a",
                         "Where(x >= t, +a, -a), a > 0")
    C = _channels(g, x)
    zero = "+1" if cmp.op == "GreaterOrEqual" else "-1"
    nodes = []
    src = x
    if t != 0.0:
        mid = g.fresh(x + "_shift")
        g.shapes[mid] = g.shapes[x]
        nodes.append(Node("Affine", cmp.name, [src], [mid], {"scale": np.ones(C), "bias": np.full(C, -t),
                                                             "origin": "comparison threshold"}))
        src = mid
    if va != 1.0:
        mid = g.fresh(n.output + "_pm1")
        g.shapes[mid] = g.shapes[n.output]
        nodes.append(Node("Sign", n.name, [src], [mid], {"zero": zero}))
        nodes.append(Node("Affine", n.name + "/scale", [mid], [n.output],
                          {"scale": np.full(C, va), "bias": np.zeros(C), "origin": "binarizer level"}))
    else:
        nodes.append(Node("Sign", n.name, [src], [n.output], {"zero": zero}))
    return nodes


def _merge_pads(g: Graph) -> None:
    for p in [n for n in g.nodes if n.op == "Pad"]:
        cons = g.consumers(p.output)
        conv = cons[0] if len(cons) == 1 else None
        if conv is None or conv.op != "Conv":
            raise node_error(p, "is not directly followed by a Conv", "Pad (constant mode) right before a Conv")
        pads = [int(v) for v in (p.attrs["pads"] if "pads" in p.attrs else g.consts[p.inputs[1]])]
        if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
            raise node_error(p, f"pads {pads} touch the batch or channel axes", "spatial padding only")
        value = p.attrs.get("value", 0.0)
        if len(p.inputs) > 2 and p.inputs[2]:
            value = float(np.asarray(g.consts[p.inputs[2]]).reshape(-1)[0])
        t, l, b, r = pads[2], pads[3], pads[6], pads[7]
        cp = conv.attrs["pads"]
        if value != 0.0 and any(cp):
            raise node_error(conv, "combines a non-zero Pad with its own zero padding",
                             "one constant padding value per convolution")
        conv.attrs["pads"] = (cp[0] + t, cp[1] + l, cp[2] + b, cp[3] + r)
        conv.attrs["pad_value"] = float(value)
        g.remove(p)


def _bound(g: Graph, c: Node, t: str) -> float:
    v = np.asarray(g.consts.get(t, np.zeros(2)))
    if v.size != 1:
        raise node_error(c, f"bound '{t}' is not a constant scalar", "Clip(min < 0 < max) with scalar bounds")
    return float(v.reshape(-1)[0])


def _drop_sign_preserving(g: Graph) -> None:
    """Clip(x, lo, hi) with lo < 0 < hi right before a Sign does not change the sign: drop it."""
    for c in [n for n in g.nodes if n.op in ("Clip", "Relu")]:
        cons = g.consumers(c.output)
        lo = c.attrs.get("min", -np.inf) if len(c.inputs) < 2 or not c.inputs[1] else _bound(g, c, c.inputs[1])
        hi = c.attrs.get("max", np.inf) if len(c.inputs) < 3 or not c.inputs[2] else _bound(g, c, c.inputs[2])
        if c.op == "Clip" and lo < 0 < hi and len(cons) == 1 and cons[0].op in ("Sign", "GreaterOrEqual", "Greater", "BipolarQuant"):
            g.remove(c, keep=c.inputs[0])
        else:
            raise node_error(c, "a clipping activation is only supported right before a binarizer "
                             "(where it does not change the result)", "Clip(min < 0 < max) before Sign")


def _fuse_double_sign(g: Graph) -> None:
    """Larq's ste_sign exports as Sign(Sign(x) + c), 0 < c < 1: that is sign with 0 -> +1."""
    for s2 in [n for n in g.nodes if n.op == "Sign"]:
        add = g.producer(s2.inputs[0])
        if add is None or add.op != "Affine":
            continue
        s1 = g.producer(add.inputs[0])
        if s1 is None or s1.op != "Sign" or len(g.consumers(s1.output)) != 1 or len(g.consumers(add.output)) != 1:
            continue
        sc, b = add.attrs["scale"], add.attrs["bias"]
        if np.all(sc == 1.0) and np.all(b == b[0]) and 0 < b[0] < 1:
            s2.inputs = [s1.inputs[0]]
            s2.attrs["zero"] = "+1" if s1.attrs["zero"] in ("0", "+1") else "-1"
            g.nodes.remove(add)
            g.nodes.remove(s1)


def canonicalize(g: Graph) -> Graph:
    _drop_sign_preserving(g)
    new: list[Node] = []
    for n in list(g.nodes):
        r = _canon_node(g, n)
        for m in r or ():
            m.attrs.setdefault("onnx_op", n.op)
        if r is None:
            new.append(n)
        else:
            if not r:
                # node removed: rewire consumers to its activation input
                keep = g.act_inputs(n)[0]
                for m in g.nodes:
                    m.inputs = [keep if t == n.output else t for t in m.inputs]
                for m in new:
                    m.inputs = [keep if t == n.output else t for t in m.inputs]
                if g.output == n.output:
                    g.output = keep
            new.extend(r)
    g.nodes = [n for n in new if n.op not in ("GreaterOrEqual", "Greater")]
    _merge_pads(g)
    _fuse_double_sign(g)
    return g
