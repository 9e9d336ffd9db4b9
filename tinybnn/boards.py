"""Board data files: locate, load, validate and list them.

A board is one JSON file, ``boards/<id>.json`` (boards are data, not code).
The same files are found from a repository checkout and from an installed
wheel (which ships them under ``tinybnn/_data/boards``); see :func:`data_dir`.

Every problem with a board file raises :class:`BoardError` whose message is a
single line naming the file and the key.

Keys of a board file (all boards):
  id, name, emulated, core, arch, fpu (or null), clock_hz, flash_bytes,
  ram_bytes, port (port family: mps2 | microbit | riscv-virt | arduino),
  port_dirs (folders of firmware/port/ that make up the port layer),
  cflags, serial {kind: uart | usb-cdc, baud}, cycle_counter, kernel_variant,
  verified (emulated-run | offline-compile | generated-only),
  platformio {platform, board, framework}; optional notes.
Emulated boards also have:
  toolchain (arm-none-eabi | riscv64-unknown-elf), ldflags, defines
  {MACRO: value}, linker_script (relative to firmware/port/),
  memory {regions: [{name FLASH|RAM, origin "0x...", length, what}],
  optional stack_floor_bytes (the build reserves the static worst-case stack
  of the call graph plus a margin, at least this)}, qemu {binary, machine, extra}.  flash_bytes/ram_bytes must
  equal the FLASH/RAM lengths, which must equal the MEMORY block of the
  linker script.
"""

from __future__ import annotations

import json
import re
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Dict, List, Optional

from tinybnn.errors import TinyBnnError

DEFAULT_BOARD = "qemu-m4"

CORES = ("cortex-m0", "cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7",
         "cortex-m33", "cortex-m55", "rv32imc", "xtensa-lx6", "xtensa-lx7")
PORTS = ("mps2", "microbit", "riscv-virt", "arduino")
SERIAL_KINDS = ("uart", "usb-cdc")
CYCLE_COUNTERS = ("systick", "dwt", "mcycle", "minstret", "ccount")
KERNEL_VARIANTS = ("reference", "armv7m", "armv6m", "rv32-zbb")
VERIFIED = ("emulated-run", "offline-compile", "generated-only")
TOOLCHAINS = ("arm-none-eabi", "riscv64-unknown-elf")
# The in-repo PlatformIO platform (firmware/platformio/platform-tinybnn).
LOCAL_PLATFORM = "tinybnn"

_REPO_ROOT = Path(__file__).resolve().parent.parent


class BoardError(TinyBnnError, ValueError):
    """A board file is missing, unreadable or invalid (one-line message)."""


def data_dir(name: str) -> Path:
    """Directory ``name`` ("boards", "firmware", "templates") of tinybnn's data.

    Tries ``tinybnn/_data/<name>`` (installed wheel) first, then ``<repo>/<name>``
    (checkout).
    """
    try:
        candidate = resources.files("tinybnn") / "_data" / name
        if candidate.is_dir():
            return Path(str(candidate))
    except (ModuleNotFoundError, TypeError, ValueError, OSError):
        pass
    candidate = _REPO_ROOT / name
    if candidate.is_dir():
        return candidate
    raise FileNotFoundError(
        f"tinybnn data directory '{name}' not found in tinybnn/_data/ nor in {_REPO_ROOT}"
    )


def boards_dir() -> Path:
    return data_dir("boards")


def list_boards(emulated: Optional[bool] = None) -> List[str]:
    """Sorted board ids; ``emulated=True/False`` filters on the board's flag."""
    ids = sorted(p.stem for p in boards_dir().glob("*.json"))
    if emulated is None:
        return ids
    return [i for i in ids if load_board(i)["emulated"] is emulated]


def default_board() -> str:
    return DEFAULT_BOARD


def board_path(board_id: str) -> Path:
    return boards_dir() / f"{board_id}.json"


def load_board(board: str) -> Dict[str, Any]:
    """Load and validate a board by id (``"qemu-m4"``) or by path to a JSON file."""
    path = Path(board)
    if path.suffix != ".json":
        path = board_path(board)
        if not path.is_file():
            raise BoardError(
                f"{path}: no such board '{board}' (known: {', '.join(list_boards())})"
            )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BoardError(f"{path}: cannot read board file: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise BoardError(f"{path}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    validate_board(data, str(path))
    return data


# --------------------------------------------------------------------------
# validation


def _fail(src: str, key: str, msg: str) -> None:
    raise BoardError(f"{src}: key '{key}': {msg}")


def _get(d: Dict[str, Any], key: str, src: str, prefix: str = "") -> Any:
    if not isinstance(d, dict) or key not in d:
        _fail(src, prefix + key, "missing")
    return d[key]


def _want(value: Any, kind: Any, src: str, key: str, what: str) -> Any:
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        _fail(src, key, f"expected {what}, got {value!r}")
    return value


def _want_choice(value: Any, choices: tuple, src: str, key: str) -> Any:
    if value not in choices:
        _fail(src, key, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


def _want_str_list(value: Any, src: str, key: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        _fail(src, key, f"expected a list of strings, got {value!r}")
    return value


def _want_positive(value: Any, src: str, key: str) -> int:
    _want(value, int, src, key, "a positive integer")
    if value <= 0:
        _fail(src, key, f"expected a positive integer, got {value!r}")
    return value


def validate_board(b: Dict[str, Any], src: str = "<board>") -> None:
    """Raise BoardError (one line: file and key) unless ``b`` is a valid board."""
    if not isinstance(b, dict):
        raise BoardError(f"{src}: expected a JSON object at top level")
    bid = _want(_get(b, "id", src), str, src, "id", "a string")
    if src.endswith(".json") and Path(src).stem != bid:
        _fail(src, "id", f"'{bid}' does not match the file name '{Path(src).name}'")
    _want(_get(b, "name", src), str, src, "name", "a string")
    emulated = _want(_get(b, "emulated", src), bool, src, "emulated", "true or false")
    _want_choice(_get(b, "core", src), CORES, src, "core")
    _want(_get(b, "arch", src), str, src, "arch", "a string")
    fpu = _get(b, "fpu", src)
    if fpu is not None:
        _want(fpu, str, src, "fpu", "a string or null")
    _want_positive(_get(b, "clock_hz", src), src, "clock_hz")
    _want_positive(_get(b, "flash_bytes", src), src, "flash_bytes")
    _want_positive(_get(b, "ram_bytes", src), src, "ram_bytes")
    port = _want_choice(_get(b, "port", src), PORTS, src, "port")
    dirs = _want_str_list(_get(b, "port_dirs", src), src, "port_dirs")
    if port not in dirs:
        _fail(src, "port_dirs", f"must contain the port family '{port}'")
    _want_str_list(_get(b, "cflags", src), src, "cflags")
    serial = _get(b, "serial", src)
    _want_choice(_get(serial, "kind", src, "serial."), SERIAL_KINDS, src, "serial.kind")
    _want_positive(_get(serial, "baud", src, "serial."), src, "serial.baud")
    _want_choice(_get(b, "cycle_counter", src), CYCLE_COUNTERS, src, "cycle_counter")
    _want_choice(_get(b, "kernel_variant", src), KERNEL_VARIANTS, src, "kernel_variant")
    verified = _want_choice(_get(b, "verified", src), VERIFIED, src, "verified")
    pio = _get(b, "platformio", src)
    _want(_get(pio, "platform", src, "platformio."), str, src, "platformio.platform", "a string")
    _want(_get(pio, "board", src, "platformio."), str, src, "platformio.board", "a string")
    fw = _get(pio, "framework", src, "platformio.")
    if fw is not None:
        _want(fw, str, src, "platformio.framework", "a string or null")

    firmware = None
    try:
        firmware = data_dir("firmware")
    except FileNotFoundError:
        pass
    if firmware is not None:
        for d in dirs:
            if not (firmware / "port" / d).is_dir():
                _fail(src, "port_dirs", f"no directory firmware/port/{d}")

    if not emulated:
        if verified == "emulated-run":
            _fail(src, "verified", "a real board cannot be 'emulated-run'")
        if "offline" in b:
            _validate_local_build(offline_board(b), src, firmware, prefix="offline.")
        elif verified == "offline-compile":
            _fail(src, "verified", "'offline-compile' needs an 'offline' block")
        return

    # Emulated boards are built by the in-repo platform and run in QEMU.
    if pio["platform"] != LOCAL_PLATFORM:
        _fail(src, "platformio.platform", f"emulated boards use '{LOCAL_PLATFORM}'")
    qemu = _get(b, "qemu", src)
    _want(_get(qemu, "binary", src, "qemu."), str, src, "qemu.binary", "a string")
    _want(_get(qemu, "machine", src, "qemu."), str, src, "qemu.machine", "a string")
    _want_str_list(_get(qemu, "extra", src, "qemu."), src, "qemu.extra")
    _validate_local_build(b, src, firmware)


def offline_board(b: Dict[str, Any]) -> Dict[str, Any]:
    """A real board as built by the offline compile-and-link check: its CPU flags and memory map, the
    in-repo PlatformIO platform and a bare-metal port (see the board's "offline" block)."""
    off = b.get("offline")
    if not off:
        raise BoardError(f"board '{b['id']}': no offline compile check (it has no 'offline' block; the in-repo "
                         "platform compiles for Cortex-M and RISC-V cores, not Xtensa)")
    m = dict(b)
    m.update(off)
    m["port"] = off["port_dirs"][-1]
    m["platformio"] = {"platform": LOCAL_PLATFORM, "board": b["id"], "framework": None}
    m.pop("offline", None)
    return m


def _validate_local_build(b: Dict[str, Any], src: str, firmware, prefix: str = "") -> None:
    """What a board built by the in-repo platform needs: toolchain, flags, memory map = linker script."""
    flash, ram = b["flash_bytes"], b["ram_bytes"]
    _want_choice(_get(b, "toolchain", src, prefix), TOOLCHAINS, src, prefix + "toolchain")
    _want_str_list(_get(b, "port_dirs", src, prefix), src, prefix + "port_dirs")
    if firmware is not None:
        for d in b["port_dirs"]:
            if not (firmware / "port" / d).is_dir():
                _fail(src, prefix + "port_dirs", f"no directory firmware/port/{d}")
    _validate_memory(b, src, firmware, flash, ram, prefix)


def _validate_memory(b, src, firmware, flash, ram, prefix=""):
    _want_str_list(_get(b, "ldflags", src), src, prefix + "ldflags")
    defines = _want(_get(b, "defines", src), dict, src, "defines", "an object")
    for k, v in defines.items():
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", k) or not isinstance(v, (str, int)):
            _fail(src, prefix + f"defines.{k}", "expected an upper-case macro name with a string or integer")
    regions = _memory_regions(b, src)
    if regions["FLASH"][1] != flash:
        _fail(src, prefix + "flash_bytes", f"{flash} differs from memory FLASH length {regions['FLASH'][1]}")
    if regions["RAM"][1] != ram:
        _fail(src, prefix + "ram_bytes", f"{ram} differs from memory RAM length {regions['RAM'][1]}")
    if "stack_bytes" in b["memory"]:
        _fail(src, prefix + "memory.stack_bytes", "the stack reserve is derived from the call graph at build "
              "time; a board may set a minimum with memory.stack_floor_bytes")
    floor = b["memory"].get("stack_floor_bytes", 0)
    _want(floor, int, src, prefix + "memory.stack_floor_bytes", "a non-negative integer")
    if floor < 0 or floor % 8 or floor >= ram:
        _fail(src, prefix + "memory.stack_floor_bytes", f"must be a multiple of 8 below ram_bytes, got {floor}")

    ld = _want(_get(b, "linker_script", src), str, src, "linker_script", "a string")
    if firmware is not None:
        script = firmware / "port" / ld
        if not script.is_file():
            _fail(src, prefix + "linker_script", f"no file firmware/port/{ld}")
        in_script = _ld_memory(script.read_text(encoding="utf-8"))
        if in_script != regions:
            _fail(src, prefix + "memory", f"regions {_fmt(regions)} differ from MEMORY in firmware/port/{ld}: {_fmt(in_script)}")


def _memory_regions(b: Dict[str, Any], src: str) -> Dict[str, tuple]:
    mem = _want(_get(b, "memory", src), dict, src, "memory", "an object")
    regions = _get(mem, "regions", src, "memory.")
    if not isinstance(regions, list):
        _fail(src, "memory.regions", "expected a list")
    out = {}
    for i, r in enumerate(regions):
        key = f"memory.regions[{i}]"
        name = _want(_get(r, "name", src, key + "."), str, src, key + ".name", "a string")
        origin = _get(r, "origin", src, key + ".")
        if not isinstance(origin, str) or not re.fullmatch(r"0x[0-9A-Fa-f]+", origin):
            _fail(src, key + ".origin", f"expected a hex string like '0x20000000', got {origin!r}")
        length = _want_positive(_get(r, "length", src, key + "."), src, key + ".length")
        out[name] = (int(origin, 16), length)
    for need in ("FLASH", "RAM"):
        if need not in out:
            _fail(src, "memory.regions", f"no region named {need}")
    return out


def _ld_memory(text: str) -> Dict[str, tuple]:
    """MEMORY regions of a linker script: {name: (origin, length)}."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = {}
    for m in re.finditer(
        r"(\w+)\s*\([^)]*\)\s*:\s*ORIGIN\s*=\s*(0x[0-9A-Fa-f]+|\d+)\s*,\s*LENGTH\s*=\s*(0x[0-9A-Fa-f]+|\d+)([KM]?)",
        text,
    ):
        length = int(m.group(3), 0) * {"": 1, "K": 1024, "M": 1024 * 1024}[m.group(4)]
        out[m.group(1)] = (int(m.group(2), 0), length)
    return out


def _fmt(regions: Dict[str, tuple]) -> str:
    return ", ".join(f"{k}=0x{o:08X}+{n}" for k, (o, n) in sorted(regions.items()))


# --------------------------------------------------------------------------
# derived build data


def stack_floor(b: Dict[str, Any]) -> int:
    """The smallest stack reserve the board wants (memory.stack_floor_bytes; 0 when not set)."""
    return int(b.get("memory", {}).get("stack_floor_bytes", 0))


def build_defines(b: Dict[str, Any]) -> Dict[str, str]:
    """Preprocessor macros the firmware expects from the build (see tb_port.h)."""
    ns = Fraction(10**9, b["clock_hz"])  # nanoseconds per core-clock tick
    out = {
        "TB_BOARD_ID": '"%s"' % b["id"],
        "TB_EMULATED": "1" if b["emulated"] else "0",
        "TB_CLOCK_HZ": "%du" % b["clock_hz"],
        "TB_TICK_NS_NUM": "%du" % ns.numerator,
        "TB_TICK_NS_DEN": "%du" % ns.denominator,
        "TB_CYCLE_COUNTER_" + b["cycle_counter"].upper(): "1",
        "TB_SERIAL_BAUD": "%d" % b["serial"]["baud"],
        "TB_SERIAL_USB_CDC": "1" if b["serial"]["kind"] == "usb-cdc" else "0",
    }
    for k, v in b.get("defines", {}).items():
        out[k] = str(v)
    return out
