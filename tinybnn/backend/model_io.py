"""The model's float boundary on the device: ``model_io.c`` (templates/model_io.c.j2) quantizes a float
sample exactly as :func:`tinybnn.ir.golden.quantize_input` does (the same int8 codes, bit for bit), applies
the output affine and picks the class. This module plans it: where each device input element comes from in
the caller's sample, the prologue affines per channel, the quantizer, the output steps; as template context.
``tinybnn build``/``validate`` firmwares and ``tinybnn export`` libraries render the same file.
"""

from __future__ import annotations

import numpy as np

from ..errors import TinyBnnError
from ..ir.golden import device_layout


# ------------------------------------------------------------------------------ input / output maps --
def _div_mod(ch: np.ndarray, mod: int):
    """The divisor d with ch == (index / d) % mod for every device index, or None."""
    i = np.arange(ch.size)
    change = np.flatnonzero(ch != ch[0]) if ch.size else np.zeros(0, int)
    d = int(change[0]) if change.size else max(1, ch.size)  # the first index where the channel changes
    return d if np.array_equal((i // d) % mod, ch) else None


def input_plan(model) -> dict:
    """How the device computes each int8 code from the caller's float sample: for every device element
    (HWC or F order) its index in the sample (ONNX layout), and for every prologue affine the channel
    it takes its scale and bias from (as quantize_input: perm, prologue, quantizer, NCHW -> NHWC)."""
    from ..ir.quant import ROUNDING, int_range

    a = model.input_node.attrs
    shape = tuple(int(v) for v in a["onnx_shape"])
    n = int(np.prod(shape))
    fields = [np.arange(n).reshape((1,) + shape)]
    if a["perm"] is not None:
        fields = [np.transpose(f, a["perm"]) for f in fields]
    steps = []
    for op in a["pre"]:
        if op["op"] == "affine":
            t = fields[0]
            ch = np.broadcast_to(np.arange(t.shape[1]).reshape((1, -1) + (1,) * (t.ndim - 2)), t.shape)
            fields.append(np.array(ch))
            steps.append({"scale": np.asarray(op["scale"], np.float32).reshape(-1),
                          "bias": np.asarray(op["bias"], np.float32).reshape(-1)})
        else:
            if op["perm"] is not None and fields[0].ndim == 4:
                fields = [np.transpose(f, op["perm"]) for f in fields]
            fields = [f.reshape(f.shape[0], -1) for f in fields]
    flat = [np.ascontiguousarray(device_layout(f)).reshape(-1) for f in fields]  # as quantize_input
    src = flat[0]
    for st, ch in zip(steps, flat[1:]):
        c = st["scale"].size
        if st["bias"].size != c:
            st["bias"] = np.broadcast_to(st["bias"], (c,)).copy()
        st["div"] = _div_mod(ch, c)
        st["channel"] = ch
    mode = a["mode"]
    q = {"mode": mode}
    if mode == "calibrated":
        q.update(scale=float(a["calib_scale"]), zero_point=int(a["calib_zero_point"]))
    elif mode == "sign":
        q.update(strict=a["zero"] == "-1")
    elif mode == "quant":
        sc = np.asarray(a["quant_scale"], np.float64).reshape(-1)
        zq = np.asarray(a["quant_zero_point"], np.float64).reshape(-1)
        rounding = str(a["rounding"]).upper()
        if sc.size != 1 or zq.size != 1:
            raise TinyBnnError("export: the model's input quantizer has per-channel scales; tinybnn export "
                               "supports one input scale (quantize with 'tinybnn predict' and call NAME_invoke)")
        if rounding not in ("ROUND", "FLOOR", "CEIL", "ROUND_TO_ZERO", "DOWN", "HALF_UP"):
            raise TinyBnnError(f"export: input rounding '{rounding}' is not supported on the device "
                               f"(supported: ROUND, FLOOR, CEIL, ROUND_TO_ZERO, HALF_UP; all of {sorted(ROUNDING)} "
                               "on the host)")
        lo, hi = int_range(int(np.asarray(a["quant_bitwidth"]).reshape(-1)[0]), a["quant_signed"],
                           a["quant_narrow"])
        q.update(scale=float(sc[0]), zero_point=float(zq[0]), lo=int(lo), hi=int(hi), rounding=rounding,
                 offset=int(a["offset"]))
    else:
        raise TinyBnnError(f"export: input quantization mode '{mode}' is not supported")
    return {"n": n, "src": src, "identity": bool(np.array_equal(src, np.arange(n))), "steps": steps, "quant": q}


# --------------------------------------------------------------------- the input quantizer as a table --
# The input quantizer maps a float (after the prologue affines) to its int8 code by a non-decreasing function:
# the division by a positive scale, the rounding and the clamp are each monotone. So the code is code_min plus
# the number of breakpoints b[t] <= y, b[t] the smallest float32 whose code is above code_min + t. The device
# compares order keys (the float's bits as an integer that orders like the floats: integer compares, no float
# arithmetic) in a binary search over the table, in place of the double-precision division and rounding, which
# cores without a double-precision FPU run in software (about 880 instructions per element on a Cortex-M4).
# The breakpoints come from the host's own rule (golden.quantize_input) by bisection over the float32 values.
FLT_MAX_KEY = 0x7F7FFFFF  # the order key of float32's largest finite value
KEY_NEVER = 0x7FFFFFFF    # above the key of every float (+inf is 0x7F800000): a code no float reaches


def order_key(x) -> np.ndarray:
    """The order keys of float32 values: int32 that compare as the floats do (-0.0 and +0.0 both 0; NaN
    excluded). The device computes the same from a float's bits (model_io.c.j2's input_key)."""
    b = np.asarray(x, np.float32).view(np.int32).astype(np.int64)
    return np.where(b >= 0, b, -(b & 0x7FFFFFFF))


def _from_key(k: np.ndarray) -> np.ndarray:
    """float32 values of order keys (key 0: +0.0)."""
    k = np.asarray(k, np.int64)
    return np.where(k >= 0, k, (-k) | 0x80000000).astype(np.uint32).view(np.float32)


def code_range(q: dict) -> tuple[int, int] | None:
    """The lowest and highest int8 code the input quantizer writes (None: a sign quantizer)."""
    if q["mode"] == "calibrated":
        return -128, 127
    if q["mode"] == "quant":
        return q["lo"] - q["offset"], q["hi"] - q["offset"]
    return None


def breakpoint_plan(model, inp: dict) -> dict | None:
    """The input quantizer (after the prologue) as a table of order keys, or None (a sign quantizer, or one
    that is not a non-decreasing function of its float): {"lo": code_min, "keys": (T,) int32 ascending, the
    order key of each breakpoint; the key of -inf where every float reaches the code, KEY_NEVER where none
    does}. code(y) = lo + the number of keys <= order_key(y)."""
    from ..ir.golden import quantize_input

    rng = code_range(inp["quant"])
    if rng is None:
        return None
    lo, hi = rng
    T = hi - lo
    if T <= 0:
        return None
    # the quantizer alone, on a flat sample of T floats (the prologue is computed before it, on the device too)
    qa = dict(model.input_node.attrs, pre=[], perm=None, onnx_shape=[T])
    want = lo + 1 + np.arange(T)                                              # the code reached at b[t]

    def codes_at(k: np.ndarray) -> np.ndarray:
        return quantize_input(qa, _from_key(k)[None, :])[0].astype(np.int64)

    k_lo = np.full(T, -FLT_MAX_KEY, np.int64)
    k_hi = np.full(T, FLT_MAX_KEY, np.int64)
    always = codes_at(k_lo) >= want
    never = codes_at(k_hi) < want
    while True:  # bisection: below want at k_lo, reached at k_hi
        open_ = (k_hi - k_lo > 1) & ~always & ~never
        if not open_.any():
            break
        mid = (k_lo + k_hi) // 2
        up = codes_at(mid) >= want
        k_hi = np.where(open_ & up, mid, k_hi)
        k_lo = np.where(open_ & ~up, mid, k_lo)
    keys = np.where(always, -FLT_MAX_KEY - 1, np.where(never, KEY_NEVER, k_hi))
    # the search's own proof: each breakpoint reaches its code and the float just below it does not, and the
    # keys ascend (a quantizer that is not monotone fails here and keeps the float arithmetic)
    mid_ = ~always & ~never
    ok = bool(np.all(codes_at(np.where(mid_, k_hi, 0))[mid_] >= want[mid_]))
    ok = ok and bool(np.all(codes_at(np.where(mid_, k_hi - 1, 0))[mid_] < want[mid_]))
    ok = ok and bool(np.all(np.diff(keys) >= 0))
    return {"lo": lo, "keys": keys.astype(np.int32)} if ok else None


def output_plan(model) -> list[dict]:
    a = model.output_node.attrs
    shape = tuple(int(v) for v in model.device_output_shape)
    if len(shape) != 1 or (a.get("output_perm") is not None and list(a["output_perm"]) != list(range(2))):
        raise TinyBnnError(f"export: the model's output has shape {list(shape)}; tinybnn export needs one "
                           "output vector (a classifier) to compute scores and the class on the device")
    c = shape[0]
    steps = [{"scale": np.broadcast_to(np.asarray(s, np.float64), (c,)).copy(),
              "bias": np.broadcast_to(np.asarray(b, np.float64), (c,)).copy()} for s, b in a.get("steps", [])]
    return [st for st in steps if not (np.all(st["scale"] == 1.0) and np.all(st["bias"] == 0.0))]  # y*1+0 == y


def _f64(v) -> str:
    """A C double literal that reads back as exactly ``v`` (Python's shortest round-trip repr)."""
    if not np.isfinite(v):
        raise TinyBnnError(f"export: the model's input or output scaling holds {float(v)}; only finite values "
                           "can be computed on the device")
    s = repr(float(v))
    return s if ("." in s or "e" in s) else s + ".0"


def _f32(v) -> str:
    """A C float literal of exactly the float32 ``v``."""
    return _f64(np.float32(v)) + "f"


def _rows(vals: list[str], per: int = 6, indent: str = "    ") -> str:
    return "\n".join(indent + ", ".join(vals[i:i + per]) + "," for i in range(0, len(vals), per))


# ------------------------------------------------------------------------ the float boundary (C) --
def boundary_context(model) -> dict:
    """What templates/model_io.c.j2 (the on-device quantization, output affine and class) needs; raises
    TinyBnnError (one line) for a model whose boundary the device cannot compute."""
    inp, outp = input_plan(model), output_plan(model)
    q = inp["quant"]
    bp = breakpoint_plan(model, inp)
    table = None if bp is None else {"lo": bp["lo"], "n": len(bp["keys"]), "steps": len(bp["keys"]).bit_length(),
                                     "key_rows": _rows([str(int(k)) for k in bp["keys"]], 8)}
    steps = []
    for k, st in enumerate(inp["steps"]):
        steps.append({"k": k, "c": st["scale"].size, "div": st["div"],
                      "scale": _rows([_f32(v) for v in st["scale"]]), "bias": _rows([_f32(v) for v in st["bias"]]),
                      "channel": None if st["div"] is not None else
                      _rows([str(int(v)) for v in st["channel"]], 16)})
    return {
        "quant": q, "table": table, "q_scale": _f64(q.get("scale", 1.0)),
        "zp_term": ("" if not q.get("zero_point") else
                    f" + {_f64(q['zero_point'])}" if q["zero_point"] > 0 else f" - {_f64(-q['zero_point'])}"),
        "identity": inp["identity"],
        "src_index": None if inp["identity"] else _rows([str(int(v)) for v in inp["src"]], 16),
        "idx_type": "uint16_t" if inp["n"] <= 0xFFFF else "uint32_t", "steps": steps,
        "out_steps": [{"k": k, "scale": _rows([_f64(v) for v in st["scale"]], 4),
                       "bias": _rows([_f64(v) for v in st["bias"]], 4)} for k, st in enumerate(outp)],
    }


def float_boundary(model) -> dict:
    """The template context of the model's float boundary for tinybnn.codegen: ``classify`` (whether
    model_io.c is rendered), ``classify_note`` (why not) and :func:`boundary_context`'s entries."""
    try:
        ctx = boundary_context(model)
    except TinyBnnError as e:
        note = str(e).removeprefix("export: ")
        return {"classify": False, "classify_note": note}
    return {"classify": True, "classify_note": "", **ctx,
            "onnx_input_shape": [int(v) for v in model.input_node.attrs["onnx_shape"]]}
