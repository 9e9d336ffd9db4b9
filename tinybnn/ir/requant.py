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


class RequantRangeError(ValueError):
    """No constants fit: a step or bias (in output codes) too large for a 30-bit multiplier and a 62-bit sum."""


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
    (mult,), offset, shift = shared_shift_constants([a], b, [vmax])
    return mult, offset, shift


def offset_at(b: float, shift: int) -> int:
    """The int64 offset of :func:`requantize` for a real bias ``b`` (in output codes) at ``shift``: the bias in
    fixed point plus the rounding half, so that floor((v * m + offset) / 2^shift) rounds v * a + b half up."""
    return int(np.floor(float(b) * 2.0 ** shift + 0.5)) + ((1 << (shift - 1)) if shift else 0)


def shared_shift_constants(a_terms, b, vmax_terms) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Constants of ``y = round_half_up(sum_i v_i * a_i + b)`` with one shift per channel: multipliers (one
    int32 array per term), the int64 offset and the int32 shift, so that :func:`requantize` of
    ``sum_i v_i * multiplier_i`` computes it for ``|v_i| <= vmax_i``. (The residual add has two terms; a
    piecewise op calls this with each piece as a term, so the pieces share the shift.)"""
    a_terms = [np.asarray(a, np.float64) for a in a_terms]
    C = np.broadcast_shapes(*[a.shape for a in a_terms], np.shape(b))
    a_terms = [np.broadcast_to(a, C) for a in a_terms]
    b = np.broadcast_to(np.asarray(b, np.float64), C)
    vmax_terms = [np.broadcast_to(np.asarray(v, np.float64), C) for v in vmax_terms]
    mults = [np.zeros(C, np.int64) for _ in a_terms]
    offset = np.zeros(C, np.int64)
    shift = np.zeros(C, np.int64)
    for i in np.ndindex(C):
        for s in range(MAX_SHIFT, -1, -1):
            ms = [int(round(float(a[i]) * 2.0 ** s)) for a in a_terms]
            o = offset_at(float(b[i]), s)
            total = sum(abs(m) * int(v[i]) for m, v in zip(ms, vmax_terms)) + abs(o)
            if all(abs(m) < (1 << MULT_BITS) for m in ms) and total < V_LIMIT:
                break
        else:
            raise RequantRangeError(f"its requantization (steps {[float(f'{a[i]:.4g}') for a in a_terms]}, bias "
                                    f"{float(b[i]):.4g} output codes) does not fit a 30-bit multiplier and a 62-bit "
                                    "sum")
        for k, m in enumerate(ms):
            mults[k][i] = m
        offset[i], shift[i] = o, s
    return [m.astype(np.int32) for m in mults], offset, shift.astype(np.int32)
