"""Build the test-only device application (tests/device_app/tb_main.c + the protocol
runtime + a generated fixture model) for an emulated board, with tinybnn.targets.platformio.

Used by tests/test_device.py and benchmarks/bench_link.py."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import tinybnn  # noqa: E402
from tinybnn.backend import codegen  # noqa: E402
from tinybnn.targets import platformio

APP = Path(__file__).resolve().parent / "tb_main.c"
RUNTIME = ROOT / "firmware" / "runtime"
FIXTURES = ROOT / "tests" / "fixtures"


@dataclass
class App:
    elf: Path
    model: Any            # tinybnn Model (the golden model)
    x: np.ndarray         # fixture samples (float)
    labels: np.ndarray
    model_hash: str
    build_seconds: float


def load_fixture(name: str):
    d = np.load(FIXTURES / f"{name}.npz")
    model = tinybnn.load(str(FIXTURES / f"{name}.onnx"), calibration=d["x"])
    return model, d["x"], d["labels"] if "labels" in d else np.zeros(len(d["x"]), np.int64)


def build(fixture: str, out_dir: Path, board: str = "qemu-m4", extra_flags: Iterable[str] = ()) -> App:
    out_dir = Path(out_dir)
    model, x, labels = load_fixture(fixture)
    rendered = codegen.render(model, out_dir / "model")
    sources = sorted((out_dir / "model").glob("*.[ch]"))
    sources += [RUNTIME / "tb_protocol.h", RUNTIME / "tb_protocol.c", RUNTIME / "tb_serve.c", APP]
    project = platformio.write_project(board, out_dir / "project", sources, extra_build_flags=list(extra_flags))
    res = platformio.run_pio(project, jobs=1)
    return App(res.elf, model, x, labels, rendered.hash, res.seconds)
