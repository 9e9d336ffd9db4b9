"""The lowered layer ops: the contract between the converter, the golden model and the C renderer.

After :func:`tinybnn.passes.lower.lower` and :func:`tinybnn.passes.pack.pack_weights`, a graph is
``tb.InputQuant`` (host) -> device layers (a DAG, see Graph below) -> ``tb.Output`` (host). Shapes are per sample, device layout.

Host side
---------
``tb.InputQuant``  float input (ONNX layout) -> int8 device input.
    onnx_shape, perm (transpose to canonical, or None), pre (list of {"op": "affine"|"flatten"} steps),
    canonical_shape (C,H,W)|(F,), mode "quant"|"sign"|"calibrated", scale, zero_point (the device input
    value q means real = scale * (q - zero_point)); mode details: quant_* / calib_* / zero.
``tb.Output``  int32 accumulators -> float: steps [(scale[O], bias[O])] applied in order in float64,
    out_shape (device), output_perm.

Device layers (all attrs are NumPy arrays or ints)
--------------------------------------------------
``tb.Conv2d``
    in_shape (H, W, C), out_shape (OH, OW, O), kernel (KH, KW), stride (sh, sw), dilation (dh, dw),
    pads (top, left, bottom, right), pad "zero" | "one" | "minus-one",
    in_dtype "int8" | "bits", weights int8 (O, KH, KW, C) (+-1 or int8 values) or, for a float first layer
    whose decisions int8 rounding could flip on the calibration data, int16 (weight_kind "int16 ...");
    an int8-input layer also keeps float_weights (O, K) and input_scale (what ``tinybnn check`` compares with),
    packed: uint32 (O, KH, KW, words(C)) when in_dtype == "bits";
            uint32 (O, words(KH*KW*C)) bits of +-1 weights in (kh, kw, c) order when in_dtype == "int8"
            and weight_kind == "binary" (int8 x binary first layer);
    input_zero_point (int8 input only).
    Accumulator per output: binary input: dot = sum over VALID taps of (C - 2 * popcount(x XOR w)); with
    pad "one"/"minus-one" padded taps count as input +1 (bits 0) / -1 (bits 1 on the C real channels).
    int8 input: acc = sum over valid taps of w * (x - input_zero_point) (padding is always "zero").
    out "bits": bit = (a' < thresholds[o]) with a' = ~acc (= -acc - 1) where flip[o] else acc, packed
    (OH, OW, words(O)); out "int32": acc as int32 (OH, OW, O).
``tb.Dense``
    in_shape (P, C): P input pixels of C channels (a flattened (H, W, C) tensor keeps its per-pixel word
    packing, so no repacking happens at a flatten); weights int8 (O, P, C);
    packed uint32 (O, P, words(C)) for bits input, (O, words(P*C)) for int8 x binary;
    dot = P*C - 2 * popcount over all words; thresholds/flip/out as for conv.
``tb.MaxPool``
    in_shape (H, W, C), out_shape, kernel, stride, pads, or_mask bool (C,): per channel the AND of the
    window's bits (max of +-1), or the OR where or_mask is set; padded taps are ignored. With attrs bits (8 or
    16) instead of or_mask: the max of a real-valued stream's codes (padded taps ignored), same quantization.
``tb.Concat``
    in_shapes [(H, W, C_i)] or [(C_i,)] (one per activation input, in input order, same pixels), out_shape
    (H, W, sum C_i) or (sum C_i,): the channels of the inputs laid end to end (a join of binary branches).

Real-valued (int8) streams
--------------------------
A residual network keeps a real-valued tensor beside the binary ones. It is stored as int8 codes of one
per-tensor quantization (real = out_scale * (code - out_zero_point), chosen from calibration data) and every op
that writes one ends in the requantization rule of :mod:`tinybnn.ir.requant` (constants ``requant``:
(multiplier, offset, shift), per channel or per tensor).

``tb.Conv2d`` / ``tb.Dense`` with out "int8": the accumulators through the per-channel requantization
    (attrs requant = (multiplier int32 (O,), offset int64 (O,), shift int32 (O,)), out_scale, out_zero_point),
    int8 (OH, OW, O); their input may itself be an int8 stream (in_dtype "int8", input_zero_point).
``tb.Add``  in_shape (H, W, C) or (C,), two int8 inputs a, b: v = a * ma + b * mb (int64), y = requant(v)
    with requant = (ma, mb, offset, shift) per tensor (the residual add; like ``arm_elementwise_add_s8``).
``tb.AvgPool``  in_shape (H, W, C), out_shape, kernel, stride, pads, input_zero_point: v = sum over the valid
    taps of (x - input_zero_point) (padded taps are real zeros), y = requant(v) per tensor. Global average
    pooling is the window of the whole map.
``tb.PReLU``  in_shape: per channel c two pieces, y = requant(x, mult, offset, shift[c]) with (mult, offset) =
    (mult_pos[c], offset_pos[c]) where x >= breakpoint[c], else (mult_neg[c], offset_neg[c]): PReLU, ReActNet's
    RPReLU (shift, slope, shift) and any per-channel affine of a stream (both pieces equal).
``tb.Concat`` with attrs bits (8 or 16): the channels of int8/int16 streams of one quantization laid end to end.
``tb.Binarize``  in_shape (H, W, C) or (C,): int8 -> bits, bit c = (a' < thresholds[c]) with a' = ~x where
    flip[c] else x (the TB_OUT_BITS rule with the code as the accumulator): the sign of a stream after any
    monotone per-channel chain (ReActNet's RSign, a BatchNorm), exact on all 256 codes.

Graph
-----
The device layers form a DAG in topological (schedule) order: each reads the outputs of earlier layers or
the quantized input (``Node.inputs``, tensor names) and writes one tensor (``Node.outputs[0]``); a tensor may
be read by several layers (a branch), ``tb.Concat`` joins branches. The last device layer produces the model
output (int32). A chain is the special case where each layer reads the previous one.

Bits: bit 0 = +1, bit 1 = -1, 32-bit words, LSB first, along the channel axis; tail bits are 0.
"""

from __future__ import annotations

# ---- op names: the one place they are spelled ---------------------------------------------------
INPUT_QUANT = "tb.InputQuant"
OUTPUT = "tb.Output"
CONV2D = "tb.Conv2d"
DENSE = "tb.Dense"
MAXPOOL = "tb.MaxPool"
CONCAT = "tb.Concat"
ADD = "tb.Add"
AVGPOOL = "tb.AvgPool"
PRELU = "tb.PReLU"
BINARIZE = "tb.Binarize"

LINEAR_OPS = (CONV2D, DENSE)              # a dot product per output, then thresholds or int32
STREAM_OPS = (ADD, AVGPOOL, PRELU)         # int8 stream in, int8 stream out
DEVICE_OPS = (CONV2D, DENSE, MAXPOOL, CONCAT) + STREAM_OPS + (BINARIZE,)  # what runs on the device (model.c)
BIT_OPS = (MAXPOOL, CONCAT, BINARIZE)     # bits out, no weights


def out_dtype(node) -> str:
    """The device representation of a device layer's output: "bits" (packed words), "int8"/"int16" (a
    real-valued stream of that width, attrs["bits"]) or "int32" (the model's output accumulators)."""
    stream = "int16" if node.attrs.get("bits") == 16 else "int8"
    if node.op in (CONCAT, MAXPOOL) and "bits" in node.attrs:  # a join / max-pool of real-valued streams
        return stream
    if node.op in BIT_OPS:
        return "bits"
    if node.op in STREAM_OPS:
        return stream
    return {"bits": "bits", "int8": stream}.get(node.attrs.get("out"), "int32")


def conv_out_size(size: int, kernel: int, stride: int, pad_before: int, pad_after: int, dilation: int = 1) -> int:
    """Output length of a convolution or pooling window along one axis (floor mode, as ONNX and the kernels)."""
    return (int(size) + int(pad_before) + int(pad_after) - int(dilation) * (int(kernel) - 1) - 1) // int(stride) + 1

