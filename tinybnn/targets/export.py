"""``tinybnn export``: the model as a library a product's firmware links, with the float boundary on the device.

The folder builds as it is as a PlatformIO library (``library.json``), an Arduino library
(``library.properties``, ``src/``, ``examples/NAME_classify/``) and a CMake target (``CMakeLists.txt``).
``src/NAME.h`` is the API: ``NAME_classify`` takes one float sample in the model's own input layout, quantizes
it exactly as :func:`tinybnn.ir.golden.quantize_input` does (the same int8 codes, bit for bit), runs the model and
applies the output affine; ``NAME_invoke`` runs on int8 codes the caller quantized.

Every symbol, macro and file carries the prefix: the rendered model and kernel sources of
:func:`tinybnn.backend.codegen.prepare` are renamed ``tb_`` -> ``NAME_tb_``, ``TB_`` -> ``NAME_TB_``,
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

from .._version import __version__
from ..backend.ctext import environment
from ..backend.model_io import _f64, boundary_context, input_plan
from ..errors import TinyBnnError

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
    from ..plumbing import check_file

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


def _with_defaults(text: str, defines: list, up: str) -> str:
    """The build flags ``tinybnn build`` passes for this model (codegen's ``Rendered.defines``, e.g.
    ``-DTB_OPT_STREAM_PLAN=0``) made the defaults of the library's own sources, so that any build system
    compiles it as ``tinybnn build`` does (a ``-D`` of the user still overrides them)."""
    for d in defines:
        m = re.fullmatch(r"-D(\w+)=(\w+)", d)
        if m is None:
            raise ValueError(f"unexpected build flag {d!r}")
        macro = f"{up}_{m.group(1)}"
        text = re.sub(rf"^(#ifndef {macro}\n#define {macro}) \w+$", rf"\g<1> {m.group(2)}", text, flags=re.M)
    return text


# ------------------------------------------------------------------------------------ rendering --
def prepare_export(model, name: str, variant: str = "reference", labels: list[str] | None = None,
                   board: dict | None = None) -> tuple[dict, dict]:
    """(files: relative path -> bytes, info) of the library folder, rendered in memory."""
    from ..backend.codegen import c_comment, c_string, prepare

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
    up = name.upper()
    for f, data in r.files.items():
        if f == "manifest.json":
            continue
        src[fname(f)] = _with_defaults(rename(data.decode("utf-8")), r.defines, up).encode("utf-8")
    source = Path(str(model.graph.meta.get("source", "model"))).name
    ctx = {
        "name": name, "NAME": up, "version": __version__, "source": c_comment(source), "hash": r.hash,
        "input_size": inp["n"], "output_size": n_out, "arena_bytes": r.arena_bytes, "weight_bytes": r.weight_bytes,
        "input_shape": [int(v) for v in model.input_node.attrs["onnx_shape"]],
        "device_input_shape": [int(v) for v in model.device_input_shape],
        **boundary, "input_scale": _f64(r.manifest["input"]["quantization"]["scale"]),
        "input_zero_point": int(r.manifest["input"]["quantization"]["zero_point"]),
        "labels": [c_string(v) for v in labels], "label_text": labels, "label_source": label_src,
        "opt_stream_plan": 0 if "-DTB_OPT_STREAM_PLAN=0" in r.defines else 1,
        "stream_outputs": 0 if "-DTB_STREAM_OUTPUTS=0" in r.defines else 1,
        "variant": variant, "has_asm": any(f.endswith(".S") for f in src), "layers": r.specs,
        "c_comment": c_comment,
        "board": board["id"] if board else None,
        "json_str": lambda s: json.dumps(str(s)),
    }
    env = environment()
    src[f"{name}.h"] = env.get_template("export/api.h.j2").render(**ctx).encode()
    src[f"{name}.c"] = env.get_template("export/api.c.j2").render(**ctx).encode()
    ctx["sources"] = sorted(f for f in src if f.endswith((".c", ".S")))  # CMakeLists.txt lists them all
    files = {f"src/{f}": data for f, data in src.items()}
    files[f"examples/{name}_classify/{name}_classify.ino"] = env.get_template("export/classify.ino.j2").render(**ctx).encode()
    for t, out in (("library.json.j2", "library.json"), ("library.properties.j2", "library.properties"),
                   ("CMakeLists.txt.j2", "CMakeLists.txt"), ("README.md.j2", "README.md")):
        files[out] = env.get_template(f"export/{t}").render(**ctx).encode()
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

