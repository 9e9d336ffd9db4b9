"""Bit-packing: +-1 values <-> 32-bit words along the innermost (channel) axis.

Bit j of word w holds element 32*w + j (least significant bit first). Bit 1 means -1, bit 0 means +1
(an exact 0 also becomes bit 0). Tail bits past the last element are 0, in activations and weights alike,
so they never add to popcount(a XOR w).
"""

from __future__ import annotations

import numpy as np

WORD_BITS = 32


def words(n: int) -> int:
    """Number of 32-bit words holding n bits."""
    return -(-int(n) // WORD_BITS)


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack a boolean/0-1 array along its last axis into uint32 words (LSB first, tail zero)."""
    bits = np.asarray(bits).astype(bool, copy=False)
    n = bits.shape[-1]
    nw = words(n)
    pad = nw * WORD_BITS - n
    if pad:
        bits = np.concatenate([bits, np.zeros(bits.shape[:-1] + (pad,), dtype=bool)], axis=-1)
    by = np.packbits(bits, axis=-1, bitorder="little")  # bytes, element 0 in bit 0 of byte 0
    return np.ascontiguousarray(by).view("<u4").astype(np.uint32, copy=False).reshape(bits.shape[:-1] + (nw,))


def unpack_bits(words_: np.ndarray, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: a bool array with n elements on the last axis."""
    w = np.ascontiguousarray(words_, dtype="<u4")
    b = np.unpackbits(w.view(np.uint8).reshape(w.shape[:-1] + (w.shape[-1] * 4,)), axis=-1, bitorder="little")
    return b[..., :n].astype(bool)


def pack_pm1(values: np.ndarray) -> np.ndarray:
    """Pack +-1 values (any real array; < 0 -> bit 1, >= 0 -> bit 0)."""
    return pack_bits(np.asarray(values) < 0)


def unpack_pm1(words_: np.ndarray, n: int) -> np.ndarray:
    """Unpack to int8 +-1 values."""
    return np.where(unpack_bits(words_, n), -1, 1).astype(np.int8)


def tail_mask(n: int) -> np.ndarray:
    """uint32 words with 1 where a real element lives and 0 in the tail."""
    return pack_bits(np.ones(n, dtype=bool))
