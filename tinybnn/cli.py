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


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's usage errors: one line, exit 2
        raise TinyBnnError(f"{message} (see '{self.prog} --help')")


def _add_quant_flags(p):
    p.add_argument("--calibration", metavar="FILE.npz",
                   help="input samples (array 'x') to choose the int8 input scale when the model has no input quantizer")
    p.add_argument("--input-scale", type=float, help="int8 input scale (real = scale * (q - zero_point))")
    p.add_argument("--input-zero-point", type=int, default=0, help="int8 input zero point")


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
                data_name=f"{data_name}: array 'x'" if data_name else None)


def _atomic_save(path: Path, arr: np.ndarray) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------ commands -----
def cmd_inspect(args) -> int:
    m = load_model(args)
    rows = m.layer_table()
    print(f"model: {args.model}  ({m.graph.meta['dialect']}; input {list(m.input_shape)} -> "
          f"output {list(m.device_output_shape)})")
    q = m.input_quantization
    if m.needs_calibration:
        print("input: int8, needs calibration (--calibration FILE.npz or --input-scale/--input-zero-point)")
    else:
        print(f"input: int8 via {q['mode']} (scale {q['scale']:.6g}, zero point {q['zero_point']})")
    head = ("layer", "kind", "input", "output", "K", "params", "bytes", "binary MACs", "int MACs")
    table = [head] + [(r["name"], r["kind"], r["in"], r["out"], str(r["K"]), str(r["params"]), str(r["bytes"]),
                       f"{r['binary_macs']:,}", f"{r['int_macs']:,}") for r in rows]
    widths = [max(len(t[i]) for t in table) for i in range(len(head))]
    for k, t in enumerate(table):
        print("  ".join(s.ljust(w) if i < 4 else s.rjust(w) for i, (s, w) in enumerate(zip(t, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    tot_b = sum(r["bytes"] for r in rows)
    print(f"total: {len(rows)} layers, {tot_b:,} bytes of packed weights and thresholds, "
          f"{sum(r['binary_macs'] for r in rows):,} binary MACs, {sum(r['int_macs'] for r in rows):,} int MACs")
    for note in m.notes:
        print(f"note: {note}")
    return 0


def cmd_predict(args) -> int:
    x = _load_array(args.input)
    m = load_model(args, data=x, data_name=args.input)
    x, _ = check_data(m, x, where=args.input)
    if args.engine == "golden":
        y = m.predict(x)
    else:
        from .hostc import run_c

        y = m.dequantize(run_c(m, m.quantize(x)))
    _atomic_save(Path(args.output), y.astype(np.float32))
    print(f"wrote {args.output}: {list(y.shape)} float32 ({args.engine})")
    return 0


def cmd_check(args) -> int:
    from .check import check

    data = _load_npz(args.data)
    m = load_model(args, data=data["x"], data_name=args.data)
    x, labels = check_data(m, data["x"], data.get("labels"), where=args.data)
    rep = check(m, args.model, x, labels)
    print(rep.text())
    return 0


def cmd_convert(args) -> int:
    from .codegen import check_limits, prepare, write_files

    m = load_model(args)
    variant = args.variant
    if variant is None and args.board:
        from .boards import load_board

        variant = load_board(args.board)["kernel_variant"]
    r = prepare(m, variant or "reference")
    check_limits(r, args.max_ram, args.max_flash)  # refuse before anything is written
    out = write_files(r.files, args.output)
    head = ("layer", "kernel", "output", "weights", "out bytes", "scratch")
    rows = [head] + [(s.name, s.fn, "x".join(map(str, s.out_shape)) + " " + s.out_dtype, f"{s.weight_bytes:,}",
                      f"{s.out_bytes:,}", f"{s.scratch_bytes:,}") for s in r.specs]
    widths = [max(len(t[i]) for t in rows) for i in range(len(head))]
    for k, t in enumerate(rows):
        print("  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(t, widths))))
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(f"weights: {r.weight_bytes:,} bytes (flash: packed weights, thresholds, masks)")
    print(f"arena: {r.arena_bytes:,} bytes (RAM: activations and scratch; {r.plan.strategy} plan, lower bound "
          f"{r.manifest['arena_lower_bound']:,})")
    print(f"wrote {out}/ ({len(r.files)} files, model hash {r.hash})")
    return 0


def cmd_boards(args) -> int:
    from .boards import default_board, list_boards, load_board

    verified = {"emulated-run": "built and run in QEMU here", "offline-compile": "compiled offline here",
                "generated-only": "project generated here; build on a machine with PlatformIO's registry"}
    rows = [("board", "core", "flash", "RAM", "clock", "kernels", "verified")]
    for bid in list_boards():
        b = load_board(bid)
        rows.append((bid + (" (default)" if bid == default_board() else ""), b["core"], f"{b['flash_bytes'] // 1024:,} KB",
                     f"{b['ram_bytes'] // 1024:,} KB", f"{b['clock_hz'] / 1e6:g} MHz", b["kernel_variant"],
                     verified.get(b["verified"], b["verified"])))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    return 0


def cmd_build(args) -> int:
    from .build import build, run_selftest
    from .footprint import from_build

    sample = None
    data = None
    if args.sample_data:
        data = _load_npz(args.sample_data)["x"]
    m = load_model(args, data=data, data_name=args.sample_data)
    if data is not None:
        data, _ = check_data(m, data, where=args.sample_data)
        sample = data[0]
    fw = build(m, args.board, args.output, sample=sample, app=args.app, opt=args.opt,
               offline_check=args.offline_check, generate_only=args.generate_only,
               kernel_checks=args.kernel_checks, variant=args.variant)
    if args.generate_only:
        print(f"wrote the PlatformIO project {fw.project} for {fw.board['id']} "
              f"(platform {fw.board['platformio']['platform']}, board {fw.board['platformio']['board']}); "
              f"build it with: pio run -d {fw.project}")
        return 0
    print(f"built {fw.project} for {fw.board['id']} ({fw.board['core']}) in {fw.seconds:.1f} s: "
          f"flash {fw.flash_used:,} bytes, RAM {fw.ram_used:,} bytes "
          f"(weights {fw.weight_bytes:,}, arena {fw.arena_bytes:,}; model hash {fw.hash})")
    if args.run:
        res = run_selftest(fw)
        print(res.log.strip())
        if res.exit_code != 0:
            raise TinyBnnError(f"the self-test on {fw.board['id']} failed (exit code {res.exit_code}); "
                               f"log in {fw.project / 'selftest.log'}")
    fp = from_build(fw.project)
    print(fp.text())
    return 0


def cmd_footprint(args) -> int:
    import json

    from .footprint import from_build

    fp = from_build(args.build)
    print(fp.text())
    if args.json:
        tmp = Path(args.json).with_name(Path(args.json).name + ".tmp")
        tmp.write_text(json.dumps(fp.as_dict(), indent=2, sort_keys=True) + "\n")
        os.replace(tmp, args.json)
        print(f"wrote {args.json}")
    return 0


def cmd_validate(args) -> int:
    import json

    from .validate import run

    data = _load_npz(args.data)
    m = load_model(args, data=data["x"], data_name=args.data)
    x, labels = check_data(m, data["x"], data.get("labels"), where=args.data)
    summary = run(m, args.model, args.board, x, labels, port=args.port, flash=args.flash,
                  build_dir=args.build_dir, results_path=args.results, limit=args.limit, timeout=args.timeout)
    print(summary.text())
    if args.json:
        tmp = Path(args.json).with_name(Path(args.json).name + ".tmp")
        tmp.write_text(json.dumps(summary.as_dict(), indent=2, sort_keys=True, default=float) + "\n")
        os.replace(tmp, args.json)
        print(f"wrote {args.json}")
    return 0 if summary.mismatched == 0 else 1


def cmd_bench(args) -> int:
    from .bench import bench_kernels, bench_model, write_json

    res = bench_kernels(args.board, variant=args.variant, work_dir=args.work) if not args.no_kernels else None
    models = []
    for path in args.model or ():
        args.model = path  # load_model reads args.model and the quantization flags
        m = load_model(args)
        models.append(bench_model(m, args.board, variant=args.variant, work_dir=args.work, name=Path(path).stem))
    if res is None:
        from .bench import BenchResult
        from .boards import load_board

        b = load_board(args.board)
        res = BenchResult(b["id"], b["core"], args.variant or b["kernel_variant"], "instructions")
    res.models = models
    print(res.text())
    if args.json:
        write_json(res, args.json)
        print(f"wrote {args.json}")
    return 0

def main(argv=None) -> int:
    p = _Parser(prog="tinybnn", description="Binary neural networks on microcontrollers, bit-exact.")
    sub = p.add_subparsers(dest="cmd", required=True, parser_class=_Parser)
    s = sub.add_parser("inspect", help="per-layer table of the lowered model")
    s.add_argument("model")
    _add_quant_flags(s)
    s.set_defaults(fn=cmd_inspect)
    s = sub.add_parser("predict", help="run the golden model (or the generated C) on inputs")
    s.add_argument("model")
    s.add_argument("--input", required=True, metavar="X.npy", help="float inputs, N samples on axis 0")
    s.add_argument("--output", required=True, metavar="Y.npy", help="float32 outputs (after the output affine)")
    s.add_argument("--engine", choices=("golden", "c"), default="golden")
    _add_quant_flags(s)
    s.set_defaults(fn=cmd_predict)
    s = sub.add_parser("check", help="compare the golden model with the float model's own runtime")
    s.add_argument("model")
    s.add_argument("--data", required=True, metavar="FILE.npz", help="arrays x and optional labels")
    _add_quant_flags(s)
    s.set_defaults(fn=cmd_check)
    s = sub.add_parser("convert", help="render the model as self-contained C99 (model.h/.c, weights, kernels)")
    s.add_argument("model")
    s.add_argument("-o", "--output", required=True, metavar="OUT/", help="output directory (replaced as a whole)")
    s.add_argument("--max-ram", type=int, metavar="N", help="refuse if the activation arena needs more than N bytes")
    s.add_argument("--max-flash", type=int, metavar="N",
                   help="refuse if the weights, thresholds and masks need more than N bytes")
    s.add_argument("--board", help="render with this board's kernel variant (as tinybnn build does)")
    s.add_argument("--variant", help="kernel variant (default: reference, the portable kernels)")
    _add_quant_flags(s)
    s.set_defaults(fn=cmd_convert)
    s = sub.add_parser("boards", help="the boards tinybnn knows, and what is verified on each")
    s.set_defaults(fn=cmd_boards)
    s = sub.add_parser("build", help="build a firmware for a board (PlatformIO; offline for emulated boards)")
    s.add_argument("model")
    s.add_argument("--board", default="qemu-m4", help="board id (see 'tinybnn boards'; default qemu-m4)")
    s.add_argument("-o", "--output", required=True, metavar="BUILD/", help="the PlatformIO project directory")
    s.add_argument("--sample-data", metavar="FILE.npz", help="its first sample is the boot self-test input")
    s.add_argument("--app", choices=("selftest", "serve"), default="selftest",
                   help="selftest: run the built-in sample and exit; serve: then answer tinybnn validate")
    s.add_argument("--opt", choices=("O2", "Os", "O3"), default="O2", help="C optimization level")
    s.add_argument("--run", action="store_true", help="boot it in QEMU (emulated boards) and show the self-test")
    s.add_argument("--offline-check", action="store_true",
                   help="real Cortex-M/RISC-V boards: compile and link with the board's CPU flags and memory map "
                        "offline (no PlatformIO registry needed)")
    s.add_argument("--generate-only", action="store_true", help="write the PlatformIO project, do not build it")
    s.add_argument("--variant", help="kernel variant instead of the board file's: 'reference' is the smallest "
                   "(see 'tinybnn boards' for each board's fast variant)")
    s.add_argument("--kernel-checks", action="store_true",
                   help="keep the kernels' runtime argument checks (off by default: the converter validated them)")
    _add_quant_flags(s)
    s.set_defaults(fn=cmd_build)
    s = sub.add_parser("validate", help="run every sample on the device over serial; compare bit for bit")
    s.add_argument("model")
    s.add_argument("--board", default="qemu-m4", help="board id (default qemu-m4, emulated)")
    s.add_argument("--data", required=True, metavar="FILE.npz", help="arrays x and optional labels")
    s.add_argument("--port", metavar="URL", help="serial port of a real board (pyserial URL or device)")
    s.add_argument("--flash", action="store_true", help="build and upload the firmware first (real boards)")
    s.add_argument("--json", metavar="OUT", help="write the summary as JSON")
    s.add_argument("--build-dir", metavar="DIR", help="firmware project (default out/validate/<board>-<hash>)")
    s.add_argument("--results", metavar="F.jsonl", help="per-sample results, appended as they arrive (resume)")
    s.add_argument("--limit", type=int, help="only the first N samples")
    s.add_argument("--timeout", type=float, default=2.0, help="seconds of silence before a retry")
    _add_quant_flags(s)
    s.set_defaults(fn=cmd_validate)
    s = sub.add_parser("footprint", help="flash and RAM of a build, from its ELF and linker map")
    s.add_argument("build", metavar="BUILD_OR_ELF")
    s.add_argument("--json", metavar="F", help="write the breakdown as JSON")
    s.set_defaults(fn=cmd_footprint)
    s = sub.add_parser("bench", help="instruction counts of the kernels and models on an emulated board")
    s.add_argument("--board", default="qemu-m4", help="emulated board id (default qemu-m4)")
    s.add_argument("--variant", help="kernel variant to measure instead of the board's (see tinybnn/kernels.py)")
    s.add_argument("--model", action="append", metavar="M.onnx",
                   help="also time one inference of this model, variant against reference (repeatable)")
    s.add_argument("--no-kernels", action="store_true", help="only the models")
    s.add_argument("--json", metavar="F", help="write the results as JSON")
    s.add_argument("--work", metavar="DIR", help="keep the generated firmware projects here")
    _add_quant_flags(s)
    s.set_defaults(fn=cmd_bench)
    try:
        args = p.parse_args(argv)
        return args.fn(args)
    except TinyBnnError as e:
        print(f"tinybnn: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("tinybnn: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `tinybnn inspect m.onnx | head`: the reader left, not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
