"""What a new user meets in the first hour: the README's Python snippet, the float oracle checked before any
sample is streamed, a real board's port checked before a build, and RAM figures with a stack reserve derived
from the call graph."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinybnn.targets import boards, footprint

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
KWS = ROOT / "examples" / "kws" / "model"


def cli(*args, env=None, cwd=None):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd)


def _no_qonnx_env(tmp_path):
    """An environment in which `import qonnx` fails, as on a machine without the qonnx extra."""
    import os

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoQonnx:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'qonnx' or name.startswith('qonnx.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'qonnx'\", name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _NoQonnx())\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def test_readme_python_snippet_runs_as_written():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "the README has a Python snippet"
    out = subprocess.run([sys.executable, "-c", blocks[0]], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"\[[\d ]+\]\n", out.stdout)


def test_check_without_qonnx_is_one_line_before_any_work(tmp_path):
    r = cli("check", FIX / "brevitas_cnn.onnx", "--data", FIX / "brevitas_cnn.npz", env=_no_qonnx_env(tmp_path))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert "pip install 'tinybnn[qonnx]'" in r.stderr and "QONNX" in r.stderr
    assert r.stdout == ""


def test_real_board_without_port_refused_before_building(tmp_path):
    build = tmp_path / "fw"
    r = cli("validate", FIX / "torch_mlp_legacy.onnx", "--board", "nucleo_f446re", "--data",
            FIX / "torch_mlp_legacy.npz", "--build-dir", build, "--flash")
    assert r.returncode == 2 and "--port" in r.stderr and r.stderr.count("\n") == 1
    assert not build.exists()  # nothing was generated, built or uploaded


def _tools(board_id):
    b = boards.load_board(board_id)
    return shutil.which(b["toolchain"] + "-gcc") and shutil.which(b["qemu"]["binary"])


@pytest.mark.slow
def test_validate_without_qonnx_runs_without_the_float_column(tmp_path):
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU for qemu-m4 not installed")
    js = tmp_path / "s.json"
    r = cli("validate", FIX / "brevitas_cnn.onnx", "--board", "qemu-m4", "--data", FIX / "brevitas_cnn.npz",
            "--limit", "4", "--build-dir", tmp_path / "fw", "--json", js, env=_no_qonnx_env(tmp_path))
    assert r.returncode == 0, r.stderr[-2000:]
    # said once, before the firmware was built and the samples were streamed
    note = [ln for ln in r.stderr.splitlines() if "note:" in ln]
    assert len(note) == 1 and "pip install 'tinybnn[qonnx]'" in note[0]
    assert r.stderr.splitlines()[0] == note[0]  # the first thing the run says
    assert "bit-exact: 4/4" in r.stdout and "float n/a (not measured:" in r.stdout
    s = json.loads(js.read_text())
    assert s["float_accuracy"] is None and s["device_accuracy"] == s["golden_accuracy"]


@pytest.mark.slow
def test_kws_demo_ram_is_honest(tmp_path):
    """The demo's firmware (the serving app) needs <= 6 KB of RAM: arena + static data + a stack reserve
    derived from the static worst case of the call graph; on the self-test firmware that worst case bounds
    the measured high-water mark."""
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU for qemu-m4 not installed")
    js = tmp_path / "s.json"
    r = cli("validate", KWS / "kws_bnn.onnx", "--board", "qemu-m4", "--data", KWS / "kws_bnn_test.npz",
            "--limit", "3", "--build-dir", tmp_path / "serve", "--json", js)
    assert r.returncode == 0, r.stderr[-2000:]
    fp = json.loads(js.read_text())["footprint"]
    st = fp["stack"]
    assert fp["ram"] <= 6 * 1024
    assert st["derived"] and st["reserved"] == footprint.stack_reserve(st["static_worst"]) < 2048
    assert "tb_serve" in st["static_path"] and "interrupt" in st["static_path"]
    m = re.search(r"^footprint: flash [\d,]+ bytes \(weights [\d,]+\), RAM ([\d,]+) bytes = arena ([\d,]+) \+ "
                  r"static data ([\d,]+) \+ stack ([\d,]+) \(static worst case ([\d,]+) \+ margin\)$", r.stdout, re.M)
    assert m, r.stdout
    ram, arena, data, stack, worst = (int(v.replace(",", "")) for v in m.groups())
    assert ram == arena + data + stack == fp["ram"] and stack == st["reserved"] and worst == st["static_worst"]
    # convert --board prints the model's share of the same firmware: the same weights and arena
    r = cli("convert", KWS / "kws_bnn.onnx", "--board", "qemu-m4", "-o", tmp_path / "c")
    assert r.returncode == 0, r.stderr
    assert f"weights: {fp['components']['weights']:,} bytes" in r.stdout
    assert f"arena: {fp['components']['arena']:,} bytes" in r.stdout

    out = tmp_path / "selftest"
    r = cli("build", KWS / "kws_bnn.onnx", "--board", "qemu-m4", "-o", out, "--run")
    assert r.returncode == 0, r.stderr[-2000:]
    st = footprint.from_build(out).stack
    assert 0 < st["measured"] <= st["static_worst"] < st["reserved"]
    m = re.search(r"^RAM +([\d,]+) bytes .* = arena ([\d,]+) \+ static data ([\d,]+) \+ stack ([\d,]+)$",
                  r.stdout, re.M)
    assert m, r.stdout
    ram, arena, data, stack = (int(v.replace(",", "")) for v in m.groups())
    assert ram == arena + data + stack and stack == st["reserved"]


def test_stack_reserve_margin_and_floor():
    assert footprint.stack_reserve(0) == 256
    assert footprint.stack_reserve(492) == 896          # 492 + 256 + 123 = 871, rounded up to 64
    assert footprint.stack_reserve(492, floor=4096) == 4096
    assert footprint.stack_reserve(10_000) % 64 == 0 and footprint.stack_reserve(10_000) >= 12_756


def test_board_stack_floor_is_validated(tmp_path):
    b = json.loads((boards.boards_dir() / "qemu-m4.json").read_text())
    b["memory"]["stack_floor_bytes"] = 1001
    with pytest.raises(boards.BoardError, match="stack_floor_bytes"):
        boards.validate_board(b, "qemu-m4")
    b["memory"]["stack_floor_bytes"] = 1024
    boards.validate_board(b, "qemu-m4")
    del b["memory"]["stack_floor_bytes"]
    b["memory"]["stack_bytes"] = 16384  # the old flat reserve: explained, not silently ignored
    with pytest.raises(boards.BoardError, match="derived from the call graph"):
        boards.validate_board(b, "qemu-m4")


@pytest.mark.skipif(not shutil.which("arm-none-eabi-gcc"), reason="arm-none-eabi-gcc not installed")
def test_static_stack_follows_indirect_calls_to_static_functions(tmp_path):
    """A callback that is a static function (GCC's call graph names it 'file.c:fn') counts in the worst case
    of whoever calls through a pointer; a function whose address is never taken does not."""
    (tmp_path / "app.c").write_text(
        "static int big(int x) { volatile char buf[600]; buf[0] = (char)x; return buf[0]; }\n"
        "static int unused_big(int x) { volatile char buf[4000]; buf[0] = (char)x; return buf[0]; }\n"
        "int (*volatile pick)(int);\n"
        "int keep(int x) { return unused_big(x); }\n"
        "int tb_main(void) { pick = big; return pick(3); }\n")
    subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-O2", "-ffunction-sections",
                    "-fstack-usage", "-fcallgraph-info=su", "-c", "app.c", "-o", "app.o"], cwd=tmp_path, check=True)
    worst, path = footprint.static_stack(tmp_path)
    assert 600 <= worst < 4000, (worst, path)
    assert "big" in path and "unused_big" not in path
