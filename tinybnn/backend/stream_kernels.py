"""Fast kernels of the depthwise and real-valued-stream layers: which one runs a layer on a kernel variant.

Depthwise binary convolutions (``groups == C == O``, as in a Brevitas DS-CNN) run on every optimized family as
``tb_conv2d_grouped_b1b1_dw`` (``firmware/kernels/opt/tb_conv2d_grouped_b1b1_dw.c``, portable C, the contract of
the reference ``tb_conv2d_grouped_b1b1``). The reference gathers one input bit per output channel and tap and
popcounts a whole word for it; its weights spend a 32-bit word on each one-bit tap. The fast kernel takes
the weights tap-major, one bit per channel (:func:`encode_dw_b1b1`, whose C specification is
``tb_dw_b1b1_encode_weights``), counts the mismatches of 32 channels at once in bit planes and compares the
counts bit-sliced with popcount-domain thresholds (a TB_OUT_BITS output). Those thresholds depend on the
layer's constants and on the number of valid taps only, so they are computed here and stored after the weight
bits, in planes, for every tap count (weight-only constants in flash, no work per call, no scratch): a 3x3
layer of 32 channels keeps 9 + 10 * 4 = 49 words instead of the reference's 288. An output word of 32
channels then costs about as much as one output channel of the reference.

Measured with the device's per-layer profile (``tinybnn validate``'s per-layer counts, instructions) on the
Brevitas DS-CNN fixture, three depthwise 3x3 convs of 32 channels (8x8, 8x8 stride 2, 4x4; zero pads of 1),
bits out:

============ ============================== ==============================
board        the three layers, reference    with tb_conv2d_grouped_b1b1_dw
============ ============================== ==============================
qemu-m4      2,571,360                      37,800
qemu-rv32zbb 1,766,819                      30,569
============ ============================== ==============================

Every depthwise binary layer with at most ``TB_DW_MAX_TAPS`` taps takes it on every optimized variant: it
has no per-call set-up, so there is no shape where the reference is faster. Grouped layers that are not
depthwise, and the int8 / int16 grouped convolutions, keep their reference kernels.

The real-valued streams' residual adds, binarizes, average pools and PReLUs (``tb_add_s8/s16`` ...) run their
``_opt`` twins (``firmware/kernels/opt/tb_stream_opt.c``, portable C, same params and constants: nothing is
re-encoded) on every optimized variant. The requantization ``floor((v * m + offset) / 2^shift)`` becomes the
high word of a 64-bit multiply-accumulate of v * 2^(32 - shift) when the kernel proves, once per call (per
channel for PReLU) from the constants and the codes' range, that nothing overflows; otherwise the reference
loop runs in the same function, so they are never slower than the reference by more than that check. Measured
on qemu-m4 per layer of 1024 int16 codes: residual add 27,720 -> 12,440 instructions, binarize 26,040 ->
9,720, PReLU 41,080 -> 17,840; a 2x2 average pool to 256 codes 21,400 -> 11,920.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir.bits import words

DW_BASE = "tb_conv2d_grouped_b1b1"
DW_FN = "tb_conv2d_grouped_b1b1_dw"
DW_VARIANTS = ("armv7m", "armv6m", "rv32-zbb", "rv32")
MAX_TAPS = 62  # TB_DW_MAX_TAPS (tb_kernels_opt_grouped.h): counts in 6 bit planes
HEADER = "tb_kernels_opt_grouped.h"
SOURCES = (HEADER, "tb_conv2d_grouped_b1b1_dw.c")


def is_depthwise_b1b1(node) -> bool:
    """A binary grouped conv with one input and one output channel per group and at most MAX_TAPS taps."""
    a = node.attrs
    if a.get("in_dtype") != "bits" or int(a.get("groups", 1)) <= 1:
        return False
    C, O, G = int(a["in_shape"][-1]), int(a["out_shape"][-1]), int(a["groups"])
    return G == C == O and int(a["kernel"][0]) * int(a["kernel"][1]) <= MAX_TAPS


def fn(variant: str, base: str, node) -> str | None:
    """The fast kernel of a grouped / stream layer on a variant (None: the reference kernel runs)."""
    if variant in DW_VARIANTS and base == DW_BASE and is_depthwise_b1b1(node):
        return DW_FN
    return None


STREAM_FNS = {f"tb_{op}_s{b}": f"tb_{op}_s{b}_opt" for op in ("add", "binarize", "avgpool", "prelu")
              for b in (8, 16)}
S16S8_FNS = {f"tb_{fam}_s16s8": f"tb_{fam}_s16s8_opt" for fam in ("conv2d", "dense")}  # tb_s16s8_opt.c
STREAM_FNS.update(S16S8_FNS)
STREAM_VARIANTS = ("armv7m", "armv6m", "rv32-zbb", "rv32")
STREAM_SOURCES = ("tb_kernels_opt_stream.h", "tb_stream_opt.c", "tb_s16s8_opt.c")


def sources(fns) -> list[str]:
    """The files of firmware/kernels/opt/ the given kernel functions need."""
    opt = [f for f in STREAM_FNS.values() if f in fns]
    return (list(SOURCES) if DW_FN in fns else []) + ([STREAM_SOURCES[0]] if opt else []) + \
        ([STREAM_SOURCES[1]] if any(f not in S16S8_FNS.values() for f in opt) else []) + \
        ([STREAM_SOURCES[2]] if any(f in S16S8_FNS.values() for f in opt) else [])


RV32_POOL_MAX_TAPS = 8  # RV32: larger int16 pool windows keep the reference kernel (measured below)


def apply_stream(spec, variant: str, node=None):
    """A residual add, binarize, average pool or PReLU of a real-valued stream, or a full-precision conv / dense
    reading an int16 stream, on its fast twin (same params and arrays). On the RV32 variants an int16 average pool of more than RV32_POOL_MAX_TAPS taps keeps the
    reference: the twin's channel-innermost window sums cost a load and a store per tap there, which the 4x4
    global pools (16 taps) of the int16 fixtures do not win back (qemu-rv32zbb: 2,294 -> 2,595 instructions),
    while a 2x2 int16 pool goes 17,587 -> 14,708, the TCN's 8-tap int16 global pool 3,902 -> 2,892 and the
    DS-CNN's 4x4 int8 global pool 5,005 -> 4,676."""
    if variant not in STREAM_VARIANTS or spec.fn not in STREAM_FNS:
        return spec
    if variant in ("rv32", "rv32-zbb") and spec.fn == "tb_avgpool_s16" and node is not None and \
            int(node.attrs["kernel"][0]) * int(node.attrs["kernel"][1]) > RV32_POOL_MAX_TAPS:
        return spec
    return replace(spec, fn=STREAM_FNS[spec.fn])


def planes(taps: int) -> int:
    """Bit planes of a count in [0, taps + 1]."""
    return int(taps + 1).bit_length()


def encoded_words(channels: int, taps: int, bits: bool) -> int:
    """tb_dw_b1b1_encoded_words: the weight bits, then for a bits output the thresholds of every tap count."""
    return (taps + ((taps + 1) * planes(taps) if bits else 0)) * words(channels)


def pop_thresholds_dw(thresholds, flip, n: int) -> np.ndarray:
    """T(n, o) of n valid taps: output bit o = (pop >= T) XOR flip[o] for pop mismatches over the n taps (the
    rule of kernels.pop_thresholds, tau clamped first as the C does; every value in [0, n + 1])."""
    tau = np.clip(np.asarray(thresholds, np.int64), -n - 2, n + 2)
    v = np.where(np.asarray(flip, bool), n + tau, n - tau)
    return np.minimum((v + 2) // 2, n + 1)


def _planes_words(values: np.ndarray, n_planes: int) -> np.ndarray:
    """[O] small integers -> [words(O)][n_planes] words, bit o % 32 of plane i of word o // 32 = bit i of value o."""
    O = len(values)
    bits = np.zeros((n_planes, 32 * words(O)), np.uint8)
    for i in range(n_planes):
        bits[i, :O] = (np.asarray(values, np.int64) >> i) & 1
    w = np.packbits(bits.reshape(n_planes, -1, 32), axis=-1, bitorder="little").view("<u4").reshape(n_planes, -1)
    return w.T.astype(np.uint32)


def encode_dw_b1b1(packed: np.ndarray, taps: int, thresholds=None, flip=None) -> np.ndarray:
    """tb_dw_b1b1_encode_weights: reference depthwise weights [O][KH][KW][1] (bit 0 of each word) -> [taps][words(O)],
    bit o of tap t's words = channel o's weight bit at tap t; with the thresholds and flips of a bits output,
    then [taps + 1][words(O)][planes] popcount-domain thresholds (pop_thresholds_dw of each tap count), flat."""
    w = np.asarray(packed, np.uint32).reshape(np.shape(packed)[0], taps)
    O = w.shape[0]
    bits = np.zeros((taps, 32 * words(O)), np.uint8)
    bits[:, :O] = (w & np.uint32(1)).T
    enc = np.packbits(bits.reshape(taps, -1, 32), axis=-1, bitorder="little").view("<u4").reshape(-1)
    if thresholds is None:
        return enc.astype(np.uint32)
    P = planes(taps)
    thr = [_planes_words(pop_thresholds_dw(thresholds, flip, n), P).reshape(-1) for n in range(taps + 1)]
    return np.concatenate([enc] + thr).astype(np.uint32)


def apply(spec, node, variant: str):
    """The layer spec on the variant's fast kernel (unchanged when there is none)."""
    f = fn(variant, spec.fn, node)
    if f is None:
        return spec
    from .ctext import CArray

    a = node.attrs
    taps = int(a["kernel"][0]) * int(a["kernel"][1])
    w = spec.arrays["weights"]
    bits = a["out"] == "bits"
    enc = encode_dw_b1b1(w.values, taps, a["thresholds"] if bits else None, a["flip"] if bits else None)
    arrays = dict(spec.arrays)
    arrays["weights"] = CArray(w.name, w.ctype, enc, f"{w.comment}, tap-major for the depthwise kernel (bit o of "
                               f"tap t's words: channel o's weight)" + (", then the popcount-domain thresholds of "
                               f"every count of valid taps" if bits else "") + f": {enc.size} words", w.role)
    return replace(spec, fn=f, arrays=arrays, scratch_bytes=0)
