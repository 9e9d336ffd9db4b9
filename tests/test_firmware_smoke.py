"""Smoke test of the board files, the port layer, the offline PlatformIO build
and the QEMU runner: tests/firmware_smoke/main.c is built with `pio run` for
every emulated board and run twice in QEMU."""

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
try:
    import tinybnn.targets.boards  # noqa: F401
except ImportError:  # plain `pytest` from a checkout without an install
    sys.path.insert(0, str(ROOT))

from tinybnn.targets import boards, footprint, platformio, qemu  # noqa: E402

# one xdist worker runs the whole module (make test runs in parallel): the fresh PlatformIO core folder, made once
pytestmark = pytest.mark.xdist_group("test_firmware_smoke")

SMOKE = ROOT / "tests" / "firmware_smoke"
EMULATED = boards.list_boards(emulated=True)
REAL = boards.list_boards(emulated=False)
LINE = re.compile(rb"^tinybnn smoke (\S+) cycles=(\d+)\n", re.M)


@pytest.fixture(scope="module")
def pio_cache(tmp_path_factory):
    """A fresh private PlatformIO core dir: proves the build needs nothing
    from the network (PlatformIO would retry its registry for ~60 s)."""
    cache = tmp_path_factory.mktemp("tinybnn-cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("TINYBNN_CACHE", str(cache))
    yield cache
    mp.undo()


def _missing_tools(board_id):
    b = boards.load_board(board_id)
    gcc = b["toolchain"] + "-gcc"
    missing = [t for t in (gcc, b["qemu"]["binary"]) if shutil.which(t) is None]
    return missing


def _build(board_id, out_dir, extra_flags=()):
    missing = _missing_tools(board_id)
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    project = platformio.write_project(board_id, out_dir, [SMOKE / "main.c"],
                                       extra_build_flags=extra_flags)
    return platformio.run_pio(project, jobs=1)


def _run(elf, board_id, send=b"E", timeout=20.0):
    with qemu.QemuSession(elf, board_id, timeout=timeout) as q:
        if send:
            q.serial.write(send)
        out = q.read_until_exit()
    return q.returncode, out


# --------------------------------------------------------------------------
# board files


def test_board_files_load_and_default():
    assert boards.default_board() == "qemu-m4"
    assert set(EMULATED) == {"qemu-m0", "qemu-m3", "qemu-m4", "qemu-m7",
                             "qemu-m33", "qemu-m55", "qemu-rv32", "qemu-rv32zbb"}
    assert set(REAL) == {"nucleo_f446re", "nucleo_h743zi", "nano33ble", "pico",
                         "teensy41", "esp32dev", "esp32-s3-devkitc-1", "esp32-c3-devkitm-1"}
    for bid in EMULATED + REAL:
        b = boards.load_board(bid)
        assert b["id"] == bid
        assert b["kernel_variant"] in boards.KERNEL_VARIANTS  # which one: tests/test_opt_kernels.py
    assert boards.data_dir("boards") == boards.boards_dir()


def test_board_error_names_file_and_key(tmp_path):
    data = json.loads(boards.board_path("qemu-m4").read_text())
    del data["clock_hz"]
    bad = tmp_path / "qemu-m4.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(boards.BoardError, match=r"qemu-m4\.json: key 'clock_hz': missing"):
        boards.load_board(str(bad))
    data["clock_hz"] = 25_000_000
    data["memory"]["regions"][1]["origin"] = "0x20001000"
    bad.write_text(json.dumps(data))
    with pytest.raises(boards.BoardError, match=r"key 'memory'.*differ from MEMORY") as exc:
        boards.load_board(str(bad))
    assert "\n" not in str(exc.value)
    with pytest.raises(boards.BoardError, match="no such board 'nope'"):
        boards.load_board("nope")
    assert issubclass(boards.BoardError, ValueError)


# --------------------------------------------------------------------------
# emulated boards: build with pio, run twice in QEMU


@pytest.mark.slow
@pytest.mark.parametrize("board_id", EMULATED)
def test_smoke_build_and_run(board_id, tmp_path, pio_cache):
    t0 = time.monotonic()
    res = _build(board_id, tmp_path / board_id)
    t_build = time.monotonic() - t0
    assert res.elf.is_file() and res.bin.is_file() and res.map.is_file()
    assert list((res.elf.parent / "src").glob("*.su")), "-fstack-usage output missing"
    b = boards.load_board(board_id)
    assert res.flash_used and 0 < res.flash_used < b["flash_bytes"]
    # the stack reserve linked is the one derived from the call graph (static worst case + margin)
    assert res.stack["reserved"] == footprint.stack_reserve(res.stack["static_worst"], boards.stack_floor(b))
    assert res.ram_used and res.ram_used >= res.stack["reserved"] > res.stack["static_worst"] > 0

    counts = []
    t1 = time.monotonic()
    for _ in range(2):
        code, out = _run(res.elf, board_id)
        assert code == 0, out
        m = LINE.search(out)
        assert m, out
        assert m.group(1).decode() == board_id
        assert b"kind=instructions" in out
        assert b"echo=E\n" in out, out
        counts.append(int(m.group(2)))
    t_run = time.monotonic() - t1
    assert counts[0] == counts[1], f"instruction counts differ between runs: {counts}"
    # work() is about 5-21 instructions per iteration on every core.
    assert 40_000 <= counts[0] <= 250_000, counts
    print(f"\n{board_id}: build {t_build:.2f} s (pio {res.seconds:.2f} s), "
          f"2 runs {t_run:.2f} s, count {counts[0]}, flash {res.flash_used} B, ram {res.ram_used} B")


@pytest.mark.slow
@pytest.mark.parametrize("board_id", ["qemu-m4", "qemu-rv32"])
def test_fault_exits_with_fault_code(board_id, tmp_path, pio_cache):
    res = _build(board_id, tmp_path / board_id, ["-D SMOKE_FAULT=1"])
    code, out = _run(res.elf, board_id, send=b"")
    assert code == 70, out  # TB_EXIT_FAULT
    assert b"tb: fault" in out


@pytest.mark.slow
def test_hung_firmware_times_out(tmp_path, pio_cache):
    res = _build("qemu-m4", tmp_path / "hang", ["-D SMOKE_HANG=1"])
    t0 = time.monotonic()
    with pytest.raises(qemu.QemuTimeout) as exc:
        qemu.run_to_exit(res.elf, "qemu-m4", timeout=1.5)
    assert time.monotonic() - t0 < 5
    assert LINE.search(exc.value.output)


def test_qemu_command_escapes_the_monitor_path():
    cmd = qemu.qemu_command("qemu-m4", "/x/firmware.elf", 4321, "/tmp/a,b/monitor.sock")
    assert cmd[cmd.index("-chardev") + 1] == "socket,id=tbmon,path=/tmp/a,,b/monitor.sock,server=on,wait=off"
    assert "-S" in cmd and cmd[cmd.index("-kernel") + 1] == "/x/firmware.elf"
    assert "-S" not in qemu.qemu_command("qemu-m4", "/x/firmware.elf", 4321)


@pytest.mark.slow
def test_output_survives_a_slow_host(tmp_path, pio_cache, monkeypatch):
    """A guest that prints at once, while the host is descheduled between connecting and pyserial's
    open() finishing (which discards what has arrived): the CPU starts only once the port is open, so
    every byte arrives. The delay stands in for a busy machine (seen once under load: exit 0, no output)."""
    import socket as _socket

    connect = _socket.create_connection

    def slow_connect(*args, **kwargs):
        sock = connect(*args, **kwargs)
        time.sleep(0.5)  # the guest would run to its end meanwhile if it had been started on connection
        return sock

    res = _build("qemu-m4", tmp_path / "slow")
    monkeypatch.setattr(_socket, "create_connection", slow_connect)
    code, out = _run(res.elf, "qemu-m4", send=b"")
    assert code == 0, out
    assert LINE.search(out), out
    assert b"echo=none\n" in out, out


# --------------------------------------------------------------------------
# real boards: structure only


@pytest.mark.parametrize("board_id", REAL)
def test_real_board_project_names_official_platform(board_id, tmp_path):
    b = boards.load_board(board_id)
    project = platformio.write_project(board_id, tmp_path / board_id, [SMOKE / "main.c"])
    ini = (project / "platformio.ini").read_text()
    assert f"[env:{board_id}]" in ini
    # pinned: a rebuild next year gets the platform this board was checked with (the board file's version)
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", b["platformio"]["version"])
    assert re.search(rf"^platform = {re.escape(b['platformio']['platform'])} @ "
                     rf"{re.escape(b['platformio']['version'])}$", ini, re.M)
    assert re.search(rf"^board = {re.escape(board_id)}$", ini, re.M)
    assert re.search(r"^framework = arduino$", ini, re.M)
    assert "symlink://" not in ini
    assert f'TB_BOARD_ID=\\"{board_id}\\"' in ini
    assert (project / "src" / "port" / "arduino" / "tb_port_arduino.cpp").is_file()
    assert (project / "include" / "tb_port.h").is_file()
    assert not (project / "boards").exists()


def test_registry_board_fails_fast_offline(tmp_path, pio_cache):
    if platformio.registry_reachable():
        pytest.skip("PlatformIO registry reachable: would download a real platform")
    project = platformio.write_project("nucleo_f446re", tmp_path / "f446", [SMOKE / "main.c"])
    t0 = time.monotonic()
    with pytest.raises(platformio.PlatformIOError, match="registry.*unreachable") as exc:
        platformio.run_pio(project)
    assert time.monotonic() - t0 < 10
    assert "\n" not in str(exc.value)


@pytest.mark.skipif(shutil.which("g++") is None, reason="host g++ not installed")
@pytest.mark.parametrize("defines", [
    ["-DTB_CYCLE_COUNTER_DWT=1", "-DTB_SERIAL_USB_CDC=1"],
    ["-DTB_CYCLE_COUNTER_CCOUNT=1", "-DARDUINO_ARCH_ESP32=1"],
    ["-DTB_CYCLE_COUNTER_SYSTICK=1", "-DTB_CLOCK_HZ=133000000u"],
])
def test_arduino_port_compiles_against_stub(defines):
    port = boards.data_dir("firmware") / "port"
    subprocess.run(["g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                    "-I", str(SMOKE / "arduino_stub"), "-I", str(port), *defines,
                    str(port / "arduino" / "tb_port_arduino.cpp")], check=True)


def test_write_project_refuses_foreign_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("user file")
    with pytest.raises(platformio.PlatformIOError, match="refusing to overwrite"):
        platformio.write_project("qemu-m4", tmp_path, [SMOKE / "main.c"])
    assert (tmp_path / "notes.txt").read_text() == "user file"


@pytest.mark.parametrize("board_id", EMULATED)
def test_emulated_board_project_names_the_local_platform_and_its_version(board_id, tmp_path):
    """The in-repo platform is linked (symlink://, which PlatformIO cannot pin): the ini names its version."""
    import json

    version = json.loads((platformio.platform_dir() / "platform.json").read_text())["version"]
    project = platformio.write_project(board_id, tmp_path / board_id, [SMOKE / "main.c"])
    ini = (project / "platformio.ini").read_text()
    assert re.search(r"^platform = symlink://\S+$", ini, re.M)
    assert f"in-repo platform (tinybnn {version}," in ini


def test_board_platform_version_is_checked(tmp_path):
    """A user's board may pin its platform; the schema takes X.Y.Z, ~X.Y.Z or ^X.Y.Z and nothing that could
    reach platformio.ini as another option; the in-repo platform takes none."""
    import json

    real = dict(boards.load_board("nucleo_f446re"))
    for ok in ("19.6.0", "~19.6.0", "^19.6.0"):
        boards.validate_board({**real, "platformio": {**real["platformio"], "version": ok}})
    for bad in ("19.6", "19.6.0\nextra_scripts = x.py", ">=19", "19.6.0 ; x", "latest"):
        with pytest.raises(boards.BoardError, match="platformio.version"):
            boards.validate_board({**real, "platformio": {**real["platformio"], "version": bad}})
        with pytest.raises(boards.BoardError, match="platformio.version"):  # a board given as data
            platformio.write_project({**real, "platformio": {**real["platformio"], "version": bad}},
                                     tmp_path / "bad")
    emu = dict(boards.load_board("qemu-m4"))
    with pytest.raises(boards.BoardError, match="platformio"):
        boards.validate_board({**emu, "platformio": {**emu["platformio"], "version": "0.1.0"}})
    # the offline check of a pinned real board builds with the in-repo platform: no pin in its ini
    ini_dir = platformio.write_project(boards.offline_board(real), tmp_path / "offline")
    ini = (ini_dir / "platformio.ini").read_text()
    assert re.search(r"^platform = symlink://\S+$", ini, re.M) and " @ " not in ini.split("[env:")[1]
    json.dumps(real)  # still plain data
