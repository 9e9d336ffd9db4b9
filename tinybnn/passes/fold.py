"""Pass 1: static shapes and constant folding.

Walks the nodes in order, gives every activation tensor its static shape, and evaluates (in NumPy) every
node whose inputs are all constant — weight binarizers such as ``Sign(W)`` or ``BipolarQuant(W, s)``,
transposed weights, and the Shape/Gather/Concat/Expand/CastLike clutter the PyTorch dynamo exporter
leaves. ``Shape`` of an activation folds too, since shapes are static.
"""

from __future__ import annotations

import numpy as np

from ..errors import node_error
from ..ir.layers import conv_out_size
from ..ir.graph import Graph, Node
from ..ir.quant import bipolar_quant, int_quant


def _i(node, key, default=None):
    return node.attrs.get(key, default)


# ---------------------------------------------------------------- constant evaluators -------------
def _cast(node, x, *rest):
    import onnx

    to = _i(node, "to")
    return x.astype(onnx.helper.tensor_dtype_to_np_dtype(to))


def _slice(node, x, starts, ends, axes=None, steps=None):
    if axes is None:
        axes = np.arange(len(starts))
    if steps is None:
        steps = np.ones(len(starts), dtype=np.int64)
    sl = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        sl[int(a)] = slice(int(s), int(e), int(st))
    return x[tuple(sl)]


def _reshape(node, x, shape):
    shape = [int(v) for v in shape]
    allowzero = _i(node, "allowzero", 0)
    out = [x.shape[i] if (v == 0 and not allowzero) else v for i, v in enumerate(shape)]
    return x.reshape(out)


def _unsqueeze(node, x, axes=None):
    axes = _i(node, "axes") if axes is None else axes
    out = x
    for a in sorted(int(v) % (x.ndim + len(axes)) for v in axes):
        out = np.expand_dims(out, a)
    return out


def _squeeze(node, x, axes=None):
    axes = _i(node, "axes") if axes is None else axes
    if axes is None:
        return np.squeeze(x)
    return np.squeeze(x, axis=tuple(int(a) for a in axes))


def _reduce(fn):
    """ReduceMean/ReduceSum/ReduceMax of a constant (XNOR-Net's alpha = mean |W| computed in the graph): axes
    from the attribute (opset < 18) or the second input, keepdims, noop_with_empty_axes."""
    def ev(node, x, axes=None):
        axes = _i(node, "axes") if axes is None else axes
        keep = bool(_i(node, "keepdims", 1))
        if axes is None or len(np.asarray(axes).reshape(-1)) == 0:
            if _i(node, "noop_with_empty_axes", 0):
                return x
            axes = range(np.ndim(x))
        ax = tuple(int(a) % max(np.ndim(x), 1) for a in np.asarray(list(axes)).reshape(-1))
        return fn(np.asarray(x), axis=ax, keepdims=keep)
    return ev


def _flatten(node, x):
    axis = _i(node, "axis", 1) % max(x.ndim, 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def _gather(node, x, idx):
    return np.take(x, idx.astype(np.int64), axis=_i(node, "axis", 0))


def _constant(node):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in node.attrs:
            v = node.attrs[key]
            if key.endswith("floats") or key.endswith("float"):
                return np.asarray(v, dtype=np.float32)
            if key.endswith("ints") or key.endswith("int"):
                return np.asarray(v, dtype=np.int64)
            return np.asarray(v)
    raise node_error(node, "Constant without a supported value attribute", "value, value_float(s), value_int(s)")


def _quant(node, x, scale, zeropt, bitwidth):
    return int_quant(x, scale, zeropt, bitwidth, signed=_i(node, "signed", 1), narrow=_i(node, "narrow", 0),
                     rounding=_i(node, "rounding_mode", "ROUND"))


def _clip(node, x, lo=None, hi=None):
    lo = _i(node, "min", -np.inf) if lo is None else lo
    hi = _i(node, "max", np.inf) if hi is None else hi
    return np.clip(x, lo, hi)


def _matmul(node, a, b):
    return np.matmul(a, b)


CONST_EVAL = {
    "Constant": lambda n: _constant(n),
    "Identity": lambda n, x: x,
    "Cast": _cast,
    "CastLike": lambda n, x, like: x.astype(like.dtype),
    "Shape": lambda n, x: np.asarray(x.shape, dtype=np.int64)[n.attrs.get("start", 0):n.attrs.get("end", None)],
    "Size": lambda n, x: np.asarray(x.size, dtype=np.int64),
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda n, *xs: np.concatenate(xs, axis=_i(n, "axis")),
    "Slice": _slice,
    "Expand": lambda n, x, shape: x * np.ones([int(v) for v in shape], dtype=x.dtype),
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": lambda n, x: np.transpose(x, _i(n, "perm")),
    "Sign": lambda n, x: np.sign(x),
    "Neg": lambda n, x: -x,
    "Abs": lambda n, x: np.abs(x),
    "ReduceMean": _reduce(np.mean),
    "ReduceSum": _reduce(np.sum),
    "ReduceMax": _reduce(np.max),
    "Sqrt": lambda n, x: np.sqrt(x),
    "Reciprocal": lambda n, x: 1.0 / x,
    "Add": lambda n, a, b: a + b,
    "Sub": lambda n, a, b: a - b,
    "Mul": lambda n, a, b: a * b,
    "Div": lambda n, a, b: (a // b) if np.issubdtype(np.asarray(a).dtype, np.integer) else a / b,
    "Pow": lambda n, a, b: np.power(a, b),
    "Max": lambda n, *xs: np.maximum.reduce(xs),
    "Min": lambda n, *xs: np.minimum.reduce(xs),
    "Equal": lambda n, a, b: a == b,
    "Greater": lambda n, a, b: a > b,
    "GreaterOrEqual": lambda n, a, b: a >= b,
    "Less": lambda n, a, b: a < b,
    "LessOrEqual": lambda n, a, b: a <= b,
    "Not": lambda n, a: np.logical_not(a),
    "Where": lambda n, c, a, b: np.where(c, a, b),
    "Clip": _clip,
    "MatMul": _matmul,
    "ConstantOfShape": lambda n, s: np.full([int(v) for v in s], n.attrs.get("value", np.zeros(1, np.float32)).reshape(-1)[0]),
    "Range": lambda n, s, e, d: np.arange(s, e, d),
    "BipolarQuant": lambda n, x, s: bipolar_quant(x, s),
    "Quant": _quant,
    "IntQuant": _quant,
}


# ---------------------------------------------------------------- activation shapes ---------------
def auto_pads(node, in_hw, kernel, strides, dilations):
    """Explicit (top, left, bottom, right) pads from ONNX ``pads`` / ``auto_pad``."""
    auto = node.attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "", None):
        p = list(node.attrs.get("pads", [0, 0, 0, 0]))
        if len(p) != 4:
            raise node_error(node, f"pads {p} do not have 4 values", "pads (top, left, bottom, right) of a 2-D op")
        return (int(p[0]), int(p[1]), int(p[2]), int(p[3]))
    if auto == "VALID":
        return (0, 0, 0, 0)
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for size, k, s, d in zip(in_hw, kernel, strides, dilations):
            out = -(-size // s)
            total = max(0, (out - 1) * s + d * (k - 1) + 1 - size)
            small, big = total // 2, total - total // 2
            pads.append((small, big) if auto == "SAME_UPPER" else (big, small))
        return (pads[0][0], pads[1][0], pads[0][1], pads[1][1])
    raise node_error(node, f"auto_pad '{auto}' is not supported", "NOTSET, VALID, SAME_UPPER, SAME_LOWER")


def _shape_conv(g, node, x, w):
    if len(x) != 4:
        raise node_error(node, f"{len(x) - 2}-D convolution (input rank {len(x)}) is not supported",
                         "2-D Conv on (N, C, H, W)")
    if w is None:
        raise node_error(node, "weights are not a constant (they come from a graph input or activation)",
                         "constant weights")
    if len(w) != 4:
        raise node_error(node, f"weight rank {len(w)} is not supported", "OIHW weights")
    group = int(node.attrs.get("group", 1))
    if group < 1 or x[1] % group or w[0] % group:
        raise node_error(node, f"group={group} does not divide {x[1]} input and {w[0]} output channels",
                         "groups that divide both channel counts")
    if w[1] * group != x[1]:
        raise node_error(node, f"weight expects {w[1] * group} input channels but the input has {x[1]}")
    k = tuple(node.attrs.get("kernel_shape", w[2:]))
    s = tuple(node.attrs.get("strides", (1, 1)))
    d = tuple(node.attrs.get("dilations", (1, 1)))
    _two_values(node, kernel_shape=k, strides=s, dilations=d)
    if tuple(int(v) for v in k) != tuple(int(v) for v in w[2:]):
        raise node_error(node, f"kernel_shape {list(k)} does not match its {'x'.join(map(str, w[2:]))} weights",
                         "kernel_shape equal to the weights' spatial shape")
    pads = auto_pads(node, x[2:], k, s, d)
    oh = conv_out_size(x[2], k[0], s[0], pads[0], pads[2], d[0])
    ow = conv_out_size(x[3], k[1], s[1], pads[1], pads[3], d[1])
    if oh <= 0 or ow <= 0:
        raise node_error(node, f"output would be empty ({oh}x{ow})")
    return (x[0], w[0], oh, ow)


def _two_values(node, **lists):
    for key, v in lists.items():
        if len(v) != 2:
            raise node_error(node, f"{key} {list(v)} does not have 2 values", f"2-D {key}")


def _shape_pool(g, node, x):
    k = tuple(node.attrs.get("kernel_shape", ()))
    if len(x) != 4 or len(k) != 2:
        raise node_error(node, f"{len(k)}-D pooling on a rank-{len(x)} tensor is not supported",
                         "2-D MaxPool on (N, C, H, W)")
    if int(node.attrs.get("ceil_mode", 0)) != 0:
        raise node_error(node, "ceil_mode=1 is not supported", "ceil_mode=0")
    d = tuple(node.attrs.get("dilations", (1, 1)))
    if any(v != 1 for v in d):
        raise node_error(node, f"dilated pooling (dilations={list(d)}) is not supported", "dilations=1")
    if node.attrs.get("storage_order", 0) != 0:
        raise node_error(node, "storage_order=1 is not supported", "storage_order=0")
    s = tuple(node.attrs.get("strides", (1, 1)))
    _two_values(node, strides=s)
    pads = auto_pads(node, x[2:], k, s, (1, 1))
    return (x[0], x[1], conv_out_size(x[2], k[0], s[0], pads[0], pads[2], 1),
            conv_out_size(x[3], k[1], s[1], pads[1], pads[3], 1))


def _shape_global_pool(g, node, x):
    if len(x) != 4:
        raise node_error(node, f"global pooling of a rank-{len(x)} tensor is not supported", "(N, C, H, W) input")
    return (x[0], x[1], 1, 1)


def _reduce_axes(g, node, x):
    """The axes of a ReduceMean (attribute before opset 18, constant input since), as non-negative ints."""
    axes = node.attrs.get("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        if node.inputs[1] not in g.consts:
            raise node_error(node, "its axes are not a constant", "constant axes")
        axes = [int(v) for v in np.asarray(g.consts[node.inputs[1]]).reshape(-1)]
    if axes is None:
        axes = list(range(len(x)))
    return sorted(int(a) + len(x) if int(a) < 0 else int(a) for a in axes)


def _shape_reduce_mean(g, node, x, *rest):
    axes = _reduce_axes(g, node, x)
    if len(x) != 4 or axes != [2, 3]:
        raise node_error(node, f"averages axes {axes} of a rank-{len(x)} tensor",
                         "ReduceMean over the spatial axes [2, 3] of (N, C, H, W) (global average pooling)")
    if int(node.attrs.get("keepdims", 1)):
        return (x[0], x[1], 1, 1)
    return (x[0], x[1])


def _shape_squeeze(g, node, x, *rest):
    """Squeeze of size-1 axes (tf2onnx after a global pool: (N, C, 1, 1) -> (N, C)); never the batch axis."""
    axes = node.attrs.get("axes")
    if axes is None and len(node.inputs) > 1 and node.inputs[1]:
        axes = [int(v) for v in np.asarray(g.consts[node.inputs[1]]).reshape(-1)]
    axes = sorted(int(a) % len(x) for a in axes) if axes is not None else [i for i in range(1, len(x)) if x[i] == 1]
    if 0 in axes or any(x[a] != 1 for a in axes):
        raise node_error(node, f"squeezes axes {axes} of a {list(x)} tensor", "Squeeze of size-1 non-batch axes")
    return tuple(v for i, v in enumerate(x) if i not in axes)


def _shape_gemm(g, node, a, b):
    ta, tb = node.attrs.get("transA", 0), node.attrs.get("transB", 0)
    if len(a) != 2:
        raise node_error(node, f"input of rank {len(a)}, expected (N, features)")
    if ta:
        raise node_error(node, "transA=1 is not supported", "transA=0")
    if b is None:
        raise node_error(node, "weights are not a constant", "constant weights")
    if len(b) != 2:
        raise node_error(node, f"weights of rank {len(b)}", "a 2-D weight matrix")
    k, n = (b[1], b[0]) if tb else (b[0], b[1])
    if k != a[1]:
        raise node_error(node, f"weight expects {k} features but the input has {a[1]}")
    return (a[0], n)


def _shape_matmul(g, node, a, b):
    if b is None:
        raise node_error(node, "the second operand is not a constant (only x @ W with constant W is supported)",
                         "MatMul by a constant weight matrix")
    if len(b) != 2 or len(a) < 2 or a[-1] != b[0]:
        raise node_error(node, f"shapes {a} @ {b} are not supported", "(N, K) @ (K, M)")
    return tuple(a[:-1]) + (b[1],)


def _shape_reshape(g, node, x, shape):
    if shape is None:
        raise node_error(node, "target shape is not a constant", "a constant target shape")
    tgt = [int(v) for v in shape]
    out = [x[i] if (v == 0 and i < len(x)) else v for i, v in enumerate(tgt)]
    total = int(np.prod(x))
    if out.count(-1) == 1:
        known = int(np.prod([v for v in out if v != -1]))
        out[out.index(-1)] = total // max(known, 1)
    if int(np.prod(out)) != total:
        raise node_error(node, f"cannot reshape {x} to {tgt}")
    return tuple(out)


def _shape_flatten(g, node, x):
    axis = node.attrs.get("axis", 1) % len(x)
    return (int(np.prod(x[:axis])), int(np.prod(x[axis:])))


def _shape_transpose(g, node, x):
    perm = node.attrs.get("perm", list(range(len(x)))[::-1])
    return tuple(x[p] for p in perm)


def _shape_pad(g, node, x, pads=None, value=None, axes=None):
    mode = node.attrs.get("mode", "constant")
    if mode != "constant":
        raise node_error(node, f"pad mode '{mode}' is not supported", "constant padding before a Conv")
    p = node.attrs.get("pads") if pads is None else pads
    if p is None:
        raise node_error(node, "pads are not constant", "constant pads")
    p = [int(v) for v in p]
    r = len(x)
    if len(p) != 2 * r:
        raise node_error(node, f"{len(p)} pads for a rank-{r} tensor", "2 pads per axis")
    return tuple(x[i] + p[i] + p[i + r] for i in range(r))


def _bcast(g, node, *shapes):
    shapes = [s for s in shapes if s is not None]
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise node_error(node, f"shapes {shapes} do not broadcast") from None


def _same(g, node, x, *rest):
    return x


def _shape_concat(g, node, *shapes):
    """Concat of activations: equal ranks, equal sizes but on the axis."""
    if any(s is None for s in shapes):
        raise node_error(node, "concatenates a constant with activations", "Concat of activations only")
    rank = len(shapes[0])
    axis = _i(node, "axis")
    axis = axis + rank if axis < 0 else axis
    if not 0 < axis < rank or any(len(s) != rank for s in shapes):
        raise node_error(node, f"concatenates shapes {[list(s) for s in shapes]} on axis {_i(node, 'axis')}",
                         "tensors of one rank, on a non-batch axis")
    for s in shapes[1:]:
        if any(a != b for k, (a, b) in enumerate(zip(s, shapes[0])) if k != axis):
            raise node_error(node, f"concatenates shapes {[list(s) for s in shapes]} on axis {axis}",
                             "equal sizes on every other axis")
    return shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1:]


ACT_SHAPE = {
    "Conv": _shape_conv,
    "MaxPool": _shape_pool,
    "AveragePool": _shape_pool,
    "GlobalAveragePool": _shape_global_pool,
    "ReduceMean": _shape_reduce_mean,
    "Squeeze": _shape_squeeze,
    "PRelu": _bcast,
    "Gemm": _shape_gemm,
    "MatMul": _shape_matmul,
    "Reshape": _shape_reshape,
    "Flatten": _shape_flatten,
    "Transpose": _shape_transpose,
    "Pad": _shape_pad,
    "BatchNormalization": _same,
    "Identity": _same,
    "Dropout": _same,
    "Sign": _same,
    "Relu": _same,
    "Clip": _same,
    "HardTanh": _same,
    "Cast": _same,
    "CastLike": _same,
    "Neg": _same,
    "Softmax": _same,
    "BipolarQuant": _same,
    "Quant": _same,
    "IntQuant": _same,
    "Concat": _shape_concat,
    "Add": _bcast,
    "Sub": _bcast,
    "Mul": _bcast,
    "Div": _bcast,
    "GreaterOrEqual": _bcast,
    "Greater": _bcast,
    "Where": _bcast,
}

SUPPORTED_OPS = ("Conv, Gemm, MatMul, BatchNormalization, MaxPool, AveragePool, GlobalAveragePool, ReduceMean "
                 "(spatial), PRelu, Add of two activations (residual), Sign, GreaterOrEqual+Where, Flatten, "
                 "Reshape, Squeeze, Transpose, Pad, Add/Sub/Mul/Div by constants, Identity, Dropout, Clip, Concat on "
                 "channels, grouped and depthwise Conv, Softmax at the output (on the host), "
                 "BipolarQuant, Quant/IntQuant (+ constant clutter: Shape, Gather, Concat, Expand, CastLike)")


MAX_CONST_ELEMS = 1 << 24  # a folded constant larger than this is no microcontroller model's weight
_ELEMENTWISE = ("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Greater", "GreaterOrEqual", "Less",
                "LessOrEqual", "Where")


def _const_size(node, vals) -> int | None:
    """How many values evaluating ``node`` would allocate (None: bounded by its inputs, or an error the
    evaluation itself reports)."""
    try:
        if node.op == "ConstantOfShape":
            return int(np.prod([int(v) for v in np.asarray(vals[0]).reshape(-1)], dtype=object))
        if node.op == "Expand":
            shape = tuple(int(v) for v in np.asarray(vals[1]).reshape(-1))
            return int(np.prod(np.broadcast_shapes(np.shape(vals[0]), shape), dtype=object))
        if node.op == "Range":
            s, e, d = (float(np.asarray(v).reshape(-1)[0]) for v in vals[:3])
            return int(max(0.0, np.ceil((e - s) / d))) if d and np.isfinite((e - s) / d) else None
        if node.op in _ELEMENTWISE:
            return int(np.prod(np.broadcast_shapes(*[np.shape(v) for v in vals if v is not None]), dtype=object))
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return None


def _activation_shape(g: Graph, node: Node, present: list[str]) -> tuple:
    """The output shape of an op on activations, from its input shapes (and constant operands)."""
    missing = [t for t in present if t not in g.consts and t not in g.shapes]
    if missing:
        raise node_error(node, f"input '{missing[0]}' is not produced by any earlier node")
    args = [g.shapes.get(t) if t not in g.consts else None for t in node.inputs]
    if (not args or args[0] is None) and ACT_SHAPE[node.op] is not _bcast:
        raise node_error(node, "the first input is a constant or missing; expected an activation")
    consts = [g.consts.get(t) for t in node.inputs]
    if node.op in ("Reshape", "Pad"):
        extra = [c for c in consts[1:]]
        shape = ACT_SHAPE[node.op](g, node, args[0], *extra)
    elif node.op in ("Conv", "Gemm", "MatMul"):
        w = consts[1].shape if len(consts) > 1 and consts[1] is not None else None
        if w is not None and 0 in w:
            raise node_error(node, f"weights of shape {list(w)} are empty", "non-empty weights")
        shape = ACT_SHAPE[node.op](g, node, args[0], w)
    elif node.op == "Concat":
        shape = _shape_concat(g, node, *args)
    elif ACT_SHAPE[node.op] is _bcast:
        shape = _bcast(g, node, *[a if a is not None else (c.shape if c is not None else None)
                                  for a, c in zip(args, consts)])
    else:
        shape = ACT_SHAPE[node.op](g, node, args[0])
    return shape


_SPATIAL_ATTRS = ("kernel_shape", "strides", "dilations")


def _as_2d(g: Graph, node: Node) -> None:
    """A 1-D model (Conv1d / pools over (N, C, T), a TCN): every activation is (N, C, T, 1) and this node is
    rewritten to its 2-D form on it: rank-3 weights (O, I, k) -> (O, I, k, 1), 1-D kernel/stride/dilation/pads
    -> (v, 1) and (b, 0, e, 0), per-channel constants (1, C, 1) / (C, 1) get the trailing axis, a mean over
    the time axis averages (T, 1). Exact: the width axis has size 1 everywhere."""
    def unsqueezed(t):
        c = np.asarray(g.consts[t])
        if c.ndim < 2:
            return t
        new = g.fresh(t + "_2d")
        g.consts[new] = c.reshape(c.shape + (1,))
        return new

    a = node.attrs
    if node.op in ("Conv", "MaxPool", "AveragePool"):
        if node.op == "Conv" and len(node.inputs) > 1 and node.inputs[1] in g.consts:
            w = np.asarray(g.consts[node.inputs[1]])
            if w.ndim == 3:
                node.inputs[1] = unsqueezed(node.inputs[1])
        for key in _SPATIAL_ATTRS:
            if key in a and len(a[key]) == 1:
                a[key] = [int(a[key][0]), 1]
        if "pads" in a and len(a["pads"]) == 2:
            a["pads"] = [int(a["pads"][0]), 0, int(a["pads"][1]), 0]
    elif node.op == "ReduceMean":
        axes = a.get("axes")
        if axes is None and len(node.inputs) > 1 and node.inputs[1] in g.consts:
            axes = [int(v) for v in np.asarray(g.consts[node.inputs[1]]).reshape(-1)]
            node.inputs = node.inputs[:1]
        if axes is not None and sorted(v % 3 for v in axes) == [2]:
            a["axes"] = [2, 3]
    elif node.op in ("Add", "Sub", "Mul", "Div", "PRelu", "Where", "GreaterOrEqual", "Greater"):
        node.inputs = [unsqueezed(t) if t in g.consts else t for t in node.inputs]


def fold_constants(g: Graph) -> Graph:
    """Give every activation a static shape; evaluate and remove every node with constant inputs."""
    kept: list[Node] = []
    if len(g.shapes.get(g.input, ())) == 3 and any(n.op == "Conv" for n in g.nodes):  # a 1-D model
        g.shapes[g.input] = tuple(g.shapes[g.input]) + (1,)
        g.meta["as_2d"] = True
    for node in g.nodes:
        present = [t for t in node.inputs if t]
        if g.meta.get("as_2d") and not all(t in g.consts for t in present):
            _as_2d(g, node)
            present = [t for t in node.inputs if t]
        if all(t in g.consts for t in present) and node.op in CONST_EVAL:
            vals = [g.consts[t] if t else None for t in node.inputs]
            while vals and vals[-1] is None:
                vals.pop()
            size = _const_size(node, vals)
            if size is not None and size > MAX_CONST_ELEMS:
                raise node_error(node, f"would make a constant of {size:,} values",
                                 f"constants of at most {MAX_CONST_ELEMS:,} values")
            try:
                out = CONST_EVAL[node.op](node, *vals)
            except Exception as e:
                raise node_error(node, f"cannot evaluate this constant expression ({e})") from None
            g.consts[node.outputs[0]] = np.asarray(out)
            continue
        if node.op == "CastLike" and node.inputs[0] in g.consts:
            # CastLike(constant, activation): only the activation's type matters, and activations are float
            g.consts[node.outputs[0]] = np.asarray(g.consts[node.inputs[0]], dtype=np.float32)
            continue
        if node.op == "Shape" and node.inputs[0] in g.shapes:
            shape = np.asarray(g.shapes[node.inputs[0]], dtype=np.int64)
            start, end = node.attrs.get("start", 0), node.attrs.get("end", None)
            g.consts[node.outputs[0]] = shape[start:end]
            continue
        if node.op not in ACT_SHAPE:
            raise node_error(node, "this op is not supported on activations", SUPPORTED_OPS)
        shape = _activation_shape(g, node, present)
        if any(int(v) <= 0 for v in shape):
            raise node_error(node, f"output shape {[int(v) for v in shape]} is empty", "non-empty tensors")
        g.shapes[node.outputs[0]] = tuple(int(v) for v in shape)
        for extra_out in node.outputs[1:]:
            if extra_out and node.op not in ("Dropout", "BatchNormalization"):
                raise node_error(node, "extra outputs are not supported")
        node.outputs = node.outputs[:1]
        kept.append(node)
    g.nodes = kept
    if g.output in g.consts:
        raise node_error(Node("Output", g.output, [], []), "the graph output is a constant")
    return g
