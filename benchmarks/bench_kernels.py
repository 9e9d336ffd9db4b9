"""Binary kernels on the emulated cores: instructions, binary MACs per instruction, speed-up over the
reference kernels and the int8 cost of the same layer (tinybnn bench, one board after the other).

    python benchmarks/bench_kernels.py                  # M0, M3, M4, M7, M55, RV32, RV32+Zbb
    python benchmarks/bench_kernels.py --boards qemu-m4 --json out.json
    python benchmarks/bench_kernels.py --models         # also whole fixture models (two builds each)

Counts are instructions under QEMU -icount shift=0 (deterministic), not cycles. The targets of the issue
are printed next to the figures; qemu-rv32 (no Zbb) runs the rv32 kernels (its board's variant) and, for
comparison, the portable C of the generic armv7m kernels compiled for RV32 (the same weight encoding; the
tree kernels rendered per layer are Thumb-2: on RV32 only their slow portable fallback would run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinybnn.device import bench  # noqa: E402
from tinybnn.targets.boards import load_board  # noqa: E402

BOARDS = ("qemu-m0", "qemu-m3", "qemu-m4", "qemu-m7", "qemu-m55", "qemu-rv32", "qemu-rv32zbb")
EXTRA = {"qemu-rv32": "armv7m"}  # board -> another variant worth showing there
TARGETS = {("qemu-m4", "conv3x3_64_valid"): 4.5, ("qemu-rv32zbb", "conv3x3_64_valid"): 8.0,
           ("qemu-m4", "dense_1024"): 4.5, ("qemu-rv32", "conv3x3_64_valid"): 2.4}
MODELS = ("larq_cnn", "brevitas_tfc")


def _row(board, variant, res):
    k = {}
    native = load_board(board)["kernel_variant"] == variant  # else a comparison: the family's generic C
    for e in res.kernels:  # what a model runs: the layer-specialized kernel where there is one
        if e["variant"] == variant and (e["case"] not in k or (native and e.get("specialized"))):
            if native or not e.get("specialized"):
                k[e["case"]] = e
    ref = {e["case"]: e for e in res.kernels if e["variant"] == "reference"}
    conv, same, dense = (k.get(c) or ref[c] for c in ("conv3x3_64_valid", "conv3x3_64_same", "dense_1024"))
    i8 = ref["conv3x3_64_valid_int8"]
    return {"board": board, "core": res.core, "variant": variant,
            "conv": conv["macs_per_instruction"], "conv_x": conv["speedup"],
            "same": same["macs_per_instruction"], "same_x": same["speedup"],
            "dense": dense["macs_per_instruction"], "dense_x": dense["speedup"],
            "int8": i8["macs_per_instruction"], "bnn_vs_int8": i8["instructions"] / conv["instructions"],
            "conv_instructions": conv["instructions"], "dense_instructions": dense["instructions"],
            "int8_instructions": i8["instructions"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(BOARDS), help="comma-separated emulated boards")
    ap.add_argument("--json", help="write every result (tinybnn bench JSON per board) to this file")
    ap.add_argument("--models", action="store_true", help="also time whole fixture models (variant vs reference)")
    args = ap.parse_args(argv)
    rows, results = [], []
    t0 = time.time()
    for b in args.boards.split(","):
        variants = [load_board(b)["kernel_variant"]] + ([EXTRA[b]] if b in EXTRA else [])
        for v in variants:
            res = bench.bench_kernels(b, variant=v)
            if args.models:
                import numpy as np

                import tinybnn

                for name in MODELS:
                    fix = ROOT / "tests" / "fixtures"
                    d = np.load(fix / f"{name}.npz")
                    m = tinybnn.load(fix / f"{name}.onnx", calibration=d["x"])
                    res.models.append(bench.bench_model(m, b, variant=v, sample=d["x"][0], name=name))
            results.append(res.as_dict())
            rows.append(_row(b, v, res))
            print(f"{b} ({v}): done in {time.time() - t0:.0f} s", file=sys.stderr)

    head = ("board", "core", "variant", "3x3 conv 64->64 16x16", "x ref", "same-padded", "x ref",
            "dense 1024->1024", "x ref", "int8 conv", "BNN vs int8")
    table = [head]
    for r in rows:
        table.append((r["board"], r["core"], r["variant"] + (" (C on RV32)" if r["board"] == "qemu-rv32" and
                                                             r["variant"] == "armv7m" else ""),
                      f"{r['conv']:.2f}", f"{r['conv_x']:.2f}x", f"{r['same']:.2f}", f"{r['same_x']:.2f}x",
                      f"{r['dense']:.2f}", f"{r['dense_x']:.2f}x", f"{r['int8']:.3f}", f"{r['bnn_vs_int8']:.1f}x"))
    w = [max(len(t[i]) for t in table) for i in range(len(head))]
    print("binary MACs per executed instruction (QEMU -icount shift=0); 'x ref': speed-up over the reference "
          "kernel; int8 conv: int8 MACs per instruction of tb_conv2d_s8s8 on the same shape")
    for n, t in enumerate(table):
        print("  ".join(c.ljust(w[i]) if i < 3 else c.rjust(w[i]) for i, c in enumerate(t)))
        if n == 0:
            print("  ".join("-" * x for x in w))
    print()
    for (b, case), target in TARGETS.items():
        for r in rows:
            if r["board"] == b and r["variant"] == load_board(b)["kernel_variant"]:
                got = r["conv"] if case.startswith("conv") else r["dense"]
                verdict = "reached" if got >= target else f"not reached ({100 * (1 - got / target):.0f}% short)"
                print(f"target {b} {case}: >= {target} MAC/instruction, measured {got:.2f}: {verdict}")
    if args.models:
        print()
        for res in results:
            for m in res["models"]:
                print(f"{res['board']:13s} {res['variant']:9s} {m['name']:13s} {m['instructions']:>10,} instructions, "
                      f"{m['speedup']:.2f}x the reference kernels ({m['reference_instructions']:,}); "
                      f"{m['binary_macs']:,} binary + {m['int_macs']:,} int8 MACs")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
