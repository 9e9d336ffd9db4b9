"""Random small BNN ONNX graphs, and an independent float64 NumPy executor for them (test-only).

The executor is written from the ONNX operator definitions, not from tinybnn's code, so comparing it with
the golden model checks import, layout, lowering, packing and the golden kernels together.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


# ------------------------------------------------------------------------ float64 executor ----
def _conv(x, w, b, strides, pads, dil, pad_value=0.0):
    N, C, H, W = x.shape
    O, _, KH, KW = w.shape
    t, l, bt, r = pads
    xp = np.full((N, C, H + t + bt, W + l + r), pad_value, dtype=np.float64)
    xp[:, :, t:t + H, l:l + W] = x
    OH = (H + t + bt - dil[0] * (KH - 1) - 1) // strides[0] + 1
    OW = (W + l + r - dil[1] * (KW - 1) - 1) // strides[1] + 1
    out = np.zeros((N, O, OH, OW))
    for kh in range(KH):
        for kw in range(KW):
            patch = xp[:, :, kh * dil[0]:kh * dil[0] + (OH - 1) * strides[0] + 1:strides[0],
                       kw * dil[1]:kw * dil[1] + (OW - 1) * strides[1] + 1:strides[1]]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, kh, kw])
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def _maxpool(x, k, s, pads):
    N, C, H, W = x.shape
    t, l, b, r = pads
    xp = np.full((N, C, H + t + b, W + l + r), -np.inf)
    xp[:, :, t:t + H, l:l + W] = x
    OH = (H + t + b - k[0]) // s[0] + 1
    OW = (W + l + r - k[1]) // s[1] + 1
    out = np.full((N, C, OH, OW), -np.inf)
    for i in range(k[0]):
        for j in range(k[1]):
            out = np.maximum(out, xp[:, :, i:i + (OH - 1) * s[0] + 1:s[0], j:j + (OW - 1) * s[1] + 1:s[1]])
    return out


def execute(model: onnx.ModelProto, x: np.ndarray, keep: bool = False):
    """Run the graph in float64. Returns the output (and every tensor when keep)."""
    env = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in model.graph.initializer}
    env[model.graph.input[0].name] = np.asarray(x, np.float64)
    for n in model.graph.node:
        a = {at.name: helper.get_attribute_value(at) for at in n.attribute}
        ins = [env[i] if i else None for i in n.input]
        op = n.op_type
        if op == "Conv":
            k = ins[1].shape[2:]
            pads = a.get("pads", [0, 0, 0, 0])
            y = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, a.get("strides", [1, 1]),
                      (pads[0], pads[1], pads[2], pads[3]), a.get("dilations", [1, 1]))
        elif op == "Pad":
            p = [int(v) for v in ins[1]]
            val = float(ins[2].reshape(-1)[0]) if len(ins) > 2 and ins[2] is not None else 0.0
            r = ins[0].ndim
            y = np.pad(ins[0], [(p[i], p[i + r]) for i in range(r)], constant_values=val)
        elif op == "BatchNormalization":
            xx, g, b, m, v = ins[:5]
            sh = (1, -1) + (1,) * (xx.ndim - 2)
            y = (xx - m.reshape(sh)) / np.sqrt(v.reshape(sh) + a.get("epsilon", 1e-5)) * g.reshape(sh) + b.reshape(sh)
        elif op == "Sign":
            y = np.sign(ins[0])
        elif op == "GreaterOrEqual":
            y = ins[0] >= ins[1]
        elif op == "Where":
            y = np.where(ins[0], ins[1], ins[2])
        elif op == "Add":
            y = ins[0] + ins[1]
        elif op == "Sub":
            y = ins[0] - ins[1]
        elif op == "Mul":
            y = ins[0] * ins[1]
        elif op == "Div":
            y = ins[0] / ins[1]
        elif op == "MaxPool":
            p = a.get("pads", [0, 0, 0, 0])
            y = _maxpool(ins[0], a["kernel_shape"], a.get("strides", [1, 1]), (p[0], p[1], p[2], p[3]))
        elif op == "Flatten":
            y = ins[0].reshape(ins[0].shape[0], -1)
        elif op == "Reshape":
            y = ins[0].reshape([int(v) for v in ins[1]])
        elif op == "Transpose":
            y = np.transpose(ins[0], a["perm"])
        elif op == "Gemm":
            w = ins[1].T if a.get("transB", 0) else ins[1]
            y = ins[0] @ w + (ins[2] if len(ins) > 2 and ins[2] is not None else 0)
        elif op == "MatMul":
            y = ins[0] @ ins[1]
        else:
            raise NotImplementedError(op)
        env[n.output[0]] = y
    out = env[model.graph.output[0].name]
    return (out, env) if keep else out


# ------------------------------------------------------------------------ random graphs -------
class Builder:
    def __init__(self, rng, input_shape, nhwc=False):
        self.rng = rng
        self.nodes, self.inits = [], []
        self.k = 0
        self.nhwc = nhwc
        self.input_shape = input_shape

    def name(self, base):
        self.k += 1
        return f"{base}_{self.k}"

    def const(self, arr, base="c"):
        nm = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), nm))
        return nm

    def node(self, op, ins, **attrs):
        out = self.name(op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], name=self.name("n_" + op.lower()), **attrs))
        return out

    def bn(self, x, c):
        r = self.rng
        return self.node("BatchNormalization", [x, self.const(r.uniform(0.5, 1.5, c) * r.choice([-1, 1], c, p=[.2, .8])),
                                                self.const(r.normal(0, 0.5, c)), self.const(r.normal(0, 3, c)),
                                                self.const(r.uniform(0.5, 20, c))], epsilon=1e-5)

    def binarize(self, x, style):
        if style == "sign":
            return self.node("Sign", [x])
        if style == "where":
            ge = self.node("GreaterOrEqual", [x, self.const(0.0)])
            return self.node("Where", [ge, self.const(1.0), self.const(-1.0)])
        if style == "larq":  # Sign(Sign(x) + 0.1)
            s = self.node("Sign", [x])
            return self.node("Sign", [self.node("Add", [s, self.const(0.1)])])
        raise ValueError(style)

    def binary_weight(self, shape, per_channel=True):
        r = self.rng
        w = r.choice([-1.0, 1.0], size=shape)
        alpha = r.uniform(0.05, 2.0, (shape[0],) + (1,) * (len(shape) - 1)) if per_channel else r.uniform(0.05, 2.0)
        return w * alpha

    def model(self, out):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1] + list(self.input_shape))
        y = helper.make_tensor_value_info(out, TensorProto.FLOAT, None)
        g = helper.make_graph(self.nodes, "rand", [x], [y], self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="tinybnn-tests")
        return m


def random_cnn(seed: int):
    """A random conv BNN on a (C, H, W) input with values on a k/16 grid. Returns (model, x)."""
    r = np.random.default_rng(seed)
    C, H, W = int(r.integers(1, 4)), int(r.integers(5, 12)), int(r.integers(5, 12))
    b = Builder(r, (C, H, W))
    t = "x"
    style = ["sign", "where", "larq"][seed % 3]
    c_in = C
    shape = (H, W)
    n_conv = int(r.integers(1, 4))
    for i in range(n_conv):
        O = int(r.choice([1, 5, 16, 31, 32, 33, 40, 64]))
        k = int(r.choice([1, 3, 5])) if min(shape) >= 5 else 1
        s = int(r.choice([1, 2])) if min(shape) >= 6 else 1
        d = int(r.choice([1, 2])) if (k > 1 and min(shape) >= 2 * k + 1 and s == 1) else 1
        pk = r.integers(0, 3)
        pads = [0, 0, 0, 0] if pk == 0 else ([k // 2 * d] * 4 if pk == 1 else [int(v) for v in r.integers(0, k, 4)])
        eff = d * (k - 1) + 1
        oh = (shape[0] + pads[0] + pads[2] - eff) // s + 1
        ow = (shape[1] + pads[1] + pads[3] - eff) // s + 1
        if oh < 1 or ow < 1:
            pads, s = [k // 2 * d] * 4, 1
            oh = shape[0] + 2 * (k // 2 * d) - eff + 1
            ow = shape[1] + 2 * (k // 2 * d) - eff + 1
        w = b.binary_weight((O, c_in, k, k), per_channel=bool(r.integers(0, 2)))
        one_pad = i > 0 and pk and style == "larq" and r.integers(0, 2)
        if one_pad:
            pads_t = b.name("pads")
            b.inits.append(numpy_helper.from_array(
                np.array([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]], np.int64), pads_t))
            pt = b.node("Pad", [t, pads_t, b.const(1.0)], mode="constant")
            t = b.node("Conv", [pt, b.const(w)], strides=[s, s], dilations=[d, d], pads=[0, 0, 0, 0])
        else:
            ins = [t, b.const(w)] + ([b.const(r.normal(0, 1, O))] if r.integers(0, 2) else [])
            t = b.node("Conv", ins, strides=[s, s], dilations=[d, d], pads=pads)
        shape = (oh, ow)
        pool_first = min(shape) >= 2 and r.integers(0, 3) == 0
        if pool_first:
            t = b.node("MaxPool", [t], kernel_shape=[2, 2], strides=[2, 2])
            shape = ((shape[0] - 2) // 2 + 1, (shape[1] - 2) // 2 + 1)
        t = b.bn(t, O)
        t = b.binarize(t, style)
        if not pool_first and min(shape) >= 3 and r.integers(0, 3) == 0:
            t = b.node("MaxPool", [t], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
            shape = ((shape[0] + 2 - 3) // 2 + 1, (shape[1] + 2 - 3) // 2 + 1)
        c_in = O
    t = b.node("Flatten", [t], axis=1)
    F = c_in * shape[0] * shape[1]
    for j in range(int(r.integers(0, 2))):
        O = int(r.choice([7, 32, 50]))
        t = b.node("Gemm", [t, b.const(b.binary_weight((O, F)))], transB=1)
        t = b.binarize(b.bn(t, O), style)
        F = O
    out = b.node("Gemm", [t, b.const(b.binary_weight((10, F))), b.const(r.normal(0, 1, 10))], transB=1)
    x = r.integers(0, 17, size=(6, C, H, W)) / 16.0
    return b.model(out), x.astype(np.float32)
