"""A board file of the user's own, outside the package: given by path or found through $TINYBNN_BOARDS, it is
carried as data through build, footprint and validate; board files are checked against the shipped JSON Schema
with one-line errors that never name a path inside the package."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from tinybnn.targets import boards

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "tests" / "fixtures"
MODEL, DATA = FIX / "torch_mlp_legacy.onnx", FIX / "torch_mlp_legacy.npz"
PACKAGE = str(boards.boards_dir().parent)  # the package's data folders (boards/, firmware/, templates/)


def cli(*args, env_extra=None, cwd=None):
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd)


def _tools():
    return shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")


def _one_line_error(r):
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("tinybnn: error: ") and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert PACKAGE not in r.stderr
    return r.stderr


def test_schema_is_valid_and_every_bundled_board_follows_it():
    sch = boards.schema()
    jsonschema.Draft202012Validator.check_schema(sch)
    for bid in boards.list_boards():
        jsonschema.validate(json.loads(boards.board_path(bid).read_text()), sch)
    assert "board" not in boards.list_boards()  # the schema file is not a board


def test_new_board_explains_every_field(tmp_path):
    r = cli("boards", "--new", "myboard", "--from", "qemu-m4", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    data = json.loads((tmp_path / "myboard.json").read_text())
    assert data["id"] == "myboard" and data["$comment"] == boards.field_docs()
    docs = data["$comment"]
    for key in ("core", "memory.regions", "memory.stack_floor_bytes", "clock_hz", "serial.baud", "cycle_counter",
                "kernel_variant", "platformio", "qemu", "offline"):
        assert docs.get(key), key
    b = boards.load_board(tmp_path / "myboard.json")
    assert "$comment" not in b and b["core"] == "cortex-m4"
    again = cli("boards", "--new", "myboard", "-o", tmp_path)
    assert "already exists" in _one_line_error(again)
    assert "use letters" in _one_line_error(cli("boards", "--new", "my board$(touch x)", "-o", tmp_path))
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["path", "TINYBNN_BOARDS"])
def test_own_board_build_footprint_validate(how, tmp_path):
    if not _tools():
        pytest.skip("arm-none-eabi-gcc or qemu-system-arm not installed")
    folder = tmp_path / "my boards"
    r = cli("boards", "--new", "myboard", "--from", "qemu-m4", "-o", folder)
    assert r.returncode == 0, r.stderr
    if how == "path":
        board, extra = folder / "myboard.json", None
    else:
        board, extra = "myboard", {"TINYBNN_BOARDS": str(folder)}
        listing = cli("boards", env_extra=extra)
        assert listing.returncode == 0 and "\nmyboard " in listing.stdout
    build = tmp_path / "fw"
    r = cli("build", MODEL, "--board", board, "-o", build, "--run", "--calibration", DATA, env_extra=extra)
    assert r.returncode == 0, r.stderr
    assert "selftest pass" in r.stdout and "board=myboard" in r.stdout
    r = cli("footprint", build, "--json", tmp_path / "fp.json")  # no board named: it was recorded as data
    assert r.returncode == 0, r.stderr
    fp = json.loads((tmp_path / "fp.json").read_text())
    assert fp["board"] == "myboard" and fp["limits"]["ram_bytes"] == boards.load_board("qemu-m4")["ram_bytes"]
    js = tmp_path / "v.json"
    r = cli("validate", MODEL, "--board", board, "--data", DATA, "--limit", "8", "--build-dir", tmp_path / "serve",
            "--json", js, env_extra=extra)
    assert r.returncode == 0, r.stderr
    s = json.loads(js.read_text())
    assert s["board"] == "myboard" and s["samples"] == s["matched"] == 8 and s["footprint"]["board"] == "myboard"


def test_board_errors_are_one_line_and_never_name_the_package(tmp_path):
    base = json.loads(boards.board_path("qemu-m4").read_text())

    def write(bid, **changes):
        d = json.loads(json.dumps(base))
        d["id"] = bid
        for key, value in changes.items():
            node = d
            *head, last = key.split(".")
            for h in head:
                node = node[h]
            if value is None:
                del node[last]
            else:
                node[last] = value
        p = tmp_path / f"{bid}.json"
        p.write_text(json.dumps(d))
        return p

    cases = {
        write("b1", clock_hz=0): ("b1.json: key 'clock_hz'", "minimum"),
        write("b2", **{"serial.kind": "spi"}): ("b2.json: key 'serial.kind'", "'uart'"),
        write("b3", name="x\ny"): ("b3.json: key 'name'", "one line"),
        write("b4", **{"platformio.board": "q\nextra_scripts = pre:evil.py"}): ("key 'platformio.board'", "no spaces"),
        write("b5", cflags=["-O2 $(touch canary)"]): ("key 'cflags.0'", "compiler flag"),
        write("b6", port_dirs=["cortex-m", "nowhere", "mps2"]): ("key 'port_dirs'", "no port folder 'nowhere'"),
        write("b7", linker_script="mps2/none.ld"): ("key 'linker_script'", "no linker script"),
        write("b8", qemu=None): ("key 'qemu'", "missing"),
        write("b9", **{"memory.stack_floor_bytes": 12}): ("key 'memory.stack_floor_bytes'", "multiple of 8"),
        write("b10", colour="blue"): ("b10.json", "colour"),
        write("other", **{"platformio.platform": "ststm32"}): ("key 'platformio.platform'", "'tinybnn'"),
    }
    for path, (where, what) in cases.items():
        r = cli("build", MODEL, "--board", path, "-o", tmp_path / "never", "--calibration", DATA)
        err = _one_line_error(r)
        assert where in err and what in err, err
        assert not (tmp_path / "never").exists() and not (tmp_path / "canary").exists()
    wrong_id = tmp_path / "named.json"
    wrong_id.write_text(json.dumps(base))  # id qemu-m4 in named.json
    assert "does not match the file name" in _one_line_error(cli("boards", "--new", "z", "--from", wrong_id, "-o",
                                                                  tmp_path))
    err = _one_line_error(cli("build", MODEL, "--board", "qemu-m5", "-o", tmp_path / "never"))
    assert "did you mean qemu-m55 or qemu-m7 or qemu-m4" in err
