"""Random residual BNNs written with onnx.helper (Bi-Real / ReActNet block structure), for the stream tests.

Not trained: weights are random, BatchNorms are set from the statistics of random inputs so that every
binarizer sees both signs. The trained fixtures (tests/fixtures/torch_*) are the accuracy check; these are the
structural cover (every pattern, every option), compared with onnxruntime and with the C kernels.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class _B:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.k = 0
        self.xnor_in_graph = False

    def name(self, base):
        self.k += 1
        return f"{base}_{self.k}"

    def const(self, arr, base="c"):
        n = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(arr, np.float32), n))
        return n

    def node(self, op, ins, base=None, **attrs):
        out = self.name(base or op.lower())
        self.nodes.append(helper.make_node(op, ins, [out], name=f"/{out}/{op}", **attrs))
        return out

    def bn(self, x, C):
        g = self.rng.uniform(0.5, 1.5, C)
        g[self.rng.random(C) < 0.2] *= -1  # some negative gammas
        return self.node("BatchNormalization", [x, self.const(g), self.const(self.rng.normal(0, 0.3, C)),
                                                self.const(self.rng.normal(0, 0.5, C)),
                                                self.const(self.rng.uniform(0.5, 2.0, C))], "bn")

    def sign(self, x, C, rsign=False):
        if rsign:
            x = self.node("Add", [x, self.const(self.rng.normal(0, 0.2, (1, C, 1, 1)))], "rsign_shift")
        ge = self.node("GreaterOrEqual", [x, self.const(np.zeros(()))], "ge")
        return self.node("Where", [ge, self.const(np.ones(())), self.const(-np.ones(()))], "sign")

    def bconv(self, x, C, O, stride=1):
        if self.xnor_in_graph:  # XNOR-Net's alpha computed in the graph: Sign(W) * ReduceMean(Abs(W)) per output
            latent = self.const(self.rng.normal(0, 0.05, (O, C, 3, 3)), "latent_w")
            alpha = self.node("ReduceMean", [self.node("Abs", [latent], "abs")], "alpha", axes=[1, 2, 3], keepdims=1)
            w = self.node("Mul", [self.node("Sign", [latent], "wsign"), alpha], "w")
        else:
            alpha = self.rng.uniform(0.02, 0.1, O)  # XNOR-Net scales, folded into the constants
            w = self.const(np.where(self.rng.random((O, C, 3, 3)) < 0.5, -1.0, 1.0) * alpha[:, None, None, None], "w")
        return self.node("Conv", [x, w], "bconv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[stride, stride])


def bireal_onnx(path, seed=0, C=8, H=8, rsign=False, rprelu=False, down=True, classes=10, concat=False,
                maxpool=False, xnor_in_graph=False):
    """stem conv + BN; blocks x + BN(bconv(sign(x))) (one stride-2 with an AveragePool shortcut, or a MaxPool
    one); optional RSign (per-channel shift before the sign) and RPReLU (shift, PRelu, shift) after each add;
    ``concat``: the stride-2 block doubles the channels ReActNet's way (two binary convs, each added to the
    pooled shortcut, concatenated); global average pool; Gemm."""
    b = _B(seed)
    b.xnor_in_graph = xnor_in_graph
    x = "input"
    s = b.node("Conv", [x, b.const(b.rng.normal(0, 0.5, (C, 1, 3, 3)), "stem_w")], "stem", kernel_shape=[3, 3],
               pads=[1, 1, 1, 1])
    s = b.bn(s, C)
    for stride in ((1, 2, 1) if down else (1, 1)):
        if stride == 1:
            short = s
        else:
            short = b.node("MaxPool" if maxpool else "AveragePool", [s], "pool", kernel_shape=[2, 2], strides=[2, 2])
        sign = b.sign(s, C, rsign)
        r = b.bn(b.bconv(sign, C, C, stride), C)
        s = b.node("Add", [r, short], "residual")
        if stride == 2 and concat:
            r2 = b.bn(b.bconv(sign, C, C, stride), C)
            s = b.node("Concat", [s, b.node("Add", [r2, short], "residual")], "concat", axis=1)
            C *= 2
        if rprelu:
            s = b.node("Sub", [s, b.const(b.rng.normal(0, 0.1, (1, C, 1, 1)))], "rprelu_pre")
            s = b.node("PRelu", [s, b.const(b.rng.uniform(0.05, 0.5, (C, 1, 1)))], "prelu")
            s = b.node("Add", [s, b.const(b.rng.normal(0, 0.1, (1, C, 1, 1)))], "rprelu_post")
    g = b.node("GlobalAveragePool", [s], "gap")
    f = b.node("Flatten", [g], "flatten", axis=1)
    y = b.node("Gemm", [f, b.const(b.rng.normal(0, 1.0, (classes, C)), "fc_w"),
                        b.const(b.rng.normal(0, 0.1, classes), "fc_b")], "fc", transB=1)
    b.nodes[-1].output[0] = "output"
    graph = helper.make_graph(b.nodes, "bireal", [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["N", 1, H, H])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", classes])], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests/resnets.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def inputs(n, H=8, seed=1):
    """Images on the digits grid (0..16)/16, as the fixtures' inputs."""
    return (np.random.default_rng(seed).integers(0, 17, (n, 1, H, H)) / 16.0).astype(np.float32)


def dscnn_onnx(path, seed=0, C=16, H=8, classes=10, blocks=2, group=None, classes_from_stream=True):
    """A DS-CNN (MLPerf Tiny KWS structure) with binary depthwise-separable blocks: stem conv + BN + sign; per
    block a binary depthwise 3x3 conv (group = C, or ``group``) + BN + sign, a binary pointwise 1x1 conv + BN
    (+ sign except after the last block); then a global average pool of the last BN (a real-valued stream) and
    a Gemm (or, with ``classes_from_stream=False``, flatten of the signs and a binary Gemm: a chain)."""
    b = _B(seed)
    G = C if group is None else group
    s = b.node("Conv", ["input", b.const(b.rng.normal(0, 0.5, (C, 1, 3, 3)), "stem_w")], "stem",
               kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    s = b.sign(b.bn(s, C), C)
    for i in range(blocks):
        alpha = b.rng.uniform(0.5, 1.5, C)
        W = np.where(b.rng.random((C, C // G, 3, 3)) < 0.5, -1.0, 1.0) * alpha[:, None, None, None]
        d = b.node("Conv", [s, b.const(W, "dw_w")], "dwconv", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=G)
        s = b.sign(b.bn(d, C), C)
        p = b.bn(b.node("Conv", [s, b.const(np.where(b.rng.random((C, C, 1, 1)) < 0.5, -1.0, 1.0), "pw_w")], "pwconv",
                        kernel_shape=[1, 1]), C)
        s = p if (i == blocks - 1 and classes_from_stream) else b.sign(p, C)
    if classes_from_stream:
        f = b.node("Flatten", [b.node("GlobalAveragePool", [s], "gap")], "flatten", axis=1)
        w = b.rng.normal(0, 1.0, (classes, C))
    else:
        f = b.node("Flatten", [s], "flatten", axis=1)
        w = np.where(b.rng.random((classes, C * H * H)) < 0.5, -1.0, 1.0)
    b.node("Gemm", [f, b.const(w, "fc_w"), b.const(b.rng.normal(0, 0.1, classes), "fc_b")], "fc", transB=1)
    b.nodes[-1].output[0] = "output"
    graph = helper.make_graph(b.nodes, "dscnn", [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, H, H])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", classes])], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tests/resnets.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
