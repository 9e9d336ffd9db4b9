"""Runtime flash overhead: everything in the firmware but the model's weights and thresholds.

Builds the conv fixtures for every emulated core at -Os (and -O2 for reference) with the boot self-test
application and reads the ELF (tinybnn footprint). Printed, not asserted. Target: <= 3 KB on Cortex-M4 at
-Os (TensorFlow Lite Micro needs about 16-22 KB: ../shared/notes/anchors.md).

The overhead counted is kernels + model glue + runtime + port + libc + other; the self-test's input
vector (model_sample.c) is test data, shown apart and not counted. Both kernel variants are shown: the
portable reference kernels (smallest) and the board file's optimized variant (fastest, larger code and
pre-encoded weights). Firmware is built as `tinybnn build` does: kernel argument checks compiled out.

    python benchmarks/bench_footprint.py [--boards qemu-m4,...] [--models torch_cnn_legacy,...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import tinybnn  # noqa: E402
from tinybnn.targets import boards, build, footprint  # noqa: E402

TARGET = 3 * 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boards", default=",".join(boards.list_boards(emulated=True)))
    ap.add_argument("--models", default="torch_cnn_legacy,larq_cnn,torch_cnn_dynamo")
    ap.add_argument("--opts", default="Os,O2")
    ap.add_argument("--variants", default="reference,board",
                    help="kernel variants: 'reference' (smallest) and/or 'board' (the board file's, fastest)")
    args = ap.parse_args()
    fix = ROOT / "tests" / "fixtures"
    print(f"runtime flash overhead (everything but weights+thresholds; self-test sample apart), "
          f"target <= {TARGET:,} B on qemu-m4 at -Os")
    print(f"{'model':<18} {'board':<10} {'variant':<9} {'opt':<3} {'flash':>7} {'weights':>8} {'overhead':>9} "
          f"{'kernels':>8} {'model':>6} {'runtime':>8} {'port':>5} {'libc':>5} {'sample':>6} {'vs 3 KB':>8}")
    for name in args.models.split(","):
        d = np.load(fix / f"{name}.npz")
        m = tinybnn.load(fix / f"{name}.onnx", calibration=d["x"])
        for b in args.boards.split(","):
            for var in args.variants.split(","):
                variant = boards.load_board(b)["kernel_variant"] if var == "board" else var
                if var == "board" and variant == "reference" and "reference" in args.variants.split(","):
                    continue
                for opt in args.opts.split(","):
                    with tempfile.TemporaryDirectory() as td:
                        fw = build.build(m, b, Path(td) / "fw", sample=d["x"][0], opt=opt, variant=variant)
                        fp = footprint.from_build(fw.project)
                    row(name, b, variant, opt, fp)


def row(name, board, variant, opt, fp):
    c = fp.flash_components
    over = fp.flash - c["weights"] - c["sample"]
    print(f"{name:<18} {board:<10} {variant:<9} {opt:<3} {fp.flash:>7,} {c['weights']:>8,} {over:>9,} "
          f"{c['kernels']:>8,} {c['model']:>6,} {c['runtime']:>8,} {c['port']:>5,} {c['libc']:>5,} {c['sample']:>6,} "
          f"{over / TARGET:>7.2f}x")


if __name__ == "__main__":
    main()
