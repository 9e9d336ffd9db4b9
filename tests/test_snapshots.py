"""Snapshots of the rendered C and of the PlatformIO project files: every trained fixture and example x every
kernel variant, and the project files of every board. A refactor keeps them byte-identical; a change of
generated output is its own commit, made with

    TINYBNN_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_snapshots.py

Generated files are stored whole (tests/snapshots/<model>/<variant>/); kernel sources copied verbatim from
firmware/ are listed with their SHA-256 in copied.txt."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.targets import boards, platformio
from tinybnn.backend import codegen

ROOT = Path(__file__).resolve().parent.parent
SNAP = ROOT / "tests" / "snapshots"
UPDATE = os.environ.get("TINYBNN_UPDATE_SNAPSHOTS") == "1"
MODELS = {p.stem: (p, p.with_suffix(".npz")) for p in sorted((ROOT / "tests" / "fixtures").glob("*.onnx"))}
MODELS["example_kws"] = (ROOT / "examples/kws/model/kws_bnn.onnx", ROOT / "examples/kws/model/kws_bnn_test.npz")
MODELS["example_digits"] = (ROOT / "examples/vision/model/digits_bnn.onnx",
                            ROOT / "examples/vision/model/digits_bnn_test.npz")
VARIANTS = boards.KERNEL_VARIANTS


def _copied(name: str, data: bytes) -> bool:
    from tinybnn.backend import kernels

    for d in (codegen.kernels_dir(), kernels.opt_dir()):
        p = d / name
        if p.is_file() and p.read_bytes() == data:
            return True
    return False


def _compare(folder: Path, files: dict[str, bytes]) -> None:
    if UPDATE:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for name, data in files.items():
            (folder / name).write_bytes(data)
        return
    assert folder.is_dir(), f"no snapshot {folder.relative_to(ROOT)}: run with TINYBNN_UPDATE_SNAPSHOTS=1"
    have = sorted(p.name for p in folder.iterdir())
    assert have == sorted(files), f"{folder.relative_to(ROOT)}: files {sorted(files)} != snapshot {have}"
    for name, data in files.items():
        assert (folder / name).read_bytes() == data, f"{folder.relative_to(ROOT)}/{name} differs from its snapshot"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_rendered_c_snapshot(name, variant):
    onnx_path, data = MODELS[name]
    m = tinybnn.load(onnx_path, calibration=np.load(data)["x"])
    r = codegen.prepare(m, variant)
    generated = {n: b for n, b in r.files.items() if not _copied(n, b)}
    copied = sorted(n for n in r.files if n not in generated)
    generated["copied.txt"] = "".join(f"{n} {hashlib.sha256(r.files[n]).hexdigest()}\n" for n in copied).encode()
    _compare(SNAP / name / variant, generated)


@pytest.mark.parametrize("board", boards.list_boards())
def test_platformio_project_snapshot(board, tmp_path):
    out = platformio.write_project(board, tmp_path / "p")
    files = {}
    for p in sorted(out.rglob("*")):
        rel = p.relative_to(out)
        if p.is_file() and rel.parts[0] in ("platformio.ini", "boards"):
            text = p.read_text().replace(str(platformio.platform_dir().resolve()), "<platform-tinybnn>")
            files[str(rel).replace("/", "__")] = text.encode()
    _compare(SNAP / "platformio" / board, files)
