"""int8 (post-training-quantized) tensors of a Larq Compute Engine ``.tflite`` file.

LCE's converter quantizes a model where its graph has fake-quant ops (``convert_keras_model(...,
inference_input_type=tf.int8)``): int8 activations with one scale and zero point per tensor, int8 weights with
one scale per output channel (zero point 0), int32 biases. What tinybnn reproduces, exactly:

=====================  ======================================================================================
int8 model input       ``Quant`` (the model's own input quantizer): the host quantizes the float sample with the
                       file's scale and zero point, round(x / scale + zero point) half away from zero, clamped
                       (TFLite's QUANTIZE rounds x / scale, then adds the zero point: the same codes but on
                       exact ties when the zero point is not 0; float at the host boundary)
``QUANTIZE``           of the float model input: the same (a float32 input quantized inside the model)
``DEQUANTIZE``         of the int8 model input: nothing (the canonical graph holds scale * (q - zero point))
``CONV_2D`` (int8)     on the int8 model input, read only by ``LceQuantize``: TFLite's per-channel integer
                       convolution, acc = sum (q - zp_in) * w + bias, requantized by
                       MultiplyByQuantizedMultiplier and clamped. Only its sign against the output zero
                       point reaches the next layer: an integer threshold on acc per channel, found by
                       evaluating TFLite's integer arithmetic (never float algebra) and checked on every
                       reachable accumulator value
``LceQuantize`` (int8) bit 1 (-1) where q < zero point (LCE's bitpacking of int8 values)
``LceBconv2d`` int8    LCE's int8 output transform, tabulated per channel on the +-1 dot product d (K + 1
                       reachable values); then, still as tables on d: ``MAX_POOL_2D`` (max commutes with a
                       monotone table; a decreasing channel pools -d), ``QUANTIZE`` int8 -> int8 (TFLite's
                       Requantize), int8 ``MUL``/``ADD`` by int8 constants (TFLite's integer kernels),
                       ``DEQUANTIZE``, float32 ``MUL``/``ADD`` by constants, ``QUANTIZE`` float -> int8,
                       ``RESHAPE`` (flatten, done on the bits), up to ``LceQuantize``, where the table's
                       sign becomes one threshold on d per channel (checked on every reachable value)
=====================  ======================================================================================

An int8 value that something else reads (a FULLY_CONNECTED, an ADD of two activations, the output) would need
TFLite's int8 value itself in the device; it is refused in one line.
"""

from __future__ import annotations

import numpy as np

from ...ir.graph import Node
from .text import short

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
EXHAUSTIVE = 1 << 24  # accumulator values x channels checked one by one


# ---- TFLite's fixed-point arithmetic (tensorflow/lite/kernels/internal/common.h, quantization_util.cc) -------
def quantize_multiplier(m: float) -> tuple[int, int]:
    """QuantizeMultiplier: a positive real multiplier as (q31 significand, shift), m ~ q * 2^(shift - 31)."""
    if m == 0.0:
        return 0, 0
    q, shift = np.frexp(float(m))
    v = float(q) * float(1 << 31)
    q_fixed = int(np.sign(v) * np.floor(abs(v) + 0.5))  # TfLiteRound: half away from zero
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, int(shift)


def checked_multiplier(imp, k, name, real: float, xmax: int, what: str) -> tuple[int, int]:
    """quantize_multiplier(real), refused where TFLite's integer kernel would overflow int32 on a value of
    magnitude up to ``xmax`` (its left shift, x * 2^shift, is int32 arithmetic) or where the multiplier is not
    finite."""
    if not (np.isfinite(real) and real >= 0):
        raise imp.fail(k, name, f"its {what} rescales by {real:g}", "finite positive scales")
    m, sh = quantize_multiplier(real)
    if sh > 30 or int(xmax) << max(sh, 0) > INT32_MAX:
        raise imp.fail(k, name, f"its {what} rescales by {real:.6g}, which overflows TFLite's int32 arithmetic",
                       "int8 scales whose ratios keep the rescaled values within int32")
    return m, sh


def finite_table(imp, k, name, v: np.ndarray) -> np.ndarray:
    """A float32 table computed as TFLite does, refused when its float32 arithmetic overflows (an infinity or
    NaN that the int8 or sign decision after it would read)."""
    if not np.all(np.isfinite(v)):
        raise imp.fail(k, name, "its float32 values overflow (infinity or NaN) for some binary convolution output",
                       "parameters whose float32 arithmetic stays finite")
    return v


def _trunc_div_pow2(v: np.ndarray, e: int) -> np.ndarray:
    """C++ integer division by 2^e (truncation towards zero) of int64 values."""
    return np.where(v >= 0, v >> e, -((-v) >> e))


def multiply_by_quantized_multiplier(x, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier (TFLite's default, double rounding): SaturatingRoundingDoublingHighMul
    then RoundingDivideByPOT, on int32 values held in int64."""
    x = np.asarray(x, np.int64)
    left, right = max(shift, 0), max(-shift, 0)
    a = x * (1 << left)
    ab = a * np.int64(multiplier)
    nudge = np.where(ab >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    hm = _trunc_div_pow2(ab + nudge, 31)
    if right == 0:
        return hm
    mask = np.int64((1 << right) - 1)
    rem = hm & mask
    thr = (mask >> 1) + (hm < 0)
    return (hm >> right) + (rem > thr)


def multiply_by_quantized_multiplier_single(x, multiplier: int, shift: int) -> np.ndarray:
    """The same with TFLITE_SINGLE_ROUNDING: (x * M + 2^(30 - shift)) >> (31 - shift)."""
    x = np.asarray(x, np.int64)
    total = 31 - shift
    return (x * np.int64(multiplier) + np.int64(1 << (total - 1))) >> total


# ---- reading ---------------------------------------------------------------------------------------------------
def quant_params(imp, k, name, i, what: str, per_channel_ok: bool = False):
    """(scale float32 array, zero point int array, quantized dimension) of int8 tensor i; an activation must
    be per tensor."""
    t = imp.tensor(i)
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0:
        raise imp.fail(k, name, f"its {what} '{imp.tshow(i)}' is {imp.ttype(i)} without a scale",
                       "int8 tensors with a scale and zero point")
    sc = np.asarray(q.ScaleAsNumpy(), np.float32).reshape(-1)
    zp = (np.asarray(q.ZeroPointAsNumpy(), np.int64).reshape(-1) if q.ZeroPointLength()
          else np.zeros(len(sc), np.int64))
    if len(sc) > 1 and not per_channel_ok:
        raise imp.fail(k, name, f"its {what} '{imp.tshow(i)}' is quantized per channel ({len(sc)} scales)",
                       "int8 activations with one scale and zero point per tensor")
    if len(zp) != len(sc) or not np.all(np.isfinite(sc)) or np.any(sc <= 0):
        raise imp.fail(k, name, f"its {what} '{imp.tshow(i)}' has scales {short([float(f'{v:.6g}') for v in sc], 4)} "
                       f"and zero points {short(zp.tolist(), 4)}", "finite positive scales, one zero point per scale")
    if np.any(zp < -128) or np.any(zp > 127):
        raise imp.fail(k, name, f"its {what} '{imp.tshow(i)}' has the zero point {int(zp[0])}",
                       "int8 zero points in -128..127")
    return sc, zp, int(q.QuantizedDimension())


def check_int8(imp, k, name, i, what):
    if imp.ttype(i) != "INT8":
        raise imp.fail(k, name, f"its {what} '{imp.tshow(i)}' is {imp.ttype(i)}",
                       "int8 quantized tensors (int16 activations are not supported)")


def _quant_node(imp, x: str, i: int, k: int, name: str, origin: str, what: str = "output") -> str:
    """The canonical Quant of the float tensor x with tensor i's scale and zero point (the model's own
    int8 input quantizer); its output holds scale * (q - zero point)."""
    sc, zp, _ = quant_params(imp, k, name, i, what)
    out = imp.fresh(imp.tname(i) or "input_q")
    imp.nodes.append(Node("Quant", out, [x], [out], {
        "scale": np.asarray(sc, np.float64), "zero_point": np.asarray(zp, np.float64), "bitwidth": 8,
        "signed": 1, "narrow": 0, "rounding": "HALF_UP", "onnx_op": origin}))
    imp.shapes[out] = imp.shapes[x]
    imp.q8[i] = "real"
    return out


def input_int8(imp, inp: int, x: str) -> str:
    """An int8 model input: the host quantizes the float sample with the file's scale and zero point."""
    return _quant_node(imp, x, inp, -1, "the model's input", "int8 input", "int8 input")


def op_QUANTIZE(imp, k, name, op, ii, o):
    check_int8(imp, k, name, o, "output")
    x = imp.act(k, name, ii[0])
    if imp.ttype(ii[0]) != "FLOAT32" or x != imp.graph_input or any(n.inputs[0] == x for n in imp.nodes):
        raise imp.fail(k, name, f"quantizes '{imp.tshow(ii[0])}' ({imp.ttype(ii[0])})",
                       "QUANTIZE of the float32 model input (read by nothing else)")
    imp.ir[o] = _quant_node(imp, x, o, k, name, name)


def op_DEQUANTIZE(imp, k, name, op, ii, o):
    imp.float_out(k, name, o)
    x = imp.act(k, name, ii[0])
    if imp.q8.get(ii[0]) != "real":
        raise imp.fail(k, name, f"dequantizes '{imp.tshow(ii[0])}' ({imp.ttype(ii[0])})",
                       "DEQUANTIZE of the int8 model input (an int8 value computed inside the model would need "
                       "TFLite's int8 arithmetic, which tinybnn reproduces only up to a binarizer)")
    imp.ir[o] = x  # the canonical graph already holds scale * (q - zero point)


def lce_quantize(imp, k, name, ii, o):
    """LceQuantize of an int8 tensor: bit 1 (-1) where q < zero point; the IR tensor's sign is exactly that."""
    x = imp.act(k, name, ii[0])
    if ii[0] not in imp.q8:
        raise imp.fail(k, name, f"reads the int8 tensor '{imp.tshow(ii[0])}', which tinybnn did not compute",
                       "int8 tensors from the int8 input, QUANTIZE or an int8 CONV_2D")
    imp.ir[o] = imp.emit("Sign", imp.tname(o), x, {"zero": "+1"}, imp.shapes[x], name)
    imp.bits.add(o)


def conv2d(imp, k, name, op, ii, o, opts, pads, shape):
    """An int8 CONV_2D on the int8 model input whose output only LceQuantize reads: Conv on the int8 weights
    (the accumulator, in input-scale units) and an Affine whose sign is LceQuantize's bit, the threshold
    found on TFLite's integer arithmetic."""
    x = imp.act(k, name, ii[0])
    if imp.q8.get(ii[0]) != "real" or not any(n.op == "Quant" and n.outputs[0] == x for n in imp.nodes):
        raise imp.fail(k, name, f"reads the int8 tensor '{imp.tshow(ii[0])}'",
                       "an int8 CONV_2D on the int8 model input (the first layer)")
    check_int8(imp, k, name, o, "output")
    readers = imp.readers(o)
    if readers != ["LceQuantize"] or o == imp.graph_output:
        raise imp.fail(k, name, f"its int8 output is read by {', '.join(readers) or 'nothing (the output)'}",
                       "an int8 CONV_2D read by one LceQuantize (its sign is what tinybnn reproduces)")
    s_in, zp_in, _ = quant_params(imp, k, name, ii[0], "input")
    s_out, zp_out, _ = quant_params(imp, k, name, o, "output")
    W = imp.const(ii[1])
    C = imp.shapes[x][1]
    if W is None or W.dtype != np.int8 or W.ndim != 4 or W.shape[3] != C:
        raise imp.fail(k, name, f"its filter is not a constant int8 [O, KH, KW, {C}] tensor",
                       "int8 weights (groups = 1)")
    O = W.shape[0]
    s_w, zp_w, dim = quant_params(imp, k, name, ii[1], "filter", per_channel_ok=True)
    if np.any(zp_w != 0) or (len(s_w) not in (1, O)) or (len(s_w) == O and O > 1 and dim != 0):
        raise imp.fail(k, name, f"its filter has {len(s_w)} scales on dimension {dim}, zero points "
                       f"{sorted(set(zp_w.tolist()))[:3]}",
                       "symmetric int8 weights, one scale per tensor or per output channel (dimension 0)")
    s_w = np.broadcast_to(s_w, (O,))
    Wi = W.astype(np.int64)
    wmax = np.abs(Wi).reshape(O, -1).max(axis=1)
    if np.any((wmax != 127) & (wmax != 0)):
        c = int(np.argmax((wmax != 127) & (wmax != 0)))
        raise imp.fail(k, name, f"output channel {c}'s int8 weights reach {int(wmax[c])}, not 127",
                       "symmetric per-channel weights scaled to +-127 (TFLite's post-training quantization)")
    bias = np.zeros(O, np.int64)
    if len(ii) > 2 and ii[2] >= 0:
        b = imp.const(ii[2])
        if b is None or b.dtype != np.int32 or b.shape != (O,):
            raise imp.fail(k, name, "its bias is not a constant int32 [O] tensor", "int32 biases, one per channel")
        bias = b.astype(np.int64)
    acts = {imp.tfl.ActivationFunctionType.NONE: (-128, 127)}
    act = opts.FusedActivationFunction()
    if act == imp.tfl.ActivationFunctionType.RELU:
        acts[act] = (max(-128, int(zp_out[0])), 127)
    if act not in acts:
        raise imp.fail(k, name, f"has the fused activation {act}", "NONE or RELU")
    qmin, qmax = acts[act]
    # the reachable accumulator (without bias), as tinybnn's lowering bounds it: every tap in -128..127 - zp
    w2 = Wi.reshape(O, -1)
    vlo, vhi = -128 - int(zp_in[0]), 127 - int(zp_in[0])
    lo = np.minimum(0, np.minimum(w2 * vlo, w2 * vhi)).sum(axis=1)
    hi = np.maximum(0, np.maximum(w2 * vlo, w2 * vhi)).sum(axis=1)
    if np.any(lo + bias < INT32_MIN) or np.any(hi + bias > INT32_MAX):
        raise imp.fail(k, name, "its int32 accumulator could overflow", "int8 convolutions within int32")
    tau = np.empty(O, np.int64)
    agree_single = True
    for c in range(O):
        m, sh = checked_multiplier(imp, k, name, float(np.float64(s_in[0]) * np.float64(s_w[c]) /
                                                     np.float64(s_out[0])),
                                   max(abs(int(lo[c] + bias[c])), abs(int(hi[c] + bias[c]))), "requantization")
        z = int(zp_out[0])

        def plus(a, fn=multiply_by_quantized_multiplier):  # LceQuantize's bit is 0 (+1): q >= zero point
            q = np.clip(fn(np.asarray(a, np.int64) + bias[c], m, sh) + z, qmin, qmax)
            return q >= z

        tau[c] = _first_true(plus, int(lo[c]), int(hi[c]))
        width = int(hi[c] - lo[c]) + 1
        a = (np.arange(lo[c], hi[c] + 1, dtype=np.int64) if width * O <= EXHAUSTIVE else
             np.clip(tau[c] + np.arange(-4096, 4097), lo[c], hi[c]))
        if not np.array_equal(plus(a), a >= tau[c]):  # the sign is a threshold on every reachable value
            raise imp.fail(k, name, f"output channel {c}: the int8 output's sign is not monotone in the "
                           "accumulator", "int8 CONV_2D with positive requantization multipliers")
        agree_single &= bool(np.array_equal(plus(a, multiply_by_quantized_multiplier_single), a >= tau[c]))
    imp.int8_notes.append(
        f"operator {k} (CONV_2D, int8): LceQuantize's bit as an integer threshold per output channel on TFLite's "
        "requantization (MultiplyByQuantizedMultiplier)" +
        ("; the single-rounding variant gives the same thresholds" if agree_single else
         "; TFLite's default double rounding (the single-rounding build would differ)"))
    conv = imp.emit("Conv", imp.tname(o) + "/conv", x, {
        "W": W.transpose(0, 3, 1, 2).astype(np.float64), "strides": (opts.StrideH(), opts.StrideW()),
        "dilations": (opts.DilationHFactor(), opts.DilationWFactor()), "pads": pads, "pad_value": 0.0,
        "group": 1}, shape, name)
    # the Conv gives s_in * acc; y = acc - tau + 1/2 is >= 0 exactly where q >= the zero point (a margin of 1/2
    # on an integer keeps float rounding away from the decision)
    s = float(np.float64(s_in[0]))
    y = imp.emit("Affine", imp.tname(o), conv, {
        "scale": np.full(O, 1.0 / s), "bias": 0.5 - tau.astype(np.float64),
        "origin": "CONV_2D int8 requantization (its sign)"}, shape, name)
    imp.ir[o] = y
    imp.q8[o] = "sign"


def _first_true(pred, lo: int, hi: int) -> int:
    """The least a in [lo, hi] with pred(a) (pred monotone: False then True); hi + 1 if none."""
    left, right = lo, hi + 1
    while left < right:
        mid = (left + right) // 2
        if bool(pred(np.array([mid]))[0]):
            right = mid
        else:
            left = mid + 1
    return left


# ---- tabulated tensors: an elementwise chain of int8/float ops after a binary convolution ------------------------
# A tensor in ``imp.tab`` is a per-channel function of an integer source tensor of the canonical graph (the binary
# convolution's +-1 dot product d, or -d after a max-pool of a decreasing chain): (source IR tensor, domain
# (C, n) int64 sorted ascending: every reachable source value, values (C, n): int8 codes or float32). Each op
# maps the values through TFLite's own arithmetic; a max-pool commutes with the (monotone) function. At
# LceQuantize the bit becomes a threshold on the source, checked on every reachable value.
def no_activation(imp, k, name, act: int) -> None:
    """An int8 op with a fused activation (a clamp inside TFLite's integer kernel): refused, one line."""
    if act != imp.tfl.ActivationFunctionType.NONE:
        raise imp.fail(k, name, f"has the fused activation {act} on an int8 tensor",
                       "int8 MAX_POOL_2D, MUL and ADD without a fused activation")


def _pending_activation(imp) -> bool:
    """A fused activation the importer applies after the float op (the table would not include it)."""
    return getattr(imp, "act_code", imp.tfl.ActivationFunctionType.NONE) != imp.tfl.ActivationFunctionType.NONE


def _monotone(v: np.ndarray) -> int:
    """+1 non-decreasing, -1 non-increasing (and not constant), 0 neither, along axis 1 of one row."""
    d = np.diff(v.astype(np.float64))
    if np.all(d >= 0):
        return 1
    if np.all(d <= 0):
        return -1
    return 0


def bconv_int8(imp, k, name, ii, o, conv, O, K, pad_value, pads, opts_act, shape):
    """LceBconv2d writing int8: LCE's output transform (bconv2d.cc's one-time setup, output_transform.h):
    x = clamp(2 * popcount, clamp_min, clamp_max); y = float32(x) * m + b in float32, m = -mul / scale,
    b = (bias + K * mul) / scale + zero point (computed in double, stored as float32); q = saturate(round(y)),
    round half away from zero. Tabulated on d = K - 2 popcount."""
    if pad_value == 0 and any(pads):
        raise imp.fail(k, name, "writes int8 output with zero padding (LCE corrects padded taps in float)",
                       "int8 output with VALID padding or pad_values 1")
    if opts_act != 0:
        raise imp.fail(k, name, f"has the fused activation {opts_act}", "fused_activation_function NONE")
    mul, bias = imp.const(ii[2]), imp.const(ii[3])
    if mul is None or bias is None or mul.shape != (O,) or bias.shape != (O,) or mul.dtype != np.float32:
        raise imp.fail(k, name, "its post-activation multiplier and bias are not constant float32 [O] tensors")
    s, zp, _ = quant_params(imp, k, name, o, "output")
    d = np.arange(-K, K + 1, 2, dtype=np.int64)
    x = (K - d).astype(np.float32)  # 2 * popcount, within [0, 2K]: no clamp with activation NONE
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is refused below, in one line
        m32 = (-mul.astype(np.float64) / np.float64(s[0])).astype(np.float32)
        b32 = ((bias.astype(np.float64) + float(K) * mul.astype(np.float64)) / np.float64(s[0]) +
               float(zp[0])).astype(np.float32)
        y = x[None, :] * m32[:, None] + b32[:, None]  # float32 multiply, then float32 add (as LCE's C++)
        y = finite_table(imp, k, name, y)
        y_fma = (x[None, :].astype(np.float64) * m32[:, None].astype(np.float64) + b32[:, None]).astype(np.float32)
    q = np.clip(np.sign(y) * np.floor(np.abs(y) + np.float32(0.5)), -128, 127).astype(np.int64)
    q_fma = np.clip(np.sign(y_fma) * np.floor(np.abs(y_fma) + np.float32(0.5)), -128, 127).astype(np.int64)
    if not np.array_equal(q, q_fma):
        imp.int8_notes.append(f"operator {k} (LceBconv2d, int8 output): a fused multiply-add would round "
                              f"{int(np.count_nonzero(q != q_fma))} table entries differently; tinybnn follows "
                              "the separate multiply and add of LCE's C++ source")
    imp.ir[o] = conv
    imp.tab[o] = (conv, np.broadcast_to(d, (O, len(d))).copy(), q, ("int8", float(s[0]), int(zp[0])))


def shadow_bconv(imp, o, conv, mul, bias, K):
    """A float LceBconv2d output, also as LCE computes it per channel on d (output_transform.h's float
    transform: float32(2 popcount) * m + b in float32, m = -mul, b = bias + K * mul computed in double and
    stored as float32): kept in case a QUANTIZE reads it (through float max-pools, MULs and ADDs)."""
    if _pending_activation(imp):
        return
    d = np.arange(-K, K + 1, 2, dtype=np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        m32 = (-mul.astype(np.float64)).astype(np.float32)
        b32 = (bias.astype(np.float64) + float(K) * mul.astype(np.float64)).astype(np.float32)
        val = (K - d).astype(np.float32)[None, :] * m32[:, None] + b32[:, None]
    if not np.all(np.isfinite(val)):
        return  # LCE's float32 transform overflows: no table (a QUANTIZE reading it is then refused)
    imp.shadow[o] = (conv, np.broadcast_to(d, (len(mul), len(d))).copy(), val.astype(np.float32), ("float",))


def _need_tab(imp, k, name, i, flat_ok=False):
    if i in imp.flat and not flat_ok:
        raise imp.fail(k, name, f"reads '{imp.tshow(i)}', an int8 map flattened by RESHAPE",
                       "LceQuantize right after the RESHAPE of an int8 map")
    if i in imp.shadow and i not in imp.tab:
        return imp.shadow[i]
    if i not in imp.tab:
        raise imp.fail(k, name, f"reads the int8 tensor '{imp.tshow(i)}' that tinybnn holds only as its sign",
                       "int8 tensors from an int8 LceBconv2d through MAX_POOL_2D, DEQUANTIZE, MUL, ADD, QUANTIZE "
                       "to LceQuantize")
    return imp.tab[i]


def maxpool_tab(imp, k, name, op, ii, o, shadow=False):
    """MAX_POOL_2D of a tabulated int8 tensor: max commutes with the per-channel monotone table; a
    decreasing channel pools -d (the minimum of d). ``shadow``: the float max-pool of a float tensor's table
    (emitted beside the float one, kept only if a QUANTIZE reads it)."""
    src, dom, val, q = _need_tab(imp, k, name, ii[0])
    if not shadow:
        check_int8(imp, k, name, o, "output")
        s_i, z_i, _ = quant_params(imp, k, name, ii[0], "input")
        s_o, z_o, _ = quant_params(imp, k, name, o, "output")
        if s_i[0] != s_o[0] or z_i[0] != z_o[0]:
            raise imp.fail(k, name, "its int8 input and output are quantized differently",
                           "MAX_POOL_2D with the same scale and zero point in and out (TFLite's)")
    opts = imp.options(op, imp.tfl.Pool2DOptions)
    if shadow and _pending_activation(imp):
        return
    if not shadow:
        no_activation(imp, k, name, opts.FusedActivationFunction())
    C = dom.shape[0]
    dirs = np.array([_monotone(val[c]) for c in range(C)])
    if shadow and np.any(dirs == 0):
        return  # no table through this pool (a QUANTIZE after it is then refused)
    if np.any(dirs == 0):
        raise imp.fail(k, name, f"channel {int(np.argmax(dirs == 0))}: its int8 input is not monotone in the "
                       "binary convolution's output", "monotone int8 chains (a max-pool must commute with them)")
    sigma = np.where(dirs < 0, -1.0, 1.0)
    base = imp.tname(o) + ("/int8" if shadow else "")
    if np.any(sigma < 0):
        src = imp.emit("Affine", base + "/direction", src, {
            "scale": sigma, "bias": np.zeros(C), "origin": "int8 MAX_POOL_2D of a decreasing table"},
            imp.shapes[src], name)
        flip = sigma < 0
        dom = np.where(flip[:, None], -dom[:, ::-1], dom)
        val = np.where(flip[:, None], val[:, ::-1], val)
    kh, kw, sh, sw = opts.FilterHeight(), opts.FilterWidth(), opts.StrideH(), opts.StrideW()
    if min(kh, kw, sh, sw) < 1:
        raise imp.fail(k, name, f"filter {(kh, kw)}, stride {(sh, sw)}", "sizes >= 1")
    pads = imp._window(k, name, src, opts.Padding(), kh, kw, sh, sw)
    H, W = imp.shapes[src][2:]
    shape = (1, C) + imp.pool_hw(k, name, H, W, pads, kh, kw, sh, sw)
    pooled = imp.emit("MaxPool", base, src, {"kernel": (kh, kw), "strides": (sh, sw), "pads": pads}, shape, name)
    if shadow:
        imp.shadow[o] = (pooled, dom, val, q)
        return
    imp.ir[o] = pooled
    imp.tab[o] = (pooled, dom, val, q)


def dequantize_tab(imp, k, name, ii, o):
    """DEQUANTIZE of a tabulated int8 tensor: float32(scale * (q - zero point)), TFLite's Dequantize."""
    src, dom, val, q = _need_tab(imp, k, name, ii[0])
    s, z, _ = quant_params(imp, k, name, ii[0], "input")
    imp.ir[o] = src
    imp.tab[o] = (src, dom, (np.float32(s[0]) * (val - int(z[0])).astype(np.float32)).astype(np.float32),
                  ("float",))


def quantize_tab(imp, k, name, ii, o):
    """QUANTIZE of a tabulated float tensor: round(x / scale) half away from zero, + zero point, clamped
    (TFLite's AffineQuantize, float32 division); of an int8 tensor: TFLite's Requantize. A flattened map stays
    flattened (the flatten is done on the bits)."""
    src, dom, val, q = _need_tab(imp, k, name, ii[0], flat_ok=True)
    if ii[0] in imp.flat:
        imp.flat[o] = imp.flat[ii[0]]
    check_int8(imp, k, name, o, "output")
    s, z, _ = quant_params(imp, k, name, o, "output")
    if q[0] == "int8":  # int8 -> int8: Requantize, (q - zp_in) * M * 2^shift (MultiplyByQuantizedMultiplier) + zp_out
        s_in, z_in, _ = quant_params(imp, k, name, ii[0], "input")
        m, sh = checked_multiplier(imp, k, name, float(np.float64(s_in[0]) / np.float64(s[0])), 255,
                                   "requantization")
        codes = np.clip(multiply_by_quantized_multiplier(val - int(z_in[0]), m, sh) + int(z[0]), -128, 127)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            v = finite_table(imp, k, name, (val / np.float32(s[0])).astype(np.float32))
        codes = np.clip(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) + int(z[0]), -128, 127).astype(np.int64)
    imp.ir[o] = src
    imp.tab[o] = (src, dom, codes, ("int8", float(s[0]), int(z[0])))


def arith_tab(imp, k, name, op, ii, o, consts, shadow=False):
    """MUL / ADD of a tabulated float tensor by a float32 scalar or per-channel constant, in float32.
    ``shadow``: of a float tensor's table (the float op itself is emitted by the importer)."""
    t = next(i for i, c in zip(ii, consts) if c is None)
    src, dom, val, q = _need_tab(imp, k, name, t)
    if shadow:
        if _pending_activation(imp):
            return
        c = next(c for c in consts if c is not None)
        v = np.broadcast_to(c.reshape(-1), (dom.shape[0],)).astype(np.float32)[:, None]
        with np.errstate(over="ignore", invalid="ignore"):
            val = (val * v if name == "MUL" else val + v).astype(np.float32)
        if np.all(np.isfinite(val)):  # else no table (a QUANTIZE reading it is then refused)
            imp.shadow[o] = (src, dom, val, q)
        return
    c = next(c for c in consts if c is not None)
    C = dom.shape[0]
    if q[0] == "int8":
        return _arith_int8(imp, k, name, op, ii, o, t, next(i for i, c in zip(ii, consts) if c is not None), c)
    if imp.ttype(o) != "FLOAT32":
        raise imp.fail(k, name, f"writes {imp.ttype(o)} from float32", "MUL and ADD with the type of their input")
    if c.dtype != np.float32 or c.size not in (1, C):
        raise imp.fail(k, name, f"its constant is {c.dtype} of shape {list(c.shape)}",
                       "a float32 scalar or one value per channel")
    v = np.broadcast_to(c.reshape(-1), (C,)).astype(np.float32)[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        val = finite_table(imp, k, name, (val * v if name == "MUL" else val + v).astype(np.float32))
    imp.ir[o] = src
    imp.tab[o] = (src, dom, val, q)


def reshape_shadow(imp, ii, o):
    """A float RESHAPE (flatten) of a float tensor's table: the table goes on, flattened after the binarizer."""
    src = imp.shadow[ii[0]][0]
    if len(imp.shapes[src]) == 4 and ii[0] not in imp.flat:
        imp.shadow[o] = imp.shadow[ii[0]]
        imp.flat[o] = (imp.tname(o), (1, int(np.prod(imp.shapes[src][1:]))))


def reshape_tab(imp, k, name, ii, o):
    """RESHAPE (flatten to (N, features)) of a tabulated tensor: the flatten is emitted after the binarizer,
    on the bits (the table is per channel of the map)."""
    src, dom, val, q = _need_tab(imp, k, name, ii[0])
    s_out = imp.tshape(o)
    n_in = int(np.prod(imp.shapes[src][1:]))
    if len(s_out) != 2 or s_out[1] != n_in or len(imp.shapes[src]) != 4:
        raise imp.fail(k, name, f"reshapes {list(imp.tshape(ii[0]))} to {list(s_out)}",
                       "flattening an (N, H, W, C) map to (N, features) before LceQuantize")
    if imp.ttype(o) != imp.ttype(ii[0]):
        raise imp.fail(k, name, f"changes the type {imp.ttype(ii[0])} to {imp.ttype(o)}")
    if q[0] == "int8":
        a, b = quant_params(imp, k, name, ii[0], "input"), quant_params(imp, k, name, o, "output")
        if a[0][0] != b[0][0] or a[1][0] != b[1][0]:
            raise imp.fail(k, name, "its int8 input and output are quantized differently",
                           "RESHAPE with the same scale and zero point in and out")
    imp.ir[o] = src
    imp.tab[o] = (src, dom, val, q)
    imp.flat[o] = (imp.tname(o), (1, n_in))


def _arith_int8(imp, k, name, op, ii, o, t, ci, c):
    """int8 MUL / ADD of a tabulated tensor and an int8 constant (scalar or per channel), TFLite's integer
    kernels (mul.cc, add.cc): MUL = (a - za)(b - zb) requantized by MultiplyByQuantizedMultiplier; ADD = both
    inputs shifted left by 20, scaled to twice the larger input scale, summed and requantized."""
    src, dom, val, q = imp.tab[t]
    C = dom.shape[0]
    check_int8(imp, k, name, o, "output")
    if c.dtype != np.int8 or c.size not in (1, C):
        raise imp.fail(k, name, f"its constant is {c.dtype} of shape {list(c.shape)}",
                       "an int8 scalar or one int8 value per channel")
    sa, za, _ = quant_params(imp, k, name, t, "input")
    sb, zb, _ = quant_params(imp, k, name, ci, "constant")
    so, zo, _ = quant_params(imp, k, name, o, "output")
    sa, sb, so = (np.float64(v[0]) for v in (sa, sb, so))
    a = val - int(za[0])
    b = np.broadcast_to(c.reshape(-1).astype(np.int64), (C,))[:, None] - int(zb[0])
    if name == "MUL":
        m, sh = checked_multiplier(imp, k, name, float(sa * sb / so), int(np.abs(a * b).max(initial=0)),
                                   "requantization")
        out = multiply_by_quantized_multiplier(a * b, m, sh)
    else:
        left = 20
        twice = 2.0 * max(sa, sb)
        (m1, s1), (m2, s2), (mo, shift_o) = (quantize_multiplier(float(v)) for v in
                                              (sa / twice, sb / twice, twice / (float(1 << left) * so)))
        if max(s1, s2, shift_o) > 0:
            raise imp.fail(k, name, "its rescaling multipliers are not below one", "TFLite's int8 ADD")
        raw = (multiply_by_quantized_multiplier(a * (1 << left), m1, s1) +
               multiply_by_quantized_multiplier(np.broadcast_to(b * (1 << left), a.shape), m2, s2))
        out = multiply_by_quantized_multiplier(raw, mo, shift_o)
    imp.ir[o] = src
    imp.tab[o] = (src, dom, np.clip(out + int(zo[0]), -128, 127), ("int8", float(so), int(zo[0])))


def lce_quantize_tab(imp, k, name, ii, o):
    """LceQuantize of a tabulated int8 tensor: bit 1 (-1) where q < zero point, a threshold on the source:
    y = tau * source + beta is >= 0 exactly on the source values whose bit is 0 (+1), with a margin of half a
    step between reachable values."""
    src, dom, val, q = _need_tab(imp, k, name, ii[0], flat_ok=True)
    z = q[2] if q[0] == "int8" else 0.0
    plus = val >= z
    C, n = dom.shape
    tau, beta = np.zeros(C), np.zeros(C)
    for c in range(C):
        p = plus[c]
        if p.all() or not p.any():
            tau[c], beta[c] = 0.0, (1.0 if p.all() else -1.0)
            continue
        j = int(np.argmax(p != p[0]))  # the first value deciding otherwise than the smallest
        if np.any(p[j:] != p[j]):
            raise imp.fail(k, name, f"channel {c}: the sign of its int8 input is not a threshold on the binary "
                           "convolution's output", "monotone int8 chains")
        mid = (float(dom[c, j - 1]) + float(dom[c, j])) / 2.0
        tau[c], beta[c] = (1.0, -mid) if p[j] else (-1.0, mid)
    y = imp.emit("Affine", imp.tname(o) + "/threshold", src, {
        "scale": tau, "bias": beta, "origin": "LceQuantize of an int8 table (threshold)"}, imp.shapes[src], name)
    ys = tau[:, None] * dom + beta[:, None]
    if not np.array_equal(ys >= 0, plus):  # the emitted rule is the table on every reachable value
        raise imp.fail(k, name, "internal error: its threshold disagrees with the int8 table")
    bits = imp.emit("Sign", imp.tname(o) + ("/map" if ii[0] in imp.flat else ""), y, {"zero": "+1"},
                    imp.shapes[src], name)
    if ii[0] in imp.flat:  # TFLite flattens its NHWC map in H, W, C order; the IR map is NCHW
        fname, fshape = imp.flat[ii[0]]
        bits = imp.emit("Flatten", imp.tname(o), bits, {"perm": [0, 2, 3, 1]}, fshape, name)
    imp.ir[o] = bits
    imp.bits.add(o)
