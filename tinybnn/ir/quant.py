"""NumPy semantics of the QONNX quantizers (``qonnx.custom_op.general``), as their spec defines them.

``BipolarQuant(x, s) = (x >= 0 ? +1 : -1) * s`` and
``Quant(x, s, z, b) = (round(clamp(x / s + z, qmin, qmax)) - z) * s``.
"""

from __future__ import annotations

import numpy as np

ROUNDING = {
    "ROUND": np.round,  # half to even, as NumPy and qonnx do
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "ROUND_TO_ZERO": np.fix,
    "DOWN": np.fix,
    "UP": lambda v: np.sign(v) * np.ceil(np.abs(v)),
    "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5),
    "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - 0.5),
}


def int_range(bitwidth: int, signed: int, narrow: int) -> tuple[int, int]:
    b = int(bitwidth)
    if signed:
        return (-(2 ** (b - 1)) + (1 if narrow else 0), 2 ** (b - 1) - 1)
    return (0, 2**b - 1 - (1 if narrow else 0))


def int_quant_codes(x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding="ROUND"):
    """The integer codes of a QONNX Quant: round(clamp(x / scale + zeropt))."""
    lo, hi = int_range(int(np.asarray(bitwidth).reshape(-1)[0]), signed, narrow)
    sc, zp = np.asarray(scale, dtype=np.float64), np.asarray(zeropt, np.float64)
    shape = np.broadcast_shapes(np.shape(x), sc.shape, zp.shape)
    y = np.empty(shape, np.float64)  # one array, every step in place (the same float64 operations)
    np.divide(np.asarray(x), sc, out=y, dtype=np.float64)
    np.add(y, zp, out=y)
    np.clip(y, lo, hi, out=y)
    mode = str(rounding).upper()
    if mode in ("ROUND", "CEIL", "FLOOR"):
        return ROUNDING[mode](y, out=y)
    return ROUNDING[mode](y)


def int_quant(x, scale, zeropt, bitwidth, signed=1, narrow=0, rounding="ROUND"):
    q = int_quant_codes(x, scale, zeropt, bitwidth, signed, narrow, rounding)
    return ((q - np.asarray(zeropt, np.float64)) * np.asarray(scale, np.float64)).astype(np.float32)


def bipolar_quant(x, scale):
    return (np.where(np.asarray(x) >= 0, 1.0, -1.0) * np.asarray(scale)).astype(np.float32)
