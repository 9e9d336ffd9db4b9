"""Pass 4: lower the canonical float graph to tinybnn's exact integer layers.

Conventions (the same as Larq Compute Engine and BipolarQuant):

* a binary value is stored as a bit: **bit 0 = +1, bit 1 = -1**; an exact 0 fed to a binarizer becomes +1;
* a binary layer's accumulator is the exact dot product ``dot = K - 2 * popcount(a XOR w)`` over the
  valid taps (zero-padded taps contribute 0, so K counts valid taps only);
* an int8-input layer (the first layer) accumulates ``acc = sum(w * (q - zero_point))`` in int32, with
  +-1, int8 or int16 weights: a float first layer keeps int8 weights where their worst-case rounding
  error cannot flip a binarizer decision on the calibration data, int16 otherwise (:func:`first_layer_weights`);
* every Affine (BatchNorm, scale, bias, alpha) between an accumulator and its binarizer collapses into ONE
  integer threshold per output channel: ``bit = (a' < threshold)`` where ``a' = acc`` or, for a channel
  whose composed scale is negative, ``a' = ~acc = -acc - 1`` (the ``flip`` flag). A MaxPool inside that
  chain moves after the threshold (sign commutes with max) and becomes a bit AND (max of +-1), or a bit
  OR for channels whose scale after the pool is negative (max then becomes min).

Each threshold is checked against the float expression (the chain of ops of the original graph, one by
one, in float64) at every reachable accumulator value: the integer decision equals the float decision.

Lowered ops (node.op) and their attrs are documented in :mod:`tinybnn.ir.layers`.
"""

from __future__ import annotations

import copy

import numpy as np

from ..errors import TinyBnnError, node_error
from ..ir.graph import Graph, Node
from ..ir.prologue import prologue_ops
from ..ir.layers import (ADD, AVGPOOL, BINARIZE, CONCAT, CONV2D, DENSE, INPUT_QUANT, MAXPOOL, OUTPUT, PRELU,
                         conv_out_size)
from ..ir.requant import RequantRangeError, affine_constants, offset_at, shared_shift_constants

INT8_MIN, INT8_MAX = -128, 127
JOINS = ("Concat", "Sum")  # ops that read several activations: a path stops before them
STREAM_SOURCES = ("AvgPool", "PRelu")  # ops that read a real-valued tensor: a linear chain ends before them
EXHAUSTIVE_LIMIT = 1 << 22  # evaluate every reachable value when (channels x range) is at most this


# ------------------------------------------------------------------------------------------------
class _Act:
    """What flows between layers while lowering."""

    def __init__(self, kind, shape, scale=1.0, zero_point=0, flat=None):
        self.kind = kind            # "float" (before quantization) | "int8" | "bits"
        self.shape = shape          # canonical shape without batch: (C, H, W) or (F,)
        self.scale = scale          # real value = scale * (stored value - zero_point); scalar
        self.zero_point = zero_point
        self.flat = flat            # (C, H, W, perm) when a Flatten turned (C,H,W) into (F,)
        self.channel_scale = None   # per-input-channel real scale to fold into first-layer weights
        self.stream = False         # an int8 real-valued stream between layers (not the model input)


class _Chain:
    """The per-channel ops after a linear op, as :meth:`Lowering._chain_after` found them."""

    def __init__(self):
        self.pools = []        # (MaxPool node, index into the steps where it sits)
        self.zero = None       # the binarizer's convention at 0 ("0", "+1", "-1"); None at the model's end
        self.sign_ref = None   # the ONNX tensor equal to the binarized output, if any
        self.flatten = None    # (perm,) when a Flatten sits between the BatchNorm and the binarizer
        self.end = False       # no binarizer: the model's output layer
        self.stream = False    # no binarizer: a real-valued (int8) stream, read by a residual add, a pool, ...


def _flatten_index(chw, perm):
    """For a canonical (C,H,W) tensor flattened in ``perm`` order, the flat index of each (h, w, c)."""
    C, H, W = chw
    p = list(perm) if perm else [0, 1, 2, 3]
    if p[0] != 0:
        raise TinyBnnError(f"flatten permutation {p} moves the batch axis")
    p3 = [v - 1 for v in p[1:]]
    shape_t = tuple((C, H, W)[i] for i in p3)
    idx_t = np.arange(C * H * W).reshape(shape_t)
    inv = np.argsort(p3)
    idx_chw = np.transpose(idx_t, inv)
    return idx_chw.transpose(1, 2, 0).reshape(-1)  # device order h, w, c


def _binary_decompose(node, W2d, what):
    """W (O, K) == alpha[o] * B with B in {-1,+1}? Returns (B int8, alpha) or None."""
    a = np.abs(W2d)
    alpha = a.max(axis=1)
    ok = np.all(np.abs(a - alpha[:, None]) <= 1e-6 * alpha[:, None], axis=1) & (alpha > 0)
    if not np.all(ok):
        return None, int(np.argmin(ok))
    return np.where(W2d >= 0, 1, -1).astype(np.int8), alpha.astype(np.float64)


def _int8_weights(W2d):
    m = np.abs(W2d).max(axis=1)
    s = np.where(m > 0, m / 127.0, 1.0)
    q = np.clip(np.round(W2d / s[:, None]), -127, 127).astype(np.int8)
    exact = bool(np.all(q * s[:, None] == W2d))
    return q, s, exact


def _intn_weights(W2d, qmax):
    """Per-output-channel symmetric quantization to integer codes in [-qmax, qmax] (int16 storage)."""
    m = np.abs(W2d).max(axis=1)
    s = np.where(m > 0, m / float(qmax), 1.0)
    q = np.clip(np.round(W2d / s[:, None]), -qmax, qmax).astype(np.int16)
    return q, s


INT16_MAX = 32767
ACC_LIMIT = (1 << 31) - 1
CALIB_CHUNK = 1 << 22  # im2col elements per chunk of calibration data


def _possible_flips(cols_iter, W2d, Wq, first_scale, after, zero):
    """Decisions of the float first layer that the weight rounding W2d -> Wq could flip, on the data.

    cols_iter yields im2col blocks (R, K) of the input in code units (q - zero_point). For every position the
    float pre-activation z = cols . W (in accumulator units of a unit-scale weight) moves by at most
    e = |cols| . |W - Wq| (the worst case of the rounding error); the decision can flip iff the float chain
    (scale, then the BatchNorm/bias steps, then the sign) decides differently at z - e and z + e (the chain is
    monotone). Returns (positions that could flip, positions).
    """
    dW = np.abs(W2d - Wq).T
    WT = W2d.T
    steps = [(first_scale, np.zeros_like(first_scale))] + list(after)
    possible = total = 0
    for cols in cols_iter:
        cols = cols.astype(np.float64)
        z = (cols @ WT).T
        e = (np.abs(cols) @ dW).T
        lo = _decide(_eval_chain(z - e, steps), zero)
        hi = _decide(_eval_chain(z + e, steps), zero)
        possible += int(np.count_nonzero(lo != hi))
        total += z.size
    return possible, total


def float_decisions(attrs, u, batch=256):
    """The float first layer's binarizer decisions (True = +1) for inputs u in code units (N, ...) (float64,
    the value minus the zero point, not necessarily on the grid): float weights, float64 chain. (O, rows)."""
    from ..ir.golden import columns

    W = attrs["float_weights"]
    O = W.shape[0]
    steps = [(np.full(O, attrs["input_scale"]), np.zeros(O))] + list(attrs["float_steps"][1:])
    out = [_decide(_eval_chain((columns(u[i:i + batch], attrs).astype(np.float64) @ W.T).T, steps), attrs["zero"])
           for i in range(0, len(u), batch)]
    return np.concatenate(out, axis=1)


def first_layer_weights(node, W2d, steps_after, zero, input_scale, xmax, K, cols_fn):
    """Weights of a float first layer (int8 input, non-binary weights) at the precision its decisions need.

    int8 (per output channel) when the rounding is exact or when its worst-case error cannot flip one
    binarizer decision on the calibration data (``cols_fn()`` yields its im2col blocks); int16 otherwise, with
    the code range cut so that ``K * max|w| * max|x - zp|`` fits int32. Without calibration data (``cols_fn``
    None) the weights stay int8, with a note. Returns (codes int8/int16 (O, K), per-channel scale,
    weight_kind, note or None). Deterministic.
    """
    q8, s8, exact = _int8_weights(W2d)
    kind8 = "int8" + ("" if exact else " (quantized per output channel)")
    if exact or zero is None:
        return q8, s8, kind8, None
    if cols_fn is None:
        return q8, s8, kind8, (f"layer '{node.name}': int8 weights, not checked against calibration data; give "
                               "--calibration FILE.npz to keep int16 weights where int8 rounding could flip "
                               "an activation")
    first = np.full(W2d.shape[0], float(input_scale))
    possible, total = _possible_flips(cols_fn(), W2d, q8 * s8[:, None], first, steps_after, zero)
    if possible == 0:
        return q8, s8, kind8, None
    why = f"int8 rounding could flip {possible:,} of {total:,} binarizer decisions on the calibration data"
    qmax = min(INT16_MAX, ACC_LIMIT // max(1, K * int(xmax)))
    if qmax < 127:
        raise node_error(node, f"its int32 accumulator could overflow: K={K} taps x 127 x {xmax} >= 2^31",
                         "first layers with K * max|w| * max|x - zero point| < 2^31")
    q, s = _intn_weights(W2d, qmax)
    kind = "int16 (quantized per output channel" + ("" if qmax == INT16_MAX else f", |w| <= {qmax}") + ")"
    possible, _ = _possible_flips(cols_fn(), W2d, q * s[:, None], first, steps_after, zero)
    why += f"; int16: {possible:,}"
    return q, s, kind, f"layer '{node.name}': int16 weights ({why})"


def _eval_chain(acc, steps):
    """The float expression: acc (int) through each (scale, bias) step, in float64, op by op."""
    y = acc.astype(np.float64)
    for sc, b in steps:
        y = y * sc[:, None] + b[:, None]
    return y


def _decide(y, zero):
    return y > 0 if zero == "-1" else y >= 0


def thresholds(steps, lo, hi, zero, channels):
    """Integer thresholds for ``sign(chain(acc))`` with acc in [lo, hi] per channel.

    Returns (tau int64 (C,), flip bool (C,), zero_hits list of channels where the float value is exactly 0
    at some reachable accumulator). Exact by construction: a binary search on the monotone float chain.
    """
    lo = np.broadcast_to(np.asarray(lo, np.int64), (channels,)).copy()
    hi = np.broadcast_to(np.asarray(hi, np.int64), (channels,)).copy()
    S = np.ones(channels)
    for sc, _ in steps:
        S = S * sc
    flip = S < 0
    # decision(acc) is monotone: non-decreasing if S > 0, non-increasing if S < 0, constant if S == 0
    # find, per channel, the first acc (in the increasing direction of +1) where the decision is +1
    def dec(a):
        return _decide(_eval_chain(a[:, None], steps)[:, 0], zero)

    # for flipped channels search on a' = ~acc, i.e. acc = ~a'
    lo2 = np.where(flip, ~hi, lo)
    hi2 = np.where(flip, ~lo, hi)
    left, right = lo2.copy(), hi2 + 1  # answer in [left, right]; right = "never"
    while np.any(left < right):
        mid = (left + right) // 2
        acc = np.where(flip, ~mid, mid)
        d = dec(acc)
        right = np.where((left < right) & d, mid, right)
        left = np.where((left < right) & ~d, mid + 1, left)
    tau = left
    return tau, flip, lo, hi


def verify_thresholds(steps, tau, flip, lo, hi, zero, node):
    """Check the integer rule against the float expression on every reachable accumulator value.

    Exhaustive when channels x range is small (binary layers always are). Otherwise the float chain is
    monotone (each step multiplies by a constant and adds one, both monotone in IEEE arithmetic), so the
    decision flips at most once and checking the neighbourhood of each threshold plus both ends is
    equivalent; that is what is done.
    """
    C = len(tau)
    width = int((hi - lo).max()) + 1
    zero_hits = []
    if C * width <= EXHAUSTIVE_LIMIT:
        acc = lo[:, None] + np.arange(width)[None, :]
        valid = acc <= hi[:, None]
    else:
        base = np.where(flip, ~tau, tau)
        offs = np.arange(-64, 65)
        acc = np.clip(base[:, None] + offs[None, :], lo[:, None], hi[:, None])
        acc = np.concatenate([acc, lo[:, None], hi[:, None]], axis=1)
        valid = np.ones_like(acc, dtype=bool)
    y = _eval_chain(acc, steps)
    fdec = _decide(y, zero)
    a2 = np.where(flip[:, None], ~acc, acc)
    idec = ~(a2 < tau[:, None])
    bad = (fdec != idec) & valid
    if np.any(bad):
        c = int(np.argwhere(bad)[0][0])
        raise node_error(node, f"internal error: threshold of channel {c} disagrees with the float expression")
    if zero == "0":
        zero_hits = sorted(set(np.argwhere((y == 0) & valid)[:, 0].tolist()))
    return zero_hits


# ------------------------------------------------------------------------------------------------
class Lowering:
    """Walks the float graph path by path and emits the lowered nodes, wired as they are emitted.

    A path follows the readers of one tensor (``cur``, whose lowered value is the IR tensor ``ir``); it ends
    where the graph ends, branches (a tensor with several readers) or joins (a Concat). A branch of binary
    activations continues once per reader; a Concat is emitted when all its inputs are lowered.
    """

    def __init__(self, g: Graph, input_quant: dict | None, calibration=None, stream_bits: int = 8):
        self.g = g
        self.cur = g.input      # the float graph's tensor the current path has reached
        self.ir = g.input       # the lowered tensor holding its value
        self.forced = None      # the reader a branch's path takes first
        self.out: list[Node] = []
        self.input_quant = input_quant or {}
        self.calibration = calibration  # float samples (N, ...) in the ONNX input layout, or None
        self.notes: list[str] = []
        self._ranges = None     # per-tensor (min, max) of the float graph on the calibration data
        self.uncalibrated: list[str] = []  # stream tensors quantized without data (placeholders)
        self.stream_bits = stream_bits  # 8 or 16: the width of every real-valued stream tensor
        self.stream_range = (-(1 << (stream_bits - 1)), (1 << (stream_bits - 1)) - 1)

    def peek(self):
        """The next node on the path, or None where the path ends, branches or reaches a Concat."""
        if self.forced is not None:
            return self.forced
        readers = self.g.consumers(self.cur)
        if len(readers) != 1 or readers[0].op in JOINS:
            return None
        return readers[0]

    def take(self):
        n = self.peek()
        self.forced = None
        self.cur = n.output
        return n

    def emit(self, node: Node, inputs: list[str] | None = None) -> None:
        """Append a lowered node reading ``inputs`` (default: the path's current value); it becomes the
        path's current value."""
        k = len(self.out)
        node.inputs = list(inputs) if inputs is not None else [self.ir]
        node.outputs = ["output"] if node.op == OUTPUT else [f"t{k}_{node.name}"]
        self.out.append(node)
        self.ir = node.outputs[0]

    def at_end(self) -> bool:
        return self.forced is None and self.cur == self.g.output

    # -- input --------------------------------------------------------------------------------
    def prologue(self) -> _Act:
        g = self.g
        pre = []
        while self.peek() is not None and self.peek().op in ("Affine", "Flatten"):
            pre += prologue_ops([self.take()])
        n = self.peek()
        shape = tuple(g.shapes[n.inputs[0]][1:]) if n is not None else tuple(g.shapes[g.input][1:])
        iq = Node(INPUT_QUANT, "input", [g.input], ["input_q"], {
            "onnx_shape": tuple(g.meta["onnx_input_shape"][1:]), "perm": g.meta.get("input_perm"),
            "pre": pre, "canonical_shape": shape})
        act = _Act("int8", shape)
        if n is not None and n.op == "Quant":
            self.take()
            a = n.attrs
            from ..ir.quant import int_range

            qmin, qmax = int_range(a["bitwidth"], a["signed"], a["narrow"])
            if a["bitwidth"] > 8:
                raise node_error(n, f"{a['bitwidth']}-bit input quantization does not fit the int8 first layer",
                                 "input quantizers of 2 to 8 bits")
            zp = np.unique(a["zero_point"])
            sc = np.asarray(a["scale"], np.float64)
            if zp.size != 1 or zp[0] != np.round(zp[0]):
                raise node_error(n, f"zero point {a['zero_point'].tolist()} is not one integer",
                                 "a single integer zero point")
            offset = 0 if (qmin >= INT8_MIN and qmax <= INT8_MAX) else qmin - INT8_MIN
            iq.attrs.update(mode="quant", qmin=qmin, qmax=qmax, rounding=a["rounding"], quant_scale=sc,
                            quant_bitwidth=a["bitwidth"], quant_signed=a["signed"], quant_narrow=a["narrow"],
                            quant_zero_point=float(zp[0]), offset=int(offset))
            act.zero_point = int(zp[0]) - offset
            if sc.size == 1:
                act.scale = float(sc.reshape(-1)[0])
            else:
                cs = _channel_vec(n, sc, shape[0])
                act.scale, act.channel_scale = 1.0, cs
        elif n is not None and n.op == "Sign":
            self.take()
            iq.attrs.update(mode="sign", zero=n.attrs["zero"])
            act.zero_point = 0
        else:
            iq.attrs.update(mode="calibrated")
            s = self.input_quant.get("scale")
            zp = self.input_quant.get("zero_point")
            iq.attrs.update(calib_scale=s, calib_zero_point=zp)
            act.scale = float(s) if s is not None else 1.0
            act.zero_point = int(zp) if zp is not None else 0
            if s is None:
                self.notes.append("input quantization needs calibration data or --input-scale/--input-zero-point")
        iq.attrs["scale"] = act.scale
        iq.attrs["zero_point"] = act.zero_point
        self.emit(iq)
        return act

    # -- between layers --------------------------------------------------------------------------
    def between(self, act: _Act):
        """Scalar scales, bit max-pools and flattens between a binarizer and the next linear op."""
        pools = []
        while True:
            n = self.peek()
            if n is None or n.op in ("Conv", "Dense"):
                return pools
            if act.stream and n.op in ("Affine", "PRelu", "Sign", "AvgPool", "MaxPool"):
                self._stream_op(act)
                continue
            self.take()
            if n.op == "Affine":
                sc, b = n.attrs["scale"], n.attrs["bias"]
                if np.any(b != 0) or np.any(sc != sc[0]):
                    raise node_error(n, f"applies a per-channel scale or a bias to {act.kind} activations, "
                                     "which a binary/integer layer cannot absorb exactly",
                                     "a single positive or negative scale between a binarizer and a layer")
                act.scale *= float(sc[0])
            elif n.op == "MaxPool":
                if act.kind != "bits" or act.flat is not None:
                    raise node_error(n, "max-pools a non-binary or flattened tensor here",
                                     "MaxPool on binary activations or inside a layer's BatchNorm chain")
                node = self._pool_node(n, act, or_all=act.scale < 0)
                node.attrs["onnx_ref"] = self._onnx_ref(n.output)
                pools.append(node)
            elif n.op == "Flatten":
                if len(act.shape) == 3:
                    act.flat = (act.shape, n.attrs.get("perm"))
                    act.shape = (int(np.prod(act.shape)),)
            elif n.op == "Sign" and act.kind == "bits":
                pass  # sign of +-scale values is the same binary tensor
            else:
                raise node_error(n, f"cannot follow a {act.kind} activation here",
                                 "Conv/Gemm after a binarizer (with MaxPool, Flatten or a scale between)")

    def _pool_node(self, n, act, or_all=False, or_mask=None):
        C, H, W = act.shape
        k, s, p = n.attrs["kernel"], n.attrs["strides"], n.attrs["pads"]
        oh = conv_out_size(H, k[0], s[0], p[0], p[2])
        ow = conv_out_size(W, k[1], s[1], p[1], p[3])
        mask = np.full(C, bool(or_all)) if or_mask is None else or_mask
        node = Node(MAXPOOL, n.name, [], [], {
            "in_shape": (H, W, C), "out_shape": (oh, ow, C), "kernel": tuple(k), "stride": tuple(s),
            "pads": tuple(p), "or_mask": mask})
        act.shape = (C, oh, ow)
        return node

    # -- a linear layer and the per-channel chain after it --------------------------------------
    def layer(self, act: _Act, lin: Node):
        """Lower ``lin`` (Conv or Dense) and the per-channel chain after it up to its binarizer: a layer with
        thresholds (bits out) and the max-pools inside its chain, or, at the end of the model, the int32
        output layer and the host-side output affine. Returns the binary activation it produces (None at the
        end)."""
        is_conv = lin.op == "Conv"
        Wd_dev, W2 = self._device_weights(act, lin, is_conv)
        O = W2.shape[0]
        B, alpha = _binary_decompose(lin, W2, "weights")
        wnote = "binary"
        if B is None:
            if act.kind == "bits":
                vals = np.unique(W2[alpha])[:4]
                raise node_error(lin, f"binary activations feed non-binary weights (output channel {alpha} has "
                                 f"values like {', '.join(f'{v:.4g}' for v in vals)})",
                                 "weights of +-alpha per tensor or per output channel after a binarizer")
            alpha, wnote = np.ones(O), None  # decided below, once the chain after it is known
        steps = [(np.full(O, act.scale) * alpha, np.zeros(O))]
        chain = self._chain_after(lin, O, is_conv, steps)
        grouped = int(lin.attrs.get("group", 1)) > 1
        if grouped and act.channel_scale is not None:
            raise node_error(lin, "is a grouped convolution on an input with per-channel quantization scales",
                             "grouped convolutions after the first layer, or a per-tensor input scale")
        attrs, K = self._geometry(act, lin, W2, is_conv, wnote)
        if grouped and act.kind == "int8" and wnote == "binary":  # the grouped int8 kernels take int8 weights
            wnote = attrs["weight_kind"] = "int8 (+-1 values, grouped)"
        if act.stream:
            attrs["in_bits"] = self.stream_bits
        if B is None and (act.stream or grouped):  # full precision on a stream, or grouped: int8 per channel
            lo_c, hi_c = self.stream_range if act.stream else _input_code_range(self.out[0].attrs)
            xmax = max(abs(lo_c - act.zero_point), abs(hi_c - act.zero_point))
            qmax = min(127, ACC_LIMIT // max(1, K * xmax))  # the int32 accumulator bounds the weights' range
            if qmax < 15:
                raise node_error(lin, f"its int32 accumulator could overflow: K={K} taps x {xmax} on a "
                                 f"{self.stream_bits}-bit stream leave fewer than 4 bits for the weights",
                                 "full-precision layers on a stream with K * max|x - zero point| * 15 < 2^31 "
                                 "(try --stream-bits 8)")
            B, alpha = _intn_weights(W2, qmax)
            B = B.astype(np.int8)
            wnote = attrs["weight_kind"] = ("int8 (quantized per output channel" +
                                            ("" if qmax == 127 else f", |w| <= {qmax}") + ")")
            steps[0] = (np.full(O, act.scale) * alpha, np.zeros(O))
        elif B is None:  # a float first layer: weights at the precision its decisions need
            qlo, qhi = _input_code_range(self.out[0].attrs)
            xmax = max(abs(qlo - act.zero_point), abs(qhi - act.zero_point))
            B, alpha, wnote, note = first_layer_weights(
                lin, W2, None if chain.end else steps[1:], chain.zero, act.scale, xmax, K,
                self._calibration_columns(attrs))
            if chain.stream and self.stream_bits == 16:  # a stem writing an int16 stream: int16 weights
                qmax = min(INT16_MAX, ACC_LIMIT // max(1, K * int(xmax)))
                if qmax >= 127:
                    B, alpha = _intn_weights(W2, qmax)
                    wnote = "int16 (quantized per output channel" + ("" if qmax == INT16_MAX else f", |w| <= {qmax}") + ")"
            attrs["weight_kind"] = wnote
            steps[0] = (np.full(O, act.scale) * alpha, np.zeros(O))
            if note:
                self.notes.append(note)
        wq = B.reshape(Wd_dev.shape)
        attrs["weights"] = wq
        if act.kind == "int8" and not act.stream and not grouped:  # what `tinybnn check` compares the first layer with
            attrs.update(float_weights=W2, input_scale=float(act.scale))
        lo, hi = self._acc_range(act, wq, K)
        kind = CONV2D if is_conv else DENSE
        if chain.end:
            self._emit_output(lin, kind, attrs, steps, chain, lo, hi)
            return None
        if chain.stream:
            return self._emit_stream(lin, kind, attrs, steps, chain, lo, hi, is_conv)
        return self._emit_binarized(act, lin, kind, attrs, steps, chain, lo, hi, is_conv)

    def _device_weights(self, act: _Act, lin: Node, is_conv: bool):
        """The weights in device order (OHWI for a conv, the flattened input's order for a dense) and as a
        float64 matrix (O, K), a per-channel input scale folded in."""
        W = lin.attrs["W"]
        O = W.shape[0]
        if is_conv:
            if len(act.shape) != 3:
                raise node_error(lin, "convolution of a flattened tensor")
            Wd_dev = W.transpose(0, 2, 3, 1)  # OHWI
        else:
            Wd_dev = W
            if act.flat is not None:
                (C0, H0, W0), perm = act.flat
                Wd_dev = W[:, _flatten_index((C0, H0, W0), perm)]
        W2 = Wd_dev.reshape(O, -1).astype(np.float64)
        if act.channel_scale is not None:  # per-channel input scale folded into first-layer weights
            cs = act.channel_scale
            reps = W2.shape[1] // len(cs)
            W2 = W2 * np.tile(cs, reps)[None, :]
        return Wd_dev, W2

    def _chain_after(self, lin: Node, O: int, is_conv: bool, steps: list) -> "_Chain":
        """Consume the per-channel ops after a linear op up to its binarizer (or the end of the model),
        appending each scale/bias step to ``steps``."""
        chain = _Chain()
        while True:
            n = self.peek()
            if n is None or n.op in STREAM_SOURCES:
                if n is not None or not self.at_end():  # a branch, a join or a pool of real values: a stream
                    chain.stream = True
                    return chain
                chain.end = True
                return chain
            if n.op == "Affine":
                self.take()
                sc = np.asarray(n.attrs["scale"], np.float64).reshape(-1)
                b = np.asarray(n.attrs["bias"], np.float64).reshape(-1)
                if chain.flatten is not None:
                    if not (np.all(sc == sc[0]) and np.all(b == b[0])):
                        raise node_error(n, "applies per-feature constants after a flatten",
                                         "per-channel constants before the flatten")
                    sc, b = np.full(O, sc[0]), np.full(O, b[0])  # per tensor: the same for every channel
                steps.append((sc, b))
            elif n.op == "MaxPool":
                self.take()
                if not is_conv or chain.flatten is not None:
                    raise node_error(n, "max-pools a flattened or dense output")
                chain.pools.append((n, len(steps)))
            elif n.op == "Flatten" and is_conv and chain.flatten is None:
                # flatten between BatchNorm and the binarizer (tf2onnx/Keras order): fine as long as
                # whatever follows is per-tensor
                self.take()
                chain.flatten = (n.attrs.get("perm"),)
            elif n.op == "Sign":
                self.take()
                chain.zero = n.attrs["zero"]
                chain.sign_ref = self._onnx_ref(n.output)
                return chain
            else:
                raise node_error(n, f"follows layer '{lin.name}' without a binarizer in between",
                                 "Conv/Gemm -> BatchNorm/scale/bias/MaxPool -> Sign -> next layer")

    def _geometry(self, act: _Act, lin: Node, W2, is_conv: bool, wnote) -> tuple[dict, int]:
        """The layer's attrs before weights and outputs: shapes, kernel, strides, pads; and K, the length
        of its dot products."""
        W = lin.attrs["W"]
        O = W.shape[0]
        attrs = {"in_dtype": act.kind, "weight_kind": wnote}
        if act.kind == "int8":
            attrs["input_zero_point"] = int(act.zero_point)
        if not is_conv:
            F = W2.shape[1]
            if act.kind == "bits" and act.flat is not None:
                (C0, H0, W0), _ = act.flat
                geom = (H0 * W0, C0)
            else:
                geom = (1, F)
            attrs.update(in_shape=geom, out_shape=(O,))
            return attrs, F
        C, H, Wd = act.shape
        KH, KW = W.shape[2], W.shape[3]
        st, dl, pd = lin.attrs["strides"], lin.attrs["dilations"], lin.attrs["pads"]
        OH = conv_out_size(H, KH, st[0], pd[0], pd[2], dl[0])
        OW = conv_out_size(Wd, KW, st[1], pd[1], pd[3], dl[1])
        pv = lin.attrs["pad_value"]
        if pv == 0.0:
            pad = "zero"
        elif act.kind == "bits" and pv == abs(act.scale):
            pad = "one" if act.scale > 0 else "minus-one"
        elif act.kind == "bits" and pv == -abs(act.scale):
            pad = "minus-one" if act.scale > 0 else "one"
        else:
            raise node_error(lin, f"pads with {pv:g}, which is not a value of its input",
                             "zero padding, or +-1 padding of binary activations")
        G = int(lin.attrs.get("group", 1))
        attrs.update(in_shape=(H, Wd, C), out_shape=(OH, OW, O), kernel=(KH, KW), stride=tuple(st),
                     dilation=tuple(dl), pads=tuple(pd), pad=pad)
        if G > 1:  # grouped / depthwise: output o reads the C/G channels of its group
            attrs["groups"] = G
        return attrs, KH * KW * (C // G)

    def _acc_range(self, act: _Act, wq, K: int):
        """Per output channel, the accumulator's reachable range [lo, hi]."""
        O = wq.shape[0]
        if act.kind == "bits":
            return np.full(O, -K), np.full(O, K)
        qlo, qhi = self.stream_range if act.stream else _input_code_range(self.out[0].attrs)
        vlo, vhi = qlo - act.zero_point, qhi - act.zero_point
        w = wq.reshape(O, -1).astype(np.int64)
        lo = np.minimum(0, np.minimum(w * vlo, w * vhi)).sum(axis=1)
        hi = np.maximum(0, np.maximum(w * vlo, w * vhi)).sum(axis=1)
        return lo, hi

    def _emit_output(self, lin, kind, attrs, steps, chain, lo, hi) -> None:
        """The model's last layer: int32 accumulators, the float steps after it applied on the host."""
        g = self.g
        if chain.pools:
            raise node_error(chain.pools[0][0], "max-pools the model's output", "MaxPool before a binarizer")
        attrs.update(out="int32")
        self.emit(Node(kind, lin.name, [], [], attrs))
        self.emit(Node(OUTPUT, "output", [], [], {
            "steps": steps, "acc_range": (lo, hi), "out_shape": attrs["out_shape"],
            "output_perm": g.meta.get("output_perm"), "onnx_name": g.meta.get("output_name")}))

    def _emit_binarized(self, act, lin, kind, attrs, steps, chain, lo, hi, is_conv) -> _Act:
        """A layer whose chain ends in a binarizer: integer thresholds (proven against the float chain), the
        max-pools of its chain moved after them (AND, or OR where the chain's sign flips); its bits."""
        name = lin.name
        O = attrs["out_shape"][-1]
        tau, flip, lo, hi = thresholds(steps, lo, hi, chain.zero, O)
        zero_hits = verify_thresholds(steps, tau, flip, lo, hi, chain.zero, lin)
        if zero_hits:
            self.notes.append(f"layer '{name}': the float value before Sign is exactly 0 at some accumulator "
                              f"values in {len(zero_hits)} channel(s); torch.sign gives 0 there, tinybnn +1")
        if np.any(np.abs(tau) >= 2**31):
            raise node_error(lin, "a threshold does not fit in int32")
        attrs.update(out="bits", thresholds=tau.astype(np.int32), flip=flip, acc_range=(lo, hi),
                     float_steps=steps, zero=chain.zero)
        if act.kind == "int8" and not act.stream:
            self._input_rounding_note(name, attrs)
        node = Node(kind, name, [], [], attrs)
        self.emit(node)
        new = _Act("bits", (O, attrs["out_shape"][0], attrs["out_shape"][1]) if is_conv else (O,))
        for pool, pos in chain.pools:
            S_after = np.ones(O)
            for sc, _ in steps[pos:]:
                S_after = S_after * sc
            node = self._pool_node(pool, new, or_mask=S_after < 0)
            self.emit(node)
        node.attrs["onnx_ref"] = chain.sign_ref
        if chain.flatten is not None:
            # the pools sit before the flatten (a pool after it is refused above): flatten the pooled map
            new.flat = (new.shape, chain.flatten[0])
            node.attrs["onnx_ref_flat"] = (new.shape, chain.flatten[0])
            new.shape = (int(np.prod(new.shape)),)  # the float model's binarized tensor that this output equals
        return new

    def _input_rounding_note(self, name, attrs):
        """A calibrated int8 input: how many first-layer decisions its rounding flips on the calibration data
        (float layer on the float input vs on the int8 input), as a note when any do."""
        iq = self.out[0].attrs
        if self.calibration is None or iq["mode"] != "calibrated" or iq.get("calib_scale") is None or \
                "groups" in attrs:
            return
        from ..ir.golden import input_units, quantize_input

        u = input_units(iq, self.calibration)
        q = quantize_input(iq, self.calibration).astype(np.float64) - iq["zero_point"]
        if np.array_equal(u, q):
            return
        d = float_decisions(attrs, u) != float_decisions(attrs, q)
        if np.any(d):
            self.notes.append(f"layer '{name}': the int8 input rounding flips {int(d.sum()):,} of {d.size:,} of its "
                              "activations on the calibration data (int16 input is not supported yet)")

    def _calibration_columns(self, attrs):
        """A function yielding the first layer's im2col blocks of the calibration data (input codes minus the
        zero point), or None without calibration data."""
        iq = self.out[0].attrs
        if self.calibration is None:
            return None
        from ..ir.golden import int_columns, quantize_input

        q = quantize_input(iq, self.calibration)
        zp = int(iq["zero_point"])
        K = int(np.prod(attrs["kernel"])) * int(attrs["in_shape"][-1]) if "kernel" in attrs else int(q[0].size)
        rows = int(np.prod(attrs["out_shape"][:-1])) if "kernel" in attrs else 1
        batch = max(1, CALIB_CHUNK // max(1, rows * K))

        def gen():
            for i in range(0, len(q), batch):
                yield int_columns(q[i:i + batch], zp, attrs)
        return gen

    def _onnx_ref(self, tensor):
        """The ONNX tensor (name, perm or None) holding the same values as IR tensor ``tensor``, if any."""
        g = self.g
        seen = 0
        while seen < 8:
            if tensor in g.meta.get("aliases", {}):
                return g.meta["aliases"][tensor]
            if tensor in g.meta.get("onnx_tensors", ()):
                return (tensor, None)
            nxt = [n for n in g.consumers(tensor) if n.op == "Affine"]
            if len(nxt) != 1:
                return None
            tensor = nxt[0].output
            seen += 1
        return None

    # -- real-valued (int8) streams -------------------------------------------------------------
    def _stream_quant(self, tensor: str, node: Node) -> tuple[float, int]:
        """The per-tensor int8 quantization (scale, zero point) of a real-valued tensor of the float graph,
        from its range on the calibration data (always containing 0, as the input's)."""
        readers = self.g.consumers(tensor)
        if len(readers) == 1 and readers[0].op == "Concat":  # the parts of a concat share its quantization
            tensor = readers[0].output
        if self.calibration is None:  # lowered with a placeholder; the model cannot run until calibrated
            self.uncalibrated.append(tensor)
            return 1.0, 0
        if self._ranges is None:
            from ..ir.floatref import tensor_ranges

            x = np.asarray(self.calibration, np.float64)
            perm = self.g.meta.get("input_perm")
            if perm is not None:
                x = np.transpose(x, perm)
            wanted = [n.output for n in self.g.nodes]
            self._ranges = tensor_ranges(self.g, x, wanted)
        lo, hi = self._ranges[tensor]
        lo, hi = min(0.0, lo), max(0.0, hi)
        slo, shi = self.stream_range
        scale = (hi - lo) / (shi - slo) if hi > lo else 1.0
        zp = int(np.clip(np.round(slo - lo / scale), slo, shi))
        return scale, zp

    def _stream_act(self, shape, scale, zp) -> _Act:
        act = _Act("int8", tuple(shape), scale=scale, zero_point=zp)
        act.stream = True
        return act

    def _emit_stream(self, lin, kind, attrs, steps, chain, lo, hi, is_conv) -> _Act:
        """A layer whose chain ends without a binarizer inside the network: its per-channel affine (scale,
        BatchNorm, bias) and the stream's quantization become one requantization per channel; int8 out."""
        if chain.pools or chain.flatten is not None:
            raise node_error(chain.pools[0][0] if chain.pools else lin, "max-pools or flattens a real-valued "
                             "layer output", "MaxPool/Flatten between a layer and its binarizer")
        O = attrs["out_shape"][-1]
        A, B = np.ones(O), np.zeros(O)
        for sc, b in steps:
            A, B = A * sc, B * sc + b
        s, zp = self._stream_quant(self.cur, lin)
        vmax = np.maximum(np.abs(lo), np.abs(hi))
        attrs.update(out="int8", bits=self.stream_bits, requant=affine_constants(A / s, B / s + zp, vmax), out_scale=s,
                     out_zero_point=zp, acc_range=(lo, hi), float_steps=steps,
                     onnx_ref=self._onnx_ref(self.cur))
        self.emit(Node(kind, lin.name, [], [], attrs))
        oh, ow = (attrs["out_shape"][0], attrs["out_shape"][1]) if is_conv else (None, None)
        return self._stream_act((O, oh, ow) if is_conv else (O,), s, zp)

    def _stream_op(self, act: _Act) -> None:
        """The next op(s) on a stream: an average pool, or a run of per-channel ops (Affine, at most one
        PRelu) that ends in a binarizer (int8 -> bits) or in a new stream tensor. Updates ``act``."""
        n = self.peek()
        if n.op == "AvgPool":
            self.take()
            return self._stream_avgpool(n, act)
        if n.op == "MaxPool":  # max commutes with the (increasing) quantization: the same scale, codes pooled
            self.take()
            if act.flat is not None:
                raise node_error(n, "max-pools a flattened tensor")
            node = self._pool_node(n, act)
            del node.attrs["or_mask"]
            node.attrs.update(bits=self.stream_bits, out_scale=act.scale, out_zero_point=act.zero_point,
                              onnx_ref=self._onnx_ref(n.output))
            self.emit(node)
            return
        if act.flat is not None:
            raise node_error(n, "applies per-channel ops to a flattened real-valued tensor",
                             "per-channel ops before the flatten")
        C = act.shape[0]
        pre = [(np.full(C, act.scale), np.full(C, -act.scale * act.zero_point))]  # code -> real
        prelu, post, first = None, [], n
        while True:
            n = self.peek()
            if n is None or n.op not in ("Affine", "PRelu", "Sign"):
                break
            self.take()
            if n.op == "Sign":
                return self._binarize(first, act, pre, prelu, post, n.attrs["zero"])
            if n.op == "PRelu":
                if prelu is not None:
                    raise node_error(n, "is a second PRelu in one run of per-channel ops",
                                     "one PRelu between two stream tensors")
                prelu = np.asarray(n.attrs["slope"], np.float64)
            else:
                (post if prelu is not None else pre).append((np.asarray(n.attrs["scale"], np.float64),
                                                             np.asarray(n.attrs["bias"], np.float64)))
        self._pointwise(first, act, pre, prelu, post)

    @staticmethod
    def _eval_pointwise(codes, pre, prelu, post):
        """The float chain of a run of per-channel ops on int8 codes (C, V): float64, op by op."""
        y = _eval_chain(codes, pre)
        if prelu is not None:
            y = np.where(y >= 0, y, y * prelu[:, None])
            y = _eval_chain(y, post)
        return y

    def _binarize(self, first, act, pre, prelu, post, zero) -> None:
        """sign(chain(x)) on every int8 code, per channel: a threshold (bit = a' < tau) when the decision is
        monotone in the code, as it is for every affine (BatchNorm, RSign's shift) and PReLU with slope > 0."""
        C = act.shape[0]
        codes = np.tile(np.arange(self.stream_range[0], self.stream_range[1] + 1), (C, 1))
        d = _decide(self._eval_pointwise(codes, pre, prelu, post), zero)  # True = +1 = bit 0
        tau = np.empty(C, np.int64)
        flip = np.zeros(C, bool)
        for c in range(C):
            up = np.flatnonzero(d[c])
            if up.size == 0:
                tau[c] = self.stream_range[1] + 1          # always -1
            elif np.all(d[c, up[0]:]):
                tau[c] = self.stream_range[0] + up[0]      # +1 from code t on: bit = x < t
            elif np.all(d[c, :up[-1] + 1]):
                flip[c], tau[c] = True, ~(self.stream_range[0] + up[-1])  # +1 up to code u: bit = ~x < ~u
            else:
                raise node_error(first, f"binarizes channel {c} of a real-valued tensor through a non-monotone "
                                 "chain (a negative PReLU slope?)", "a monotone per-channel chain before Sign")
        shape = _dev_shape(act)
        self.emit(Node(BINARIZE, first.name, [], [], {
            "in_shape": shape, "out_shape": shape, "thresholds": tau.astype(np.int32), "flip": flip, "in_bits": self.stream_bits,
            "zero": zero, "onnx_ref": self._onnx_ref(self.cur)}))
        act.kind, act.stream, act.scale, act.zero_point = "bits", False, 1.0, 0

    def _pointwise(self, first, act, pre, prelu, post) -> None:
        """A run of per-channel ops between two stream tensors: two affine pieces per channel around the
        PReLU's breakpoint (found on every code, in float64), requantized to the new tensor's scale."""
        C = act.shape[0]
        s, zp = self._stream_quant(self.cur, first)
        A1, B1 = np.ones(C), np.zeros(C)
        for sc, b in pre:
            A1, B1 = A1 * sc, B1 * sc + b
        A2, B2 = np.ones(C), np.zeros(C)
        for sc, b in post:
            A2, B2 = A2 * sc, B2 * sc + b
        slope = prelu if prelu is not None else np.ones(C)
        # piece "pos" (x >= breakpoint) and "neg"; on the PReLU's identity side y = x*A1*A2 + B1*A2 + B2
        codes = np.tile(np.arange(self.stream_range[0], self.stream_range[1] + 1), (C, 1))
        ident = _eval_chain(codes, pre) >= 0
        bp = np.empty(C, np.int64)
        a_id, a_sl = A1 * A2, A1 * slope * A2
        b_id, b_sl = B1 * A2 + B2, B1 * slope * A2 + B2
        a_pos, b_pos, a_neg, b_neg = a_id.copy(), b_id.copy(), a_sl.copy(), b_sl.copy()
        for c in range(C):
            on = np.flatnonzero(ident[c])
            if on.size == 0 or on.size == codes.shape[1]:
                bp[c] = self.stream_range[0]
                if on.size == 0:
                    a_pos[c], b_pos[c] = a_sl[c], b_sl[c]
            elif np.all(ident[c, on[0]:]):
                bp[c] = self.stream_range[0] + on[0]
            else:  # identity side at the low codes (a negative pre-scale): swap the pieces
                bp[c] = self.stream_range[0] + on[-1] + 1
                a_pos[c], b_pos[c], a_neg[c], b_neg[c] = a_sl[c], b_sl[c], a_id[c], b_id[c]
        bmax = np.maximum(np.abs(b_pos / s + zp), np.abs(b_neg / s + zp)) + 1.0
        vmax = self.stream_range[1] + 1
        (mp, mn), _, sh = shared_shift_constants([a_pos / s, a_neg / s], bmax, [vmax, vmax])
        off_pos = _offsets(b_pos / s + zp, sh)
        off_neg = _offsets(b_neg / s + zp, sh)
        shape = _dev_shape(act)
        self.emit(Node(PRELU, first.name, [], [], {
            "in_shape": shape, "out_shape": shape, "breakpoint": bp.astype(np.int32), "mult_pos": mp,
            "mult_neg": mn, "offset_pos": off_pos, "offset_neg": off_neg, "shift": sh, "out_scale": s, "bits": self.stream_bits,
            "out_zero_point": zp, "onnx_ref": self._onnx_ref(self.cur)}))
        act.scale, act.zero_point = s, zp

    def _stream_avgpool(self, n, act) -> None:
        if act.flat is not None or len(act.shape) != 3:
            raise node_error(n, "average-pools a flattened tensor")
        C, H, W = act.shape
        k, st, p = n.attrs["kernel"], n.attrs["strides"], n.attrs["pads"]
        oh = conv_out_size(H, k[0], st[0], p[0], p[2])
        ow = conv_out_size(W, k[1], st[1], p[1], p[3])
        s, zp = self._stream_quant(n.output, n)
        taps = int(k[0]) * int(k[1])
        mult, off, sh = affine_constants(act.scale / (taps * s), float(zp), taps * 2 * (self.stream_range[1] + 1))
        self.emit(Node(AVGPOOL, n.name, [], [], {
            "in_shape": (H, W, C), "out_shape": (oh, ow, C), "kernel": tuple(k), "stride": tuple(st),
            "pads": tuple(p), "input_zero_point": int(act.zero_point),
            "requant": (int(mult), int(off), int(sh)), "out_scale": s, "out_zero_point": zp, "bits": self.stream_bits,
            "onnx_ref": self._onnx_ref(n.output)}))
        act.shape, act.scale, act.zero_point = (C, oh, ow), s, zp

    def _stream_concat(self, node: Node, ins: list) -> tuple:
        """Streams joined on channels: each part was quantized as the concat's output, so it is a copy."""
        acts = [a for _, a in ins]
        first = acts[0]
        if any((a.scale, a.zero_point) != (first.scale, first.zero_point) for a in acts):
            raise node_error(node, "concatenates real-valued tensors that are also read elsewhere (with their "
                             "own quantization)", "Concat of real-valued tensors that only the Concat reads")
        if any(a.flat is not None or a.shape[1:] != first.shape[1:] for a in acts):
            raise node_error(node, f"concatenates {[list(a.shape) for a in acts]}", "maps of one size, on channels")
        C = sum(a.shape[0] for a in acts)
        dev = [_dev_shape(a) for a in acts]
        self.emit(Node(CONCAT, node.name, [], [], {"in_shapes": dev, "out_shape": dev[0][:-1] + (C,),
                                                   "bits": self.stream_bits, "out_scale": first.scale,
                                                   "out_zero_point": first.zero_point,
                                                   "onnx_ref": self._onnx_ref(node.output)}),
                  inputs=[ir for ir, _ in ins])
        return self.ir, None, self._stream_act((C,) + tuple(first.shape[1:]), first.scale, first.zero_point)

    def _sum(self, node: Node, parts: dict) -> tuple:
        """The residual add, once both inputs are lowered: y = requant(a * ma + b * mb), int8 out."""
        (ia, a), (ib, b) = [parts[t] for t in self.g.act_inputs(node)]
        for x in (a, b):
            if x.kind != "int8":
                what = "a binary tensor (a binarizer's output)" if x.kind == "bits" else f"a {x.kind} tensor"
                raise node_error(node, f"adds {what}", "Add of two real-valued tensors (a residual before the "
                                 "binarizer)")
        if a.shape != b.shape or a.flat is not None or b.flat is not None:
            raise node_error(node, f"adds tensors of shapes {list(a.shape)} and {list(b.shape)}")
        s, zp = self._stream_quant(node.output, node)
        bias = zp - (a.scale * a.zero_point + b.scale * b.zero_point) / s
        vmax = self.stream_range[1] + 1
        (ma, mb), off, sh = shared_shift_constants([a.scale / s, b.scale / s], bias, [vmax, vmax])
        shape = _dev_shape(a)
        self.emit(Node(ADD, node.name, [], [], {
            "in_shape": shape, "out_shape": shape, "requant": (int(ma), int(mb), int(off), int(sh)), "bits": self.stream_bits,
            "out_scale": s, "out_zero_point": zp, "onnx_ref": self._onnx_ref(node.output)}), inputs=[ia, ib])
        return self.ir, None, self._stream_act(a.shape, s, zp)

    def run(self) -> list[Node]:
        act = self.prologue()
        paths = [(self.cur, self.ir, None, act)]  # (tensor, lowered tensor, first reader, activation)
        joins: dict[str, dict[str, tuple]] = {}   # Concat name -> {input tensor: (lowered tensor, activation)}
        output_done = False
        while paths:
            self.cur, self.ir, self.forced, act = paths.pop()
            if output_done:  # the output layer was lowered and this branch never joins its path
                raise node_error(self.forced or self.g.producer(self.cur), "starts a branch that never reaches the "
                                 "model's output")
            act = self._walk(act)
            if act is None:  # the output layer
                output_done = True
                readers = self.g.consumers(self.cur)
                if readers:
                    raise node_error(readers[0], "follows the output layer")
                continue
            readers = self.g.consumers(self.cur)
            if not readers:
                raise TinyBnnError(f"{self.g.meta.get('source')}: the model ends without a final Conv/Gemm layer "
                                   "(its output must be a layer's accumulator, optionally scaled)")
            if len(readers) > 1 and act.kind != "bits" and not act.stream:
                what = "an int8" if act.kind == "int8" else f"a {act.kind}"
                raise node_error(readers[0], f"reads {what} tensor that also feeds other nodes (a branch before the "
                                 "first binarizer)", "branches of binary activations (after Sign)")
            for r in reversed(readers):
                if r.op not in JOINS:
                    paths.append((self.cur, self.ir, r, copy.copy(act)))
                    continue
                joins.setdefault(r.name, {})[self.cur] = (self.ir, act)
                if set(joins[r.name]) == set(self.g.act_inputs(r)):
                    self.cur, self.ir = r.output, None
                    join = self._concat if r.op == "Concat" else self._sum
                    paths.append((r.output, *join(r, joins.pop(r.name))))
        if joins:
            node = next(n for n in self.g.nodes if n.name in joins)
            raise node_error(node, "some of its inputs never reach it (they come from a real-valued branch)")
        if not output_done:
            raise TinyBnnError(f"{self.g.meta.get('source')}: the model ends without a final Conv/Gemm layer")
        return self.out

    def _walk(self, act: _Act):
        """Lower along the current path until it ends (None: the output layer was emitted), branches or
        reaches a Concat (the activation there)."""
        while True:
            for pool in self.between(act):
                self.emit(pool)
            n = self.peek()
            if n is None:
                return act
            self.take()
            act = self.layer(act, n)
            if act is None:
                return None

    def _concat(self, node: Node, parts: dict) -> tuple:
        """Emit the join ``node`` once every input is lowered: (lowered tensor, None, activation) of its output."""
        ins = [parts[t] for t in self.g.act_inputs(node)]
        acts = [a for _, a in ins]
        first = acts[0]
        if all(a.stream for a in acts):
            return self._stream_concat(node, ins)
        if any(a.kind != "bits" for a in acts):
            raise node_error(node, "concatenates binary and real-valued tensors",
                             "Concat of binary activations (after Sign), or of real-valued tensors")
        if any(a.scale != first.scale for a in acts):
            raise node_error(node, f"concatenates binary tensors of different scales "
                             f"({', '.join(f'{a.scale:g}' for a in acts)})", "binary activations of one scale")
        if any(a.flat is not None for a in acts) or any(len(a.shape) != len(first.shape) for a in acts) or \
                any(a.shape[1:] != first.shape[1:] for a in acts):
            raise node_error(node, f"concatenates {[list(a.shape) for a in acts]}",
                             "binary maps of the same size, on channels")
        C = sum(a.shape[0] for a in acts)
        dev = [tuple(a.shape[1:]) + (a.shape[0],) for a in acts]  # (H, W, C) or (C,)
        self.emit(Node(CONCAT, node.name, [], [], {"in_shapes": dev, "out_shape": dev[0][:-1] + (C,),
                                                   "onnx_ref": self._onnx_ref(node.output)}),
                  inputs=[ir for ir, _ in ins])
        return self.ir, None, _Act("bits", (C,) + tuple(first.shape[1:]), scale=first.scale)


def _dev_shape(act: _Act) -> tuple:
    """A canonical (C, H, W) or (F,) shape in device order: (H, W, C) or (F,)."""
    return tuple(act.shape[1:]) + (act.shape[0],) if len(act.shape) == 3 else tuple(act.shape)


def _offsets(b, shift) -> np.ndarray:
    """The int64 offsets of :func:`tinybnn.ir.requant.requantize` for real biases b (output codes) at the given
    shifts: floor(b * 2^shift + 1/2) plus the rounding half."""
    b = np.asarray(b, np.float64)
    sh = np.asarray(shift, np.int64)
    out = np.zeros(b.shape, np.int64)
    for i in np.ndindex(b.shape):
        out[i] = offset_at(float(b[i]), int(sh[i]))
    return out


def _channel_vec(node, v, C):
    v = np.asarray(v, np.float64).reshape(-1)
    if v.size == 1:
        return np.full(C, v[0])
    if v.size != C:
        raise node_error(node, f"has {v.size} scales for {C} channels")
    return v


def _input_code_range(iq_attrs):
    mode = iq_attrs["mode"]
    if mode == "quant":
        return iq_attrs["qmin"] - iq_attrs["offset"], iq_attrs["qmax"] - iq_attrs["offset"]
    if mode == "sign":
        return -1, 1
    return INT8_MIN, INT8_MAX


def lower(g: Graph, input_quant: dict | None = None, calibration=None, stream_bits: int = 8) -> Graph:
    """``calibration``: the float samples the input quantization was calibrated on (or the model's data), used
    to choose the precision of a float first layer's weights and the quantization of real-valued streams; None
    means no data (int8 only when exact, streams uncalibrated). ``stream_bits``: 8 or 16, the width of the
    streams (see :func:`tinybnn.model.load`, which chooses it from the calibration data)."""
    soft = g.nodes[-1] if g.nodes and g.nodes[-1].op == "Softmax" and g.nodes[-1].output == g.output else None
    if soft is not None:  # a Softmax at the output (ONNX's or TFLite's): on the host, after the output affine
        g.remove(soft, keep=soft.inputs[0])
        g.output = soft.inputs[0]
    low = Lowering(g, input_quant, calibration, stream_bits)
    try:
        nodes = low.run()  # wired as emitted: a chain, or a DAG where binary branches join
    except RequantRangeError as e:  # a real-valued layer's scale or bias far outside its int8 output's range
        raise node_error(low.g.producer(low.cur) or Node("?", low.cur, [], [], {}), str(e), "real-valued "
                         "layers whose scale and bias are within 2**30 of the int8 output's step") from None
    if soft is not None:
        nodes[-1].attrs["softmax"] = float(soft.attrs["beta"])
    g.nodes = nodes
    g.output = nodes[-1].outputs[0]
    g.meta["notes"] = list(g.meta.get("int8_notes", ())) + low.notes  # the importer's own (a .tflite's int8 arithmetic) first
    g.meta["uncalibrated_streams"] = low.uncalibrated
    g.meta["stream_bits"] = stream_bits
    return g
