"""The float reference of a Larq Compute Engine ``.tflite`` file for ``tinybnn check``.

LCE's interpreter is not a dependency of tinybnn (it needs TensorFlow). ``check`` compares the golden model with
either the interpreter's own outputs, stored by the user (``--reference``), or tinybnn's canonical float graph of
the file (NumPy, float64: the file's computation exactly, with float64 rounding instead of LCE's float32), and
says which.
"""

from __future__ import annotations

import numpy as np

from ...errors import TinyBnnError

INTERPRETER_NOTE = ("its float runtime, Larq Compute Engine's interpreter, is not part of tinybnn; compare with "
                    "its outputs in tinybnn check --reference")


def run_reference(path, x: np.ndarray, probes=(), outputs=None, outputs_name: str | None = None):
    """(outputs (N, ...), {probe: values}, what was compared with). ``outputs``: the interpreter's outputs for
    ``x``, as the user stored them; else the canonical float graph runs, and also gives the probed tensors."""
    from ...ir.floatref import run
    from .importer import import_tflite

    g = import_tflite(path)
    if outputs is not None:
        y = np.asarray(outputs, dtype=np.float64)
        size = int(np.prod(g.shapes[g.output][1:]))
        if y.shape[0] != len(x) or y.size != len(x) * size:
            raise TinyBnnError(f"{outputs_name}: array y has shape {list(y.shape)}; supported: one row of {size} "
                               f"outputs per sample of --data ({len(x)} samples), in the same order")
        return (y.reshape(len(x), size), {},
                f"the outputs in {outputs_name} (per-layer bits are not compared: the file holds outputs only)")
    xc = np.asarray(x, dtype=np.float64)
    perm = g.meta.get("input_perm")
    if perm is not None:
        xc = np.transpose(xc, perm)
    vals = run(g, xc, keep={g.output, *probes})
    return (vals[g.output].reshape(len(x), -1), {p: vals[p] for p in probes if p in vals},
            "tinybnn's float graph of the .tflite file (NumPy, float64), not Larq Compute Engine's interpreter, "
            "which tinybnn does not run: give its outputs with --reference")
