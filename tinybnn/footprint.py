"""``tinybnn footprint``: flash and RAM of a firmware, read from its ELF and linker map.

Totals come from the ELF (pyelftools): flash = the bytes loaded into the board's flash region (code,
constants and the initial image of .data), RAM = every allocated section placed in the RAM region (.data,
.bss, the reserved stack). The breakdown attributes each input section of the linker map to a component
by the object file it came from:

  weights  packed weights, thresholds and flip masks (model_weights.o)
  model    the generated layer sequence, parameters and layer table (model.o), minus the arena
  arena    the activation arena (model.o .bss)
  sample   the built-in self-test sample (model_sample.o)
  kernels  the binary/int8 kernels (tb_*.o of firmware/kernels)
  runtime  the application (self-test, protocol, printing)
  port     start-up, UART, counters (firmware/port)
  libc     C library and compiler support (libc, libgcc, ...)
  stack    the reserved stack
  other    alignment fill and anything unattributed

Stack: the reserved size, a static worst case over the call graph (GCC -fstack-usage and
-fcallgraph-info), and the high-water mark measured on the device when a self-test log is given.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TinyBnnError

COMPONENTS = ("weights", "model", "arena", "sample", "kernels", "runtime", "port", "libc", "stack", "other")
KERNEL_OBJECTS = re.compile(r"(^|/)(tb_(common|conv2d_\w+|dense_\w+|maxpool_\w+|popcount\w*|kernel\w*|bgemm_\w+|opt_\w+|tree)"
                            r"|model_kernels(_\w+)?)\.o$")
RUNTIME_OBJECTS = re.compile(r"(^|/)(tb_main|tb_print|tb_protocol|tb_serve|tb_\w*app\w*)\.o$")
ARENA_SYMBOL = "arena"


@dataclass
class Footprint:
    elf: str
    flash: int
    ram: int
    flash_components: dict = field(default_factory=dict)
    ram_components: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)
    stack: dict = field(default_factory=dict)
    board: str | None = None

    @property
    def components(self) -> dict:
        return {c: self.flash_components.get(c, 0) + self.ram_components.get(c, 0) for c in COMPONENTS}

    def as_dict(self) -> dict:
        return {"elf": self.elf, "board": self.board, "flash": self.flash, "ram": self.ram,
                "components": self.components, "flash_components": self.flash_components,
                "ram_components": self.ram_components, "limits": self.limits, "stack": self.stack}

    def text(self) -> str:
        lim_f, lim_r = self.limits.get("flash_bytes"), self.limits.get("ram_bytes")
        pct = lambda v, lim: f" ({100 * v / lim:.2f}% of {lim:,})" if lim else ""  # noqa: E731
        lines = [f"flash {self.flash:>9,} bytes{pct(self.flash, lim_f)}",
                 f"RAM   {self.ram:>9,} bytes{pct(self.ram, lim_r)}",
                 f"{'component':<10} {'flash':>9} {'RAM':>9}"]
        for c in COMPONENTS:
            f, r = self.flash_components.get(c, 0), self.ram_components.get(c, 0)
            if f or r:
                lines.append(f"{c:<10} {f:>9,} {r:>9,}")
        s = self.stack
        if s:
            msg = f"stack: {s.get('reserved', 0):,} bytes reserved"
            if s.get("static_worst") is not None:
                msg += f", static worst case {s['static_worst']:,} ({s.get('static_path', '')})"
            if s.get("measured") is not None:
                msg += f", measured high-water mark {s['measured']:,}"
            lines.append(msg)
        return "\n".join(lines)


# ----------------------------------------------------------------------------- map file ------
_MAP_START = "Linker script and memory map"
_OUT_SEC = re.compile(r"^(\.[\w.]+|[A-Za-z_][\w.]*)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)")
_IN_SEC_FULL = re.compile(r"^ (\*fill\*|[.\w*]\S*)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s*(.*)$")
_IN_SEC_NAME = re.compile(r"^ ([.\w]\S*)\s*$")
_CONT = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")


def parse_map(text: str) -> list[tuple[str, str, int, int, str]]:
    """Input sections of a GNU ld map: (output section, input section, address, size, object)."""
    out = []
    lines = text.splitlines()
    try:
        i = next(k for k, ln in enumerate(lines) if ln.startswith(_MAP_START))
    except StopIteration:
        raise TinyBnnError("map file has no 'Linker script and memory map' section") from None
    cur = None
    pending = None
    for ln in lines[i + 1:]:
        m = _OUT_SEC.match(ln)
        if m and not ln.startswith(" "):
            cur = m.group(1)
            pending = None
            continue
        if ln and not ln.startswith(" ") and not ln.startswith("\t"):
            # an output section name alone on its line (long names), e.g. ".ARM.attributes"
            nm = ln.split()[0]
            if nm.startswith("."):
                cur = nm
            pending = None
            continue
        m = _IN_SEC_FULL.match(ln)
        if m and cur:
            name, addr, size, obj = m.group(1), int(m.group(2), 16), int(m.group(3), 16), m.group(4).strip()
            if name == "*fill*":
                obj = "*fill*"
            if size and obj:
                out.append((cur, name, addr, size, obj))
            pending = None
            continue
        m = _IN_SEC_NAME.match(ln)
        if m:
            pending = m.group(1)
            continue
        m = _CONT.match(ln)
        if m and pending and cur:
            addr, size, obj = int(m.group(1), 16), int(m.group(2), 16), m.group(3).strip()
            if size:
                out.append((cur, pending, addr, size, obj))
            pending = None
    return out


def component_of(obj: str, in_section: str) -> str:
    o = obj.replace("\\", "/")
    base = o.rsplit("/", 1)[-1]
    if obj == "*fill*":
        return "other"
    if base == "model_weights.o":
        return "weights"
    if base == "model.o":
        return "arena" if in_section.startswith(".bss") and ARENA_SYMBOL in in_section else "model"
    if base == "model_sample.o":
        return "sample"
    if KERNEL_OBJECTS.search(o):
        return "kernels"
    if "/port/" in o:
        return "port"
    if RUNTIME_OBJECTS.search(o):
        return "runtime"
    if re.search(r"lib(c|c_nano|g|g_nano|gcc|m|nosys|semihost|crt0)\w*\.a\(|/lib(c|gcc)\w*\.a$|crt\w*\.o$", o):
        return "libc"
    return "other"


# ----------------------------------------------------------------------------- stack ---------
def static_stack(build_dir: Path, entries=("Reset_Handler", "_start", "tb_main")) -> tuple[int | None, str]:
    """Worst-case stack over the call graph from GCC's .ci files (-fcallgraph-info=su)."""
    frames: dict[str, int] = {}
    edges: dict[str, set] = {}
    for ci in Path(build_dir).rglob("*.ci"):
        text = ci.read_text(errors="replace")
        for m in re.finditer(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n(\d+) bytes', text):
            frames[m.group(1)] = max(frames.get(m.group(1), 0), int(m.group(2)))
        for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            edges.setdefault(m.group(1), set()).add(m.group(2))
    if not frames:
        return None, ""
    memo: dict[str, tuple[int, list]] = {}

    def worst(fn, depth=0):
        if fn in memo:
            return memo[fn]
        if depth > 200:
            return 0, [fn + "(recursion?)"]
        best, path = 0, []
        for callee in sorted(edges.get(fn, ())):
            if callee == "__indirect_call":
                continue
            w, p = worst(callee, depth + 1)
            if w > best:
                best, path = w, p
        memo[fn] = (frames.get(fn, 0) + best, [fn] + path)
        return memo[fn]

    root = next((e for e in entries if e in frames), None)
    if root is None:
        return None, ""
    total, path = worst(root)
    return total, " > ".join(path)


# ----------------------------------------------------------------------------- ELF -----------
def _regions(board) -> dict:
    regs = {}
    for r in (board or {}).get("memory", {}).get("regions", []):
        regs[r["name"]] = (int(str(r["origin"]), 0), int(r["length"]))
    return regs


def _in(addr, region):
    return region is not None and region[0] <= addr < region[0] + region[1]


def measure(elf_path, board: dict | None = None, map_path=None, selftest_log: str | None = None) -> Footprint:
    from elftools.elf.elffile import ELFFile

    elf_path = Path(elf_path)
    if not elf_path.is_file():
        raise TinyBnnError(f"{elf_path}: no such ELF file")
    try:
        f = open(elf_path, "rb")
        elf = ELFFile(f)
    except Exception as e:
        raise TinyBnnError(f"{elf_path}: not an ELF file ({type(e).__name__})") from None
    with f:
        regs = _regions(board)
        flash_r, ram_r = regs.get("FLASH"), regs.get("RAM")
        sections = []
        for s in elf.iter_sections():
            if not (s["sh_flags"] & 0x2) or s["sh_size"] == 0:  # SHF_ALLOC
                continue
            sections.append((s.name, s["sh_addr"], s["sh_size"], s["sh_type"] != "SHT_NOBITS"))
        loads = [(p["p_vaddr"], p["p_paddr"], p["p_filesz"]) for p in elf.iter_segments() if p["p_type"] == "PT_LOAD"]
        symbols = {}
        symtab = elf.get_section_by_name(".symtab")
        if symtab is not None:
            for sym in symtab.iter_symbols():
                symbols[sym.name] = (sym["st_value"], sym["st_size"])

    def lma(addr):
        for v, p, n in loads:
            if v <= addr < v + max(n, 1):
                return p + (addr - v)
        return addr

    if flash_r is None or ram_r is None:  # no board: flash = loaded bytes, RAM = everything writable
        flash = sum(n for _, _, n in loads)
        ram = sum(size for name, addr, size, _ in sections if name in (".data", ".bss", ".stack", ".heap")
                  or name.startswith((".bss", ".data", ".noinit", ".stack")))
    else:
        flash = sum(size for _, addr, size, prog in sections if prog and _in(lma(addr), flash_r))
        ram = sum(size for _, addr, size, _ in sections if _in(addr, ram_r))
    fp = Footprint(elf=str(elf_path), flash=int(flash), ram=int(ram), board=(board or {}).get("id"))
    if board:
        fp.limits = {"flash_bytes": board.get("flash_bytes"), "ram_bytes": board.get("ram_bytes")}

    # breakdown from the map file
    map_path = Path(map_path) if map_path else elf_path.with_suffix(".map")
    out_sections = {name: (addr, size, prog) for name, addr, size, prog in sections}
    fc = {c: 0 for c in COMPONENTS}
    rc = {c: 0 for c in COMPONENTS}
    if map_path.is_file():
        for out_sec, in_sec, addr, size, obj in parse_map(map_path.read_text(errors="replace")):
            if out_sec not in out_sections:
                continue
            o_addr, _, prog = out_sections[out_sec]
            comp = component_of(obj, in_sec)
            if out_sec == ".stack" or in_sec.startswith(".stack"):
                comp = "stack"
            in_ram = ram_r is not None and _in(addr, ram_r)
            in_flash = prog and (flash_r is None or _in(lma(addr), flash_r))
            if in_flash:
                fc[comp] += size
            if in_ram or (ram_r is None and not prog):
                rc[comp] += size
        # what the map does not list as input sections (e.g. the stack reservation) goes to stack/other
        for name, addr, size, prog in sections:
            if name == ".stack" and rc["stack"] == 0:
                rc["stack"] = size
        fc["other"] += max(0, flash - sum(fc.values()))
        rc["other"] += max(0, ram - sum(rc.values()))
    fp.flash_components = {k: v for k, v in fc.items()}
    fp.ram_components = {k: v for k, v in rc.items()}
    # stack
    reserved = next((size for name, _, size, _ in sections if name == ".stack"), None)
    worst, path = static_stack(elf_path.parent)
    fp.stack = {"reserved": reserved, "static_worst": worst, "static_path": path, "measured": None}
    if selftest_log:
        m = re.search(r"^stack (\d+) of (\d+)", selftest_log, re.M)
        if m:
            fp.stack["measured"] = int(m.group(1))
    return fp


def from_build(path) -> Footprint:
    """A build directory written by ``tinybnn build`` (reads its tinybnn-build.json), or an ELF file."""
    p = Path(path)
    if p.is_dir():
        info_p = p / "tinybnn-build.json"
        if not info_p.is_file():
            raise TinyBnnError(f"{p}: not a tinybnn build directory (no tinybnn-build.json)")
        info = json.loads(info_p.read_text())
        from .boards import load_board, offline_board

        if info.get("generated_only"):
            raise TinyBnnError(f"{p}: the project was only generated (no ELF): build it with PlatformIO first")
        board = load_board(info["board"])
        if info.get("offline_check"):
            board = offline_board(board)
        log = (p / "selftest.log").read_text() if (p / "selftest.log").is_file() else None
        return measure(p / info["elf"], board, p / info["map"], selftest_log=log)
    return measure(p)
