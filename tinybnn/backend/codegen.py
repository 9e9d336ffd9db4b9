"""The render pass: a lowered :class:`tinybnn.Model` -> a self-contained C99 model directory.

``render(model, out_dir)`` writes, with the Jinja2 templates in ``templates/``:

* ``model.h``          the API (``tb_model_run``, ``tb_model_run_hooked``), shapes, sizes, hash, layer names;
* ``model.c``          the static arena, the memory plan and the layer sequence (kernel calls);
* ``model_weights.h``  ``extern`` declarations of the constant arrays, with their lengths;
* ``model_weights.c``  packed weights, thresholds, flip and OR masks as ``const`` arrays (flash);
* ``manifest.json``    layers, bytes, memory plan, hash, quantization and the list of files;
* the reference kernel sources the model calls (copied from ``firmware/kernels/``), so the directory
  compiles on its own: ``gcc -std=c99 -c *.c``.

The output is deterministic (byte-identical for the same model: no timestamps, no absolute paths, sorted
JSON keys) and written atomically: everything is rendered in memory, written to a temporary directory
beside OUT and renamed over OUT only when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..ir.bits import pack_bits
from .ctext import (INT32_LIMIT, CArray, __version__, c_array_body, c_comment, c_define, c_slug, c_string,  # noqa: F401
                    environment, kernels_dir, pad_enum, shape_str, templates_dir)
from ..errors import NeedsCalibration, TinyBnnError
from .planner import Buffer, Plan, align, layer_wiring, output_bytes, plan_model, scratch_bytes
from ..ir.layers import ADD, AVGPOOL, BINARIZE, CONCAT, CONV2D, DENSE, MAXPOOL, PRELU, out_dtype

FORMAT_VERSION = 1
HASH_HEX_DIGITS = 16  # sha256 truncated to 64 bits
# the input zero points the int8 kernels accept (x - zp must fit int16): tb_kernels_internal.h
ZP_MIN, ZP_MAX = c_define("tb_kernels_internal.h", "TB_ZP_MIN"), c_define("tb_kernels_internal.h", "TB_ZP_MAX")

ARENA_SYMBOL = "arena"  # the static activation arena in model.c (the footprint finds RAM by it)
GENERATED_FILES = ("model.h", "model.c", "model_weights.h", "model_weights.c")
KERNEL_COMMON = ("tb_kernels.h", "tb_kernels_internal.h", "tb_common.c")
KERNEL_S16_HEADER = "tb_kernels_s16.h"  # the int16-weight first-layer kernels, only where a model uses them
KERNEL_CONCAT_HEADER = "tb_kernels_concat.h"  # the join of binary branches, only in models that branch
KERNEL_GROUPED_HEADER = "tb_kernels_grouped.h"  # grouped and depthwise convolutions, only where used
KERNEL_STREAM_HEADER = "tb_kernels_stream.h"  # the real-valued (int8/int16) stream kernels, only where used
STREAM_FAMILIES = ("add", "avgpool", "maxpool_s", "binarize", "prelu", "concat_s")
KERNEL_FILE_OF = {"tb_concat_s16": "tb_concat_s8.c"}  # kernels that share a source file (else <fn>.c)
CTYPES = {"bits": "uint32_t", "int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}

CONV2D_FIELDS = ("in_h", "in_w", "in_c", "out_h", "out_w", "out_c", "kernel_h", "kernel_w", "stride_h",
                 "stride_w", "dilation_h", "dilation_w", "pad_top", "pad_left", "pad_bottom", "pad_right", "pad",
                 "input_zero_point")
DENSE_FIELDS = ("in_pixels", "in_c", "out_c", "input_zero_point")
CONCAT_FIELDS = ("pixels", "in_c", "out_c", "offset_c")
MAXPOOL_FIELDS = ("in_h", "in_w", "c", "out_h", "out_w", "kernel_h", "kernel_w", "stride_h", "stride_w",
                  "pad_top", "pad_left", "pad_bottom", "pad_right")


@dataclass
class LayerSpec:
    index: int
    name: str
    op: str
    fn: str                    # kernel function
    family: str                # conv2d | dense | maxpool
    kind: str                  # human-readable: "conv2d b1 x b1 -> bits"
    params: list               # [(field, C expression)] in struct order
    out_kind: str | None       # TB_OUT_BITS | TB_OUT_S32 | None (maxpool)
    arrays: dict               # role -> CArray
    in_dtype: str              # int8 | int16 | bits
    out_dtype: str             # bits | int8 | int16 | int32
    in_shape: tuple
    out_shape: tuple
    out_bytes: int
    scratch_bytes: int
    summary: str               # one-line geometry for comments
    extra: dict = field(default_factory=dict)

    @property
    def weight_bytes(self) -> int:
        return sum(a.nbytes for a in self.arrays.values())

    @property
    def prefix(self) -> str:
        return f"L{self.index}"

    @property
    def in_ctype(self) -> str:
        return CTYPES[self.in_dtype]

    @property
    def out_ctype(self) -> str:
        return CTYPES[self.out_dtype]

    @property
    def weights_ctype(self) -> str:
        return self.arrays["weights"].ctype if "weights" in self.arrays else ""


def kernel_fn(node) -> tuple[str, str]:
    """(kernel function, family) for a device layer."""
    a = node.attrs
    w = f"s{a.get('bits', 8)}"  # the width of the stream a stream op writes
    if node.op == MAXPOOL:
        return (f"tb_maxpool_{w}", "maxpool_s") if "bits" in a else ("tb_maxpool_b1", "maxpool")
    if node.op == CONCAT:
        return (f"tb_concat_{w}", "concat_s") if "bits" in a else ("tb_concat_b1", "concat")
    if node.op in (ADD, AVGPOOL, PRELU):
        fam = {ADD: "add", AVGPOOL: "avgpool", PRELU: "prelu"}[node.op]
        return f"tb_{fam}_{w}", fam
    if node.op == BINARIZE:
        return f"tb_binarize_s{a.get('in_bits', 8)}", "binarize"
    fam = {CONV2D: "conv2d", DENSE: "dense"}.get(node.op)
    if fam is None:
        raise TypeError(f"not a device layer: {node.op}")
    if a.get("groups", 1) > 1:  # grouped / depthwise (tb_kernels_grouped.h)
        src = "b1" if a["in_dtype"] == "bits" else f"s{a.get('in_bits', 8)}"
        return f"tb_conv2d_grouped_{src}{'b1' if src == 'b1' else 's8'}", "conv2d_grouped"
    if a["in_dtype"] == "bits":
        return f"tb_{fam}_b1b1", fam
    if a.get("in_bits", 8) == 16:  # a full-precision layer on an int16 stream
        return f"tb_{fam}_s16s8", fam
    if "packed" in a:
        return f"tb_{fam}_s8b1", fam
    return (f"tb_{fam}_s8s16" if a["weights"].dtype == np.int16 else f"tb_{fam}_s8s8"), fam


def _ints(v) -> tuple:
    return tuple(int(x) for x in v)


def layer_spec(node, index: int) -> LayerSpec:
    """Everything the templates, the manifest, the planner checks and the kernel tests need for one layer."""
    fn, fam = kernel_fn(node)
    slug = f"tb_l{index}_{c_slug(node.name)}"
    if fam in ("concat", "concat_s"):
        return _concat_spec(node, index, fn)
    if fam in ("maxpool", "maxpool_s"):
        return _maxpool_spec(node, index, fn, slug)
    if fam in STREAM_FAMILIES:
        return _stream_spec(node, index, fn, fam, slug)
    if fam == "conv2d_grouped":
        s = _linear_spec(node, index, fn, "conv2d", slug)
        G = int(node.attrs["groups"])
        return replace(s, family=fam, params=[(f"conv.{f}", v) for f, v in s.params] + [("groups", str(G))],
                       kind=s.kind.replace("conv2d", f"conv2d grouped ({G} groups)", 1),
                       summary=s.summary + f", {G} groups of {s.in_shape[-1] // G} channels")
    return _linear_spec(node, index, fn, fam, slug)


def _maxpool_spec(node, index: int, fn: str, slug: str) -> LayerSpec:
    a = node.attrs
    in_shape, out_shape = _ints(a["in_shape"]), _ints(a["out_shape"])
    H, W, C = in_shape
    OH, OW, _ = out_shape
    (kh, kw), (sh, sw), (pt, pl, pb, pr) = _ints(a["kernel"]), _ints(a["stride"]), _ints(a["pads"])
    or_mask = np.asarray(a.get("or_mask", np.zeros(C, bool)), bool)
    arrays: dict[str, CArray] = {}
    if or_mask.any():
        arrays["or_mask"] = CArray(f"{slug}_or_mask", "uint32_t", pack_bits(or_mask),
                                   f"OR mask, {int(or_mask.sum())} of {C} channels take the OR (min)", "or_mask")
    vals = dict(in_h=H, in_w=W, c=C, out_h=OH, out_w=OW, kernel_h=kh, kernel_w=kw, stride_h=sh, stride_w=sw,
                pad_top=pt, pad_left=pl, pad_bottom=pb, pad_right=pr)
    params = [(f, str(vals[f])) for f in MAXPOOL_FIELDS]
    params.append(("or_mask", arrays["or_mask"].name if "or_mask" in arrays else "NULL"))
    kind = "maxpool b1" + (" (AND/OR)" if "or_mask" in arrays else " (AND)")
    summary = (f"{shape_str(in_shape)} -> {shape_str(out_shape)}, kernel {kh}x{kw}, stride {sh}x{sw}, "
               f"pads t{pt} l{pl} b{pb} r{pr} (ignored)")
    dt, fam = out_dtype(node), "maxpool"
    if dt != "bits":  # the max of a stream's codes
        kind, fam = f"maxpool {dt}", "maxpool_s"
    return LayerSpec(index, node.name, node.op, fn, fam, kind, params, None, arrays, dt, dt,
                     in_shape, out_shape, output_bytes(node), scratch_bytes(node), summary)


def _weight_array(node, fn: str, fam: str, slug: str) -> CArray:
    """The weights as the reference kernel ``fn`` reads them: packed bits, or int8/int16 codes."""
    a = node.attrs
    if fn.endswith("b1b1"):
        w = np.asarray(a["packed"], np.uint32)
        wdesc = ("packed binary weights [O][KH][KW][words(C)]" if fam == "conv2d"
                 else "packed binary weights [O][P][words(C)]")
        return CArray(f"{slug}_weights", "uint32_t", w, f"{wdesc} = {list(w.shape)}", "weights")
    if fn.endswith("s8b1"):
        w = np.asarray(a["packed"], np.uint32)
        return CArray(f"{slug}_weights", "uint32_t", w, "packed binary weights [O][words(K)] "
                      f"= {list(w.shape)}, taps in ({'kh, kw, c' if fam == 'conv2d' else 'p, c'}) order", "weights")
    wide = fn.endswith("s8s16")  # a float first layer that keeps 16-bit weights
    w = np.asarray(a["weights"], np.int16 if wide else np.int8)
    return CArray(f"{slug}_weights", "int16_t" if wide else "int8_t", w,
                  f"{'int16' if wide else 'int8'} weights {'[O][KH][KW][C]' if fam == 'conv2d' else '[O][P][C]'} "
                  f"= {list(w.shape)}", "weights")


def _threshold_arrays(node, slug: str, O: int) -> dict[str, CArray]:
    """The fused output stage of a bits-out layer: thresholds tau[O] and the packed flip mask."""
    a = node.attrs
    tau = np.asarray(a["thresholds"], np.int64)
    if np.any(tau < -INT32_LIMIT) or np.any(tau >= INT32_LIMIT):
        raise TinyBnnError(f"layer '{node.name}': a threshold does not fit int32")
    flip = np.asarray(a["flip"], bool)
    return {"thresholds": CArray(f"{slug}_thresholds", "int32_t", tau.astype(np.int32),
                                 "thresholds tau[O]: bit = (a' < tau)", "thresholds"),
            "flip": CArray(f"{slug}_flip", "uint32_t", pack_bits(flip),
                           f"flip mask [words(O)]: a' = ~acc on {int(flip.sum())} of {O} channels", "flip")}


def _requant_arrays(node, slug: str) -> dict[str, CArray]:
    """The requantizing output stage of a layer that writes a stream: per output channel multiplier, offset
    (int64) and shift (tinybnn/ir/requant.py)."""
    mult, offset, shift = node.attrs["requant"]
    O = len(mult)
    what = f"the {out_dtype(node)} stream (scale {node.attrs['out_scale']:.6g}, zero point {node.attrs['out_zero_point']})"
    return {"multiplier": CArray(f"{slug}_multiplier", "int32_t", np.asarray(mult, np.int32),
                                 f"requantization multipliers [O={O}] to {what}", "multiplier"),
            "offset": CArray(f"{slug}_offset", "int64_t", np.asarray(offset, np.int64),
                             "requantization offsets [O]: bias, zero point and rounding half, times 2^shift", "offset"),
            "shift": CArray(f"{slug}_shift", "int32_t", np.asarray(shift, np.int32),
                            "requantization right shifts [O]", "shift")}


def _stream_spec(node, index: int, fn: str, fam: str, slug: str) -> LayerSpec:
    """A layer of the real-valued stream: add, average pool, PReLU, binarize (params struct in the order of
    tb_kernels_stream.h, per-channel constants as arrays)."""
    a = node.attrs
    in_shape, out_shape = _ints(a["in_shape"]), _ints(a["out_shape"])
    C = in_shape[-1]
    pixels = int(np.prod(in_shape[:-1], dtype=np.int64)) if len(in_shape) > 1 else 1
    dt = out_dtype(node)
    in_dt = f"int{a.get('in_bits', a.get('bits', 8))}"
    arrays: dict[str, CArray] = {}
    stream = f"{dt} stream (scale {a['out_scale']:.6g}, zero point {a['out_zero_point']})" if "out_scale" in a else ""
    if fam == "add":
        ma, mb, off, sh = (int(v) for v in a["requant"])
        vals = [("size", pixels * C), ("mult_a", ma), ("mult_b", mb), ("offset", f"INT64_C({off})"), ("shift", sh)]
        kind, summary = f"add {dt}", f"{shape_str(in_shape)} + {shape_str(in_shape)} -> {stream}"
    elif fam == "avgpool":
        H, W, _ = in_shape
        OH, OW, _ = out_shape
        (kh, kw), (sh_, sw), (pt, pl, pb, pr) = _ints(a["kernel"]), _ints(a["stride"]), _ints(a["pads"])
        m, off, s = (int(v) for v in a["requant"])
        vals = [("in_h", H), ("in_w", W), ("c", C), ("out_h", OH), ("out_w", OW), ("kernel_h", kh), ("kernel_w", kw),
                ("stride_h", sh_), ("stride_w", sw), ("pad_top", pt), ("pad_left", pl), ("pad_bottom", pb),
                ("pad_right", pr), ("input_zero_point", int(a["input_zero_point"])), ("multiplier", m),
                ("offset", f"INT64_C({off})"), ("shift", s)]
        kind = f"avgpool {dt}"
        summary = (f"{shape_str(in_shape)} -> {shape_str(out_shape)}, kernel {kh}x{kw}, stride {sh_}x{sw}, "
                   f"pads t{pt} l{pl} b{pb} r{pr} (zeros), -> {stream}")
    elif fam == "prelu":
        for role, ctype in (("breakpoint", "int32_t"), ("mult_pos", "int32_t"), ("offset_pos", "int64_t"),
                            ("mult_neg", "int32_t"), ("offset_neg", "int64_t"), ("shift", "int32_t")):
            arrays[role] = CArray(f"{slug}_{role}", ctype, np.asarray(a[role], np.int64 if ctype == "int64_t" else np.int32),
                                  f"{role} [C={C}]", role)
        vals = [("pixels", pixels), ("c", C)] + [(r, arrays[r].name) for r in arrays]
        kind, summary = f"prelu {dt}", f"{shape_str(in_shape)}, two affine pieces per channel -> {stream}"
    else:  # binarize
        arrays.update(_threshold_arrays(node, slug, C))
        vals = [("pixels", pixels), ("c", C), ("thresholds", arrays["thresholds"].name), ("flip", arrays["flip"].name)]
        kind, summary = f"binarize {in_dt} -> bits", f"{shape_str(in_shape)}: bit = (x' < tau) per channel"
    params = [(f, str(v)) for f, v in vals]
    return LayerSpec(index, node.name, node.op, fn, fam, kind, params, None, arrays, in_dt, dt, in_shape,
                     out_shape, output_bytes(node), scratch_bytes(node), summary)


def _linear_params(node, fam: str, zp: int) -> tuple[list, int, str]:
    """The params struct of a conv2d/dense (field, C expression), K and the one-line geometry."""
    a = node.attrs
    in_shape, out_shape = _ints(a["in_shape"]), _ints(a["out_shape"])
    O = out_shape[-1]
    if fam == "dense":
        P, C = in_shape
        vals = dict(in_pixels=P, in_c=C, out_c=O, input_zero_point=zp)
        summary = f"{P}x{C} -> {O}" + (f" (a flattened {P}-pixel tensor)" if P > 1 else "")
        return [(f, str(vals[f])) for f in DENSE_FIELDS], P * C, summary
    H, W, C = in_shape
    OH, OW, _ = out_shape
    (kh, kw), (sh, sw) = _ints(a["kernel"]), _ints(a["stride"])
    dh, dw = _ints(a.get("dilation", (1, 1)))
    Cg = C // int(a.get("groups", 1))  # the channels each output reads
    pt, pl, pb, pr = _ints(a["pads"])
    pad = a.get("pad", "zero") if a["in_dtype"] == "bits" else "zero"
    if a["in_dtype"] == "int8" and a.get("pad", "zero") != "zero":
        raise TinyBnnError(f"layer '{node.name}': int8 input padded with '{a['pad']}'; int8 layers pad with zero")
    vals = dict(in_h=H, in_w=W, in_c=C, out_h=OH, out_w=OW, out_c=O, kernel_h=kh, kernel_w=kw, stride_h=sh,
                stride_w=sw, dilation_h=dh, dilation_w=dw, pad_top=pt, pad_left=pl, pad_bottom=pb,
                pad_right=pr, pad=pad_enum(pad), input_zero_point=zp)
    summary = (f"{shape_str(in_shape)} -> {shape_str(out_shape)}, kernel {kh}x{kw}, stride {sh}x{sw}, "
               f"dilation {dh}x{dw}, pads t{pt} l{pl} b{pb} r{pr} ({pad})")
    return [(f, str(vals[f])) for f in CONV2D_FIELDS], kh * kw * Cg, summary


def _linear_spec(node, index: int, fn: str, fam: str, slug: str) -> LayerSpec:
    a = node.attrs
    name = node.name
    in_shape, out_shape = _ints(a["in_shape"]), _ints(a["out_shape"])
    in_dtype, out_dtype_ = a["in_dtype"], out_dtype(node)
    zp = int(a.get("input_zero_point", 0)) if in_dtype == "int8" else 0
    if in_dtype == "int8" and a.get("in_bits", 8) == 16:
        in_dtype = "int16"
    arrays = {"weights": _weight_array(node, fn, fam, slug)}
    if out_dtype_ == "bits":
        arrays.update(_threshold_arrays(node, slug, out_shape[-1]))
    elif out_dtype_ in ("int8", "int16"):
        arrays.update(_requant_arrays(node, slug))
    params, K, summary = _linear_params(node, fam, zp)
    if in_dtype in ("int8", "int16"):
        summary += f", input zero point {zp}"
        if not ZP_MIN <= zp <= ZP_MAX and in_dtype == "int8":
            raise TinyBnnError(f"layer '{name}': input zero point {zp} outside [{ZP_MIN}, {ZP_MAX}]")
        lo, hi = (-32768, 32767) if in_dtype == "int16" else (-128, 127)
        xmax = max(abs(lo - zp), abs(hi - zp))
        wmax = 1 if fn.endswith("b1") else max(1, int(np.abs(a["weights"].astype(np.int64)).max()))
        bound = K * wmax * xmax
    else:
        bound = K
    if bound >= INT32_LIMIT:
        raise TinyBnnError(f"layer '{name}': its accumulator can reach {bound}, more than int32 holds")
    src = {"bits": "b1", "int8": "s8", "int16": "s16"}[in_dtype]
    wk = "s16" if fn.endswith("s8s16") else "b1" if fn.endswith("b1") else "s8"
    kind = f"{fam} {src} x {wk} -> {out_dtype_}"
    out_kind = {"bits": "TB_OUT_BITS", "int8": "TB_OUT_S8", "int16": "TB_OUT_S16"}.get(out_dtype_, "TB_OUT_S32")
    return LayerSpec(index, name, node.op, fn, fam, kind, params, out_kind, arrays, in_dtype,
                     out_dtype_, in_shape, out_shape, output_bytes(node), scratch_bytes(node), summary, {"K": K})


def _concat_spec(node, index: int, fn: str) -> LayerSpec:
    """A join: one tb_concat_b1 call per input, each with its channel offset (``extra["parts"]``)."""
    a = node.attrs
    ins = [_ints(s) for s in a["in_shapes"]]
    out_shape = _ints(a["out_shape"])
    pixels = int(np.prod(out_shape[:-1], dtype=np.int64)) if len(out_shape) > 1 else 1
    if sum(s[-1] for s in ins) != out_shape[-1] or any(s[:-1] != out_shape[:-1] for s in ins):
        raise TinyBnnError(f"layer '{node.name}': concat of {[list(s) for s in ins]} cannot give {list(out_shape)}")
    parts, off = [], 0
    for s in ins:
        vals = dict(pixels=pixels, in_c=s[-1], out_c=out_shape[-1], offset_c=off)
        parts.append([(f, str(vals[f])) for f in CONCAT_FIELDS])
        off += s[-1]
    summary = " + ".join(shape_str(s) for s in ins) + f" -> {shape_str(out_shape)}, channels laid end to end"
    dt = out_dtype(node)
    fam, kind = ("concat", f"concat b1 ({len(ins)} inputs)") if dt == "bits" else \
        ("concat_s", f"concat {dt} ({len(ins)} inputs)")
    return LayerSpec(index, node.name, node.op, fn, fam, kind, [], None, {},
                     dt, dt, ins[0], out_shape, output_bytes(node), scratch_bytes(node), summary,
                     {"parts": parts})


# ------------------------------------------------------------------------------------------ hashing --
def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist())
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        return float(v)
    if v is None or isinstance(v, (int, str)):
        return v
    return str(v)


def input_info(model) -> dict:
    a = model.input_node.attrs
    q = {"mode": a.get("mode"), "scale": a.get("scale"), "zero_point": a.get("zero_point"),
         "formula": "real = scale * (q - zero_point), q the int8 device input"}
    for k in ("quant_scale", "quant_zero_point", "quant_bitwidth", "quant_signed", "quant_narrow", "rounding",
              "offset", "zero", "calib_scale", "calib_zero_point"):
        if k in a:
            q[k] = a[k]
    pre = [{k: v for k, v in op.items()} for op in a.get("pre", [])]
    return _jsonable({"shape": list(model.device_input_shape), "onnx_shape": list(a["onnx_shape"]),
                      "onnx_perm": a.get("perm"), "dtype": "int8",
                      "layout": "HWC" if len(model.device_input_shape) == 3 else "F",
                      "elements": int(np.prod(model.device_input_shape)), "quantization": q,
                      "host_prologue": pre})


def output_info(model) -> dict:
    a = model.output_node.attrs
    steps = [{"scale": np.broadcast_to(np.asarray(s, np.float64), (int(model.device_output_shape[-1]),)),
              "bias": np.broadcast_to(np.asarray(b, np.float64), (int(model.device_output_shape[-1]),))}
             for s, b in a.get("steps", [])]
    return _jsonable({"shape": list(model.device_output_shape), "dtype": "int32",
                      "layout": "HWC" if len(model.device_output_shape) == 3 else "F",
                      "elements": int(np.prod(model.device_output_shape)),
                      "dequantization": {"steps": steps, "formula": "y = acc * scale + bias per step, in order, "
                                         "per output channel (host side)"},
                      "onnx_perm": a.get("output_perm")})


def model_hash(specs: list[LayerSpec], inp: dict, out: dict, wiring: list | None = None) -> str:
    """sha256 (truncated) of the structure, every constant array and the quantization parameters.

    ``wiring`` (Model.layer_inputs) enters the hash when the model is not a chain, with the joins' per-input
    parameters, so a chain hashes as it always did."""
    h = hashlib.sha256()
    dag = wiring is not None and not _is_chain(wiring)
    layers = []
    for s in specs:
        d = {"name": s.name, "fn": s.fn, "params": s.params, "out": s.out_kind,
             "arrays": {r: [c.ctype, c.count] for r, c in sorted(s.arrays.items())}}
        if "parts" in s.extra:
            d["parts"] = s.extra["parts"]
        if dag:
            d["inputs"] = list(wiring[s.index])
        layers.append(d)
    struct = {"format": FORMAT_VERSION, "input": inp, "output": out, "layers": layers}
    h.update(json.dumps(struct, sort_keys=True, separators=(",", ":")).encode())
    for s in specs:
        for role, arr in sorted(s.arrays.items()):
            h.update(f"{s.index}:{role}:".encode())
            dt = {"uint32_t": "<u4", "int32_t": "<i4", "int16_t": "<i2", "int8_t": "i1", "int64_t": "<i8"}[arr.ctype]
            h.update(np.ascontiguousarray(arr.values, dtype=dt).tobytes())
    return h.hexdigest()[:HASH_HEX_DIGITS]


def _is_chain(wiring: list) -> bool:
    return all(list(ins) == [i - 1] for i, ins in enumerate(wiring))


# ---------------------------------------------------------------------------------------- rendering --
@dataclass
class Rendered:
    files: dict          # name -> bytes (generated files and copied kernel sources)
    manifest: dict
    specs: list
    plan: Plan
    hash: str

    @property
    def arena_bytes(self) -> int:
        return self.plan.arena_bytes

    @property
    def weight_bytes(self) -> int:
        return sum(s.weight_bytes for s in self.specs)

    @property
    def defines(self) -> list:
        """Compiler flags the rendered sources want when no layer writes an int8 or int16 output:
        ``-DTB_OPT_STREAM_PLAN=0`` leaves the optimized kernels' requantization plan (over 500 bytes of stack
        per call, firmware/kernels/opt/tb_opt_internal.h) out of the build, ``-DTB_STREAM_OUTPUTS=0`` the
        TB_OUT_S8 / TB_OUT_S16 output stages of every conv/dense kernel (firmware/kernels/tb_kernels.h)."""
        streams = any(s.out_kind in ("TB_OUT_S8", "TB_OUT_S16") for s in self.specs)
        return [] if streams else ["-DTB_OPT_STREAM_PLAN=0", "-DTB_STREAM_OUTPUTS=0"]


def kernel_sources(specs: list[LayerSpec], variant: str = "reference") -> list[str]:
    """The kernel files the model needs: the headers, the common checks and one file per kernel used
    (plus, for a kernel variant, its family's files from firmware/kernels/opt/)."""
    fns = sorted({s.fn for s in specs})
    files = [KERNEL_FILE_OF.get(fn, f"{fn}.c") for fn in fns]
    ref = sorted({f for f in files if (kernels_dir() / f).is_file()})
    common = list(KERNEL_COMMON) + ([KERNEL_S16_HEADER] if any(fn.endswith("s8s16") for fn in fns) else [])
    common += [KERNEL_CONCAT_HEADER] if any(fn.startswith("tb_concat_") for fn in fns) else []
    common += [KERNEL_STREAM_HEADER] if any(_stream_width(fn) for fn in fns) else []
    common += [KERNEL_GROUPED_HEADER] if any(fn.startswith("tb_conv2d_grouped_") for fn in fns) else []
    if all((kernels_dir() / f).is_file() for f in files):
        return common + ref
    from . import kernels

    return common + ref + kernels.sources(variant, fns)


def _stream_width(fn: str) -> int | None:
    """8 or 16 for a kernel of the real-valued streams (declared in tb_kernels_stream.h, or its optimized twin
    in tb_kernels_opt_stream.h), else None."""
    fn = fn.removesuffix("_opt")
    for fam in ("add", "avgpool", "maxpool", "binarize", "prelu", "concat"):
        for b in (8, 16):
            if fn == f"tb_{fam}_s{b}":
                return b
    return 16 if fn in ("tb_conv2d_s16s8", "tb_dense_s16s8") else None


def _kernel_file(name: str) -> Path:
    p = kernels_dir() / name
    if p.is_file():
        return p
    from . import kernels

    return kernels.opt_dir() / name


def prepare(model, variant: str = "reference") -> Rendered:
    """Render everything in memory (nothing is written).

    ``variant`` (a board file's ``kernel_variant``) selects the kernel family of the binary conv2d/dense
    layers (:mod:`tinybnn.backend.kernels`); "reference" renders the reference kernels only.
    """
    specs = _checked_specs(model)
    inp, out = input_info(model), output_info(model)
    wiring = layer_wiring(model)
    digest = model_hash(specs, inp, out, wiring)  # the model's identity: the same for every kernel variant
    layer_kernels: list = []  # kernels specialized to one layer (tinybnn.backend.kernels.specialization)
    if variant == "reference":
        plan = plan_model(model)
    else:
        specs, plan, layer_kernels = _apply_variant(model, specs, variant)
    source = Path(str(model.graph.meta.get("source", "model"))).name
    ksrc = kernel_sources(specs, variant)
    ctx = _template_context(model, specs, plan, wiring, inp, out, ksrc)
    ctx.update(version=__version__, source=c_comment(source), hash=digest, layer_kernels=bool(layer_kernels))
    from .model_io import float_boundary

    ctx.update(float_boundary(model))  # model_io.c: quantization, output affine and class on the device
    env = environment()
    files: dict[str, bytes] = {}
    for name in GENERATED_FILES + (("model_io.h", "model_io.c") if ctx["classify"] else ()):
        files[name] = env.get_template(name + ".j2").render(**ctx).encode("utf-8")
    for name in ksrc:
        files[name] = _kernel_file(name).read_bytes()
    if layer_kernels:
        from . import kernels

        files.update(kernels.render_layer_kernels(variant, layer_kernels))
    manifest = _manifest(source, digest, inp, out, specs, wiring, plan, ctx, files, ksrc, variant)
    files["manifest.json"] = (json.dumps(_jsonable(manifest), indent=2, sort_keys=True) + "\n").encode("utf-8")
    return Rendered(files, manifest, specs, plan, digest)


def _checked_specs(model) -> list[LayerSpec]:
    """Every layer's spec, once the model is known to be renderable (calibrated, int32 out at the end only)."""
    if model.needs_calibration:
        raise NeedsCalibration()
    if getattr(model, "streams_need_calibration", False):
        raise NeedsCalibration(streams=True)
    layers = model.layers
    if not layers:
        raise TinyBnnError("the model has no device layers")
    last = layers[-1]
    if out_dtype(last) != "int32":
        raise TinyBnnError(f"layer '{last.name}': the last layer must produce int32 accumulators")
    specs = [layer_spec(n, i) for i, n in enumerate(layers)]
    for s in specs[:-1]:
        if s.out_dtype == "int32":
            raise TinyBnnError(f"layer '{s.name}': only the last layer may produce int32 accumulators")
    return specs


def _template_context(model, specs, plan: Plan, wiring, inp: dict, out: dict, ksrc: list[str]) -> dict:
    """What model.c/.h and model_weights.c/.h render from: the layer calls with their buffers, the plan, sizes."""
    bufs = {b.name: b for b in plan.buffers}
    calls = []
    for s in specs:
        i = s.index
        calls.append({
            "spec": s,
            "srcs": ["INPUT_OFFSET" if j < 0 else f"{specs[j].prefix}_OUT_OFFSET" for j in wiring[i]],
            "reads": ["the input" if j < 0 else f'layer {j} ("{c_comment(specs[j].name)}")' for j in wiring[i]],
            "out_offset": bufs[f"L{i}.out"].offset if i < len(specs) - 1 else None,
            "scratch_offset": bufs[f"L{i}.scratch"].offset if f"L{i}.scratch" in bufs else None,
        })
    n_in = int(np.prod(model.device_input_shape))
    n_out = int(np.prod(model.device_output_shape))
    q = inp["quantization"]
    return {
        "specs": specs, "calls": calls,
        "input_offset": bufs["input"].offset, "dag": not _is_chain(wiring),
        "concat_kernels": KERNEL_CONCAT_HEADER in ksrc,
        "stream_kernels": KERNEL_STREAM_HEADER in ksrc,
        "grouped_kernels": KERNEL_GROUPED_HEADER in ksrc,
        "plan": plan, "plan_buffers": sorted(plan.buffers, key=lambda b: (b.offset, b.name)),
        "lower_bound": _lb(plan), "arena_bytes": plan.arena_bytes, "arena_symbol": ARENA_SYMBOL,
        "weight_bytes": sum(s.weight_bytes for s in specs), "num_layers": len(specs),
        "input_shape": list(model.device_input_shape), "output_shape": list(model.device_output_shape),
        "input_size": n_in, "output_size": n_out, "input_bytes": n_in, "output_bytes": 4 * n_out,
        "input_layout": inp["layout"], "output_layout": out["layout"],
        "quant_mode": q["mode"], "input_scale": repr(float(q["scale"])), "input_zero_point": int(q["zero_point"]),
        "c_comment": c_comment, "c_string": c_string, "shape_str": shape_str,
        "opt_kernels": "tb_kernels_opt.h" in ksrc,
        "opt_grouped_kernels": "tb_kernels_opt_grouped.h" in ksrc,
        "opt_stream_kernels": "tb_kernels_opt_stream.h" in ksrc,
        "s16_kernels": KERNEL_S16_HEADER in ksrc,
        "layer_name_width": max(len(c_comment(s.name)) for s in specs),
        "kernel_name_width": max(len(s.fn) for s in specs),
    }


def _manifest(source, digest, inp, out, specs, wiring, plan: Plan, ctx, files, ksrc, variant) -> dict:
    """manifest.json: layers, bytes, the memory plan, the hash, quantization and the files."""
    chain = _is_chain(wiring)
    return {
        "format": "tinybnn-model", "format_version": FORMAT_VERSION, "tinybnn_version": __version__,
        "source": source, "hash": digest,
        "input": inp, "output": out,
        "layers": [{"index": s.index, "name": s.name, "op": s.op, "kind": s.kind, "kernel": s.fn,
                    "in_dtype": s.in_dtype, "out_dtype": s.out_dtype, "in_shape": list(s.in_shape),
                    "out_shape": list(s.out_shape), "weight_bytes": s.weight_bytes, "output_bytes": s.out_bytes,
                    "scratch_bytes": s.scratch_bytes,
                    **({"inputs": list(wiring[s.index])} if not chain else {}),
                    "arrays": {r: {"name": c.name, "ctype": c.ctype, "count": c.count, "bytes": c.nbytes}
                               for r, c in sorted(s.arrays.items())}} for s in specs],
        "weight_bytes": ctx["weight_bytes"], "arena_bytes": plan.arena_bytes, "arena_lower_bound": ctx["lower_bound"],
        "memory_plan": {"strategy": plan.strategy, "alignment": 4, "input_in_arena": True,
                        "output_in_arena": False, "buffers": plan.to_json()},
        "files": sorted(list(GENERATED_FILES) + ["manifest.json"] +
                        [n for n in files if n.startswith(("model_kernels", "model_io"))]),
        "kernel_sources": ksrc,
        **({"kernel_variant": variant} if variant != "reference" else {}),
        "api": {"run": "int tb_model_run(const int8_t *input, int32_t *output)",
                "run_hooked": "int tb_model_run_hooked(const int8_t *input, int32_t *output, "
                              "tb_layer_hook hook, void *hook_ctx)"},
    }


# -------------------------------------------------------------------------------- kernel variants --
def _apply_variant(model, specs: list[LayerSpec], variant: str) -> tuple[list[LayerSpec], Plan, list]:
    """The binary conv2d/dense layers on the variant's kernels: function, encoded weights, scratch; the
    memory plan with those scratch sizes; the layers that get a kernel specialized to their shape
    (rendered into model_kernels.c). Other layers keep the reference kernels."""

    from . import kernels
    from .planner import plan, model_buffers

    v = kernels.variant(variant)
    out, special = [], []
    for s, node in zip(specs, model.layers):
        if s.fn in kernels.OPT_FNS and kernels.uses_variant(variant, node):
            w = s.arrays["weights"]
            arrays = dict(s.arrays)
            k = kernels.specialization(variant, node, s.index)
            if k is None:  # the family's generic kernel and its weight encoding
                taps = kernels.flash_taps(variant, node)  # rv32: the tap popcounts follow the weights
                enc = kernels.encode(variant, w.values, taps)
                comment, fn = (f"encoded for the {variant} kernels ({v.weights}"
                               f"{', then the tap popcounts' if taps else ''}): {enc.size} words"), v.fn(s.fn)
            else:  # a kernel specialized to this layer (model_kernels.c), with its own weight layout
                special.append(k)
                enc = kernels.encode_layer(k, w.values, node.attrs.get("thresholds"), node.attrs.get("flip"))
                comment, fn = kernels.layer_weights_comment(k, enc.size), k["fn"]
            arrays["weights"] = CArray(w.name, w.ctype, enc, f"{w.comment}, {comment}", w.role)
            s = replace(s, fn=fn, arrays=arrays, scratch_bytes=kernels.scratch_bytes(variant, node))
        elif s.fn in kernels.OPT_FNS and kernels.short_fn(variant, node):  # 1 or 2 words: no set-up, no scratch
            s = replace(s, fn=kernels.short_fn(variant, node))
        elif s.family in STREAM_FAMILIES or s.fn in ("tb_conv2d_s16s8", "tb_dense_s16s8"):
            from . import stream_kernels  # a real-valued stream's op, or a layer reading one: its fast twin, if any

            s = stream_kernels.apply_stream(s, variant, node)
        elif s.in_dtype == "int8":  # an int8 first layer: its fast kernel on this variant, if any
            from . import first_layer_kernels

            s = first_layer_kernels.apply(s, node, variant)
        elif s.family == "maxpool":  # every family's max-pool: the window clipped once per output pixel
            s = replace(s, fn=kernels.MAXPOOL_FN)
        elif s.family == "conv2d_grouped":  # a depthwise binary conv: 32 channels at a time, if the variant has it
            from . import stream_kernels

            s = stream_kernels.apply(s, node, variant)
        out.append(s)
    sizes = {f"L{s.index}.scratch": s.scratch_bytes for s in out}
    bufs = [b for b in model_buffers(model) if b.kind != "scratch"]
    for s in out:
        if s.scratch_bytes:
            bufs.append(Buffer(f"L{s.index}.scratch", align(sizes[f"L{s.index}.scratch"]), s.index, s.index,
                               "scratch", layer=s.index))
    return out, plan(bufs), special


def _lb(plan: Plan) -> int:
    from .planner import lower_bound

    return lower_bound(plan)


def check_limits(r: Rendered, max_ram: int | None = None, max_flash: int | None = None) -> None:
    """Refuse a model that does not fit: RAM = the arena, flash = the constant arrays (code not counted)."""
    if max_ram is not None and r.arena_bytes > max_ram:
        raise TinyBnnError(f"the model needs {r.arena_bytes} bytes of RAM for its activation arena, more than "
                           f"--max-ram {max_ram}")
    if max_flash is not None and r.weight_bytes > max_flash:
        raise TinyBnnError(f"the model needs {r.weight_bytes} bytes of flash for its weights and thresholds, "
                           f"more than --max-flash {max_flash}")


def write_files(files: dict, out_dir) -> Path:
    """Write ``files`` as the whole content of ``out_dir``, atomically (temp dir beside it, then rename).

    SIGINT/SIGTERM/SIGHUP are held back until the swap is over (tinybnn.plumbing.deferred_signals): the
    folder then holds either the previous model or the new one, never neither, and no temporary folder
    is left beside it."""
    from ..plumbing import deferred_signals

    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise TinyBnnError(f"{out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        raise TinyBnnError(f"{out}: directory is not empty and holds no tinybnn model (no manifest.json); "
                           "refusing to replace it")
    parent = out.absolute().parent
    with deferred_signals():
        try:
            parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=parent))
        except OSError as e:
            raise TinyBnnError(f"{out}: cannot create the output directory ({e.strerror})") from None
        old = None
        try:
            for name, data in sorted(files.items()):
                (tmp / name).write_bytes(data)
            os.chmod(tmp, 0o755)
            if out.is_dir():
                old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=parent))
                os.rename(out, old / out.name)
            try:
                os.rename(tmp, out)
            except OSError:
                if old is not None:
                    os.rename(old / out.name, out)  # put the previous model back
                raise
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise TinyBnnError(f"{out}: cannot write the model ({e.strerror})") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        finally:
            if old is not None and out.is_dir():  # the previous model is never removed unless replaced
                shutil.rmtree(old, ignore_errors=True)
    return out


def render(model, out_dir, max_ram: int | None = None, max_flash: int | None = None,
           variant: str = "reference") -> Rendered:
    """Render ``model`` into ``out_dir`` (replaced as a whole); refuse before writing if it does not fit."""
    r = prepare(model, variant)
    check_limits(r, max_ram, max_flash)
    write_files(r.files, out_dir)
    return r
