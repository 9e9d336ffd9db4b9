"""The host-side float preprocessing before the input quantizer (``tb.InputQuant``'s ``pre`` steps).

The Affine and Flatten ops a model applies to its float input before its first layer run on the host, in
float32, exactly as the framework computes them; the golden model, calibration and the lowering share them.
"""

from __future__ import annotations

import math

import numpy as np


def prologue_ops(nodes) -> list[dict]:
    """The host-side input preprocessing: the Affine and Flatten ops before the input quantizer/first layer."""
    ops = []
    for n in nodes:
        if n.op == "Affine":
            ops.append({"op": "affine", "scale": n.attrs["scale"], "bias": n.attrs["bias"], "name": n.name})
        elif n.op == "Flatten":
            ops.append({"op": "flatten", "perm": n.attrs.get("perm"), "name": n.name})
        else:
            break
    return ops


def apply_prologue(ops, x: np.ndarray) -> np.ndarray:
    """Apply the host-side preprocessing to a float32 batch in the canonical layout, as the framework does:
    per affine step y * scale, then + bias, each rounded to float32 (the first step writes a new array, the
    others work in place on it: never into the caller's array). A multiplication by 1 is skipped (exact), and
    an addition of 0, which changes only -0.0 into +0.0: every input quantizer maps the two alike."""
    y = np.asarray(x, dtype=np.float32)
    copied = False
    for op in ops:
        if op["op"] == "affine":
            cs = (1, -1) + (1,) * (y.ndim - 2)
            for ufunc, v, identity in ((np.multiply, op["scale"], 1), (np.add, op["bias"], 0)):
                v = np.asarray(v, np.float32).reshape(-1)
                if (v == identity).all():
                    continue
                u = v.view(np.uint32)  # one value, bit for bit, for every channel: a scalar operand (the same
                v = v[0] if (u == u[0]).all() else v.reshape(cs)  # float32 op; broadcasting a row is slow)
                y = ufunc(y, v, out=y if copied else None)
                copied = True
        else:
            if op["perm"] is not None and y.ndim == 4:
                y = np.transpose(y, op["perm"])
            y = y.reshape(y.shape[0], math.prod(y.shape[1:]))  # N = 0 too
    return y if copied or y is not x else y.copy()
