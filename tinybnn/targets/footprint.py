"""``tinybnn footprint``: flash and RAM of a firmware, read from its ELF and linker map.

Totals come from the ELF (pyelftools): flash = the bytes loaded into the board's flash region (code,
constants and the initial image of .data), RAM = every allocated section placed in the RAM region (.data,
.bss, the reserved stack). The breakdown attributes each input section of the linker map to a component
by the object file it came from:

  weights  packed weights, thresholds and flip masks (model_weights.o)
  model    the generated layer sequence, parameters and layer table (model.o), minus the arena, and the
           float boundary on the device (model_io.o: quantization, output affine, class)
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

from ..backend.codegen import ARENA_SYMBOL
from ..errors import TinyBnnError

COMPONENTS = ("weights", "model", "arena", "sample", "kernels", "runtime", "port", "libc", "stack", "other")
KERNEL_OBJECTS = re.compile(r"(^|/)(tb_(common|conv2d_\w+|dense_\w+|maxpool_\w+|popcount\w*|kernel\w*|bgemm_\w+|opt_\w+|tree)"
                            r"|model_kernels(_\w+)?)\.o$")
RUNTIME_OBJECTS = re.compile(r"(^|/)(tb_main|tb_print|tb_protocol|tb_serve|tb_\w*app\w*)\.o$")


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

    def ram_equation(self) -> str:
        """' = arena A + static data D + stack S', the figure to size a part by (empty without a map)."""
        rc = self.ram_components
        if not rc:
            return ""
        arena, stack = rc.get("arena", 0), rc.get("stack", 0)
        return f" = arena {arena:,} + static data {self.ram - arena - stack:,} + stack {stack:,}"

    def text(self, file=None) -> str:
        """The footprint as text; the component table drawn for ``file`` (a terminal gets its width)."""
        lim_f, lim_r = self.limits.get("flash_bytes"), self.limits.get("ram_bytes")
        pct = lambda v, lim: f" ({100 * v / lim:.2f}% of {lim:,})" if lim else ""  # noqa: E731
        lines = [f"flash {self.flash:>9,} bytes{pct(self.flash, lim_f)}",
                 f"RAM   {self.ram:>9,} bytes{pct(self.ram, lim_r)}" + self.ram_equation()]
        rows = [(c, f"{self.flash_components.get(c, 0):,}", f"{self.ram_components.get(c, 0):,}")
                for c in COMPONENTS if self.flash_components.get(c, 0) or self.ram_components.get(c, 0)]
        if rows:
            from ..console import table_text

            lines.append(table_text(("component", "flash", "RAM"), rows, right=(1, 2), file=file))
        s = self.stack
        if s:
            msg = f"stack: {s.get('reserved', 0):,} bytes reserved"
            if s.get("static_worst") is not None:
                msg += (f" = static worst case {s['static_worst']:,} + margin ({s.get('static_path', '')})"
                        if s.get("derived") else f", static worst case {s['static_worst']:,} "
                        f"({s.get('static_path', '')})")
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
    if base == "model_io.o":  # the float boundary (quantize, output affine, class): model glue
        return "model"
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
# The stack reserve a build links: the static worst case over the whole call graph (below) plus this margin,
# rounded up; never less than the board file's optional floor (memory.stack_floor_bytes).
STACK_MARGIN_BYTES = 256       # fixed part of the margin (libc helpers without stack-usage data, alignment)
STACK_MARGIN_FRACTION = 4      # and a quarter of the static worst case
STACK_ALIGN = 64

# Branch relocations: a symbol referenced by any other relocation has its address taken (a callback, a
# function pointer table), so it is a possible target of an indirect call.
_CALL_RELOCS = {
    "EM_ARM": {10, 28, 29, 30, 51, 102, 103},        # THM_CALL, CALL, JUMP24, THM_JUMP24, THM_JUMP19/11/8
    "EM_RISCV": {16, 17, 18, 19, 44, 45, 51},        # BRANCH, JAL, CALL, CALL_PLT, RVC_BRANCH/JUMP, RELAX
}
_HANDLER = re.compile(r"(_Handler|_IRQHandler|_trap|fault_handler)$")
# an exception entry pushes r0-r3, r12, lr, pc, xPSR (32 bytes) plus, with an FPU, s0-s15 and FPSCR (+72)
# and up to 4 bytes of alignment; a RISC-V trap pushes nothing in hardware
_EXC_FRAME = {"arm": 32 + 4, "arm-fpu": 104 + 4, "riscv": 0}


def _asm_frames(sources: Path) -> dict[str, int]:
    """Stack of the hand-written and generated assembly functions: registers pushed plus ``sub sp``."""
    frames: dict[str, int] = {}
    for src in Path(sources).rglob("*.S"):
        if ".pio" in src.parts:
            continue
        fn = None
        for ln in src.read_text(errors="replace").splitlines():
            ln = ln.split("@")[0].split("//")[0].strip()
            m = re.match(r"([A-Za-z_]\w*):$", ln)
            if m and not m.group(1).startswith("."):
                fn = m.group(1)
                frames.setdefault(fn, 0)
                continue
            if fn is None:
                continue
            m = re.match(r"(push|stmdb\s+sp!,)\s*\{([^}]*)\}", ln)
            if m:
                n = 0
                for part in m.group(2).split(","):
                    a, _, b = part.strip().partition("-")
                    n += (int(b[1:]) - int(a[1:]) + 1) if b and a[1:].isdigit() else 1
                frames[fn] += 4 * n
                continue
            m = re.match(r"sub(?:\.w)?\s+sp,\s*(?:sp,\s*)?#(\d+)", ln) or re.match(r"addi\s+sp,\s*sp,\s*-(\d+)", ln)
            if m:  # Thumb-2 sub sp, or RISC-V addi sp, sp, -N
                frames[fn] += int(m.group(1))
    return frames


def _address_taken(build_dir: Path) -> tuple[set, str | None]:
    """Functions whose address is taken anywhere in the build's objects, and the machine ("arm"/"riscv")."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection

    taken, machine = set(), None
    for obj in Path(build_dir).rglob("*.o"):
        try:
            with open(obj, "rb") as f:
                elf = ELFFile(f)
                mach = elf["e_machine"]
                machine = {"EM_ARM": "arm", "EM_RISCV": "riscv"}.get(mach, machine)
                calls = _CALL_RELOCS.get(mach, set())
                symtab = elf.get_section_by_name(".symtab")
                if symtab is None:
                    continue
                for sec in elf.iter_sections():
                    if not isinstance(sec, RelocationSection):
                        continue
                    target = elf.get_section(sec["sh_info"])  # only code and data: not debug info, unwind tables
                    if not target["sh_flags"] & 0x2 or target.name.startswith(".ARM.ex"):
                        continue
                    for r in sec.iter_relocations():
                        if r["r_info_type"] in calls:
                            continue
                        sym = symtab.get_symbol(r["r_info_sym"])
                        kind = sym["st_info"]["type"]
                        if kind == "STT_FUNC" or (kind == "STT_NOTYPE" and sym["st_shndx"] == "SHN_UNDEF"):
                            taken.add(sym.name)
                        elif sym["st_info"]["type"] == "STT_SECTION":  # -ffunction-sections: .text.<name>
                            name = elf.get_section(sym["st_shndx"]).name
                            if name.startswith(".text."):
                                taken.add(name[len(".text."):])
        except Exception:  # noqa: BLE001 - not an ELF object we can read: it adds no edge
            continue
    return taken, machine


def static_stack(build_dir: Path, entries=("Reset_Handler", "_start", "tb_main"), fpu: bool = False,
                 sources: Path | None = None) -> tuple[int | None, str]:
    """Worst-case stack over the whole call graph: GCC's .ci files (-fcallgraph-info=su) for C, the
    assembly's pushes, indirect calls resolved to every function whose address is taken, and the deepest
    interrupt or fault handler (with its hardware exception frame) on top of the deepest main path.
    ``build_dir`` holds the objects and .ci files; ``sources`` the assembly sources (default: the project
    around a PlatformIO build directory, else ``build_dir``)."""
    build_dir = Path(build_dir)
    if sources is None:
        sources = next((p for p in build_dir.parents if (p / "platformio.ini").is_file()), build_dir)
    frames: dict[str, int] = {}
    edges: dict[str, set] = {}
    for ci in build_dir.rglob("*.ci"):
        text = ci.read_text(errors="replace")
        for m in re.finditer(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n(\d+) bytes', text):
            frames[m.group(1)] = max(frames.get(m.group(1), 0), int(m.group(2)))
        for m in re.finditer(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', text):
            edges.setdefault(m.group(1), set()).add(m.group(2))
    if not frames:
        return None, ""
    # the root is a C function (assembly start-up code is a leaf here: its calls are not traced)
    root = next((e for e in entries if e in frames), None)
    if root is None:
        return None, ""
    for fn, size in _asm_frames(sources).items():  # assembly kernels: leaves called from C
        frames.setdefault(fn, size)
    taken, machine = _address_taken(build_dir)
    # the vector table takes the handlers' addresses: they are not callbacks. GCC names a static function
    # "file.c:fn" in its call graph, the object files by its symbol "fn": match both
    indirect = sorted(f for f in frames if (f in taken or f.rsplit(":", 1)[-1] in taken)
                      and not _HANDLER.search(f) and f not in entries)
    memo: dict[str, tuple[int, list]] = {}
    active: set = set()

    def worst(fn):
        if fn in memo:
            return memo[fn]
        if fn in active:  # recursion: the graph has a cycle through fn; its depth is not bounded statically
            return 0, [fn + " (recursive)"]
        active.add(fn)
        best, path = 0, []
        for callee in sorted(edges.get(fn, ())):
            for target in (indirect if callee == "__indirect_call" else [callee]):
                w, p = worst(target)
                if w > best:
                    best, path = w, p
        active.discard(fn)
        memo[fn] = (frames.get(fn, 0) + best, [fn] + path)
        return memo[fn]

    total, path = worst(root)
    handlers = [h for h in frames if _HANDLER.search(h) and h not in entries and h != "Reset_Handler"]
    if handlers:
        exc = _EXC_FRAME["riscv" if machine == "riscv" else ("arm-fpu" if fpu else "arm")]
        h_worst, h = max((worst(h)[0], h) for h in sorted(handlers))
        total += h_worst + exc
        return total, " > ".join(path) + f" + interrupt {h} ({h_worst + exc} with its exception frame)"
    return total, " > ".join(path)


def stack_reserve(static_worst: int, floor: int = 0) -> int:
    """The stack a build reserves for a static worst case: worst + margin, rounded up, at least ``floor``."""
    need = static_worst + STACK_MARGIN_BYTES + static_worst // STACK_MARGIN_FRACTION
    return max(int(floor), -(-need // STACK_ALIGN) * STACK_ALIGN)


# ----------------------------------------------------------------------------- ELF -----------
def _regions(board) -> dict:
    regs = {}
    for r in (board or {}).get("memory", {}).get("regions", []):
        regs[r["name"]] = (int(str(r["origin"]), 0), int(r["length"]))
    return regs


def _in(addr, region):
    return region is not None and region[0] <= addr < region[0] + region[1]


def measure(elf_path, board: dict | None = None, map_path=None, selftest_log: str | None = None,
            stack: dict | None = None) -> Footprint:
    """``stack``: the stack analysis the build recorded (tinybnn-build.json), else it is redone here."""
    elf_path = Path(elf_path)
    sections, loads = _read_elf(elf_path)
    regs = _regions(board)
    flash_r, ram_r = regs.get("FLASH"), regs.get("RAM")

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
    map_path = Path(map_path) if map_path else elf_path.with_suffix(".map")
    fp.flash_components, fp.ram_components = _components(map_path, sections, lma, flash_r, ram_r, flash, ram)
    fp.stack = _stack_report(elf_path, board, sections, stack, selftest_log)
    return fp


def _read_elf(elf_path: Path) -> tuple[list, list]:
    """The allocated sections (name, address, size, has bytes) and the PT_LOAD segments (vaddr, paddr, filesz)."""
    from elftools.elf.elffile import ELFFile

    if not elf_path.is_file():
        raise TinyBnnError(f"{elf_path}: no such ELF file")
    try:
        f = open(elf_path, "rb")
        elf = ELFFile(f)
    except Exception as e:
        raise TinyBnnError(f"{elf_path}: not an ELF file ({type(e).__name__})") from None
    with f:
        sections = []
        for s in elf.iter_sections():
            if not (s["sh_flags"] & 0x2) or s["sh_size"] == 0:  # SHF_ALLOC
                continue
            sections.append((s.name, s["sh_addr"], s["sh_size"], s["sh_type"] != "SHT_NOBITS"))
        loads = [(p["p_vaddr"], p["p_paddr"], p["p_filesz"]) for p in elf.iter_segments() if p["p_type"] == "PT_LOAD"]
    return sections, loads


def _components(map_path: Path, sections, lma, flash_r, ram_r, flash: int, ram: int) -> tuple[dict, dict]:
    """Flash and RAM by component (:data:`COMPONENTS`), from the linker map's input sections."""
    out_sections = {name: (addr, size, prog) for name, addr, size, prog in sections}
    fc = {c: 0 for c in COMPONENTS}
    rc = {c: 0 for c in COMPONENTS}
    if not map_path.is_file():
        return fc, rc
    for out_sec, in_sec, addr, size, obj in parse_map(map_path.read_text(errors="replace")):
        if out_sec not in out_sections:
            continue
        _, _, prog = out_sections[out_sec]
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
    return fc, rc


def _stack_report(elf_path: Path, board, sections, stack: dict | None, selftest_log: str | None) -> dict:
    """The stack reserve, the static worst case (recorded by the build or analysed now) and the measured use."""
    reserved = next((size for name, _, size, _ in sections if name == ".stack"), None)
    if stack is not None and stack.get("static_worst") is not None:
        worst, path = stack["static_worst"], stack.get("static_path", "")
    else:
        worst, path = static_stack(elf_path.parent, fpu=(board or {}).get("fpu") is not None)
    report = {"reserved": reserved, "static_worst": worst, "static_path": path, "measured": None,
              # the build derived the reserve from this worst case (platformio.run_pio)
              "derived": bool(stack) and stack.get("reserved") == reserved}
    if selftest_log:
        m = re.search(r"^stack (\d+) of (\d+)", selftest_log, re.M)
        if m:
            report["measured"] = int(m.group(1))
    return report


def from_build(path) -> Footprint:
    """A build directory written by ``tinybnn build`` (reads its tinybnn-build.json), or an ELF file."""
    p = Path(path)
    if p.is_dir():
        info_p = p / "tinybnn-build.json"
        if not info_p.is_file():
            raise TinyBnnError(f"{p}: not a tinybnn build directory (no tinybnn-build.json)")
        try:
            info = json.loads(info_p.read_text())
            if not info.get("generated_only"):
                info["elf"], info["map"], info["board"]
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            raise TinyBnnError(f"{info_p}: damaged build record (rebuild with tinybnn build)") from None
        from .boards import load_board, offline_board

        if info.get("generated_only"):
            raise TinyBnnError(f"{p}: the project was only generated (no ELF): build it with PlatformIO first")
        board = load_board(info.get("board_data") or info["board"])  # the board as built, not looked up again
        if info.get("offline_check"):
            board = offline_board(board)
        log = (p / "selftest.log").read_text() if (p / "selftest.log").is_file() else None
        return measure(p / info["elf"], board, p / info["map"], selftest_log=log, stack=info.get("stack"))
    return measure(p)
