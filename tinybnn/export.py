"""``tinybnn export``: the model as a library a product's firmware links, with the float boundary on the device.

The folder builds as it is as a PlatformIO library (``library.json``), an Arduino library
(``library.properties``, ``src/``, ``examples/NAME_classify/``) and a CMake target (``CMakeLists.txt``).
``src/NAME.h`` is the API: ``NAME_classify`` takes one float sample in the model's own input layout, quantizes
it exactly as :func:`tinybnn.golden.quantize_input` does (the same int8 codes, bit for bit), runs the model and
applies the output affine; ``NAME_invoke`` runs on int8 codes the caller quantized.

Every symbol, macro and file carries the prefix: the rendered model and kernel sources of
:func:`tinybnn.codegen.prepare` are renamed ``tb_`` -> ``NAME_tb_``, ``TB_`` -> ``NAME_TB_``,
``model*.c/h`` -> ``NAME_model*.c/h``, so two exported models (with their own copies of the kernels) link
into one firmware. The default rendering of ``tinybnn convert``/``build`` is untouched.

A re-export only writes the files it wrote before (recorded with their sha256 in ``tinybnn-export.json``)
and refuses, in one line, to overwrite a file the user changed or a file tinybnn did not write, unless
``force``; it never deletes a file the user wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from . import __version__
from .errors import TinyBnnError

NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,31}")
MANIFEST = "tinybnn-export.json"
RESERVED = ("tb", "model")


# ------------------------------------------------------------------------------------------ checks --
def check_name(name: str) -> str:
    if not NAME_RE.fullmatch(name or "") or name in RESERVED or name.endswith("_"):
        raise TinyBnnError(f"--name '{name}': give a C identifier of 1 to 32 lowercase letters, digits and '_', "
                           "starting with a letter (it prefixes every symbol: NAME_classify, NAME_INPUT_SIZE)")
    return name


def read_labels(path, n: int) -> list[str]:
    from .graph import check_file

    p = check_file(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise TinyBnnError(f"{path}: not UTF-8 text (byte {e.start})") from None
    labels = [ln.strip() for ln in text.splitlines()]
    while labels and not labels[-1]:
        labels.pop()
    if len(labels) != n:
        raise TinyBnnError(f"{path}: {len(labels)} labels (one a line); the model has {n} outputs")
    return labels


def model_labels(model, n: int) -> tuple[list[str], str]:
    """Class labels from the ONNX metadata ("labels": a JSON list or one per line), else the indices."""
    md = model.graph.meta.get("metadata", {}) or {}
    for key in ("tinybnn.labels", "labels", "class_labels"):
        if key in md:
            raw = str(md[key])
            try:
                vals = json.loads(raw)
            except ValueError:
                vals = [v.strip() for v in re.split(r"[\n,]", raw)]
            if isinstance(vals, list) and len(vals) == n:
                return [str(v) for v in vals], f"ONNX metadata '{key}'"
    return [str(i) for i in range(n)], "class indices (no --labels, no labels in the ONNX metadata)"


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
    from .passes.qonnx_ops import ROUNDING, int_range

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
    if fields[0].ndim == 4:
        fields = [f.transpose(0, 2, 3, 1) for f in fields]
    flat = [np.ascontiguousarray(f).reshape(-1) for f in fields]
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
    steps = []
    for k, st in enumerate(inp["steps"]):
        steps.append({"k": k, "c": st["scale"].size, "div": st["div"],
                      "scale": _rows([_f32(v) for v in st["scale"]]), "bias": _rows([_f32(v) for v in st["bias"]]),
                      "channel": None if st["div"] is not None else
                      _rows([str(int(v)) for v in st["channel"]], 16)})
    return {
        "quant": q, "q_scale": _f64(q.get("scale", 1.0)),
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


# -------------------------------------------------------------------------------- the renaming --
def _renamer(name: str):
    up = name.upper()

    def file_name(f: str) -> str:
        return f"{name}_{f}"

    def text(s: str) -> str:
        s = re.sub(r"\btb_", f"{name}_tb_", s)
        s = re.sub(r"\bTB_", f"{up}_TB_", s)
        s = re.sub(r'(#include\s+")(model[\w.]*")', rf"\g<1>{name}_\g<2>", s)
        s = re.sub(r"^( \* )(model[\w]*\.[chS])( - )", rf"\g<1>{name}_\g<2>\g<3>", s, flags=re.M)
        return s.replace("regenerate with `tinybnn convert`", "regenerate with `tinybnn export`")

    return file_name, text


# ------------------------------------------------------------------------------------ rendering --
def _env():
    import jinja2

    from .codegen import templates_dir

    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "export")),
                              undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                              lstrip_blocks=True, autoescape=False)


def prepare_export(model, name: str, variant: str = "reference", labels: list[str] | None = None,
                   board: dict | None = None) -> tuple[dict, dict]:
    """(files: relative path -> bytes, info) of the library folder, rendered in memory."""
    from .codegen import c_comment, c_string, prepare

    check_name(name)
    r = prepare(model, variant)
    n_out = int(np.prod(model.device_output_shape))
    inp = input_plan(model)
    boundary = boundary_context(model)  # the export refuses, in one line, a model the device cannot classify
    label_src = "--labels"
    if labels is None:
        labels, label_src = model_labels(model, n_out)
    fname, rename = _renamer(name)
    src: dict[str, bytes] = {}
    for f, data in r.files.items():
        if f == "manifest.json":
            continue
        src[fname(f)] = rename(data.decode("utf-8")).encode("utf-8")
    up = name.upper()
    source = Path(str(model.graph.meta.get("source", "model"))).name
    ctx = {
        "name": name, "NAME": up, "version": __version__, "source": c_comment(source), "hash": r.hash,
        "input_size": inp["n"], "output_size": n_out, "arena_bytes": r.arena_bytes, "weight_bytes": r.weight_bytes,
        "input_shape": [int(v) for v in model.input_node.attrs["onnx_shape"]],
        "device_input_shape": [int(v) for v in model.device_input_shape],
        **boundary, "input_scale": _f64(r.manifest["input"]["quantization"]["scale"]),
        "input_zero_point": int(r.manifest["input"]["quantization"]["zero_point"]),
        "labels": [c_string(v) for v in labels], "label_text": labels, "label_source": label_src,
        "variant": variant, "has_asm": any(f.endswith(".S") for f in src), "layers": r.specs,
        "c_comment": c_comment,
        "board": board["id"] if board else None,
        "json_str": lambda s: json.dumps(str(s)),
    }
    env = _env()
    src[f"{name}.h"] = env.get_template("api.h.j2").render(**ctx).encode()
    src[f"{name}.c"] = env.get_template("api.c.j2").render(**ctx).encode()
    ctx["sources"] = sorted(f for f in src if f.endswith((".c", ".S")))  # CMakeLists.txt lists them all
    files = {f"src/{f}": data for f, data in src.items()}
    files[f"examples/{name}_classify/{name}_classify.ino"] = env.get_template("classify.ino.j2").render(**ctx).encode()
    for t, out in (("library.json.j2", "library.json"), ("library.properties.j2", "library.properties"),
                   ("CMakeLists.txt.j2", "CMakeLists.txt"), ("README.md.j2", "README.md")):
        files[out] = env.get_template(t).render(**ctx).encode()
    info = {"name": name, "hash": r.hash, "variant": variant, "arena_bytes": r.arena_bytes,
            "weight_bytes": r.weight_bytes, "input_size": inp["n"], "output_size": n_out, "labels": labels,
            "label_source": label_src, "model": r.manifest}
    return files, info


def export(model, name: str, out_dir, *, variant: str = "reference", labels_path=None, board: dict | None = None,
           force: bool = False) -> dict:
    n_out = int(np.prod(model.device_output_shape))
    labels = read_labels(labels_path, n_out) if labels_path else None
    files, info = prepare_export(model, name, variant, labels, board)
    from .tracked import write_tracked

    write_tracked(files, out_dir, MANIFEST, force, extra={"export": {k: v for k, v in info.items() if k != "model"}},
                  what="export folder")
    info["files"] = sorted(files)
    info["dir"] = str(out_dir)
    return info

