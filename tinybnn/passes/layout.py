"""Pass 2: absorb activation Transposes (tf2onnx's NHWC <-> NCHW pairs around every convolution).

Each Transpose is sunk forward through elementwise ops (their constants are transposed to match) until
it meets another Transpose (the two compose, and vanish when they cancel), a flatten (which then records
the element order it flattens in), or the graph output. A Transpose right after the graph input becomes
the input's layout permutation, applied on the host. Any Transpose left in front of a layer is refused.
"""

from __future__ import annotations

import numpy as np

from ..ir.graph import Graph, Node

# ops through which a Transpose can move: one activation input, elementwise, constants broadcast
ELEMENTWISE = {"Sign", "Add", "Sub", "Mul", "Div", "GreaterOrEqual", "Greater", "Where", "Cast", "CastLike",
               "Identity", "Dropout", "Clip", "Relu", "Neg", "BipolarQuant", "Quant", "IntQuant", "Pad"}


def _inverse(perm):
    inv = [0] * len(perm)
    for i, p in enumerate(perm):
        inv[p] = i
    return inv


def _transpose_const(c: np.ndarray, perm, rank) -> np.ndarray:
    c = np.asarray(c)
    if c.ndim == 0:
        return c
    c = c.reshape((1,) * (rank - c.ndim) + c.shape)
    return np.transpose(c, _inverse(perm))


def _sink_once(g: Graph) -> bool:
    for t in [n for n in g.nodes if n.op == "Transpose"]:
        x = t.inputs[0]
        perm = list(t.attrs.get("perm", list(range(len(g.shapes[x])))[::-1]))
        rank = len(perm)
        if perm == list(range(rank)):
            g.remove(t)
            return True
        cons = g.consumers(t.output)
        if x == g.input and len(g.consumers(x)) == 1:
            # host applies the permutation before quantizing the input
            g.meta["input_perm"] = _compose(g.meta.get("input_perm"), perm)
            new_shape = g.shapes[t.output]
            g.nodes.remove(t)
            g.rename(t.output, x)
            g.shapes[x] = new_shape
            return True
        if len(cons) != 1:
            continue
        e = cons[0]
        if e.op == "Transpose":
            q = [perm[i] for i in e.attrs.get("perm")]
            e.inputs[0] = x
            e.attrs["perm"] = q
            g.nodes.remove(t)
            return True
        if e.op in ("Flatten", "Reshape") and len(g.shapes[t.output]) == 4:
            e.attrs["flatten_perm"] = _compose(e.attrs.get("flatten_perm"), perm)
            e.inputs[0] = x
            g.nodes.remove(t)
            return True
        if e.op in ELEMENTWISE and len(g.act_inputs(e)) == 1:
            # rewrite  x -T-> y -E-> z   as   x -E'-> z' -T-> z
            for i, name in enumerate(e.inputs):
                if name == t.output:
                    e.inputs[i] = x
                elif name in g.consts and e.op != "Pad" and g.consts[name].ndim > 0:
                    new = g.fresh(name + "_nchw")
                    g.consts[new] = _transpose_const(g.consts[name], perm, rank)
                    e.inputs[i] = new
            if e.op == "Pad":
                _permute_pads(g, e, perm)
            z = e.output
            zp = g.fresh(z + "_pre")
            e.outputs = [zp]
            prev = g.meta.setdefault("aliases", {}).get(z)
            g.meta["aliases"][zp] = (z, perm) if prev is None else (prev[0], _compose(perm, prev[1]))
            g.shapes[zp] = g.shapes[x] if e.op != "Pad" else _pad_shape(g, e, g.shapes[x])
            t.inputs = [zp]
            t.outputs = [z]
            g.nodes.remove(t)
            g.nodes.insert(g.nodes.index(e) + 1, t)
            return True
    return False


def _pad_shape(g, e, shape):
    pads = _pads_of(g, e)
    r = len(shape)
    return tuple(shape[i] + pads[i] + pads[i + r] for i in range(r))


def _pads_of(g, e):
    if "pads" in e.attrs:
        return [int(v) for v in e.attrs["pads"]]
    return [int(v) for v in g.consts[e.inputs[1]]]


def _permute_pads(g, e, perm):
    pads = _pads_of(g, e)
    r = len(perm)
    inv = _inverse(perm)
    begin = [pads[inv[i]] for i in range(r)]
    end = [pads[r + inv[i]] for i in range(r)]
    new = begin + end
    if "pads" in e.attrs:
        e.attrs["pads"] = new
    else:
        name = g.fresh(e.inputs[1] + "_nchw")
        g.consts[name] = np.asarray(new, dtype=np.int64)
        e.inputs[1] = name


def _compose(first, second):
    """Permutation of applying ``first`` then ``second`` (both as numpy.transpose perms)."""
    if first is None:
        return list(second)
    return [first[i] for i in second]


def _reshape_as_transpose(g: Graph) -> None:
    """A 4-D -> 4-D Reshape that only moves size-1 axes (tf2onnx writes NHWC->NCHW that way when C == 1)
    is a Transpose."""
    for n in [n for n in g.nodes if n.op == "Reshape"]:
        src, dst = g.shapes.get(n.inputs[0]), g.shapes.get(n.output)
        if src is None or dst is None or len(src) != 4 or len(dst) != 4 or tuple(src) == tuple(dst):
            continue
        big_src = [i for i in range(4) if src[i] != 1]
        if [src[i] for i in big_src] != [d for d in dst if d != 1] or 0 in big_src:
            continue
        ones = [i for i in range(4) if src[i] == 1 and i != 0]
        perm, bi, oi = [], 0, 0
        for d in dst:
            if len(perm) == 0:
                perm.append(0)
                if 0 in big_src:
                    bi += 1
                continue
            if d != 1:
                perm.append(big_src[bi])
                bi += 1
            else:
                perm.append(ones[oi])
                oi += 1
        n.op = "Transpose"
        n.attrs = {"perm": perm, "onnx_op": "Reshape"}
        n.inputs = n.inputs[:1]


def absorb_transposes(g: Graph) -> Graph:
    _reshape_as_transpose(g)
    while _sink_once(g):
        pass
    # a Transpose left before the output is applied on the host to the output
    for t in [n for n in g.nodes if n.op == "Transpose"]:
        if t.output == g.output:
            g.meta["output_perm"] = _compose(g.meta.get("output_perm"), list(t.attrs["perm"]))
            g.output = t.inputs[0]
            g.nodes.remove(t)
    return g


__all__ = ["absorb_transposes", "Node"]
