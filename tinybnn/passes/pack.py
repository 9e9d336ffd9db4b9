"""Pass 5: bit-pack binary weights into 32-bit words along the input-channel axis.

Conv weights OHWI (O, KH, KW, C) become (O, KH, KW, words(C)); dense weights (O, P, C) — P input pixels
of C channels, so that a flattened (H, W, C) activation packed per pixel needs no repacking — become
(O, P, words(C)). An int8-input layer with +-1 weights also gets its weight bits packed along the whole
(kh, kw, c) tap axis: (O, words(KH*KW*C)); its int8 weights stay for layers whose weights are int8.
"""

from __future__ import annotations

from ..ir.bits import pack_pm1
from ..ir.graph import Graph
from ..ir.layers import DENSE, LINEAR_OPS


def pack_weights(g: Graph) -> Graph:
    for n in g.nodes:
        if n.op not in LINEAR_OPS:
            continue
        w = n.attrs["weights"]
        if n.op == DENSE:
            P, C = n.attrs["in_shape"]
            w = w.reshape(w.shape[0], P, C)
            n.attrs["weights"] = w
        if n.attrs["in_dtype"] == "bits":
            n.attrs["packed"] = pack_pm1(w)
        elif n.attrs.get("weight_kind") == "binary":
            n.attrs["packed"] = pack_pm1(w.reshape(w.shape[0], -1))
    return g
