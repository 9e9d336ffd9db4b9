"""Requantization: the one integer rule by which a real-valued (int8) stream is computed.

Every op that writes an int8 stream value (a conv/dense output stage ``TB_OUT_S8``, the residual add, the average
pools, the per-channel PReLU) ends in the same step, here and in C (``tb_requantize`` in
``firmware/kernels/tb_kernels_internal.h``)::

    y = clamp(floor((v * multiplier + offset) / 2**shift), -128, 127)

with ``v`` the op's exact integer sum (an accumulator, a pooled sum, a weighted pair of codes), ``multiplier``
an int32, ``offset`` an int64 that carries the bias, the output zero point and the rounding half, and ``shift``
in [0, 62]. It is TFLite's "single rounding" requantization with the bias folded in at full precision: one
64-bit multiply-add and one arithmetic shift. The converter chooses the constants (:func:`affine_constants`) so
that ``|v * multiplier| + |offset| < 2**62`` for every reachable ``v``: nothing overflows, in C or in NumPy.
"""

from __future__ import annotations

import numpy as np

INT8_MIN, INT8_MAX = -128, 127
MULT_BITS = 30        # |multiplier| < 2**30: ~9 significant decimal digits, far below the int8 grid's error
MAX_SHIFT = 62
V_LIMIT = 1 << 62     # |v * multiplier| + |offset| stays below this


def requantize(v, multiplier, offset, shift, lo: int = INT8_MIN, hi: int = INT8_MAX) -> np.ndarray:
    """The rule above, elementwise with broadcasting (``multiplier``/``offset``/``shift`` per channel, last
    axis, or scalars). ``v`` is any integer array; the result is int8 (or int16 for a wider [lo, hi])."""
    v = np.asarray(v, np.int64)
    m = np.asarray(multiplier, np.int64)
    o = np.asarray(offset, np.int64)
    s = np.asarray(shift, np.int64)
    y = (v * m + o) >> s  # NumPy's >> on int64 is an arithmetic shift: floor division by 2**s
    return np.clip(y, lo, hi).astype(np.int8 if hi <= INT8_MAX else np.int16)


def affine_constants(a, b, vmax) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(multiplier int32, offset int64, shift int32) per channel so that :func:`requantize` computes
    ``round_half_up(v * a + b)`` for integer ``v`` with ``|v| <= vmax`` (a, b, vmax per channel or scalars).

    ``a`` is the real step of ``v`` over the output's scale, ``b`` the real bias in output codes (the output
    zero point included). The largest shift that keeps ``|multiplier| < 2**30`` and the sum below 2**62 is
    taken, so the only error is that of ``a`` and ``b`` in fixed point with that many fraction bits.
    """
    a, b, vmax = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                     np.asarray(vmax, np.float64))
    mult = np.zeros(a.shape, np.int64)
    offset = np.zeros(a.shape, np.int64)
    shift = np.zeros(a.shape, np.int64)
    for i in np.ndindex(a.shape):
        s = MAX_SHIFT
        while s > 0:
            m = int(round(float(a[i]) * 2.0 ** s))
            o = int(np.floor(float(b[i]) * 2.0 ** s + 0.5)) + (1 << (s - 1))
            if abs(m) < (1 << MULT_BITS) and abs(m) * int(vmax[i]) + abs(o) < V_LIMIT:
                break
            s -= 1
        else:
            m, o = int(round(float(a[i]))), int(np.floor(float(b[i]) + 0.5))
            if abs(m) >= (1 << 31) or abs(m) * int(vmax[i]) + abs(o) >= V_LIMIT:
                raise ValueError(f"requantization step {float(a[i]):g} does not fit a 31-bit multiplier")
        mult[i], offset[i], shift[i] = m, o, s
    return mult.astype(np.int32), offset, shift.astype(np.int32)
