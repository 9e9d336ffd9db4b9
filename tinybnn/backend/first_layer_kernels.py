"""Fast int8 first layers: which kernel runs an int8-input layer on a kernel variant, and its weights.

The reference kernels ``tb_conv2d_s8b1`` / ``tb_dense_s8b1`` (int8 input x binary weights) add or subtract
one im2col entry per weight bit: about 14 Thumb-2 instructions per MAC. On the variants listed in
:data:`SUBSET_SUM` the layer runs ``tb_conv2d_s8b1_ss`` / ``tb_dense_s8b1_ss`` instead
(``firmware/kernels/opt/tb_first_ss.c``, portable C, same contract): per group of 4 taps of the column a
table of its 16 subset sums, built once per column (for two output pixels at once when every accumulator
fits 16 bits) and shared by all output channels, so an output channel costs one lookup and one addition per
4 taps. The C is portable; the variants listed use it. Their weights are re-encoded at convert time by :func:`encode_ss`, whose C specification is
``tb_ss_encode_weights`` (``tb_kernels_opt.h``; tests/test_first_layer_kernels.py checks both equal):
per output channel one byte per group, ``(group % 16) << 4 | the group's 4 weight bits``, four bytes per
word from the least significant (twice the flash of the packed bits).

Measured on qemu-m4 (QEMU instruction counts, ``benchmarks/bench_vs_cmsis_nn.py``) for the KWS example's
first layer (49 x 1 x 10 input, 5 x 1 kernel, 128 outputs, K = 50): 4,298,320 instructions with the
reference kernel, 257,875 with the subset-sum kernel (CMSIS-NN's int8 convolution: 860,920). The whole KWS
inference, with the binary layers on each variant's kernels: qemu-m4 (armv7m) 4,994,480 -> 954,080,
qemu-m0 (armv6m) 7,939,875 -> 2,264,500, qemu-rv32zbb (rv32-zbb) 4,943,746 -> 894,698 (``tinybnn bench
--no-kernels``). Building a table (11 additions, 16 stores for 4 taps of two pixels) costs less than the
reference spends on those taps for a single output channel, so every int8 x binary layer on these variants
takes it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir.bits import words
from ..ir.layers import DENSE

# variants whose boards run the subset-sum kernels for int8 x binary layers
SUBSET_SUM = ("armv7m", "armv6m", "rv32-zbb", "rv32")
BASE_FNS = ("tb_conv2d_s8b1", "tb_dense_s8b1")
SOURCES = ("tb_first_ss.c",)
GROUP, BLOCK = 4, 16
# variants whose boards run the pair kernels (tb_first_pairs.c) for int8 x int8 and int8 x int16 layers
PAIRS = ("armv7m", "armv6m", "rv32-zbb", "rv32")
PAIR_FNS = {"tb_conv2d_s8s8": "tb_conv2d_s8_pairs", "tb_conv2d_s8s16": "tb_conv2d_s8_pairs",
            "tb_dense_s8s8": "tb_dense_s8_pairs", "tb_dense_s8s16": "tb_dense_s8_pairs"}
PAIR_SOURCES = ("tb_first_pairs.c",)


def fn(variant: str, base: str) -> str | None:
    """The fast kernel of a reference int8 first-layer kernel on a variant (None: the reference runs)."""
    if variant in SUBSET_SUM and base in BASE_FNS:
        return base + "_ss"
    if variant in PAIRS and base in PAIR_FNS:
        return PAIR_FNS[base]
    return None


def sources(fns) -> list[str]:
    """The files of firmware/kernels/opt/ the given kernel functions need."""
    ss = list(SOURCES) if any(f in (b + "_ss" for b in BASE_FNS) for f in fns) else []
    return ss + (list(PAIR_SOURCES) if any(f in PAIR_FNS.values() for f in fns) else [])


def groups(k_len: int) -> int:
    return -(-int(k_len) // GROUP)


def encoded_words(out_c: int, k_len: int) -> int:
    """tb_ss_encoded_words."""
    return int(out_c) * words(8 * groups(k_len))


def encode_ss(packed: np.ndarray, k_len: int) -> np.ndarray:
    """Reference weights [O][words(K)] -> [O][words(8 * ceil(K / 4))] (tb_ss_encode_weights)."""
    w = np.asarray(packed, np.uint32).reshape(np.shape(packed)[0], -1)
    O, G = w.shape[0], groups(k_len)
    g = np.arange(G)
    nib = (w[:, g // 8] >> (4 * (g % 8)).astype(np.uint32)) & np.uint32(0xF)        # (O, G)
    idx = ((g % BLOCK).astype(np.uint32) << 4) | nib
    nbytes = 4 * words(8 * G)
    b = np.zeros((O, nbytes), np.uint8)
    b[:, :G] = idx.astype(np.uint8)
    return b.view("<u4").astype(np.uint32).reshape(O, nbytes // 4)


def scratch_bytes(k_len: int, out_c: int) -> int:
    """tb_conv2d_s8b1_ss_get_buffer_size / tb_dense_s8b1_ss_get_buffer_size."""
    G = groups(k_len)
    return 4 * (G * GROUP + 16 * min(G, BLOCK) + 2 * int(out_c))


def k_len(node) -> int:
    a = node.attrs
    if node.op == DENSE:
        P, C = (int(x) for x in a["in_shape"])
        return P * C
    KH, KW = (int(x) for x in a["kernel"])
    return KH * KW * int(a["in_shape"][2])


def encode_pairs(weights: np.ndarray) -> np.ndarray:
    """int8 or int16 weights [O][...] -> [O][ceil(K / 2)] words of 16-bit pairs (tb_pairs_encode_weights)."""
    w = np.asarray(weights).reshape(np.shape(weights)[0], -1).astype(np.int64)
    O, K = w.shape
    if K % 2:
        w = np.concatenate([w, np.zeros((O, 1), np.int64)], axis=1)
    u = (w & 0xFFFF).astype(np.uint32)
    return (u[:, 0::2] | (u[:, 1::2] << np.uint32(16))).astype(np.uint32)


def pairs_scratch_bytes(node) -> int:
    """tb_conv2d_s8_pairs_get_buffer_size (two pair columns) / tb_dense_s8_pairs_get_buffer_size (one)."""
    columns = 1 if node.op == DENSE else 2
    return columns * 4 * ((k_len(node) + 1) // 2)


def apply(spec, node, variant: str):
    """The layer spec on the variant's fast first-layer kernel (unchanged when there is none)."""
    f = fn(variant, spec.fn)
    if f is None:
        return spec
    from .ctext import CArray

    K, O = k_len(node), int(node.attrs["out_shape"][-1])
    w = spec.arrays["weights"]
    if f in PAIR_FNS.values():
        enc = encode_pairs(w.values)
        arrays = dict(spec.arrays)
        arrays["weights"] = CArray(w.name, "uint32_t", enc, f"{w.comment}, as 16-bit pairs for the pair kernel "
                                   f"(weight 2j low, 2j + 1 high): {enc.size} words", w.role)
        return replace(spec, fn=f, arrays=arrays, scratch_bytes=pairs_scratch_bytes(node))
    enc = encode_ss(w.values, K)
    arrays = dict(spec.arrays)
    arrays["weights"] = CArray(w.name, w.ctype, enc, f"{w.comment}, encoded for the subset-sum kernel (one byte "
                               f"per 4 taps: table index): {enc.size} words", w.role)
    return replace(spec, fn=f, arrays=arrays, scratch_bytes=scratch_bytes(K, O))
