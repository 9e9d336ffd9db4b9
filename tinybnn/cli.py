"""The ``tinybnn`` command line.

User errors (:class:`tinybnn.errors.TinyBnnError`) print one line, ``tinybnn: error: ...``, and exit 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from .data import check_data
from .errors import TinyBnnError


_REPORT_HINT = "pip install 'tinybnn[report]'"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage errors: one line, exit 2
        raise TinyBnnError(f"{message} (see '{self.prog} --help')")


def _add_quant_flags(p):
    p.add_argument("--calibration", metavar="FILE.npz",
                   help="input samples (array 'x') to choose the int8 input scale when the model has no input quantizer")
    p.add_argument("--input-scale", type=float, metavar="S", help="int8 input scale (real = scale * (q - zero_point))")
    p.add_argument("--input-zero-point", type=int, default=0, metavar="Z", help="int8 input zero point")
    p.add_argument("--stream-bits", type=int, choices=(8, 16), metavar="{8,16}",
                   help="width of a residual network's real-valued streams (default: int8, or int16 where int8 "
                        "changes decisions of the float model on the calibration data)")


def _load_npz(path, key="x"):
    """The arrays of a data file, checked (tinybnn.data): regular file, no pickles, finite samples."""
    from .data import load_arrays

    return load_arrays(path, key)


def _load_array(path):
    return _load_npz(path)["x"]


def load_model(args, data=None, data_name=None):
    """The model, quantized as the flags say; ``data`` (what the command runs on, from the file
    ``data_name``) calibrates a model whose input has no quantizer of its own and no
    ``tinybnn.input_scale`` metadata."""
    from .model import load

    calib = _load_npz(args.calibration)["x"] if getattr(args, "calibration", None) else None
    if calib is not None:
        data_name = args.calibration
    return load(args.model, calibration=calib, input_scale=getattr(args, "input_scale", None),
                input_zero_point=getattr(args, "input_zero_point", 0), fallback_calibration=data,
                stream_bits=getattr(args, "stream_bits", None),
                data_name=f"{data_name}: array 'x'" if data_name else None)


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    from .plumbing import write_atomic

    write_atomic(path, lambda f: np.save(f, arr))


def _write_json(path, obj) -> None:
    import json

    from .plumbing import write_atomic

    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")


def _at_least_one(what: str, one: str):
    """An argparse type: a whole number of ``what`` (e.g. "samples"), at least 1 (``one``: "1 sample")."""
    def parse(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a {what}, got '{text}'") from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"expected at least {one}, got {n}")
        return n
    return parse


_count = _at_least_one("whole number of samples", "1 sample")  # --limit N


def _emit_json(path: str, obj) -> None:
    """--json FILE: the command's result as JSON in FILE, or on standard output for '-'."""
    import json

    from .plumbing import write_atomic

    text = json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    write_atomic(path, text)
    print(f"wrote {path}")


def _jsonable(v):
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


# ------------------------------------------------------------------------------ commands -----
def cmd_inspect(args) -> int:
    from .console import print_table

    m = load_model(args)
    rows = m.layer_table()
    q = m.input_quantization
    tot_b = sum(r["bytes"] for r in rows)
    as_json = {"model": str(args.model), "dialect": m.graph.meta["dialect"], "input_shape": list(m.input_shape),
               "output_shape": list(m.device_output_shape),
               "input_quantization": None if m.needs_calibration else q, "needs_calibration": m.needs_calibration or m.streams_need_calibration,
               "layers": rows, "weight_bytes": tot_b, "notes": m.notes}
    if args.json == "-":
        _emit_json("-", as_json)
        return 0
    print(f"model: {args.model}  ({m.graph.meta['dialect']}; input {list(m.input_shape)} -> "
          f"output {list(m.device_output_shape)})")
    if m.needs_calibration:
        print("input: int8, needs calibration (--calibration FILE.npz or --input-scale/--input-zero-point)")
    else:
        print(f"input: int8 via {q['mode']} (scale {q['scale']:.6g}, zero point {q['zero_point']})")
    if m.streams_need_calibration:
        print("real-valued streams: int8, need calibration (--calibration FILE.npz)")
    dag = not m.is_chain  # a graph that branches: each layer's inputs are named
    head = ("layer", "kind") + (("reads",) if dag else ()) + ("input", "output", "K", "params", "bytes",
                                                              "binary MACs", "int MACs")
    print_table(head, [(r["name"], r["kind"]) + ((", ".join(r["reads"]),) if dag else ())
                       + (r["in"], r["out"], str(r["K"]), str(r["params"]), str(r["bytes"]),
                          f"{r['binary_macs']:,}", f"{r['int_macs']:,}") for r in rows],
                right=range(len(head) - 5, len(head)))
    print(f"total: {len(rows)} layers, {tot_b:,} bytes of packed weights and thresholds, "
          f"{sum(r['binary_macs'] for r in rows):,} binary MACs, {sum(r['int_macs'] for r in rows):,} int MACs")
    for note in m.notes:
        print(f"note: {note}")
    if args.json:
        _emit_json(args.json, as_json)
    return 0


def cmd_predict(args) -> int:
    from .plumbing import check_output_file

    check_output_file(args.output)  # before the work, not after it
    x = _load_array(args.input)
    m = load_model(args, data=x, data_name=args.input)
    x, _ = check_data(m, x, where=args.input)
    if args.engine == "golden":
        y = m.predict(x)
    else:
        from .backend.hostc import run_c

        y = m.dequantize(run_c(m, m.quantize(x)))
    _atomic_save(Path(args.output), y.astype(np.float32))
    print(f"wrote {args.output}: {list(y.shape)} float32 ({args.engine})")
    return 0


def cmd_check(args) -> int:
    from .check import check
    from .frontend.onnx.runtime import require

    from .frontend.tflite import is_tflite

    data = _load_npz(args.data)
    m = load_model(args, data=data["x"], data_name=args.data)
    x, labels = check_data(m, data["x"], data.get("labels"), where=args.data)
    ref = _load_npz(args.reference, key="y")["y"] if args.reference else None
    if ref is not None and not is_tflite(args.model):
        raise TinyBnnError("--reference is for a .tflite model (whose runtime tinybnn does not run); an ONNX "
                           "model is compared with onnxruntime (qonnx for QONNX)")
    if not is_tflite(args.model):
        require(args.model)  # the float runtime, before the golden model runs
    rep = check(m, args.model, x, labels, reference=ref, reference_name=args.reference)
    print(rep.text())
    return 0


def cmd_convert(args) -> int:
    from .backend.codegen import check_limits, prepare, write_files

    m = load_model(args)
    variant = args.variant
    if variant is None and args.board:
        from .targets.boards import load_board

        variant = load_board(args.board)["kernel_variant"]
    r = prepare(m, variant or "reference")
    check_limits(r, args.max_ram, args.max_flash)  # refuse before anything is written
    out = write_files(r.files, args.output)
    as_json = {"output": str(out), "files": sorted(r.files), "model_hash": r.hash, "weight_bytes": r.weight_bytes,
               "arena_bytes": r.arena_bytes, "arena_lower_bound": r.manifest["arena_lower_bound"],
               "plan": r.plan.strategy, "notes": m.notes,
               "layers": [{"name": s.name, "kernel": s.fn, "out_shape": list(s.out_shape), "out_dtype": s.out_dtype,
                           "weight_bytes": s.weight_bytes, "out_bytes": s.out_bytes,
                           "scratch_bytes": s.scratch_bytes} for s in r.specs]}
    if args.json == "-":
        _emit_json("-", as_json)
        return 0
    from .console import print_table

    print_table(("layer", "kernel", "output", "weights", "out bytes", "scratch"),
                [(s.name, s.fn, "x".join(map(str, s.out_shape)) + " " + s.out_dtype, f"{s.weight_bytes:,}",
                  f"{s.out_bytes:,}", f"{s.scratch_bytes:,}") for s in r.specs], right=(3, 4, 5))
    print(f"weights: {r.weight_bytes:,} bytes (flash: packed weights, thresholds, masks)")
    print(f"arena: {r.arena_bytes:,} bytes (RAM: activations and scratch; {r.plan.strategy} plan, lower bound "
          f"{r.manifest['arena_lower_bound']:,})")
    print(f"wrote {out}/ ({len(r.files)} files, model hash {r.hash})")
    for note in m.notes:  # e.g. the weight precision chosen for a float first layer, and why
        print(f"note: {note}")
    if args.json:
        _emit_json(args.json, as_json)
    return 0


def cmd_boards(args) -> int:
    from .targets.boards import default_board, list_boards, load_board, new_board

    if args.new:
        path = new_board(args.new, args.template, args.output or ".")
        print(f"wrote {path} (a copy of {args.template}; every field is explained in its \"$comment\" block)")
        print(f"check it: tinybnn build MODEL --board {path} -o BUILD/ "
              + ("--run" if load_board(path)["emulated"] else "--offline-check"))
        return 0

    verified = {"emulated-run": "runs in QEMU (bit-exact in tinybnn's CI)",
                "offline-compile": "compiles and links offline (tinybnn's CI); runs on the board",
                "generated-only": "project generated; building it needs PlatformIO's registry"}
    boards = [load_board(bid) for bid in list_boards()]
    keys = ("id", "core", "arch", "flash_bytes", "ram_bytes", "clock_hz", "kernel_variant", "emulated", "verified")
    as_json = {"default": default_board(), "boards": [{k: b.get(k) for k in keys} for b in boards]}
    if args.json == "-":
        _emit_json("-", as_json)
        return 0
    from .console import print_table

    print_table(("board", "core", "flash", "RAM", "clock", "kernels", "verified"),
                [(b["id"] + (" (default)" if b["id"] == default_board() else ""), b["core"],
                  f"{b['flash_bytes'] // 1024:,} KB", f"{b['ram_bytes'] // 1024:,} KB", f"{b['clock_hz'] / 1e6:g} MHz",
                  b["kernel_variant"], verified.get(b["verified"], b["verified"])) for b in boards], right=(2, 3, 4))
    if args.json:
        _emit_json(args.json, as_json)
    return 0


def cmd_build(args) -> int:
    from .targets.build import build, run_selftest
    from .targets.footprint import from_build

    sample = None
    data = None
    if args.sample_data:
        data = _load_npz(args.sample_data)["x"]
    m = load_model(args, data=data, data_name=args.sample_data)
    if data is not None:
        data, _ = check_data(m, data, where=args.sample_data)
        sample = data[0]
    if args.run:  # refused before the build, not after it
        from .targets.boards import load_board
        from .targets.build import run_refusal

        b = load_board(args.board)
        if not b["emulated"]:
            raise TinyBnnError(run_refusal(b, args.offline_check))
    fw = build(m, args.board, args.output, sample=sample, app=args.app, opt=args.opt,
               offline_check=args.offline_check, generate_only=args.generate_only,
               kernel_checks=args.kernel_checks, variant=args.variant, jobs=args.jobs, verbose=args.verbose,
               log=sys.stderr, force=args.force)
    if args.generate_only:
        print(f"wrote the PlatformIO project {fw.project} for {fw.board['id']} "
              f"(platform {fw.board['platformio']['platform']}, board {fw.board['platformio']['board']}); "
              f"build it with: pio run -d {fw.project}")
        return 0
    print(f"built {fw.project} for {fw.board['id']} ({fw.board['core']}) in {fw.seconds:.1f} s: "
          f"flash {fw.flash_used:,} bytes, RAM {fw.ram_used:,} bytes "
          f"(weights {fw.weight_bytes:,}, arena {fw.arena_bytes:,}; model hash {fw.hash}; "
          f"log {fw.project / 'build.log'})")
    if args.run:
        res = run_selftest(fw)
        print(res.log.strip())
        if res.exit_code != 0:
            raise TinyBnnError(f"the self-test on {fw.board['id']} failed (exit code {res.exit_code}); "
                               f"log in {fw.project / 'selftest.log'}")
    fp = from_build(fw.project)
    print(fp.text(file=sys.stdout))
    return 0


def cmd_footprint(args) -> int:
    from .targets.footprint import from_build

    fp = from_build(args.build)
    if args.json == "-":
        _emit_json("-", fp.as_dict())
        return 0
    print(fp.text(file=sys.stdout))
    if args.json:
        _write_json(args.json, fp.as_dict())
        print(f"wrote {args.json}")
    return 0


def cmd_validate(args) -> int:
    from .plumbing import check_output_file
    from .device.validate import run

    if args.json:
        check_output_file(args.json)  # before the run, not after it
    if args.report:
        from .device.report import require_matplotlib

        check_output_file(args.report)
        require_matplotlib()
    data = _load_npz(args.data)
    m = load_model(args, data=data["x"], data_name=args.data)
    x, labels = check_data(m, data["x"], data.get("labels"), where=args.data)
    summary = run(m, args.model, args.board, x, labels, port=args.port, flash=args.flash,
                  build_dir=args.build_dir, results_path=args.results, limit=args.limit, timeout=args.timeout,
                  quiet=args.quiet)
    print(summary.text())
    from .device.report import summary_path_for

    print(f"results: {summary.results}, summary: {summary_path_for(summary.results)} "
          "(tinybnn report makes the HTML report from them)")
    if args.report:
        from .device.report import load_results, write

        _, records = load_results(summary.results)
        write(args.report, summary.as_dict(), records)
        print(f"wrote {args.report}")
    if args.json:
        _write_json(args.json, summary.as_dict())
        print(f"wrote {args.json}")
    return 0 if summary.mismatched == 0 else 1


def cmd_report(args) -> int:
    from .device.report import load, require_matplotlib, write

    require_matplotlib()
    summary, records = load(args.results, args.summary)
    out = args.output or str(Path(args.results).with_suffix(".html"))
    write(out, summary, records)
    print(f"wrote {out}")
    return 0


def cmd_bench(args) -> int:
    from .device.bench import bench_kernels, bench_model, write_json
    from .plumbing import check_output_file

    if args.json:
        check_output_file(args.json)  # before the measurements, not after them

    res = bench_kernels(args.board, variant=args.variant, work_dir=args.work) if not args.no_kernels else None
    models = []
    for path in args.model or ():
        args.model = path  # load_model reads args.model and the quantization flags
        m = load_model(args)
        models.append(bench_model(m, args.board, variant=args.variant, work_dir=args.work, name=Path(path).stem))
    if res is None:
        from .device.bench import BenchResult
        from .targets.boards import load_board

        b = load_board(args.board)
        res = BenchResult(b["id"], b["core"], args.variant or b["kernel_variant"], "instructions")
    res.models = models
    print(res.text())
    if args.json:
        write_json(res, args.json)
        print(f"wrote {args.json}")
    return 0

def cmd_export(args) -> int:
    from .targets.export import check_name, export

    check_name(args.name)  # before the model loads
    m = load_model(args)
    variant, board = args.variant, None
    if args.board:
        from .targets.boards import load_board

        board = load_board(args.board)
        variant = variant or board["kernel_variant"]
    info = export(m, args.name, args.output, variant=variant or "reference", labels_path=args.labels, board=board,
                  force=args.force)
    print(f"wrote {args.output}/ ({len(info['files'])} files; {info['variant']} kernels, model hash {info['hash']}): "
          f"a PlatformIO, Arduino and CMake library")
    print(f"API: int {args.name}_classify(const float *input, float *scores) in src/{args.name}.h; "
          f"input {info['input_size']} floats, {info['output_size']} classes ({info['label_source']})")
    print(f"RAM: arena {info['arena_bytes']:,} bytes; flash: weights {info['weight_bytes']:,} bytes")
    return 0


def cmd_examples(args) -> int:
    import shutil

    from .resources import data_dir

    out = Path(args.output)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise TinyBnnError(f"{out}: exists and is not an empty folder; choose a new one for the examples")
    try:
        shutil.copytree(data_dir("examples"), out, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "__init__.py"))
    except OSError as e:
        raise TinyBnnError(f"{out}: cannot copy the examples ({e.strerror})") from None
    print(f"wrote {out}/: the examples (trained models with their test data and labels); start with {out}/README.md")
    return 0


EXAMPLES = {
    "inspect": """examples:
  tinybnn inspect model.onnx
  tinybnn inspect model.onnx --calibration train.npz --json layers.json
  tinybnn inspect model.onnx --json - | jq '.layers[].binary_macs'""",
    "predict": """examples:
  tinybnn predict model.onnx --input x.npy --output y.npy
  tinybnn predict model.onnx --input test.npz --output y.npy --engine c   # the generated C, on this computer""",
    "check": """examples:
  tinybnn check model.onnx --data test.npz
  tinybnn check model.tflite --data test.npz --reference lce_outputs.npz   # Larq Compute Engine's outputs, array y""",
    "convert": """examples:
  tinybnn convert model.onnx -o model_c/
  tinybnn convert model.onnx -o model_c/ --board nucleo_f446re --max-ram 8192 --json convert.json""",
    "boards": """examples:
  tinybnn boards
  tinybnn boards --json - | jq '.boards[] | select(.emulated) | .id'
  tinybnn boards --new myboard --from qemu-m4 -o boards-of-mine/""",
    "build": """examples:
  tinybnn build model.onnx --board qemu-m4 -o build/m4 --run
  tinybnn build model.onnx --board nucleo_f446re -o build/f446 --offline-check --verbose
  tinybnn build model.onnx --board qemu-m55 -o build/m55 --jobs 2 --opt Os""",
    "validate": """examples:
  tinybnn validate model.onnx --data test.npz                       # emulated qemu-m4
  tinybnn validate model.onnx --data test.npz --limit 100 --report report.html
  tinybnn validate model.onnx --board nucleo_f446re --data test.npz --flash --port /dev/ttyACM0 --json f446.json""",
    "report": """examples:
  tinybnn report out/validate/qemu-m4-3fe8e941d1ce816f.results.jsonl -o report.html
  tinybnn report run.jsonl --summary f446.json -o f446.html

RESULTS is the --results file of a tinybnn validate run. When the run finishes, validate writes its summary
beside it (NAME.summary.json for NAME.jsonl); report reads both, and needs neither the device nor the model.""",
    "export": """examples:
  tinybnn export model.onnx --name kws -o lib/kws --labels labels.txt
  tinybnn export model.onnx --name digits -o lib/digits --calibration train.npz --board nucleo_f446re

DIR builds as a PlatformIO library (your project's lib/), an Arduino library and a CMake target; src/NAME.h
has NAME_classify(input, scores). Files you change in DIR are kept: a re-export refuses to overwrite them.""",
    "examples": """examples:
  tinybnn examples -o my-examples
  tinybnn export my-examples/kws/model/kws_bnn.onnx --name kws -o lib/kws""",
    "footprint": """examples:
  tinybnn footprint build/m4
  tinybnn footprint build/m4/.pio/build/qemu-m4/firmware.elf --json fp.json""",
    "bench": """examples:
  tinybnn bench --board qemu-m4
  tinybnn bench --board qemu-rv32zbb --model model.onnx --calibration train.npz --no-kernels --json bench.json""",
}


_jobs = _at_least_one("number of jobs", "1 job")  # --jobs N


def _variants():
    from .resources import KERNEL_VARIANTS

    return list(KERNEL_VARIANTS)


def _model_arg(s):
    s.add_argument("model", metavar="MODEL.onnx", help="the trained BNN exported to ONNX (PyTorch, Brevitas QONNX, "
                   "Larq through tf2onnx) or converted by Larq Compute Engine (.tflite)")


def _json_arg(s, what):
    s.add_argument("--json", metavar="FILE", help=f"write {what} as JSON to FILE ('-': to standard output, "
                   "instead of the table)")


def make_parser() -> argparse.ArgumentParser:
    """The command line, declared in one place: long because it is the list of every command and option
    (a table more than code), kept together so ``--help`` and this function read the same."""
    from ._version import __version__

    p = _Parser(prog="tinybnn", description="Binary neural networks on microcontrollers, bit-exact: ONNX in, "
                "C and firmware out, validated on the device.",
                epilog="examples:\n  tinybnn inspect model.onnx\n  tinybnn validate model.onnx --data test.npz "
                       "--report report.html\n\n'tinybnn COMMAND --help' shows each command's options and examples.",
                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"tinybnn {__version__}",
                   help="show tinybnn's version and exit")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser, metavar="COMMAND")

    def command(name, help_, fn):
        s = sub.add_parser(name, help=help_, description=help_[:1].upper() + help_[1:] + ".",
                           epilog=EXAMPLES[name], formatter_class=argparse.RawDescriptionHelpFormatter)
        s.set_defaults(fn=fn)
        return s

    s = command("inspect", "per-layer table of the lowered model", cmd_inspect)
    _model_arg(s)
    _json_arg(s, "the layer table")
    _add_quant_flags(s)
    s = command("predict", "run the golden model (or the generated C) on inputs", cmd_predict)
    _model_arg(s)
    s.add_argument("--input", required=True, metavar="X.npy", help="float inputs, N samples on axis 0 "
                   "(.npy, or .npz with an array 'x')")
    s.add_argument("--output", required=True, metavar="Y.npy", help="float32 outputs (after the output affine)")
    s.add_argument("--engine", choices=("golden", "c"), default="golden",
                   help="golden: the NumPy golden model (default); c: the generated C compiled with this "
                        "computer's gcc")
    _add_quant_flags(s)
    s = command("check", "compare the golden model with the float model's own runtime", cmd_check)
    _model_arg(s)
    s.add_argument("--data", required=True, metavar="FILE.npz", help="arrays x and optional labels")
    s.add_argument("--reference", metavar="Y.npz", help="a .tflite model's outputs from Larq Compute Engine's "
                   "interpreter for the --data samples (array y, or an .npy file); without it a .tflite model is "
                   "compared with tinybnn's float graph of the file")
    _add_quant_flags(s)
    s = command("convert", "render the model as self-contained C99 (model.h/.c, weights, kernels)", cmd_convert)
    _model_arg(s)
    s.add_argument("-o", "--output", required=True, metavar="OUT/", help="output directory (replaced as a whole)")
    s.add_argument("--max-ram", type=int, metavar="N", help="refuse if the activation arena needs more than N bytes")
    s.add_argument("--max-flash", type=int, metavar="N",
                   help="refuse if the weights, thresholds and masks need more than N bytes")
    s.add_argument("--board", help="render with this board's kernel variant (as tinybnn build does)")
    s.add_argument("--variant", choices=_variants(), metavar="VARIANT",
                   help="kernel variant (" + ", ".join(_variants()) + "; default: reference, the portable kernels, "
                   "or with --board that board's)")
    _json_arg(s, "the layers, sizes and files")
    _add_quant_flags(s)
    s = command("export", "the model as a library for your own firmware (PlatformIO, Arduino, CMake)", cmd_export)
    _model_arg(s)
    s.add_argument("--name", required=True, help="C prefix of every symbol and file (NAME_classify, NAME.h)")
    s.add_argument("-o", "--output", required=True, metavar="DIR/", help="the library folder")
    s.add_argument("--board", help="use this board's kernel variant")
    s.add_argument("--variant", choices=_variants(), metavar="VARIANT",
                   help="kernel variant (" + ", ".join(_variants()) + "; default: reference, the portable kernels, "
                   "or with --board that board's)")
    s.add_argument("--labels", metavar="FILE", help="class labels, one a line (default: the ONNX metadata or indices)")
    s.add_argument("--force", action="store_true", help="overwrite files you changed in DIR")
    _add_quant_flags(s)
    s = command("examples", "copy the bundled examples (models, test data, labels, training scripts) out",
                cmd_examples)
    s.add_argument("-o", "--output", default="tinybnn-examples", metavar="DIR/",
                   help="a new folder (default tinybnn-examples)")
    s = command("boards", "the boards tinybnn knows, and what is verified on each; --new writes your own",
                cmd_boards)
    s.add_argument("--new", metavar="ID", help="write ID.json, a starting board file with every field explained")
    s.add_argument("--from", dest="template", default="qemu-m4", metavar="BOARD",
                   help="the board --new starts from (default qemu-m4)")
    s.add_argument("-o", "--output", metavar="DIR", help="where --new writes its file (default: the current folder)")
    _json_arg(s, "the boards")
    s = command("build", "build a firmware for a board (PlatformIO; offline for emulated boards)", cmd_build)
    _model_arg(s)
    s.add_argument("--board", default="qemu-m4", help="board id or board file (see 'tinybnn boards'; "
                   "default qemu-m4)")
    s.add_argument("-o", "--build-dir", dest="output", required=True, metavar="BUILD/",
                   help="the PlatformIO project folder (the build log is saved in it as build.log)")
    s.add_argument("--output", dest="output", help=argparse.SUPPRESS)  # the former name of -o
    s.add_argument("--sample-data", metavar="FILE.npz", help="its first sample is the boot self-test input")
    s.add_argument("--app", choices=("selftest", "serve"), default="selftest",
                   help="selftest: run the built-in sample and exit; serve: then answer tinybnn validate")
    s.add_argument("--opt", choices=("O2", "Os", "O3"), default="O2", help="C optimization level")
    s.add_argument("--run", action="store_true", help="boot it in QEMU (emulated boards) and show the self-test")
    s.add_argument("--offline-check", action="store_true",
                   help="real Cortex-M/RISC-V boards: compile and link with the board's CPU flags and memory map "
                        "offline (no PlatformIO registry needed); the result is a check, not a firmware to upload")
    s.add_argument("--generate-only", action="store_true", help="write the PlatformIO project, do not build it")
    s.add_argument("--variant", choices=_variants(), metavar="VARIANT",
                   help="kernel variant instead of the board file's (" + ", ".join(_variants()) + "): 'reference' is "
                   "the smallest (see 'tinybnn boards' for each board's fast variant)")
    s.add_argument("--kernel-checks", action="store_true",
                   help="keep the kernels' runtime argument checks (off by default: the converter validated them)")
    s.add_argument("-j", "--jobs", type=_jobs, metavar="N",
                   help=f"parallel compiler jobs (default: this computer's cores, {os.cpu_count() or 1})")
    s.add_argument("-v", "--verbose", action="store_true",
                   help="show PlatformIO's output with every compiler command line (always saved in build.log)")
    s.add_argument("--force", action="store_true", help="overwrite project files you changed (kept otherwise)")
    _add_quant_flags(s)
    s = command("validate", "run every sample on the device over serial; compare bit for bit", cmd_validate)
    _model_arg(s)
    s.add_argument("--board", default="qemu-m4", help="board id or board file (default qemu-m4, emulated)")
    s.add_argument("--data", required=True, metavar="FILE.npz", help="arrays x and optional labels")
    s.add_argument("--port", metavar="URL", help="serial port of a real board (pyserial URL or device); "
                   "an emulated board needs none")
    s.add_argument("--flash", action="store_true", help="build and upload the firmware first (real boards)")
    s.add_argument("--json", metavar="OUT", help="write the summary as JSON (tinybnn report reads it too)")
    s.add_argument("--report", metavar="FILE.html",
                   help="write the HTML report: summary, errors against the float model, confusion matrix, "
                        f"per-layer counts, memory map (needs matplotlib: {_REPORT_HINT})")
    s.add_argument("--build-dir", "-o", metavar="DIR",
                   help="firmware project (default out/validate/<board>-<hash>)")
    s.add_argument("--results", metavar="F.jsonl", help="per-sample results, appended as they arrive (resume); "
                   "the summary is written beside it when the run finishes")
    s.add_argument("--limit", type=_count, metavar="N", help="only the first N samples (N >= 1)")
    s.add_argument("--timeout", type=float, default=2.0, metavar="S", help="seconds of silence before a retry")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress bar and no build message")
    _add_quant_flags(s)
    s = command("report", "the HTML validation report of an earlier validate run, from its files", cmd_report)
    s.add_argument("results", metavar="RESULTS", help="the results file of a validate run (--results; by default "
                   "out/validate/<board>-<hash>.results.jsonl), or its --json summary")
    s.add_argument("-o", "--output", metavar="FILE.html", help="the report (default: RESULTS with .html)")
    s.add_argument("--summary", metavar="S.json", help="the run's summary, when it is not beside RESULTS "
                   "(e.g. the file validate --json wrote)")
    s = command("footprint", "flash and RAM of a build, from its ELF and linker map", cmd_footprint)
    s.add_argument("build", metavar="BUILD_OR_ELF", help="a folder written by tinybnn build, or an ELF file")
    _json_arg(s, "the breakdown")
    s = command("bench", "instruction counts of the kernels and models on an emulated board", cmd_bench)
    s.add_argument("--board", default="qemu-m4", help="emulated board id (default qemu-m4)")
    s.add_argument("--variant", choices=_variants(), metavar="VARIANT",
                   help="kernel variant to measure instead of the board's (" + ", ".join(_variants()) + ")")
    s.add_argument("--model", action="append", metavar="M.onnx",
                   help="also time one inference of this model, variant against reference (repeatable)")
    s.add_argument("--no-kernels", action="store_true", help="only the models")
    s.add_argument("--json", metavar="F", help="write the results as JSON")
    s.add_argument("--build-dir", "-o", dest="work", metavar="DIR", help="keep the generated firmware projects in DIR")
    s.add_argument("--work", dest="work", help=argparse.SUPPRESS)  # the former name of --build-dir
    _add_quant_flags(s)
    return p


def main(argv=None) -> int:
    p = make_parser()
    from .plumbing import Interrupted, install_signal_handlers, kill_all, one_line, restore_signal_handlers

    handlers = install_signal_handlers()  # SIGINT/SIGTERM/SIGHUP: children killed, finally blocks run
    try:
        args = p.parse_args(argv)
        return args.fn(args)
    except TinyBnnError as e:
        print(f"tinybnn: error: {one_line(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt as e:
        kill_all()
        signum = e.signum if isinstance(e, Interrupted) else 2
        name = e.name if isinstance(e, Interrupted) else "SIGINT"
        note = getattr(e, "note", None)
        print(f"tinybnn: interrupted ({name})" + (f"; {one_line(str(note))}" if note else ""), file=sys.stderr)
        return 128 + signum
    except BrokenPipeError:  # e.g. `tinybnn inspect m.onnx | head`: the reader left, not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    finally:
        kill_all()  # whatever happened, no child outlives the command
        restore_signal_handlers(handlers)


if __name__ == "__main__":
    sys.exit(main())
