"""The golden model: the lowered integer layers executed in vectorised NumPy on packed words.

Every function here computes exactly what the device kernels compute (same packing, same padding rules,
same thresholds); the device, the C on the host and this module must agree bit for bit.
Activations flow in device layout with the batch axis first: int8 (N, H, W, C) or (N, F); bits as packed
uint32 (N, H, W, words(C)) or (N, words(F)); int32 accumulators (N, H, W, C) or (N, C); real-valued streams
as int8 or int16 codes (N, H, W, C) or (N, C).

How it is fast and why it stays exact:

* Binary layers: im2col on packed words (strided views; the taps' bits re-packed densely into uint64
  words), then XOR + ``np.bitwise_count`` on output-major tiles, counts summed in uint8/uint16. Bits
  output never forms the int32 accumulator: acc = D - 2 * popcount, so ``acc < tau`` (or ``~acc < tau``)
  is an integer bound on the popcount itself, per pixel where zero padding corrects D (see _bin_prep).
* int8-input layers: one BLAS matmul on float32 (float64 when the bound demands) im2col columns, with the
  threshold and flip folded in as a bias row; exact because every partial sum is an integer below 2**24
  (2**53) in magnitude, whatever order BLAS adds in (see _int8_prep).
* Real-valued (int8/int16) streams: the requantization floor((v * m + offset) / 2**shift) runs in float64
  only where |v| * |m| + |offset| < 2**53 is proven per layer from the input type's range (then v * M + B,
  M and B the constants scaled by 2**-shift, is an exact integer scaled by a power of two, and floor() is
  the shift; see _fixed_point): add, PReLU, average pools, and int8-input layers with the requantization
  folded into their float64 matmul. An int8-input layer whose sums are too large for that gets them exactly
  from the matmul, then one float64 stage that is exact where the result does not saturate the stream and
  monotone everywhere (see _saturating). Larger int32 sums run in two exact float64 stages (m split in two,
  nested floors, each stage proven below 2**53; see _two_stage), inside the matmul for int8-input layers.
  Binary layers with a stream output read the code of every reachable popcount from a per-channel table
  built with the literal rule. Anything else runs the literal int64 rule (in cache-sized blocks).
* Binary depthwise convs count on packed words: per tap one XOR with the taps' weight word, the per-channel
  counts kept in bit planes (a ripple-carry counter), compared with the bounds' bit planes.
* Bits are packed with integer multiply-shift tricks instead of ``np.packbits`` along a non-last axis.
* Temporaries are bounded: batches run in chunks (TEMP_BYTES), so 10,000 samples take no more memory
  than a few hundred. Weight-only constants are built once per node and kept in ``node.attrs["_golden"]``
  (one entry per builder) with a copy of what they were built from (rebuilt whenever any of it changes).
* Word views assume a little-endian host (x86, Arm), as the packing of uint32 pairs into uint64 always has.

tests/test_golden_fast.py checks all of it against a literal int64 reference of tinybnn/ir/layers.py and
tinybnn/ir/requant.py.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..errors import NeedsCalibration, TinyBnnError
from .bits import pack_bits, pack_pm1, tail_mask, unpack_bits, words
from .floatref import softmax
from .layers import ADD, AVGPOOL, BINARIZE, CONCAT, CONV2D, DENSE, MAXPOOL, PRELU
from .prologue import apply_prologue
from .quant import int_quant_codes
from .requant import requantize



# --------------------------------------------------------------------------- host boundary ----
def check_input(x, shape) -> np.ndarray:
    """x as float32, checked to be N samples of the model's per-sample input shape."""
    x = np.asarray(x, dtype=np.float32)
    shape = tuple(shape)
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise TinyBnnError(f"input has shape {list(x.shape)}; expected (N, {', '.join(map(str, shape))}) "
                           "with N samples on the leading axis")
    if not np.isfinite(x).all():  # NaN would quantize to an arbitrary code: never a silent wrong answer
        bad = ~np.isfinite(x.reshape(len(x), -1))
        raise TinyBnnError(f"input holds {int(bad.sum()):,} value(s) that are NaN or infinite (first in sample "
                           f"{int(np.argmax(bad.any(axis=1)))}); supported: finite numbers")
    return x


def device_layout(t: np.ndarray) -> np.ndarray:
    """A batch in the ONNX layout -> the device layout, as a view: (N, C, H, W) -> (N, H, W, C); a 1-D model's
    (N, C, T) runs as (N, C, T, 1), so -> (N, T, 1, C); (N, F) as it is. The one place this step is spelled:
    the input quantization, model_io's input plan and ``tinybnn check``'s float references all call it."""
    if t.ndim == 3:
        t = t[..., None]
    return t.transpose(0, 2, 3, 1) if t.ndim == 4 else t


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
        q = int_quant_codes(y, sc, attrs["quant_zero_point"], attrs["quant_bitwidth"],
                            attrs["quant_signed"], attrs["quant_narrow"], attrs["rounding"])
        np.subtract(q, attrs["offset"], out=q)
    elif mode == "sign":
        q = (y > 0 if attrs["zero"] == "-1" else y >= 0).view(np.int8) * np.int8(2)  # +1 / -1
        q -= np.int8(1)
    else:
        s, zp = attrs.get("calib_scale"), attrs.get("calib_zero_point")
        if s is None:
            raise NeedsCalibration()
        q = y.astype(np.float64)  # round(y / s) + zp, clipped: the same float64 operations, in place
        np.divide(q, s, out=q)
        np.round(q, out=q)
        np.add(q, zp, out=q)
        np.clip(q, -128, 127, out=q)
    return np.ascontiguousarray(device_layout(q.astype(np.int8, copy=False)))


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
    return np.ascontiguousarray(device_layout(u))


def dequantize_output(attrs, acc: np.ndarray) -> np.ndarray:
    """int32 device output -> float32 in the ONNX output layout (the per-output affine, on the host)."""
    c = acc.shape[-1]
    # channel-major (c, rows): the same float64 operations, each over long rows rather than many short ones
    y = acc.reshape(-1, c).T.astype(np.float64, order="C")
    for sc, b in attrs["steps"]:  # y * sc + b, two roundings, as the float runtime does
        np.multiply(y, _per_channel(sc, c)[:, None], out=y)
        np.add(y, _per_channel(b, c)[:, None], out=y)
    y = y.T.reshape(acc.shape)
    if attrs.get("softmax") is not None:  # a Softmax at the model's output: over the classes, on the host
        y = softmax(y.reshape(len(y), -1), attrs["softmax"]).reshape(y.shape)
    if y.ndim == 4:
        y = y.transpose(0, 3, 1, 2)
    if attrs.get("output_perm") is not None:
        y = np.transpose(y, attrs["output_perm"])
    with np.errstate(over="ignore"):  # beyond float32's range is +-inf, as the float runtime gives: no warning
        return y.astype(np.float32)


def _per_channel(v, c):
    """v as a value per output channel, (c,)."""
    if isinstance(v, np.ndarray) and v.shape == (c,):
        return v
    return np.broadcast_to(v, (c,))


# --------------------------------------------------------------------------- execution plan ----
# The big temporaries of one layer (padded input, im2col, XOR words, accumulators) are allocated per chunk of
# samples and bounded by TEMP_BYTES; with the few that are alive at once a run stays within ~256 MB however
# many samples it is given. The XOR-popcount passes run on output-major tiles (O, TILE_COLS or more): NumPy's
# broadcast XOR runs at a fraction of the speed with rows shorter than ~3,000 elements (measured, NumPy 2.4).
TEMP_BYTES = 48 << 20
TILE_COLS = 4096
F32_EXACT = 1 << 24  # every integer of magnitude <= 2**24 is exact in float32
_MAGIC = np.uint64(0x0102040810204080)  # 8 bytes of 0/1 (little endian) * _MAGIC >> 56 = those 8 bits, LSB first
_BIT_WEIGHTS = (np.uint8(1) << np.arange(8, dtype=np.uint8)).reshape(1, 8, 1)


def _view(a, shape):
    """a.reshape(shape) that must be a view (a destination written through it); numpy>=2.0 has no copy=False."""
    v = a.reshape(shape)
    if v.size and not np.may_share_memory(v, a):
        raise AssertionError(f"reshape {a.shape} -> {shape} would copy")
    return v


def _flat(x):
    """(N, ...) -> (N, features), also for N = 0."""
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


def _chunks(n: int, per_sample: int):
    step = max(1, TEMP_BYTES // max(1, per_sample))
    for s in range(0, n, step):
        yield slice(s, min(n, s + step))


def _pad_spatial(x, pads, value):
    t, l, b, r = pads
    if not (t or l or b or r):
        return np.ascontiguousarray(x)
    out = np.empty((x.shape[0], x.shape[1] + t + b, x.shape[2] + l + r) + x.shape[3:], dtype=x.dtype)
    if t:
        out[:, :t] = value
    if b:
        out[:, t + x.shape[1]:] = value
    if l:
        out[:, t:t + x.shape[1], :l] = value
    if r:
        out[:, t:t + x.shape[1], l + x.shape[2]:] = value
    out[:, t:t + x.shape[1], l:l + x.shape[2]] = x
    return out


def _windows(xp, attrs):
    """im2col as a strided view, no copy: padded (n, Hp, Wp, C) -> (n, OH, OW, KH, KW, C), the weights'
    (kh, kw, c) tap order."""
    KH, KW = attrs["kernel"]
    sh, sw = attrs["stride"]
    dh, dw = attrs.get("dilation", (1, 1))
    OH, OW = attrs["out_shape"][:2]
    n, Hp, Wp, C = xp.shape
    if (OH - 1) * sh + (KH - 1) * dh >= Hp or (OW - 1) * sw + (KW - 1) * dw >= Wp:
        raise TinyBnnError(f"layer geometry reads outside its padded input: out {OH}x{OW}, kernel {KH}x{KW}, "
                           f"stride {sh}x{sw}, dilation {dh}x{dw}, padded input {Hp}x{Wp}")
    s = xp.strides
    return as_strided(xp, (n, OH, OW, KH, KW, C), (s[0], sh * s[1], sw * s[2], dh * s[1], dw * s[2], s[3]),
                      writeable=False)


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


# --------------------------------------------------------------------------- bit packing ----
def _pack_last(cond, out):
    """cond (R, 8*k) bool, C-contiguous -> out (R, words) uint32 = its bits packed along the last axis, LSB
    first (k <= 4 * words; the bytes past k stay as they are, zero). cond is used as scratch."""
    v = cond.view(np.uint64)  # (R, k): 8 bytes of 0/1 each
    np.multiply(v, _MAGIC, out=v)  # wraps mod 2**64; the distinct partial products never carry into 56..63
    np.right_shift(v, np.uint64(56), out=v)
    k = v.shape[1]
    if k == 4 * out.shape[1] or k > 4:
        out.view(np.uint8)[:, :k] = v
        return
    # one output word per row: combine the k bytes there with whole-column operations (short rows are slow)
    w = v[:, k - 1].copy()
    for i in range(k - 2, -1, -1):
        np.left_shift(w, np.uint64(8), out=w)
        np.bitwise_or(w, v[:, i], out=w)
    out[:, 0] = w


def _pack_first(cond, out_u8):
    """cond (8*k, n) bool -> out_u8[:, :k] (n, k): the bits of each column packed, LSB first (row 8b+i -> bit i
    of byte b)."""
    k, n = cond.shape[0] // 8, cond.shape[1]
    by = (cond.view(np.uint8).reshape(k, 8, n) * _BIT_WEIGHTS).sum(axis=1, dtype=np.uint8)  # distinct bits: sum == OR
    out_u8[:, :k] = by.T


def _flip_bytes(flip, nbytes):
    """The packed flip mask as nbytes bytes: XORed into output bits decided on the un-flipped comparison."""
    b = np.zeros(nbytes * 8, bool)
    b[:len(flip)] = flip
    return np.packbits(b, bitorder="little")


# --------------------------------------------------------------------------- binary layers ----
def _count_dtype(K):
    """The narrowest unsigned type holding popcounts 0..K and the clamped bound K + 1."""
    return np.uint8 if K + 1 <= 0xFF else (np.uint16 if K + 1 <= 0xFFFF else np.int64)


def _bin_prep(attrs, O, K, P, D, ww):
    """Constants of a binary layer, from its weights and thresholds: ww (O, J) uint64 weight words; for bits
    output the popcount bounds L (O, P or 1) with bit = (popcount >= L) XOR flip, else D for acc = D - 2 * pc.

    acc = D - 2 * pc with pc = sum popcount(x XOR w) over the tap words and D = K minus the zero-padding
    correction. Without flip: bit = acc < tau  <=>  2 pc >= D - tau + 1  <=>  pc >= (D - tau + 2) // 2.
    With flip: bit = ~acc < tau  <=>  -(D - 2 pc) - 1 < tau  <=>  2 pc <= D + tau  <=>  NOT pc >= (D + tau) // 2 + 1.
    L is clamped to 0..K+1 (pc lies in 0..K), which keeps every comparison.
    """
    prep = {"ww": ww, "cdt": _count_dtype(K), "O": O, "K": K}
    D = np.asarray(D, np.int64).reshape(-1, O).T if np.ndim(D) else np.full((O, 1), int(D), np.int64)  # (O, P|1)
    if attrs["out"] == "bits":
        tau = attrs["thresholds"].astype(np.int64).reshape(O, 1)
        flip = attrs["flip"].astype(bool).reshape(O)
        L = np.where(flip[:, None], (D + tau) // 2 + 1, (D - tau + 2) // 2)
        prep["L"] = np.ascontiguousarray(np.clip(L, 0, K + 1).astype(prep["cdt"]))
        prep["flip"] = _flip_bytes(flip, 4 * words(O)) if flip.any() else None
    else:
        prep["D"] = D.astype(np.int32)
        if attrs["out"] == "int8":
            prep.update(_requant_table(attrs, O, K))
            if "lut" in prep:
                prep.update(_popcount_table(prep, O, K))
    return prep


def _popcount_table(prep, O, K):
    """The stream table re-indexed by the popcount itself: one segment of K + 1 codes per channel and distinct
    D (zero padding makes D vary over the border pixels), code(pc) = lut[D - 2 * pc + lut_base[o]], and
    "pc_off" (O, P | 1) the segment of each channel and pixel: code = pc_lut[pc + pc_off[o, p]]."""
    D = prep["D"].astype(np.int64)  # (O, P | 1)
    segs, off = [], np.empty(D.shape, np.int64)
    pc = np.arange(K + 1)
    for o in range(O):
        ds, inv = np.unique(D[o], return_inverse=True)
        for d in ds:
            # a reachable pc gives |d - 2 pc| <= K; the clip only fills the entries no pc reaches
            segs.append(prep["lut"][np.clip(d - 2 * pc, -K, K) + int(prep["lut_base"][o, 0])])
        off[o] = (len(segs) - len(ds) + inv.reshape(-1)) * (K + 1)
    return {"pc_lut": np.concatenate(segs), "pc_off": off.astype(np.int32)}


LUT_ENTRIES = 1 << 20


def _requant_table(attrs, O, K):
    """For a layer whose accumulators lie in -K..K (binary dot products) and which writes an int8/int16
    stream: every channel's requantized code of every reachable accumulator, computed with the literal int64
    rule, {"lut": (O * (2K+1),), "lut_base": (O, 1) int32 = o * (2K+1) + K}; code = lut[acc + lut_base[o]].
    Empty when the table would exceed LUT_ENTRIES (the caller requantizes the int32 accumulators then)."""
    if O * (2 * K + 1) > LUT_ENTRIES:
        return {}
    mult, offset, shift = (np.broadcast_to(np.asarray(v, np.int64), (O,)) for v in attrs["requant"])
    v = np.arange(-K, K + 1, dtype=np.int64)[None, :]
    lut = requantize(v, mult[:, None], offset[:, None], shift[:, None], *_limits(attrs))
    base = (np.arange(O, dtype=np.int32) * (2 * K + 1) + K).reshape(O, 1)
    return {"lut": np.ascontiguousarray(lut).reshape(-1), "lut_base": base}


def _bin_run(xw, prep, P, out):
    """The XOR-popcount of a binary layer over R = n * P output pixels, thresholded into out.

    xw: (J, R) uint64 input tap words, word-major; prep from _bin_prep. out: (R, words(O)) uint32 bits, zeroed,
    or (R, O) int32. Output-major tiles (O, cols): each vectorised XOR runs over a contiguous row with one
    weight word; up to three 64-bit counts add up in uint8 (<= 192) before one widening add (all of them when
    K <= 254); tiles hold whole samples so per-pixel bounds broadcast.
    """
    ww, cdt, O = prep["ww"], prep["cdt"], prep["O"]
    J, R = xw.shape
    cols = min(-(-TILE_COLS // P) * P, R)
    group = J if cdt is np.uint8 else 3
    t = np.empty((O, cols), np.uint64)
    c = np.empty((O, cols), np.uint8)
    acc = np.empty((O, cols), cdt)
    acc3 = _view(acc, (O, cols // P, P))
    part = acc if group >= J else np.empty((O, cols), np.uint8)
    bits = prep.get("L") is not None
    if bits:
        o8 = -(-O // 8) * 8
        cond = np.zeros((o8, cols), bool)
        out_u8 = out.view(np.uint8)
    if out.dtype not in (np.int32, np.uint32):
        idx = np.empty((cols, O), np.int32)
    wfull = _short_row_weights(prep, R) if cols == R < TILE_COLS else None
    for r0 in range(0, R, cols):
        r1 = min(R, r0 + cols)
        m = r1 - r0
        tt, cc, a = t[:, :m], c[:, :m], acc[:, :m]
        for j0 in range(0, J, group):
            p = a if group >= J else part[:, :m]
            for j in range(j0, min(J, j0 + group)):
                if wfull is not None:  # short rows: broadcast copy + XOR of whole arrays (no per-row loop)
                    tt[...] = xw[j, None, :]
                    np.bitwise_xor(tt, wfull[j], out=tt)
                else:
                    np.bitwise_xor(xw[j, None, r0:r1], ww[:, j, None], out=tt)
                if j == j0:
                    np.bitwise_count(tt, out=p)
                else:
                    np.bitwise_count(tt, out=cc)
                    np.add(p, cc, out=p)
            if p is not a:
                if j0 == 0:
                    a[...] = p
                else:
                    np.add(a, p, out=a, casting="unsafe")
        if bits:
            np.greater_equal(a, _tiled_pixels(prep, "L", P, cols)[:, :m], out=cond[:O, :m])
            _pack_first(cond[:, :m], out_u8[r0:r1])
            if prep["flip"] is not None:
                np.bitwise_xor(out_u8[r0:r1], prep["flip"], out=out_u8[r0:r1])
        else:
            if out.dtype != np.int32:  # a stream: the requantized codes from the table (see _popcount_table)
                # the table indices written pixel-major (a transposed view), so that one gather fills the
                # output rows in place; mode "clip" only spares take() its buffered bounds check: every
                # index is in range by construction
                # (the segment offsets tiled over a whole tile once: an add of two (O, cols) rows is several
                # times faster than broadcasting pc_off's P columns when P is small)
                ix = idx[:m]
                np.add(a, _tiled_pixels(prep, "pc_off", P, cols)[:, :m], out=ix.T)
                np.take(prep["pc_lut"], ix, out=out[r0:r1], mode="clip")
            else:
                v = np.multiply(acc3[:, :m // P], np.int32(-2), dtype=np.int32)  # (O, samples, P)
                v += prep["D"][:, None, :]
                out[r0:r1] = v.reshape(O, m).T


def _tiled_pixels(prep, key, P, cols):
    """prep[key], per channel and pixel (O, P | 1), repeated along a tile of cols = k * P output pixels: (O, cols),
    kept in prep under key + "_tiled" (an op over two contiguous rows is several times faster than one that
    broadcasts P columns, or one column, along each row)."""
    hit = prep.get(key + "_tiled")
    if hit is None or hit.shape[1] != cols:
        v, O = prep[key], prep["O"]
        tile = np.broadcast_to(v[:, None, :], (O, cols // P, P))
        hit = prep[key + "_tiled"] = np.ascontiguousarray(tile).reshape(O, cols)
    return hit


SHORT_ROW_BYTES = 4 << 20


def _short_row_weights(prep, R):
    """The weight words spread along R columns, (J, O, R) uint64, for a batch of R < TILE_COLS rows (dense
    layers on modest batches): NumPy XORs two whole arrays several times faster than it broadcasts a
    column over short rows. Kept in prep for the last R seen; None when it would exceed SHORT_ROW_BYTES."""
    ww = prep["ww"]
    O, J = ww.shape
    if O * J * R * 8 > SHORT_ROW_BYTES:
        return None
    hit = prep.get("wfull")
    if hit is None or hit.shape[2] != R:
        hit = prep["wfull"] = np.ascontiguousarray(np.broadcast_to(ww.T[:, :, None], (J, O, R)))
    return hit


def _tap_words(xp, attrs, C: int, J: int) -> np.ndarray:
    """im2col on packed bits without unpacking: every tap's C bits laid end to end, (J, rows) uint64.

    Tap t's channels go to global bit offsets t*C... When C is a multiple of 64 the tap words are gathered as
    they are; when it is a multiple of 8, 16 or 32 every g-bit slot of a tap lands on a g-bit slot of the
    output and is copied through uint{g} views; otherwise tap t's word k goes to bit offset t*C + 32k, shifted
    into (and, when it straddles, across) 64-bit words. (Little-endian word views, as everywhere here.)
    """
    win = _windows(xp, attrs)  # (n, OH, OW, KH, KW, Cw)
    n, OH, OW, KH, KW, Cw = win.shape
    R = n * OH * OW
    if C % 64 == 0:
        out = np.empty((J, R), dtype=np.uint64)
        xw = _windows(xp.view(np.uint64), attrs)  # (n, OH, OW, KH, KW, Cw/2)
        _view(out, (KH, KW, Cw // 2, n, OH, OW))[...] = xw.transpose(3, 4, 5, 0, 1, 2)
        return out
    out = np.zeros((J, R), dtype=np.uint64)
    g = next((g for g in (32, 16, 8) if C % g == 0), None)
    if g is not None:
        dt = {32: np.uint32, 16: np.uint16, 8: np.uint8}[g]
        m, cs = 64 // g, C // g
        wg = _windows(xp.view(dt), attrs)  # (n, OH, OW, KH, KW, slots)
        og = _view(out.view(dt), (J, R, m))
        for kh in range(KH):
            for kw in range(KW):
                for p in range(cs):
                    S = (kh * KW + kw) * cs + p
                    _view(og[S // m, :, S % m], (n, OH, OW))[...] = wg[:, :, :, kh, kw, p]
        return out
    v = np.empty((n, OH, OW), np.uint64)
    s = np.empty(R, np.uint64)
    vf = v.reshape(R)
    for kh in range(KH):
        for kw in range(KW):
            t = kh * KW + kw
            for k in range(Cw):
                off = t * C + 32 * k
                j, sh = off // 64, off % 64
                v[...] = win[:, :, :, kh, kw, k]
                np.left_shift(vf, np.uint64(sh), out=s)
                np.bitwise_or(out[j], s, out=out[j])
                if sh + min(32, C - 32 * k) > 64:  # the word's valid bits spill into the next 64-bit word
                    np.right_shift(vf, np.uint64(64 - sh), out=s)
                    np.bitwise_or(out[j + 1], s, out=out[j + 1])
    return out


def _border_correction(attrs, pc):
    """For zero padding: what the padded taps (read as +1 inputs) added, per output pixel and channel, (OH, OW, O).

    A padded tap read as input bits 0 contributes C - 2 * popcount(w_tap); zero padding means it must
    contribute 0, so this is subtracted (the valid-taps rule of the kernels; Larq's border correction).
    pc: (O, KH, KW) popcounts of the weight taps.
    """
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    valid = _pad_spatial(np.ones((1, H, W), dtype=bool), attrs["pads"], False)[0]
    corr = np.zeros((OH, OW, O), dtype=np.int64)
    for kh, kw, rs, cs in _taps(attrs):
        corr += (~valid[rs, cs])[:, :, None] * (C - 2 * pc[:, kh, kw])[None, None, :]
    return corr


def _conv_bits_prep(attrs):
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    KH, KW = attrs["kernel"]
    wp = attrs["packed"]  # (O, KH, KW, Cw)
    K = KH * KW * C
    if C % 64 == 0:  # words already full: taken as they are
        ww = _as_u64(wp.reshape(O, -1))
    else:  # the taps' bits re-packed densely (C bits per tap, not a whole word): fewer popcounts
        ww = _as_u64(pack_bits(unpack_bits(wp, C).reshape(O, -1)))
    D = K
    if attrs["pad"] == "zero" and any(attrs["pads"]):
        pc = np.bitwise_count(wp).sum(axis=-1, dtype=np.int64)  # (O, KH, KW)
        D = K - _border_correction(attrs, pc).reshape(OH * OW, O)
    prep = _bin_prep(attrs, O, K, OH * OW, D, ww)
    prep["J"] = ww.shape[1]
    if attrs["pad"] == "minus-one":
        prep["pad_word"] = tail_mask(C)  # -1 on the C real channels
    return prep


def conv2d_bits(x, attrs):
    """Binary conv: packed (N,H,W,Cw) -> output bits (N,OH,OW,words(O)) or int32 (N,OH,OW,O), over the valid
    taps (padded taps as +1 / -1 inputs for pad "one" / "minus-one")."""
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    prep = _prepared(attrs, _conv_bits_prep)
    N, P, J = x.shape[0], OH * OW, prep["J"]
    out = _alloc_out(N, (OH, OW), O, attrs, stream="lut" in prep)
    flat = out.reshape(N * P, out.shape[-1])
    t, l, b, r = attrs["pads"]
    per_sample = (H + t + b) * (W + l + r) * x.shape[3] * 4 + P * J * 8 * 2
    for s in _chunks(N, per_sample):
        if "pad_word" in prep:
            xp = _pad_spatial(x[s], attrs["pads"], prep["pad_word"])
        else:  # bits 0 = +1: "one" padding as is, "zero" corrected by the bounds
            xp = _pad_spatial(x[s], attrs["pads"], 0)
        xw = _tap_words(xp, attrs, C, J)
        _bin_run(xw, prep, P, flat[s.start * P:s.stop * P])
    return _finish(out, attrs)


def _dense_bits_prep(attrs):
    P, C = attrs["in_shape"]
    wp = attrs["packed"]  # (O, P, Cw)
    O = wp.shape[0]
    ww = _as_u64(wp.reshape(O, -1))
    return _bin_prep(attrs, O, P * C, 1, P * C, ww)


def dense_bits(x, attrs):
    """Binary dense: packed (N, P, Cw) -> output bits (N, words(O)) or int32 (N, O)."""
    prep = _prepared(attrs, _dense_bits_prep)
    N, O = x.shape[0], prep["O"]
    out = _alloc_out(N, (), O, attrs, stream="lut" in prep)
    xf = _flat(x)
    for s in _chunks(N, xf.shape[1] * 8):
        xw = np.ascontiguousarray(_as_u64(xf[s]).T)  # (J, n)
        _bin_run(xw, prep, 1, out[s])
    return _finish(out, attrs)


# --------------------------------------------------------------------------- int8-input layers ----
def _int8_bound(w, zp, in_bits=8):
    """max over outputs of sum |w| * max|x - zp|: no partial sum of an integer-input layer can exceed it."""
    return int(np.abs(w.astype(np.int64)).sum(axis=tuple(range(1, w.ndim))).max()) * ((1 << (in_bits - 1)) + abs(int(zp)))


def _int8_prep(attrs):
    """Weights (K[+1], O[8]) in the float type that sums them exactly.

    For bits output the flip sign and the threshold are folded in: a last row -T against an input column of
    ones, so that bit = (s * acc < T) = (matmul < 0), s = -1 where flip and T = tau + flip
    (~acc < tau <=> -acc < tau + 1); outputs are padded to a multiple of 8 with columns whose result is +1
    (bit 0). T is clamped to +-(bound + 1), which keeps every comparison as |acc| <= bound.
    Exact: inputs and weights are integers and every partial sum, in whatever order BLAS adds (FMA or not),
    is bounded by bound (+ |T| <= bound + 1); below 2**24 float32 represents all of them, else float64 (exact
    below 2**53; the converter keeps int8-layer accumulators inside int32).
    """
    w = attrs["weights"]
    O = w.shape[0]
    w2 = w.reshape(O, -1).astype(np.int64)
    K = w2.shape[1]
    zp = int(attrs["input_zero_point"])
    bound = _int8_bound(w, zp, int(attrs.get("in_bits", 8)))
    if attrs["out"] == "int8":
        vmax = np.abs(w2).sum(axis=1) * ((1 << (int(attrs.get("in_bits", 8)) - 1)) + abs(zp))  # per channel
        fp = _fixed_point(attrs["requant"], O, vmax)
        base = {"dt": np.float64, "O": O, "K": K, "zp": zp, "bias": True, "limits": _limits(attrs)}
        if fp is not None:  # the whole requantization inside the exact float64 matmul (see _fixed_point)
            M, B = fp
            Wq = np.empty((K + 1, O), np.float64)
            Wq[:K] = w2.T * M  # |w * m| * 2**-s: exact (integers below 2**53, scaled by a power of two)
            Wq[K] = B
            return dict(base, W=Wq)
        sat = _saturating(attrs["requant"], O, vmax, *_limits(attrs))
        if sat is not None:  # v exact from the matmul, then one stage exact where it does not saturate
            step, (M, B) = _tiled(O, *sat)
            return dict(base, bias=False, W=np.ascontiguousarray(w2.T, np.float64), M=M, B=B, step=step)
        ts = _two_stage(attrs["requant"], O, vmax)
        if ts is not None:  # both stages of _two_stage as matmuls: W gives F before its floor, W2 v * A2
            A1, B1, S2, A2 = ts
            W1, W2 = np.zeros((K + 1, O)), np.zeros((K + 1, O))
            W1[:K], W1[K] = w2.T * A1, B1
            W2[:K] = w2.T * A2
            step, (S2t,) = _tiled(O, S2)
            return dict(base, W=W1, W2=W2, S2=S2t, step=step)
    bits = attrs["out"] == "bits"
    dt = np.float32 if (2 * bound + 1 if bits else bound) < F32_EXACT else np.float64
    prep = {"dt": dt, "O": O, "K": K, "zp": zp, "bias": bits}
    if bits:
        flip = attrs["flip"].astype(bool).reshape(O)
        s = np.where(flip, -1, 1)
        o8 = -(-O // 8) * 8
        Wb = np.zeros((K + 1, o8), np.int64)
        Wb[:K, :O] = (w2 * s[:, None]).T
        Wb[K, :O] = -np.clip(attrs["thresholds"].astype(np.int64) + flip, -(bound + 1), bound + 1)
        Wb[K, O:] = 1
        prep["W"] = Wb.astype(dt)
    else:
        prep["W"] = np.ascontiguousarray(w2.T.astype(dt))
    return prep


def _int8_out(acc, prep, out, acc2=None):
    """acc (R, O[8]) float from the prepared weights -> out: (R, words(O)) uint32 bits (zeroed) or (R, O) int32."""
    if "M" in prep:  # acc holds v: floor(v * M + B), clamped (see _saturating)
        _affine_blocks(acc.reshape(-1), prep["step"], prep["M"], prep["B"], *prep["limits"], out.reshape(-1))
        return
    if "W2" in prep:  # acc holds F before its floor, acc2 v * A2 (see _two_stage): floor(F * S2 + v * A2)
        lo, hi = prep["limits"]
        af, bf, of = acc.reshape(-1), acc2.reshape(-1), out.reshape(-1)
        step, S2 = prep["step"], prep["S2"]
        for i in range(0, af.size, step):
            n = min(step, af.size - i)
            f = af[i:i + n]
            np.floor(f, out=f)
            np.multiply(f, S2[:n], out=f)
            np.add(f, bf[i:i + n], out=f)
            _floor_clip(f, lo, hi, of[i:i + n])
        return
    if "limits" in prep:  # floor((acc * m + offset) / 2**shift), exact in acc, clamped to the stream
        _floor_clip(acc, *prep["limits"], out)
        return
    if not prep["bias"]:
        out[...] = acc
        return
    _pack_last(np.less(acc, 0), out)


def _int8_columns(xs, attrs, prep):
    """The im2col of int8 inputs minus the zero point, in the float type of prep, with a column of ones when
    the weights carry the threshold row: an (R, K[+1]) matrix (possibly a transposed view)."""
    dt, K = prep["dt"], prep["K"]
    zp = dt(prep["zp"])
    kb = K + prep["bias"]
    n = xs.shape[0]
    if "kernel" not in attrs:
        cols = np.empty((n, kb), dt)
        np.subtract(_flat(xs), zp, out=cols[:, :K], dtype=dt)
        if prep["bias"]:
            cols[:, K] = 1
        return cols
    H, W, C = attrs["in_shape"]
    OH, OW, _ = attrs["out_shape"]
    KH, KW = attrs["kernel"]
    t, l, b, r = attrs["pads"]
    xp = np.zeros((n, H + t + b, W + l + r, C), dt)  # padded taps contribute exactly 0
    np.subtract(xs, zp, out=xp[:, t:t + H, l:l + W], dtype=dt)
    win = _windows(xp, attrs)  # (n, OH, OW, KH, KW, C)
    R = n * OH * OW
    if C * KW < OW:  # short contiguous tap rows: gather tap-major, whole output rows at a time
        cols = np.empty((kb, R), dt)
        _view(cols[:K], (KH, KW, C, n, OH, OW))[...] = win.transpose(3, 4, 5, 0, 1, 2)
        if prep["bias"]:
            cols[K] = 1
        return cols.T
    cols = np.empty((R, kb), dt)
    _view(cols[:, :K], (n, OH, OW, KH, KW, C))[...] = win
    if prep["bias"]:
        cols[:, K] = 1
    return cols


def conv2d_int8(x, attrs):
    """int8-input conv: (N,H,W,C) int8 -> the sum of w * (x - zero_point) over the valid taps, thresholded to
    bits (N,OH,OW,words(O)) or int32 (N,OH,OW,O); w int8 or int16 (a float first layer that needs 16-bit
    weights)."""
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    prep = _prepared(attrs, _int8_prep)
    N, P = x.shape[0], OH * OW
    out = _alloc_out(N, (OH, OW), O, attrs, stream="limits" in prep)
    flat = out.reshape(N * P, out.shape[-1])
    t, l, b, r = attrs["pads"]
    mats = 2 + ("W2" in prep)  # matmul results and their scratch
    per_sample = ((H + t + b) * (W + l + r) * C + P * (prep["K"] + 1) + mats * P * prep["W"].shape[1]) * 8
    for s in _chunks(N, per_sample):
        cols = _int8_columns(x[s], attrs, prep)
        _int8_out(cols @ prep["W"], prep, flat[s.start * P:s.stop * P], cols @ prep["W2"] if "W2" in prep else None)
    return _finish(out, attrs)


def dense_int8(x, attrs):
    """int8-input dense: (N, F) int8 -> the sum of w * (x - zero_point), bits (N, words(O)) or int32 (N, O).

    With binary weights and every input at zero_point +- 1 (a sign-quantized input) the layer is a binary
    one: x - zero_point = -1 as bit 1, and the XOR-popcount path computes the same sums."""
    N = x.shape[0]
    xf = _flat(x)
    if "packed" in attrs and N:
        zp = int(attrs["input_zero_point"])
        if -128 <= zp - 1 and zp + 1 <= 127:
            neg = xf == np.int8(zp - 1)
            if (neg | (xf == np.int8(zp + 1))).all():
                return _dense_pm1(neg, attrs)
    prep = _prepared(attrs, _int8_prep)
    out = _alloc_out(N, (), prep["O"], attrs, stream="limits" in prep)
    for s in _chunks(N, (prep["K"] + 1 + (2 + ("W2" in prep)) * prep["W"].shape[1]) * 8):
        cols = _int8_columns(xf[s], attrs, prep)
        _int8_out(cols @ prep["W"], prep, out[s], cols @ prep["W2"] if "W2" in prep else None)
    return _finish(out, attrs)


def _pm1_prep(attrs):
    wp = attrs["packed"]  # (O, words(K)): the +-1 weights' bits in (kh, kw, c) order
    K = int(np.prod(attrs["weights"].shape[1:]))
    return _bin_prep(attrs, wp.shape[0], K, 1, K, _as_u64(wp))


def _dense_pm1(neg, attrs):
    """An int8 x binary dense layer on inputs that are all zero_point +- 1: neg (N, K) bool (x - zp = -1)."""
    prep = _prepared(attrs, _pm1_prep)
    N = neg.shape[0]
    out = _alloc_out(N, (), prep["O"], attrs, stream="lut" in prep)
    J = prep["ww"].shape[1]
    for s in _chunks(N, J * 16 + neg.shape[1]):
        by = np.packbits(neg[s], axis=-1, bitorder="little")
        xb = np.zeros((by.shape[0], 8 * J), np.uint8)
        xb[:, :by.shape[1]] = by
        _bin_run(np.ascontiguousarray(xb.view(np.uint64).T), prep, 1, out[s])
    return _finish(out, attrs)


def columns(u, attrs) -> np.ndarray:
    """The first layer's im2col: input values u (N, H, W, C) or (N, F), already minus the zero point (any
    numeric dtype), -> (N * OH * OW, K) in the weights' (kh, kw, c) tap order, 0 on padded taps."""
    if "kernel" not in attrs:
        return u.reshape(u.shape[0], -1)
    up = _pad_spatial(u, attrs["pads"], 0)
    win = _windows(up, attrs)
    return win.reshape(-1, int(np.prod(win.shape[3:])))


def int_columns(q, zp, attrs) -> np.ndarray:
    """:func:`columns` of int8 device inputs q: the int16 values (q - zero_point) every kernel multiplies."""
    return columns(q.astype(np.int16) - np.int16(zp), attrs)


# --------------------------------------------------------------------------- max-pool ----
def maxpool_bits(x, attrs):
    """Max of +-1 values on packed bits: AND of bits (OR for channels in or_mask), padding ignored."""
    H, W, C = attrs["in_shape"]
    OH, OW, _ = attrs["out_shape"]
    m = pack_bits(attrs["or_mask"])
    z = x ^ m if m.any() else x
    z = _pad_spatial(z, attrs["pads"], np.uint32(0xFFFFFFFF))
    win = _windows(z, dict(attrs, dilation=(1, 1)))  # (N, OH, OW, KH, KW, Cw)
    KH, KW = attrs["kernel"]
    out = np.array(win[:, :, :, 0, 0], dtype=np.uint32)
    for kh in range(KH):
        for kw in range(KW):
            if kh or kw:
                np.bitwise_and(out, win[:, :, :, kh, kw], out=out)
    if m.any():
        out ^= m
    return out & tail_mask(C)


# --------------------------------------------------------------------------- dispatch ----
def _alloc_out(N, spatial, O, attrs, stream=False):
    """The output array of a linear layer: bits (zeroed), the stream's codes when the layer's fast path
    requantizes itself (stream=True), else int32 accumulators."""
    if attrs["out"] == "bits":
        return np.zeros((N,) + tuple(spatial) + (words(O),), np.uint32)
    dt = _stream_dtype(attrs) if stream and attrs["out"] == "int8" else np.int32
    return np.empty((N,) + tuple(spatial) + (O,), dt)


def _finish(out, attrs):
    """A linear layer's output in its final representation: int32 accumulators of an int8-stream layer (a
    path that did not requantize itself) through the literal requantization."""
    if attrs["out"] == "int8" and out.dtype == np.int32:
        return requantized(out, attrs)
    return out


_CACHE_KEY = "_golden"
_FINGERPRINT = ("in_dtype", "in_shape", "out_shape", "kernel", "stride", "dilation", "pads", "pad", "out",
                "input_zero_point", "in_bits", "packed", "weights", "thresholds", "flip", "groups", "bits", "requant",
                "breakpoint", "mult_pos", "mult_neg", "offset_pos", "offset_neg", "shift")


_FINGERPRINT_KEYS = frozenset(_FINGERPRINT)


def _fingerprint(attrs):
    """What the constants are built from: (the keys present, and per key (key, the object, a bytes copy of it
    if it is an array or a tuple of arrays))."""
    return (attrs.keys() & _FINGERPRINT_KEYS,
            tuple((k, attrs[k], _content(attrs[k])) for k in _FINGERPRINT if k in attrs))


def _content(a):
    if isinstance(a, np.ndarray):
        return a.dtype.str, a.shape, a.tobytes()
    if isinstance(a, (tuple, list)) and any(isinstance(v, np.ndarray) for v in a):
        return tuple(_content(np.asarray(v)) for v in a)
    return None


def _matches(key, attrs) -> bool:
    """Whether attrs still hold exactly what key was taken from: the same objects, arrays unchanged in place."""
    present, entries = key
    if attrs.keys() & _FINGERPRINT_KEYS != present:  # a key added or removed
        return False
    for k, obj, b in entries:
        a = attrs[k]
        if a is not obj:
            if b is not None or isinstance(a, np.ndarray) or a != obj:
                return False
        elif b is not None and _content(a) != b:  # an array (or a tuple's array) changed in place
            return False
    return True


def _prepared(attrs, build):
    """The layer's weight-only constants made by build, built once per node and kept in its attrs under
    "_golden" beside a copy of everything they were built from; rebuilt when any of that changes (no state
    outside the node)."""
    cache = attrs.get(_CACHE_KEY) or {}
    hit = cache.get(build)  # one entry per builder: a layer may need several (weights, requantization)
    if hit is not None and _matches(hit[0], attrs):
        return hit[1]
    prep = build(attrs)
    # a new dict, not an update: a copy of these attrs (dict(node.attrs, ...)) shares the old one
    attrs[_CACHE_KEY] = {**cache, build: (_fingerprint(attrs), prep)}
    return prep


# --------------------------------------------------------------------------- int8 streams ----
# The requantization floor((v * m + offset) / 2**shift) is computed in float64 where that is exact: with
# M = m * 2**-shift and B = offset * 2**-shift, v * M + B is (v * m + offset) / 2**shift, an integer below
# 2**53 scaled by a power of two, whenever |v| * |m| + |offset| < 2**53 for every reachable v (checked per
# layer from the input type's range); each partial sum is such a number too, so it is exact in every order,
# and floor() of it is the shift. Otherwise (or for the int32 path) the literal int64 rule runs.
# Elementwise stream ops run in blocks of BLOCK elements (cache-sized temporaries), with per-channel constants
# tiled to the block so every ufunc runs over one long row.
BLOCK = 1 << 16
F64_EXACT = 1 << 53


def _limits(attrs):
    """The code range of the stream a node writes: int8, or int16 (a model whose streams need the precision)."""
    b = int(attrs.get("bits", 8))
    return -(1 << (b - 1)), (1 << (b - 1)) - 1


def _stream_dtype(attrs):
    return np.int16 if int(attrs.get("bits", 8)) > 8 else np.int8


def _vmax(dtype) -> int:
    """The largest |code| of an integer type."""
    return -int(np.iinfo(dtype).min)


def _fixed_point(requant, C, vmax):
    """(M, B) float64 per channel (C,) with floor(v * M + B) == floor((v * m + offset) / 2**shift) exactly for
    every integer |v| <= vmax (per channel or scalar), or None when |v| * |m| + |offset| can reach 2**53."""
    mult, offset, shift = (np.broadcast_to(np.asarray(v, np.int64), (C,)) for v in requant)
    vmax = np.broadcast_to(np.asarray(vmax, np.int64), (C,))
    for v, m, o in zip(vmax.tolist(), mult.tolist(), offset.tolist()):  # Python ints: no overflow
        if abs(v) * abs(m) + abs(o) >= F64_EXACT:
            return None
    return np.ldexp(mult.astype(np.float64), -shift), np.ldexp(offset.astype(np.float64), -shift)


def _floor_clip(f, lo, hi, out):
    """out = clip(floor(f), lo, hi) for float64 f holding exact values (f is scratch), integer out: clipped first
    (clip(floor(f)) == floor(clip(f)) for integer bounds), then floor() writes the integers, each in out's
    range, through an exact cast."""
    np.clip(f, lo, hi, out=f)
    np.floor(f, out=out, casting="unsafe")


def _affine_blocks(v, step, M, B, lo, hi, out, scratch=None):
    """out = clamp(floor(v * M + B), lo, hi) over flat v in blocks of step elements, M and B per channel tiled to
    a block (see _tiled); scratch: a float64 block, or None to work in v itself (float64, overwritten)."""
    for i in range(0, v.size, step):
        n = min(step, v.size - i)
        f = v[i:i + n] if scratch is None else scratch[:n]
        np.multiply(v[i:i + n], M[:n], out=f)
        np.add(f, B[:n], out=f)
        _floor_clip(f, lo, hi, out[i:i + n])


def _tiled(C, *consts):
    """Per-channel constants repeated to one block of whole pixels: (block length, [tiled arrays])."""
    k = max(1, BLOCK // C)
    return k * C, [np.tile(np.asarray(c), k) for c in consts]


def _no_constants(attrs):
    return {}


def _stream_prep(attrs, key, build):
    """Per-node constants that also depend on the input's code type (int8 or int16): built once per type."""
    prep = _prepared(attrs, _no_constants)
    if key not in prep:
        prep[key] = build()
    return prep[key]


def _two_stage(requant, C, vmax):
    """Constants of the requantization of int32 accumulators (|v| <= vmax) in two exact float64 stages, or
    None. With m = mh * 2**j + ml (0 <= ml < 2**j, j <= shift, d = shift - j):

        floor((v * m + offset) / 2**shift) = floor((v * mh + F) / 2**d),  F = floor((v * ml + offset) / 2**j)

    (v * mh * 2**j is a multiple of 2**j, and nested floors of divisions by powers of two compose). Each
    stage is a _fixed_point one: |v| * ml + |offset| < 2**53 and |v| * |mh| + |F| < 2**53, checked per channel
    with Python integers (vmax per channel or one for all). Returns (A1, B1, S2, A2) per channel with
    F = floor(v * A1 + B1) and the result floor(F * S2 + v * A2): A1 = ml * 2**-j, B1 = offset * 2**-j,
    S2 = 2**-d, A2 = mh * 2**-d."""
    mult, offset, shift, vmaxes = (np.broadcast_to(np.asarray(t, np.int64), (C,)).tolist()
                                   for t in tuple(requant) + (vmax,))
    A1, B1, S2, A2 = (np.empty(C) for _ in range(4))
    for c, (m, o, s, vmax) in enumerate(zip(mult, offset, shift, vmaxes)):
        if vmax + abs(o) >= F64_EXACT:
            return None
        j = min(s, ((F64_EXACT - abs(o) - 1) // vmax).bit_length() - 1)  # vmax * (2**j - 1) + |o| < 2**53
        ml, mh = m & ((1 << j) - 1), m >> j
        f_max = (vmax * ml + abs(o)) // (1 << j) + 1
        if j < 0 or vmax * ml + abs(o) >= F64_EXACT or vmax * abs(mh) + f_max >= F64_EXACT:
            return None
        A1[c], B1[c] = np.ldexp(float(ml), -j), np.ldexp(float(o), -j)
        S2[c], A2[c] = np.ldexp(1.0, j - s), np.ldexp(float(mh), j - s)
    return A1, B1, S2, A2


def _saturating(requant, C, vmax, lo, hi):
    """(M, B) per channel (C,) with clamp(floor(v * M + B), lo, hi) == clamp(floor((v * m + offset) / 2**shift),
    lo, hi) for every integer |v| <= vmax, v * M and + B each rounded in float64; or None. Unlike _fixed_point,
    v * M + B need only be exact where the result does not saturate the stream.

    f(v) = floor((v * m + offset) / 2**shift) is monotone in v (non-decreasing for m >= 0). For m > 0 let vlo be
    the largest v with f(v) <= lo and vhi the smallest with f(v) >= hi (for m < 0 the same on -v; m = 0 is a
    constant), both clipped into [-vmax, vmax]. On [vlo, vhi], M = m * 2**-shift and B = offset * 2**-shift
    are exact as in _fixed_point when max(|vlo|, |vhi|) * |m| + |offset| < 2**53. Beyond vhi both sides clamp
    to hi: f(v) >= f(vhi) >= hi, and the computed g(v) = floor(fl(fl(v * M) + B)) is monotone in v too
    (rounding is monotone), so g(v) >= g(vhi) = f(vhi) >= hi; likewise below vlo. Python integers throughout."""
    mult, offset, shift, vmaxes = (np.broadcast_to(np.asarray(t, np.int64), (C,)).tolist()
                                   for t in tuple(requant) + (vmax,))
    reach = np.empty(C, np.int64)
    for c, (m, o, s, vm) in enumerate(zip(mult, offset, shift, vmaxes)):
        if m > 0:
            a = -((o - ((lo + 1) << s)) // m) - 1  # v * m + o < (lo + 1) * 2**s  <=>  v <= ceil(...) - 1
            b = -((o - (hi << s)) // m)  # v * m + o >= hi * 2**s  <=>  v >= ceil((hi * 2**s - o) / m)
        elif m < 0:
            a = (o - (hi << s)) // -m  # f(v) >= hi  <=>  v * -m <= o - hi * 2**s
            b = (o - ((lo + 1) << s)) // -m + 1  # f(v) <= lo  <=>  v * -m > o - (lo + 1) * 2**s
        else:
            a = b = 0
        a, b = min(max(a, -vm), vm), min(max(b, -vm), vm)
        reach[c] = max(abs(a), abs(b))
    return _fixed_point(requant, C, reach)


def _tiled_or_none(C, consts):
    return None if consts is None else _tiled(C, *consts)


def requantized(acc, attrs):
    """A conv/dense layer's int32 accumulators (N, ..., O) through its per-channel requantization: in two
    exact float64 stages (_two_stage), else the literal int64 rule of requant.requantize in blocks with the
    constants tiled (the same operations, elementwise)."""
    C = acc.shape[-1]
    lo, hi = _limits(attrs)
    out = np.empty(acc.shape, _stream_dtype(attrs))
    af, of = acc.reshape(-1), out.reshape(-1)
    fp = _stream_prep(attrs, ("requant2", C), lambda: _tiled_or_none(C, _two_stage(attrs["requant"], C, 1 << 31)))
    if fp is not None:
        step, (A1, B1, S2, A2) = fp
        f = np.empty(min(step, af.size), np.float64)
        g = np.empty_like(f)
        for i in range(0, af.size, step):
            n = min(step, af.size - i)
            fb, gb, v = f[:n], g[:n], af[i:i + n]
            np.multiply(v, A1[:n], out=fb)
            np.add(fb, B1[:n], out=fb)
            np.floor(fb, out=fb)  # F
            np.multiply(fb, S2[:n], out=fb)
            np.multiply(v, A2[:n], out=gb)
            np.add(fb, gb, out=fb)
            _floor_clip(fb, lo, hi, of[i:i + n])
        return out
    step, (m, o, s) = _stream_prep(attrs, ("requant", C), lambda: _tiled(
        C, *(np.broadcast_to(np.asarray(v, np.int64), (C,)) for v in attrs["requant"])))
    b = np.empty(min(step, af.size), np.int64)
    for i in range(0, af.size, step):
        n = min(step, af.size - i)
        bb = b[:n]
        np.multiply(af[i:i + n], m[:n], out=bb)  # v * m + offset < 2**62 (requant.affine_constants)
        np.add(bb, o[:n], out=bb)
        np.right_shift(bb, s[:n], out=bb)  # arithmetic: floor division by 2**shift
        np.clip(bb, lo, hi, out=bb)
        of[i:i + n] = bb
    return out


def _add_consts(attrs, da, db):
    ma, mb, offset, shift = attrs["requant"]
    if np.ndim(ma) or np.ndim(mb) or np.ndim(offset) or np.ndim(shift):
        return None
    ma, mb, offset, shift = int(ma), int(mb), int(offset), int(shift)
    if _vmax(da) * abs(ma) + _vmax(db) * abs(mb) + abs(offset) >= F64_EXACT:
        return None
    return float(np.ldexp(float(ma), -shift)), float(np.ldexp(float(mb), -shift)), float(np.ldexp(float(offset), -shift))


def add_s8(a, b, attrs):
    """The residual add: y = requant(a * ma + b * mb) on int8 tensors of one shape."""
    c = _stream_prep(attrs, ("add", a.dtype.str, b.dtype.str), lambda: _add_consts(attrs, a.dtype, b.dtype))
    if c is None or a.shape != b.shape:
        ma, mb, offset, shift = attrs["requant"]
        v = a.astype(np.int64) * int(ma) + b.astype(np.int64) * int(mb)
        return requantize(v, 1, offset, shift, *_limits(attrs))
    Ma, Mb, B = c  # a * Ma + b * Mb + B: each partial sum exact (see _fixed_point)
    lo, hi = _limits(attrs)
    out = np.empty(a.shape, _stream_dtype(attrs))
    af, bf, of = a.reshape(-1), b.reshape(-1), out.reshape(-1)
    f = np.empty(min(BLOCK, af.size), np.float64)
    g = np.empty_like(f)
    for i in range(0, af.size, BLOCK):
        n = min(BLOCK, af.size - i)
        fb, gb = f[:n], g[:n]
        np.multiply(af[i:i + n], Ma, out=fb)
        np.multiply(bf[i:i + n], Mb, out=gb)
        np.add(fb, gb, out=fb)
        np.add(fb, B, out=fb)
        _floor_clip(fb, lo, hi, of[i:i + n])
    return out


def _avgpool_consts(attrs, dtype):
    """(M, B) of the pooled sum of raw codes (the zero point folded into the offset), or None."""
    KH, KW = attrs["kernel"]
    T = KH * KW
    C = attrs["in_shape"][-1]
    zp = int(attrs["input_zero_point"])
    if T * _vmax(dtype) >= 1 << 31 or not np.iinfo(dtype).min <= zp <= np.iinfo(dtype).max:
        return None
    mult, offset, shift = (np.broadcast_to(np.asarray(v, np.int64), (C,)) for v in attrs["requant"])
    # sum(x - zp) * m + offset = sum(x) * m + (offset - T * zp * m)
    off = np.array([o - T * zp * m for o, m in zip(offset.tolist(), mult.tolist())], dtype=object)
    if any(abs(int(o)) >= F64_EXACT for o in off):
        return None
    return _fixed_point((mult, off.astype(np.int64), shift), C, T * _vmax(dtype))


def avgpool_s8(x, attrs):
    """Average pool of an int8 stream: the sum of (x - zero point) over the valid taps, requantized."""
    zp = int(attrs["input_zero_point"])
    H, W, C = attrs["in_shape"]
    fp = _stream_prep(attrs, ("avgpool", x.dtype.str), lambda: _tiled_or_none(C, _avgpool_consts(attrs, x.dtype)))
    mult, offset, shift = attrs["requant"]
    if fp is None:
        xz = _pad_spatial(x.astype(np.int32) - zp, attrs["pads"], 0)
        win = _windows(xz, dict(attrs, dilation=(1, 1)))  # (N, OH, OW, KH, KW, C)
        return requantize(win.sum(axis=(3, 4), dtype=np.int64), mult, offset, shift, *_limits(attrs))
    OH, OW, _ = attrs["out_shape"]
    n = x.shape[0]
    if (OH, OW) == (1, 1) and tuple(attrs["kernel"]) == (H, W) and not any(attrs["pads"]):  # global pool
        xs = x.reshape(n, H * W, C)
        if H * W <= 64:  # a few taps: one add per tap, several times faster than sum() over the middle axis
            acc = xs[:, 0].astype(np.int32)
            for t in range(1, H * W):
                np.add(acc, xs[:, t], out=acc)
        else:
            acc = xs.sum(axis=1, dtype=np.int32)
    else:  # padded taps hold the zero point: they add 0 to sum(x - zp); int32 is exact (T * |x| < 2**31)
        xp = _pad_spatial(x, attrs["pads"], x.dtype.type(zp))
        acc = np.zeros((n, OH, OW, C), np.int32)
        for _, _, rs, cs in _taps(dict(attrs, dilation=(1, 1))):
            np.add(acc, xp[:, rs, cs], out=acc)
    return _stream_requant(acc, fp, attrs, (n, OH, OW, C))


def _stream_requant(acc, fp, attrs, shape):
    """floor(acc * M + B) per channel (last axis), clamped to the node's stream: the requantization in float64
    where _fixed_point proved it exact; fp = (step, (M, B) tiled to a block of step elements)."""
    out = np.empty(shape, _stream_dtype(attrs))
    step, (Mt, Bt) = fp
    af = acc.reshape(-1)
    _affine_blocks(af, step, Mt, Bt, *_limits(attrs), out.reshape(-1), np.empty(min(step, af.size), np.float64))
    return out


def maxpool_stream(x, attrs):
    """Max of a stream's codes over the valid taps of each window (padded taps ignored)."""
    lo = np.iinfo(x.dtype).min
    win = _windows(_pad_spatial(x, attrs["pads"], lo), dict(attrs, dilation=(1, 1)))
    return win.max(axis=(3, 4))


def _prelu_consts(attrs, dtype):
    C = attrs["in_shape"][-1]
    vm = _vmax(dtype)
    pos = _fixed_point((attrs["mult_pos"], attrs["offset_pos"], attrs["shift"]), C, vm)
    neg = _fixed_point((attrs["mult_neg"], attrs["offset_neg"], attrs["shift"]), C, vm)
    if pos is None or neg is None:
        return None
    bp = np.broadcast_to(np.asarray(attrs["breakpoint"], np.float64), (C,))
    return _tiled(C, bp, pos[0], pos[1], neg[0], neg[1])


def _prelu_literal(x, attrs):
    """The PReLU rule on integer codes x (..., C), literally: the piece by the breakpoint, then requantize."""
    pos = x.astype(np.int32) >= attrs["breakpoint"]
    mult = np.where(pos, attrs["mult_pos"], attrs["mult_neg"])
    offset = np.where(pos, attrs["offset_pos"], attrs["offset_neg"])
    return requantize(x, mult, offset, attrs["shift"], *_limits(attrs))


PRELU_LUT_ENTRIES = 1 << 22


def _prelu_table(attrs, dtype):
    """Every channel's output code of every input code, by the literal rule: the op is a function of (channel,
    code) alone, so one gather replaces its arithmetic. (lut (C * codes,), base tiled to a block: o * codes -
    min code), or None when the table would exceed PRELU_LUT_ENTRIES."""
    C = attrs["in_shape"][-1]
    info = np.iinfo(dtype)
    codes = int(info.max) - int(info.min) + 1
    if C * codes > PRELU_LUT_ENTRIES:
        return None
    v = np.broadcast_to(np.arange(info.min, info.max + 1, dtype=np.int64)[:, None], (codes, C))
    lut = np.ascontiguousarray(_prelu_literal(v, attrs).T).reshape(-1)  # channel-major: lut[o * codes + x - min]
    step, (base,) = _tiled(C, np.arange(C, dtype=np.int32) * codes - int(info.min))
    return lut, step, base


def prelu_s8(x, attrs):
    """Two affine pieces per channel around the breakpoint, requantized (PReLU, RPReLU, an affine): a table
    per channel of every input code (int8 and int16 streams of modest width), else in float64 or literally."""
    t = _stream_prep(attrs, ("prelu_lut", x.dtype.str), lambda: _prelu_table(attrs, x.dtype))
    if t is not None:
        lut, step, base = t
        out = np.empty(x.shape, lut.dtype)
        xf, of = x.reshape(-1), out.reshape(-1)
        idx = np.empty(min(step, xf.size), np.int32)
        for i in range(0, xf.size, step):  # whole pixels per block: the tiled channel bases line up
            n = min(step, xf.size - i)
            np.add(xf[i:i + n], base[:n], out=idx[:n])
            np.take(lut, idx[:n], out=of[i:i + n], mode="clip")  # every index in range by construction
        return out
    c = _stream_prep(attrs, ("prelu", x.dtype.str), lambda: _prelu_consts(attrs, x.dtype))
    if c is None:
        return _prelu_literal(x, attrs)
    step, (bp, Mp, Bp, Mn, Bn) = c
    lo, hi = _limits(attrs)
    out = np.empty(x.shape, _stream_dtype(attrs))
    xf, of = x.reshape(-1), out.reshape(-1)
    m = min(step, xf.size)
    v, f, g, neg = np.empty(m), np.empty(m), np.empty(m), np.empty(m, bool)
    for i in range(0, xf.size, step):
        n = min(step, xf.size - i)
        vb, fb, gb, nb = v[:n], f[:n], g[:n], neg[:n]
        vb[...] = xf[i:i + n]
        np.less(vb, bp[:n], out=nb)  # exact: integers in float64
        np.multiply(vb, Mp[:n], out=fb)
        np.add(fb, Bp[:n], out=fb)
        np.multiply(vb, Mn[:n], out=gb)
        np.add(gb, Bn[:n], out=gb)
        _floor_clip(np.where(nb, gb, fb), lo, hi, of[i:i + n])
    return out


def _binarize_consts(attrs, dtype):
    """bit = (x < t) XOR f per channel, t in the input's type: a' < tau with a' = ~x = -x - 1 where flip is
    x >= -tau, i.e. NOT (x < -tau); a t outside the type's range makes the comparison constant (x < lo)."""
    C = attrs["in_shape"][-1]
    tau = np.broadcast_to(attrs["thresholds"].astype(np.int64), (C,))
    flip = np.broadcast_to(np.asarray(attrs["flip"], bool), (C,))
    t = np.where(flip, -tau, tau)
    lo, hi = int(np.iinfo(dtype).min), int(np.iinfo(dtype).max)
    always = t > hi  # x < t for every code
    f = flip ^ always
    t = np.where(always | (t <= lo), lo, t).astype(dtype)  # x < lo: never
    return _tiled(C, t, f)


def binarize_s8(x, attrs):
    """int8 -> packed bits: bit c = (a' < tau[c]), a' = ~x where flip[c] else x."""
    step, (t, f) = _stream_prep(attrs, ("binarize", x.dtype.str), lambda: _binarize_consts(attrs, x.dtype))
    C = attrs["in_shape"][-1]
    xf = x.reshape(-1)
    cond = np.empty(xf.size, bool)
    for i in range(0, xf.size, step):
        n = min(step, xf.size - i)
        cb = cond[i:i + n]
        np.less(xf[i:i + n], t[:n], out=cb)
        np.not_equal(cb, f[:n], out=cb)
    if C % 8:
        return pack_bits(cond.reshape(x.shape))
    R = xf.size // C
    out = np.zeros((R, words(C)), np.uint32)
    _pack_last(cond.reshape(R, C), out)
    return out.reshape(x.shape[:-1] + (words(C),))


def run_layer(node, x):
    a = node.attrs
    if node.op == MAXPOOL:
        return maxpool_stream(x, a) if "bits" in a else maxpool_bits(x, a)
    if node.op in (CONV2D, DENSE):
        return _linear(node, x)
    if node.op == AVGPOOL:
        return avgpool_s8(x, a)
    if node.op == PRELU:
        return prelu_s8(x, a)
    if node.op == BINARIZE:
        return binarize_s8(x, a)
    raise TypeError(f"not a device layer: {node.op}")


def _groups_prep(attrs):
    """A grouped conv as G ungrouped ones: per group the attrs of a conv on its C/G input and O/G output
    channels (weights, packed bits, thresholds, flips and requantization constants sliced); each keeps its own
    constants, and all are rebuilt with this list when the node's attrs change."""
    G = int(attrs["groups"])
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    Og = O // G
    subs = []
    for g in range(G):
        og = slice(g * Og, (g + 1) * Og)
        sub = {k: v for k, v in attrs.items() if k not in ("groups", _CACHE_KEY)}
        sub.update(in_shape=(H, W, C // G), out_shape=(OH, OW, Og), weights=attrs["weights"][og])
        if "packed" in attrs:
            sub["packed"] = attrs["packed"][og]
        if attrs["out"] == "bits":
            sub["thresholds"] = attrs["thresholds"][og]
            sub["flip"] = attrs["flip"][og]
        if attrs["out"] == "int8":
            sub["requant"] = tuple(np.broadcast_to(np.asarray(v), (O,))[og] for v in attrs["requant"])
        subs.append(sub)
    return subs


def conv2d_grouped(x, attrs):
    """A grouped (or depthwise) conv: each group an ungrouped conv on its channel slice, outputs laid end to
    end on the channels (bits unpacked and packed again). A binary depthwise conv (one input and one output
    channel per group) runs on the packed words instead (conv2d_depthwise_bits)."""
    G = int(attrs["groups"])
    C, O = attrs["in_shape"][-1], attrs["out_shape"][-1]
    Cg, Og = C // G, O // G
    bits_in, bits_out = attrs["in_dtype"] == "bits", attrs["out"] == "bits"
    if bits_in and Cg == 1 and Og == 1:
        return conv2d_depthwise_bits(x, attrs)
    subs = _prepared(attrs, _groups_prep)
    xs = unpack_bits(x, C) if bits_in else x
    outs = []
    for g, sub in enumerate(subs):
        part = xs[..., g * Cg:(g + 1) * Cg]
        y = conv2d_bits(pack_bits(part), sub) if bits_in else conv2d_int8(np.ascontiguousarray(part), sub)
        outs.append(unpack_bits(y, Og) if bits_out else y)
    y = np.concatenate(outs, axis=-1)
    return pack_bits(y) if bits_out else y


def _depthwise_prep(attrs):
    """Constants of a binary depthwise conv on packed words: per tap the word of the channels' weight bits,
    and for bits output the popcount bounds L (see _bin_prep) as bit planes over the channels, per pixel."""
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    KH, KW = attrs["kernel"]
    K, P = KH * KW, OH * OW
    wb = (attrs["packed"][..., 0] & 1).astype(bool)  # (O, KH, KW): channel o's weight bit at each tap
    taps = np.stack([pack_bits(wb[:, kh, kw]) for kh in range(KH) for kw in range(KW)])  # (K, words(C))
    D = K
    if attrs["pad"] == "zero" and any(attrs["pads"]):
        D = K - _border_correction(dict(attrs, in_shape=(H, W, 1)), wb.astype(np.int64)).reshape(P, O)
    prep = _bin_prep(attrs, O, K, P, D, None)
    prep.update(taps=taps, planes=(K + 1).bit_length(), tail=tail_mask(C),
                pad_word=tail_mask(C) if attrs["pad"] == "minus-one" else np.zeros(words(C), np.uint32))
    if attrs["out"] == "bits":
        L = prep["L"].T.astype(np.int64)  # (P | 1, O)
        shape = (1, OH, OW, words(C)) if L.shape[0] > 1 else (1, 1, 1, words(C))
        prep["Lp"] = [pack_bits((L >> i) & 1).reshape(shape) for i in range(prep["planes"])]
        prep["flip_words"] = pack_bits(attrs["flip"].astype(bool))
    else:
        prep["Dhw"] = prep["D"].T.reshape((OH, OW, O) if prep["D"].shape[1] > 1 else (1, 1, O))
    return prep


def conv2d_depthwise_bits(x, attrs):
    """A binary depthwise conv (groups = channels) on packed words: per tap the XOR of the input word with
    the taps' weight word, counted per channel in bit planes (a ripple-carry counter across words: plane i
    holds bit i of every channel's popcount); bits output compares the planes with the bounds' planes, int32
    (or stream) output unpacks the counts. The same sums as conv2d_bits on each group."""
    H, W, C = attrs["in_shape"]
    OH, OW, O = attrs["out_shape"]
    prep = _prepared(attrs, _depthwise_prep)
    N, Cw, nb = x.shape[0], x.shape[3], prep["planes"]
    out = _alloc_out(N, (OH, OW), O, attrs, stream="lut" in prep)
    step = max(1, BLOCK // (OH * OW * Cw))
    for s0 in range(0, N, step):
        xs = x[s0:s0 + step]
        n = xs.shape[0]
        xp = _pad_spatial(xs, attrs["pads"], prep["pad_word"])
        b = [np.zeros((n, OH, OW, Cw), np.uint32) for _ in range(nb)]
        c, carry = np.empty_like(b[0]), np.empty_like(b[0])
        for t, (_, _, rs, cs) in enumerate(_taps(attrs)):
            np.bitwise_xor(xp[:, rs, cs], prep["taps"][t], out=c)
            for i in range(min(nb, (t + 1).bit_length())):  # after t + 1 taps the counts fit t + 1's bits
                np.bitwise_and(b[i], c, out=carry)
                np.bitwise_xor(b[i], c, out=b[i])
                c, carry = carry, c
        if attrs["out"] == "bits":  # pc >= L per channel: NOT (pc < L), from the top plane down
            lt, eq, tmp = np.zeros_like(c), np.full_like(c, 0xFFFFFFFF), carry
            for i in range(nb - 1, -1, -1):
                Li = prep["Lp"][i]
                np.invert(b[i], out=tmp)
                np.bitwise_and(tmp, Li, out=tmp)
                np.bitwise_and(tmp, eq, out=tmp)
                np.bitwise_or(lt, tmp, out=lt)
                np.bitwise_xor(b[i], Li, out=tmp)
                np.invert(tmp, out=tmp)
                np.bitwise_and(eq, tmp, out=eq)
            np.invert(lt, out=lt)
            np.bitwise_xor(lt, prep["flip_words"], out=lt)
            np.bitwise_and(lt, prep["tail"], out=out[s0:s0 + n])
        else:
            pc = np.zeros((n, OH, OW, C), np.int32)
            for i in range(nb):
                pc += unpack_bits(b[i], C).astype(np.int32) << i
            acc = prep["Dhw"] - 2 * pc
            if "lut" in prep:
                acc += prep["lut_base"].reshape(O)
                acc = np.take(prep["lut"], acc)
            out[s0:s0 + n] = acc
    return _finish(out, attrs)


def _linear(node, x):
    a = node.attrs
    if node.op == CONV2D and a.get("groups", 1) > 1:
        return conv2d_grouped(x, a)
    if node.op == CONV2D:
        return conv2d_bits(x, a) if a["in_dtype"] == "bits" else conv2d_int8(x, a)
    if a["in_dtype"] == "bits":
        return dense_bits(x.reshape(x.shape[0], a["in_shape"][0], words(a["in_shape"][1])), a)
    return dense_int8(x, a)


def concat_bits(xs, attrs):
    """Channel concatenation of packed bit tensors (N, ..., words(C_i)) -> (N, ..., words(sum C_i))."""
    parts = [unpack_bits(x, int(s[-1])) for x, s in zip(xs, attrs["in_shapes"])]
    return pack_bits(np.concatenate(parts, axis=-1))


def run_node(node, inputs):
    """One device layer on its activation inputs (a list, in the node's input order)."""
    if node.op == CONCAT:
        if "bits" in node.attrs:  # streams of one quantization: the values laid end to end
            return np.concatenate(inputs, axis=-1)
        return concat_bits(inputs, node.attrs)
    if node.op == ADD:
        return add_s8(inputs[0], inputs[1], node.attrs)
    if len(inputs) != 1:
        raise TypeError(f"{node.op} takes one activation input, got {len(inputs)}")
    return run_layer(node, inputs[0])


__all__ = ["quantize_input", "dequantize_output", "run_layer", "run_node", "pack_pm1", "words"]
