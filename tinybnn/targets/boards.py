"""Board data files: locate, load, validate and list them.

A board is one JSON file, ``<id>.json`` (boards are data, not code): the bundled ones in ``boards/`` (shipped
in the wheel under ``tinybnn/_data/boards``, see :func:`data_dir`), the user's own given by path
(``--board path/to/myboard.json``) or found in the folders of ``$TINYBNN_BOARDS``, searched first. Every
field is defined and documented by the JSON Schema ``boards/board.schema.json``; a loaded board is carried
as data through every command, never looked up again by its id.

Every problem with a board file raises :class:`BoardError` whose message is a single line naming the file
(bundled boards by their id) and the field.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..errors import TinyBnnError
from ..resources import BOARD_SCHEMA_FILE, KERNEL_VARIANTS, board_schema, data_dir  # noqa: F401 (re-exported)

DEFAULT_BOARD = "qemu-m4"

# The in-repo PlatformIO platform (firmware/platformio/platform-tinybnn).
LOCAL_PLATFORM = "tinybnn"


class BoardError(TinyBnnError, ValueError):
    """A board file is missing, unreadable or invalid (one-line message)."""


def boards_dir() -> Path:
    """The bundled boards."""
    return data_dir("boards")


SCHEMA_FILE = BOARD_SCHEMA_FILE
BOARDS_ENV = "TINYBNN_BOARDS"  # folders of the user's own board files, searched before the bundled ones


def schema() -> Dict[str, Any]:
    """The JSON Schema of a board file (shipped with the package; it documents every field)."""
    return board_schema()


def search_dirs() -> List[Path]:
    """Where board ids are looked up: the folders in $TINYBNN_BOARDS, then the bundled boards."""
    user = [Path(d).expanduser() for d in os.environ.get(BOARDS_ENV, "").split(os.pathsep) if d]
    return user + [boards_dir()]


def _board_files() -> Dict[str, Path]:
    found: Dict[str, Path] = {}
    for d in search_dirs():
        if d.is_dir():
            for p in sorted(d.glob("*.json")):
                if not p.name.endswith(".schema.json"):
                    found.setdefault(p.stem, p)
    return found


def list_boards(emulated: Optional[bool] = None) -> List[str]:
    """Sorted board ids (the user's folders in $TINYBNN_BOARDS first); ``emulated`` filters on the flag."""
    ids = sorted(_board_files())
    if emulated is None:
        return ids
    return [i for i in ids if load_board(i)["emulated"] is emulated]


def default_board() -> str:
    return DEFAULT_BOARD


def board_path(board_id: str) -> Path:
    return _board_files().get(board_id, boards_dir() / f"{board_id}.json")


def _label(path: Path) -> str:
    """How a board file is named in messages: bundled boards by id, never by their path in the package."""
    try:
        if path.resolve().parent == boards_dir().resolve():
            return f"board '{path.stem}'"
    except OSError:
        pass
    return str(path)


def load_board(board: Union[str, os.PathLike, Dict[str, Any]]) -> Dict[str, Any]:
    """A validated board: by id (``"qemu-m4"``, found in $TINYBNN_BOARDS or the bundled boards), by path to
    a JSON file, or a board dict already loaded (returned as it is: a board is carried as data, never looked
    up again by its id)."""
    if isinstance(board, dict):
        return board
    path = Path(board)
    if path.suffix != ".json":
        files = _board_files()
        if str(board) not in files:
            near = difflib.get_close_matches(str(board), list(files), n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(near)}? " if near else ""
            raise BoardError(f"no such board '{board}' ({hint}known: {', '.join(sorted(files))}; or give the path "
                             f"of a board file, or put it in a folder named by ${BOARDS_ENV})")
        path = files[str(board)]
    label = _label(path)
    if not path.is_file():
        raise BoardError(f"{label}: no such board file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BoardError(f"{label}: cannot read board file: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f"line {exc.lineno}: {exc.msg}" if isinstance(exc, json.JSONDecodeError) else "not UTF-8 text"
        raise BoardError(f"{label}: invalid JSON at {where}") from None
    validate_board(data, label, stem=path.stem)
    data.pop("$comment", None)
    return data


# --------------------------------------------------------------------------
# validation


def _fail(src: str, key: str, msg: str) -> None:
    raise BoardError(f"{src}: key '{key}': {msg}")


def _describe(key: str, parent_schema: Dict[str, Any]) -> str:
    sub = parent_schema.get("properties", {}).get(key, {}) if isinstance(parent_schema, dict) else {}
    if "$ref" in sub:
        sub = {**schema()["$defs"][sub["$ref"].rsplit("/", 1)[-1]], **sub}
    return f" ({sub['description']})" if sub.get("description") else ""


_PATTERN_WORDS = {  # the schema's string kinds ($defs), in words
    "text": "one line of text (no control characters)",
    "word": "letters, digits, '_', '.', '+' and '-' (no spaces, quotes, '$' or control characters)",
    "path": "a relative path of letters, digits, '_', '.', '/' and '-'",
    "flag": "a compiler flag such as -mcpu=cortex-m4 (no spaces, quotes, '$' or control characters)",
}


def _schema_error(err) -> str:
    """One line for a jsonschema error: what is wrong, and what is allowed (the field's description)."""
    sch = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "additionalProperties":
        return err.message + " (see the board schema: tinybnn boards --new prints every field)"
    value = repr(err.instance)
    value = value if len(value) <= 60 else value[:57] + "..."
    if err.validator == "pattern":
        what = _PATTERN_WORDS.get(next((k for k, d in schema()["$defs"].items() if d.get("pattern") == err.validator_value),
                                       None), f"a string matching {err.validator_value}")
        return f"{value} is not allowed: expected {what}" + (f" ({sch['description']})" if sch.get("description") else "")
    msg = err.message if len(err.message) <= 160 else err.message[:157] + "..."
    return msg + (f"; expected: {sch['description']}" if sch.get("description") and err.validator != "enum" else "")


def validate_board(b: Dict[str, Any], src: str = "<board>", stem: Optional[str] = None) -> None:
    """Raise BoardError (one line: file, field, what is allowed) unless ``b`` is a valid board: the JSON
    Schema (:func:`schema`), then what a schema cannot say (file name, port folders, linker script)."""
    import jsonschema

    if not isinstance(b, dict):
        raise BoardError(f"{src}: expected a JSON object at top level")
    for mem, key in ((b.get("memory"), "memory"), ((b.get("offline") or {}).get("memory"), "offline.memory")):
        if isinstance(mem, dict) and "stack_bytes" in mem:
            _fail(src, key + ".stack_bytes", "the stack reserve is derived from the call graph at build time; "
                  "a board may set a minimum with memory.stack_floor_bytes")
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(b), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        path = [str(k) for k in err.absolute_path]
        if err.validator == "required":
            missing = next(k for k in err.validator_value if k not in err.instance)
            _fail(src, ".".join(path + [missing]), "missing" + _describe(missing, err.schema))
        _fail(src, ".".join(path) or "(top level)", _schema_error(err))
    if stem is not None and stem != b["id"]:
        _fail(src, "id", f"'{b['id']}' does not match the file name '{stem}.json'")
    if b["port"] not in b["port_dirs"]:
        _fail(src, "port_dirs", f"must contain the port family '{b['port']}'")
    firmware = None
    try:
        firmware = data_dir("firmware")
    except FileNotFoundError:
        pass
    if firmware is not None:
        for d in b["port_dirs"]:
            if not (firmware / "port" / d).is_dir():
                _fail(src, "port_dirs", f"no port folder '{d}' (there are: "
                      f"{', '.join(sorted(p.name for p in (firmware / 'port').iterdir() if p.is_dir()))})")
    if not b["emulated"]:
        if "offline" in b:
            _validate_local_build(offline_board(b), src, firmware, prefix="offline.")
        elif b["verified"] == "offline-compile":
            _fail(src, "verified", "'offline-compile' needs an 'offline' block")
        return
    _validate_local_build(b, src, firmware)


def field_docs() -> Dict[str, str]:
    """Every field of a board file with its explanation, from the schema: {"serial.baud": "baud rate", ...}."""
    sch = schema()
    defs = sch.get("$defs", {})
    out: Dict[str, str] = {}

    def walk(node: Dict[str, Any], prefix: str) -> None:
        for key, sub in node.get("properties", {}).items():
            if key.startswith("$"):
                continue
            while "$ref" in sub:  # a named definition: its own description unless the field has one
                ref = defs[sub["$ref"].rsplit("/", 1)[-1]]
                sub = {**ref, **{k: v for k, v in sub.items() if k != "$ref"}}
            if sub.get("description"):
                out[prefix + key] = sub["description"]
            walk(sub, prefix + key + ".")

    walk(sch, "")
    return out


def new_board(name: str, template: str, out_dir: Union[str, os.PathLike]) -> Path:
    """Write ``<out_dir>/<name>.json``: a copy of board ``template`` under the id ``name``, with every field
    explained in its "$comment" block. Refuses to overwrite a file; the result is validated."""
    if not re.fullmatch(schema()["$defs"]["word"]["pattern"].strip("^$"), name):
        raise BoardError(f"board id '{name}': use letters, digits, '_', '.', '+' and '-' (starting with a letter "
                         "or digit)")
    base = dict(load_board(template))
    base["id"] = name
    base["name"] = f"{name} (started from {template}: edit every field for your board)"
    board = {"$comment": field_docs(), **base}
    path = Path(out_dir) / f"{name}.json"
    if path.exists():
        raise BoardError(f"{path}: already exists; not overwritten")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(board, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise BoardError(f"{path}: cannot write the board file: {exc.strerror}") from None
    load_board(path)
    return path


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
    """What a board built by the in-repo platform needs beyond the schema: memory map = linker script."""
    flash, ram = b["flash_bytes"], b["ram_bytes"]
    regions = {r["name"]: (int(r["origin"], 16), r["length"]) for r in b["memory"]["regions"]}
    for need in ("FLASH", "RAM"):
        if need not in regions:
            _fail(src, prefix + "memory.regions", f"no region named {need}")
    if regions["FLASH"][1] != flash:
        _fail(src, prefix + "flash_bytes", f"{flash} differs from memory FLASH length {regions['FLASH'][1]}")
    if regions["RAM"][1] != ram:
        _fail(src, prefix + "ram_bytes", f"{ram} differs from memory RAM length {regions['RAM'][1]}")
    if stack_floor(b) >= ram:
        _fail(src, prefix + "memory.stack_floor_bytes", f"must be below ram_bytes, got {stack_floor(b)}")
    ld = b["linker_script"]
    if firmware is not None:
        script = firmware / "port" / ld
        if not script.is_file():
            _fail(src, prefix + "linker_script", f"no linker script '{ld}' in tinybnn's firmware/port/")
        in_script = _ld_memory(script.read_text(encoding="utf-8"))
        if in_script != regions:
            _fail(src, prefix + "memory", f"regions {_fmt(regions)} differ from MEMORY in {ld}: {_fmt(in_script)}")


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
