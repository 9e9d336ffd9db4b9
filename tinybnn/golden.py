"""The golden model: the lowered integer layers executed in vectorised NumPy on packed words.

Every function here computes exactly what the device kernels compute (same packing, same padding rules,
same thresholds); the device, the C on the host and this module must agree bit for bit.
Activations flow in device layout with the batch axis first: int8 (N, H, W, C) or (N, F); bits as packed
uint32 (N, H, W, words(C)) or (N, words(F)); int32 accumulators (N, H, W, C) or (N, C).
"""

from __future__ import annotations

import numpy as np

from .bits import pack_bits, pack_pm1, tail_mask, words
from .errors import TinyBnnError
from .passes.lower import apply_prologue
from .passes.qonnx_ops import int_quant_codes

CHUNK_WORDS = 1 << 23  # bound the size of one broadcast XOR (32 MiB of uint32)


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
            raise TinyBnnError("this model's input has no quantizer: give calibration data (--calibration "
                               "FILE.npz) or --input-scale and --input-zero-point")
        q = np.clip(np.round(y.astype(np.float64) / s) + zp, -128, 127)
    q = q.astype(np.int8)
    if q.ndim == 4:
        q = q.transpose(0, 2, 3, 1)
    return np.ascontiguousarray(q)


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
    tau, flip = attrs["thresholds"].astype(np.int64), attrs["flip"]
    a = np.where(flip, ~acc, acc)
    return pack_bits(a < tau)


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


def conv2d_bits(x, attrs):
    """Binary conv: packed (N,H,W,Cw) -> int32 dot products (N,OH,OW,O) over the valid taps."""
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    wp = attrs["packed"]  # (O, KH, KW, Cw)
    pad = attrs["pad"]
    fill = {"zero": 0, "one": 0, "minus-one": None}[pad]
    if fill is None:
        xp = _pad_spatial(x, attrs["pads"], 0)
        mask = tail_mask(C)
        border = np.ones(xp.shape[:3], dtype=bool)
        border[:, attrs["pads"][0]:attrs["pads"][0] + H, attrs["pads"][1]:attrs["pads"][1] + W] = False
        xp[border] = mask
    else:
        xp = _pad_spatial(x, attrs["pads"], fill)
    valid = _pad_spatial(np.ones((1, H, W), dtype=bool), attrs["pads"], False)[0]
    N = x.shape[0]
    acc = np.zeros((N, OH, OW, O), dtype=np.int32)
    step = max(1, CHUNK_WORDS // max(1, OH * OW * O * wp.shape[-1]))
    for kh, kw, rs, cs in _taps(attrs):
        w = wp[:, kh, kw, :]  # (O, Cw)
        v = valid[rs, cs]  # (OH, OW)
        for n0 in range(0, N, step):
            xs = xp[n0:n0 + step, rs, cs, :]  # (n, OH, OW, Cw)
            p = np.bitwise_count(xs[:, :, :, None, :] ^ w[None, None, None]).sum(axis=-1, dtype=np.int32)
            contrib = C - 2 * p
            if pad == "zero":
                contrib = contrib * v[None, :, :, None]
            acc[n0:n0 + step] += contrib.astype(np.int32)
    return acc


def conv2d_int8(x, attrs):
    """int8 conv: (N,H,W,C) int8 -> int32 sum of w * (x - zero_point) over the valid taps."""
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    w = attrs["weights"].astype(np.float64)  # (O, KH, KW, C)
    xz = x.astype(np.float64) - attrs["input_zero_point"]
    xp = _pad_spatial(xz, attrs["pads"], 0.0)  # padded taps contribute exactly 0
    acc = np.zeros((x.shape[0], OH, OW, O), dtype=np.float64)
    for kh, kw, rs, cs in _taps(attrs):
        acc += xp[:, rs, cs, :] @ w[:, kh, kw, :].T
    return acc.astype(np.int32)  # exact: integer sums far below 2**53


def dense_bits(x, attrs):
    """Binary dense: packed (N, P, Cw) -> int32 dot products (N, O)."""
    P, C = attrs["in_shape"]
    wp = attrs["packed"]  # (O, P, Cw)
    O = wp.shape[0]
    N = x.shape[0]
    xw = x.reshape(N, -1)
    ww = wp.reshape(O, -1)
    K = P * C
    out = np.empty((N, O), dtype=np.int32)
    step = max(1, CHUNK_WORDS // max(1, O * ww.shape[1]))
    for n0 in range(0, N, step):
        p = np.bitwise_count(xw[n0:n0 + step, None, :] ^ ww[None]).sum(axis=-1, dtype=np.int32)
        out[n0:n0 + step] = K - 2 * p
    return out


def dense_int8(x, attrs):
    P, C = attrs["in_shape"]
    w = attrs["weights"].reshape(attrs["weights"].shape[0], -1).astype(np.float64)
    xz = x.reshape(x.shape[0], -1).astype(np.float64) - attrs["input_zero_point"]
    return (xz @ w.T).astype(np.int32)


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
    if node.op == "tb.MaxPool":
        return maxpool_bits(x, a)
    if node.op == "tb.Conv2d":
        acc = conv2d_bits(x, a) if a["in_dtype"] == "bits" else conv2d_int8(x, a)
    elif node.op == "tb.Dense":
        if a["in_dtype"] == "bits":
            acc = dense_bits(x.reshape(x.shape[0], a["in_shape"][0], -1), a)
        else:
            acc = dense_int8(x, a)
    else:
        raise TypeError(f"not a device layer: {node.op}")
    return _threshold_pack(acc, a) if a["out"] == "bits" else acc


__all__ = ["quantize_input", "dequantize_output", "run_layer", "pack_pm1", "words"]
