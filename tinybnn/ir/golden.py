"""The golden model: the lowered integer layers executed in vectorised NumPy on packed words.

Every function here computes exactly what the device kernels compute (same packing, same padding rules,
same thresholds); the device, the C on the host and this module must agree bit for bit.
Activations flow in device layout with the batch axis first: int8 (N, H, W, C) or (N, F); bits as packed
uint32 (N, H, W, words(C)) or (N, words(F)); int32 accumulators (N, H, W, C) or (N, C).
"""

from __future__ import annotations

import numpy as np

from .bits import pack_bits, pack_bits_axis0, pack_pm1, tail_mask, unpack_bits, words
from ..errors import NeedsCalibration, TinyBnnError
from .prologue import apply_prologue
from .quant import int_quant_codes
from .layers import CONCAT, CONV2D, DENSE, MAXPOOL

CACHE_ELEMS = 1 << 17  # uint64 elements per temporary in the XOR-popcount loop (1 MiB)


# --------------------------------------------------------------------------- host boundary ----
def check_input(x, shape) -> np.ndarray:
    """x as float32, checked to be N samples of the model's per-sample input shape."""
    x = np.asarray(x, dtype=np.float32)
    shape = tuple(shape)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise TinyBnnError(f"input has shape {list(x.shape)}; expected (N, {', '.join(map(str, shape))}) "
                           "with N samples on the leading axis")
    return x


def quantize_input(attrs, x: np.ndarray) -> np.ndarray:
    """Float input in the ONNX layout (N, ...) -> int8 device input (N, H, W, C) or (N, F)."""
    x = check_input(x, attrs["onnx_shape"])
    if attrs["perm"] is not None:
        x = np.transpose(x, attrs["perm"])
    y = apply_prologue(attrs["pre"], x)
    mode = attrs["mode"]
    if mode == "quant":
        sc = np.asarray(attrs["quant_scale"], np.float64)
        if sc.size > 1:
            sc = sc.reshape((1, -1) + (1,) * (y.ndim - 2))
        codes = int_quant_codes(y, sc, attrs["quant_zero_point"], attrs["quant_bitwidth"],
                                attrs["quant_signed"], attrs["quant_narrow"], attrs["rounding"])
        q = codes - attrs["offset"]
    elif mode == "sign":
        q = np.where(y > 0 if attrs["zero"] == "-1" else y >= 0, 1, -1)
    else:
        s, zp = attrs.get("calib_scale"), attrs.get("calib_zero_point")
        if s is None:
            raise NeedsCalibration()
        q = np.clip(np.round(y.astype(np.float64) / s) + zp, -128, 127)
    q = q.astype(np.int8)
    if q.ndim == 4:
        q = q.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(q)


def input_units(attrs, x: np.ndarray) -> np.ndarray:
    """Float input -> the device input before rounding, in code units minus the zero point (float64, device
    layout): what the int8 codes (q - zero_point) approximate. The model's own quantizer (mode "quant" or
    "sign") is part of the model, so there it is exactly q - zero_point."""
    if attrs["mode"] != "calibrated":
        return quantize_input(attrs, x).astype(np.float64) - attrs["zero_point"]
    x = check_input(x, attrs["onnx_shape"])
    if attrs["perm"] is not None:
        x = np.transpose(x, attrs["perm"])
    u = apply_prologue(attrs["pre"], x).astype(np.float64) / attrs["calib_scale"]
    return np.ascontiguousarray(u.transpose(0, 2, 3, 1) if u.ndim == 4 else u)


def dequantize_output(attrs, acc: np.ndarray) -> np.ndarray:
    """int32 device output -> float32 in the ONNX output layout (the per-output affine, on the host)."""
    y = acc.astype(np.float64)
    c = y.shape[-1]
    for sc, b in attrs["steps"]:
        y = y * np.broadcast_to(sc, (c,)) + np.broadcast_to(b, (c,))
    if y.ndim == 4:
        y = y.transpose(0, 3, 1, 2)
    if attrs.get("output_perm") is not None:
        y = np.transpose(y, attrs["output_perm"])
    return y.astype(np.float32)


# --------------------------------------------------------------------------- layers ------------
def _threshold_pack(acc, attrs):
    """Output-major accumulators (O, ...) -> packed bits (..., words(O)): bit = (a' < tau), a' = ~acc if flip."""
    shape = (-1,) + (1,) * (acc.ndim - 1)
    flipmask = -attrs["flip"].astype(np.int32)  # 0 or all ones: acc ^ -1 == ~acc
    np.bitwise_xor(acc, flipmask.reshape(shape), out=acc)
    return pack_bits_axis0(acc < attrs["thresholds"].astype(np.int32).reshape(shape))


def _concat_tap_bits(xp, attrs, C: int) -> np.ndarray:
    """im2col on packed bits without unpacking: every tap's C bits laid end to end, (rows, words64) uint64.

    Tap t's word k holds channels 32k.. of that tap; its bits go to global bit offset t*C + 32k, shifted
    into (and, when they straddle, across) 64-bit words.
    """
    Cw = words(C)
    taps = [xp[:, rs, cs, :] for _, _, rs, cs in _taps(attrs)]
    R = taps[0].shape[0] * taps[0].shape[1] * taps[0].shape[2]
    total = len(taps) * C
    out = np.zeros((words(total) // 2 + words(total) % 2, R), dtype=np.uint64)
    for t, tap in enumerate(taps):
        tw = tap.reshape(R, Cw)
        for k in range(Cw):
            off = t * C + 32 * k
            j, sh = off // 64, off % 64
            v = tw[:, k].astype(np.uint64)
            out[j] |= v << np.uint64(sh)
            if sh + min(32, C - 32 * k) > 64:  # the word's valid bits spill into the next 64-bit word
                out[j + 1] |= v >> np.uint64(64 - sh)
    return out


def _pad_spatial(x, pads, value):
    t, l, b, r = pads
    out = np.empty((x.shape[0], x.shape[1] + t + b, x.shape[2] + l + r) + x.shape[3:], dtype=x.dtype)
    out[...] = value
    out[:, t:t + x.shape[1], l:l + x.shape[2]] = x
    return out


def _taps(attrs):
    KH, KW = attrs["kernel"]
    sh, sw = attrs["stride"]
    dh, dw = attrs.get("dilation", (1, 1))
    OH, OW = attrs["out_shape"][:2]
    for kh in range(KH):
        for kw in range(KW):
            r0, c0 = kh * dh, kw * dw
            yield kh, kw, slice(r0, r0 + (OH - 1) * sh + 1, sh), slice(c0, c0 + (OW - 1) * sw + 1, sw)


def _as_u64(w32: np.ndarray) -> np.ndarray:
    """View the last axis of uint32 words as uint64 pairs (a zero word appended when odd): the same bits,
    half as many popcounts."""
    if w32.shape[-1] % 2:
        w32 = np.concatenate([w32, np.zeros(w32.shape[:-1] + (1,), np.uint32)], axis=-1)
    return np.ascontiguousarray(w32).view(np.uint64)


def _xor_popcount(xw: np.ndarray, ww: np.ndarray) -> np.ndarray:
    """sum_j popcount(xw[j, r] XOR ww[o, j]) for every output o and row r.

    xw: (J, R) uint64, word-major; ww: (O, J) uint64. Returns int32 (O, R). Output-major, so each
    vectorised XOR runs over a contiguous row with one weight word; temporaries stay in cache; up to three
    64-bit counts add up in uint8 (<= 192) before one widening add.
    """
    J, R = xw.shape
    O = ww.shape[0]
    acc = np.zeros((O, R), dtype=np.int32)
    cols = max(256, CACHE_ELEMS // O)
    tmp = np.empty((O, cols), dtype=np.uint64)
    cnt = np.empty((O, cols), dtype=np.uint8)
    part = np.empty((O, cols), dtype=np.uint8)
    for r0 in range(0, R, cols):
        r1 = min(R, r0 + cols)
        t, c, p = tmp[:, :r1 - r0], cnt[:, :r1 - r0], part[:, :r1 - r0]
        for j0 in range(0, J, 3):
            p[...] = 0
            for j in range(j0, min(J, j0 + 3)):
                np.bitwise_xor(xw[j, None, r0:r1], ww[:, j, None], out=t)
                np.bitwise_count(t, out=c)
                p += c
            acc[:, r0:r1] += p
    return acc


def _im2col_words(xp, attrs):
    """Gather every tap's packed words: (N, OH, OW, KH*KW*Cw) uint32 from the padded input."""
    taps = [xp[:, rs, cs, :] for _, _, rs, cs in _taps(attrs)]
    return np.concatenate(taps, axis=-1)


def _border_correction(attrs):
    """For zero padding: what the padded taps (read as +1 inputs) added, per output pixel and channel.

    A padded tap read as input bits 0 contributes C - 2 * popcount(w_tap); zero padding means it must
    contribute 0, so this is subtracted (the valid-taps rule of the kernels; Larq's border correction).
    """
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    valid = _pad_spatial(np.ones((1, H, W), dtype=bool), attrs["pads"], False)[0]
    pc = np.bitwise_count(attrs["packed"]).sum(axis=-1, dtype=np.int32)  # (O, KH, KW)
    corr = np.zeros((OH, OW, O), dtype=np.int32)
    for kh, kw, rs, cs in _taps(attrs):
        corr += (~valid[rs, cs])[:, :, None] * (C - 2 * pc[:, kh, kw])[None, None, :]
    return corr


def conv2d_bits(x, attrs):
    """Binary conv: packed (N,H,W,Cw) -> int32 dot products (N,OH,OW,O) over the valid taps."""
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    KH, KW = attrs["kernel"]
    wp = attrs["packed"]  # (O, KH, KW, Cw)
    pad = attrs["pad"]
    if pad == "minus-one":
        xp = _pad_spatial(x, attrs["pads"], 0)
        border = np.ones(xp.shape[:3], dtype=bool)
        t, l = attrs["pads"][0], attrs["pads"][1]
        border[:, t:t + H, l:l + W] = False
        xp[border] = tail_mask(C)
    else:
        xp = _pad_spatial(x, attrs["pads"], 0)  # bits 0 = +1: "one" padding as is, "zero" corrected below
    N = x.shape[0]
    K = KH * KW * C
    if C % 64 == 0:  # words already full: gather them as they are
        ww = _as_u64(wp.reshape(O, -1))
        cols = _im2col_words(xp, attrs).reshape(N * OH * OW, -1)
        xw = np.ascontiguousarray(_as_u64(cols).T)
    else:  # re-pack the taps' bits densely (C bits per tap, not a whole word), fewer popcounts
        ww = _as_u64(pack_bits(unpack_bits(wp, C).reshape(O, -1)))
        xw = _concat_tap_bits(xp, attrs, C)
    acc = K - 2 * _xor_popcount(xw, ww)  # (O, N*OH*OW)
    if pad == "zero" and any(attrs["pads"]):
        acc = acc.reshape(O, N, OH * OW)
        acc -= _border_correction(attrs).reshape(OH * OW, O).T[:, None, :]
    return acc.reshape(O, N, OH, OW)


def _int_matmul(a: np.ndarray, b: np.ndarray, bound: int) -> np.ndarray:
    """Exact integer a @ b through BLAS: float32 while every partial sum stays below 2**24, else float64."""
    dt = np.float32 if bound < (1 << 24) else np.float64
    return (a.astype(dt) @ b.astype(dt)).astype(np.int32)


def _int8_bound(w, zp):
    return int(np.abs(w.astype(np.int64)).sum(axis=tuple(range(1, w.ndim))).max()) * (128 + abs(int(zp)))


def columns(u, attrs) -> np.ndarray:
    """The first layer's im2col: input values u (N, H, W, C) or (N, F), already minus the zero point (any
    numeric dtype), -> (N * OH * OW, K) in the weights' (kh, kw, c) tap order, 0 on padded taps."""
    if "kernel" not in attrs:
        return u.reshape(u.shape[0], -1)
    up = _pad_spatial(u, attrs["pads"], 0)
    cols = np.concatenate([up[:, rs, cs, :] for _, _, rs, cs in _taps(attrs)], axis=-1)
    return cols.reshape(-1, cols.shape[-1])


def int_columns(q, zp, attrs) -> np.ndarray:
    """:func:`columns` of int8 device inputs q: the int16 values (q - zero_point) every kernel multiplies."""
    return columns(q.astype(np.int16) - np.int16(zp), attrs)


def conv2d_int8(x, attrs):
    """int8-input conv: (N,H,W,C) int8 -> int32 sum of w * (x - zero_point) over the valid taps; w int8 or
    int16 (a float first layer that needs 16-bit weights)."""
    OH, OW, O = attrs["out_shape"]
    w = attrs["weights"]  # (O, KH, KW, C)
    zp = attrs["input_zero_point"]
    xz = x.astype(np.int16) - np.int16(zp)
    xp = _pad_spatial(xz, attrs["pads"], 0)  # padded taps contribute exactly 0
    cols = np.concatenate([xp[:, rs, cs, :] for _, _, rs, cs in _taps(attrs)], axis=-1)
    N = x.shape[0]
    out = _int_matmul(w.reshape(O, -1), cols.reshape(N * OH * OW, -1).T, _int8_bound(w, zp))
    return out.reshape(O, N, OH, OW)


def dense_bits(x, attrs):
    """Binary dense: packed (N, P, Cw) -> int32 dot products (N, O)."""
    P, C = attrs["in_shape"]
    wp = attrs["packed"]  # (O, P, Cw)
    O = wp.shape[0]
    N = x.shape[0]
    xw = np.ascontiguousarray(_as_u64(x.reshape(N, -1)).T)
    return P * C - 2 * _xor_popcount(xw, _as_u64(wp.reshape(O, -1)))  # (O, N)


def dense_int8(x, attrs):
    w = attrs["weights"].reshape(attrs["weights"].shape[0], -1)
    zp = attrs["input_zero_point"]
    xz = x.reshape(x.shape[0], -1).astype(np.int16) - np.int16(zp)
    return _int_matmul(w, xz.T, _int8_bound(w, zp))  # (O, N)


def maxpool_bits(x, attrs):
    """Max of +-1 values on packed bits: AND of bits (OR for channels in or_mask), padding ignored."""
    H, W, C = attrs["in_shape"]
    OH, OW, _ = attrs["out_shape"]
    m = pack_bits(attrs["or_mask"])
    z = _pad_spatial(x ^ m, attrs["pads"], np.uint32(0xFFFFFFFF))
    out = np.full((x.shape[0], OH, OW, x.shape[3]), 0xFFFFFFFF, dtype=np.uint32)
    KH, KW = attrs["kernel"]
    sh, sw = attrs["stride"]
    for kh in range(KH):
        for kw in range(KW):
            out &= z[:, kh:kh + (OH - 1) * sh + 1:sh, kw:kw + (OW - 1) * sw + 1:sw, :]
    return (out ^ m) & tail_mask(C)


def run_layer(node, x):
    a = node.attrs
    if node.op == MAXPOOL:
        return maxpool_bits(x, a)
    if node.op == CONV2D:
        acc = conv2d_bits(x, a) if a["in_dtype"] == "bits" else conv2d_int8(x, a)
    elif node.op == DENSE:
        if a["in_dtype"] == "bits":
            acc = dense_bits(x.reshape(x.shape[0], a["in_shape"][0], -1), a)
        else:
            acc = dense_int8(x, a)
    else:
        raise TypeError(f"not a device layer: {node.op}")
    # kernels return output-major (O, N, ...) accumulators
    return _threshold_pack(acc, a) if a["out"] == "bits" else np.ascontiguousarray(np.moveaxis(acc, 0, -1))



def concat_bits(xs, attrs):
    """Channel concatenation of packed bit tensors (N, ..., words(C_i)) -> (N, ..., words(sum C_i))."""
    parts = [unpack_bits(x, int(s[-1])) for x, s in zip(xs, attrs["in_shapes"])]
    return pack_bits(np.concatenate(parts, axis=-1))


def run_node(node, inputs):
    """One device layer on its activation inputs (a list, in the node's input order)."""
    if node.op == CONCAT:
        return concat_bits(inputs, node.attrs)
    if len(inputs) != 1:
        raise TypeError(f"{node.op} takes one activation input, got {len(inputs)}")
    return run_layer(node, inputs[0])


__all__ = ["quantize_input", "dequantize_output", "run_layer", "run_node", "pack_pm1", "words"]
