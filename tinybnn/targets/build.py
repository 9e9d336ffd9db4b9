"""``tinybnn build``: a PlatformIO firmware project for a board, built, and (emulated boards) run.

The project holds the generated model (:mod:`tinybnn.backend.codegen`), the reference kernels, the portable
runtime (``firmware/runtime``), a boot self-test sample, and the board's port layer
(:func:`tinybnn.targets.platformio.write_project`). Before anything is written the model is checked against the
board's flash and RAM, with the numbers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._version import __version__
from ..backend import codegen
from ..backend.ctext import environment
from .boards import LOCAL_PLATFORM, data_dir, load_board, stack_floor
from ..errors import TinyBnnError

# Flash the runtime needs beyond the model's constant arrays, for the fit check before a build: an upper
# bound of what the code measures on the boards here (footprint: kernels + model glue + runtime + port +
# libc; about 5.3 KB on Cortex-M4 at -O2). The real figure is printed after the build.
CODE_ALLOWANCE = 12 * 1024
RUNTIME_SELFTEST = ("tb_main.c", "tb_print.c", "tb_print.h")
RUNTIME_SERVE = ("tb_protocol.c", "tb_protocol.h", "tb_serve.c")
OPT_LEVELS = ("O2", "Os", "O3")


@dataclass
class FirmwareBuild:
    project: Path
    board: dict
    elf: Path
    map: Path
    flash_used: int | None
    ram_used: int | None
    weight_bytes: int
    arena_bytes: int
    hash: str
    seconds: float
    kernel_variant: str = "reference"


def fit_check(rendered, board: dict) -> None:
    """Refuse a model that cannot fit the board, before building, with the numbers."""
    stack = stack_floor(board)  # the reserve itself is derived from the call graph (platformio.run_pio)
    flash_need = rendered.weight_bytes + CODE_ALLOWANCE
    ram_need = rendered.arena_bytes + stack
    problems = []
    if flash_need > board["flash_bytes"]:
        problems.append(f"flash: {rendered.weight_bytes:,} bytes of weights and thresholds + about "
                        f"{CODE_ALLOWANCE:,} of code = {flash_need:,} > {board['flash_bytes']:,}")
    if ram_need > board["ram_bytes"]:
        problems.append(f"RAM: {rendered.arena_bytes:,} bytes of arena + {stack:,} of stack (the board's floor) "
                        f"= {ram_need:,} > {board['ram_bytes']:,}")
    if problems:
        raise TinyBnnError(f"the model does not fit board '{board['id']}': " + "; ".join(problems))


def _render_sample(model, rendered, sample) -> dict[str, bytes]:
    if sample is None:
        q = np.zeros((1,) + model.device_input_shape, dtype=np.int8)
        note = "all-zero int8 codes"
    else:
        q = model.quantize(np.asarray(sample, dtype=np.float32)[None])
        note = "the first sample of the given data, quantized on the host"
    expected = model.run_quantized(q)
    env = environment()
    ctx = {"version": __version__, "hash": rendered.hash, "input_note": note,
           "input_body": codegen.c_array_body("int8_t", q.reshape(-1)),
           "expected_body": codegen.c_array_body("int32_t", expected.reshape(-1))}
    return {name: env.get_template(name + ".j2").render(**ctx).encode()
            for name in ("model_sample.c", "model_sample.h")}


def _write_project(model, r, board: dict, out_dir, sample, app: str, flags: list, force: bool) -> Path:
    """Stage the model, kernels, sample and runtime sources and write the PlatformIO project from them."""
    from . import platformio
    from ..plumbing import deferred_signals

    runtime = data_dir("firmware") / "runtime"
    names = RUNTIME_SELFTEST + (RUNTIME_SERVE if app == "serve" else ())
    missing = [n for n in names if not (runtime / n).is_file()]
    if missing:
        raise TinyBnnError(f"firmware runtime files missing: {', '.join(missing)}: this tinybnn installation is "
                           "incomplete; reinstall it (pip install --force-reinstall tinybnn, or pip install -e . "
                           "in its clone)")
    with tempfile.TemporaryDirectory(prefix="tinybnn-stage-") as td:
        stage = Path(td) / "tinybnn"
        stage.mkdir()
        for name, data in {**r.files, **_render_sample(model, r, sample)}.items():
            if name.endswith((".c", ".h", ".S")):  # .S: a kernel variant's assembly
                (stage / name).write_bytes(data)
        for n in names:
            shutil.copy2(runtime / n, stage / n)
        with deferred_signals():  # an interrupted rewrite would leave a project the next build refuses
            return Path(platformio.write_project(board, out_dir, [stage], extra_build_flags=flags,
                                                 force=force)).resolve()


def _run_build(project: Path, board: dict, jobs, verbose: bool, log):
    """Run PlatformIO on the project; its output is saved in build.log whether it succeeds or fails."""
    from . import platformio

    build_log = Path(project) / "build.log"
    jobs = jobs or os.cpu_count() or 1
    if log is not None and (verbose or (hasattr(log, "isatty") and log.isatty())):  # a terminal, not a pipe
        print(f"building the firmware for {board['id']} with PlatformIO ({jobs} job{'s' if jobs > 1 else ''}; "
              f"log: {build_log})", file=log, flush=True)
    try:
        res = platformio.run_pio(project, jobs=jobs, verbose=verbose)
    except platformio.PlatformIOError as e:
        if not e.output:  # refused before PlatformIO ran (no compiler, no registry): the log says why
            build_log.write_text(f"tinybnn: error: {e}\n")
            raise
        build_log.write_text(e.output)
        if verbose and log is not None:
            print(e.output.rstrip(), file=log, flush=True)
        raise platformio.PlatformIOError(f"{e} (full log: {build_log})", e.output) from None
    build_log.write_text(res.output)
    if verbose and log is not None:
        print(res.output.rstrip(), file=log, flush=True)
    return res


def build(model, board_id, out_dir, *, sample=None, app: str = "selftest", opt: str = "O2",
          jobs: int | None = None, offline_check: bool = False, generate_only: bool = False,
          kernel_checks: bool = False, variant: str | None = None, verbose: bool = False,
          log=None, force: bool = False) -> FirmwareBuild:
    """Write and build the firmware project for ``board_id`` (an id, a board file's path or a loaded board)
    in ``out_dir``; the board's data is recorded in the project's tinybnn-build.json.

    ``offline_check``: for a real board, compile and link with its CPU flags and memory map through the
    in-repo platform instead of its official PlatformIO platform (see the board's "offline" block).
    ``generate_only``: write the project without running PlatformIO.
    ``kernel_checks``: keep the kernels' runtime argument checks (TB_KERNEL_CHECKS). Off by default: the
    generated model passes constant parameters the converter has validated.
    ``variant``: the kernel family (tinybnn.backend.kernels) instead of the board file's "kernel_variant"
    ("reference" to compare against it).
    ``jobs``: parallel compiler jobs (default: the machine's cores). ``verbose``: PlatformIO's full compiler
    command lines in the log. PlatformIO's output is saved as ``build.log`` in the project, whether the build
    succeeds or fails; ``log`` (a text stream, e.g. sys.stderr) also receives a line when the build starts
    (on a terminal, or with ``verbose``) and, with ``verbose``, the whole log.
    ``force``: overwrite files of the project the user changed (tinybnn.targets.tracked; kept and refused otherwise).
    """
    from . import platformio
    from .boards import offline_board
    from ..plumbing import check_build_path, write_atomic

    board = given = load_board(board_id)  # an id, a path or a board dict: carried as data from here on
    src = (f"board '{board.get('id')}'" if isinstance(board_id, dict) or not str(board_id).endswith(".json")
           else str(board_id))
    platformio.check_board(board, src)  # before anything is written: nothing may escape into a build
    check_build_path(out_dir, "build folder")
    if offline_check and not board["emulated"]:
        board = offline_board(board)
        platformio.check_board(board, src)
    if opt not in OPT_LEVELS:
        raise TinyBnnError(f"--opt {opt}: choose one of {', '.join(OPT_LEVELS)}")
    variant = board["kernel_variant"] if variant is None else variant
    r = codegen.prepare(model, variant)
    fit_check(r, board)
    flags = ([f"-{opt}"] + (["-DTB_APP_SERVE=1"] if app == "serve" else [])
             + ([] if kernel_checks else ["-DTB_KERNEL_CHECKS=0"]) + r.defines)
    project = _write_project(model, r, board, out_dir, sample, app, flags, force)
    write_atomic(Path(out_dir) / "manifest.json", r.files["manifest.json"])
    if generate_only:
        info = {"board": board["id"], "board_data": given, "model_hash": r.hash, "app": app, "opt": opt,
                "generated_only": True,
                "weight_bytes": r.weight_bytes, "arena_bytes": r.arena_bytes}
        write_atomic(Path(project) / "tinybnn-build.json", json.dumps(info, indent=2, sort_keys=True) + "\n")
        return FirmwareBuild(project=Path(project), board=board, elf=None, map=None, flash_used=None,
                             ram_used=None, weight_bytes=r.weight_bytes, arena_bytes=r.arena_bytes, hash=r.hash,
                             seconds=0.0, kernel_variant=variant)
    res = _run_build(project, board, jobs, verbose, log)
    info = {"board": board["id"], "board_data": given, "model_hash": r.hash, "app": app, "opt": opt,
            "offline_check": offline_check,
            "kernel_variant": variant,
            "elf": str(res.elf.relative_to(project)), "map": str(res.map.relative_to(project)),
            "weight_bytes": r.weight_bytes, "arena_bytes": r.arena_bytes,
            "flash_used": res.flash_used, "ram_used": res.ram_used, "stack": res.stack}
    write_atomic(Path(project) / "tinybnn-build.json", json.dumps(info, indent=2, sort_keys=True) + "\n")
    return FirmwareBuild(project=Path(project), board=board, elf=res.elf, map=res.map,
                         flash_used=res.flash_used, ram_used=res.ram_used, weight_bytes=r.weight_bytes,
                         arena_bytes=r.arena_bytes, hash=r.hash, seconds=res.seconds, kernel_variant=variant)


def run_refusal(board: dict, offline_check: bool) -> str:
    """Why ``--run`` cannot boot a real board, and what to do instead (no upload hint for an offline-check
    build: it is linked for a bare-metal check, not for the board's official platform)."""
    if offline_check:
        return (f"board '{board['id']}' is a real board: --run boots emulated boards only, and an --offline-check "
                "build only proves that the firmware compiles and links; to run it on the board, build and flash "
                f"it with: tinybnn validate MODEL --board {board['id']} --data FILE.npz --flash --port PORT")
    return (f"board '{board['id']}' is a real board: --run boots emulated boards only; flash and validate it with: "
            f"tinybnn validate MODEL --board {board['id']} --data FILE.npz --flash --port PORT")


@dataclass
class SelftestResult:
    exit_code: int
    output: np.ndarray | None
    count: int | None
    count_kind: str | None
    stack_used: int | None
    hash: str | None
    log: str


def parse_selftest(log: str) -> SelftestResult:
    out = re.search(r"^output((?: -?\d+)*)\s*$", log, re.M)
    cnt = re.search(r"^count (\d+) (\w+)", log, re.M)
    st = re.search(r"^stack (\d+) of (\d+)", log, re.M)
    hs = re.search(r"hash=([0-9a-f]+)", log)
    return SelftestResult(
        exit_code=-1, output=np.array([int(v) for v in out.group(1).split()], dtype=np.int64) if out else None,
        count=int(cnt.group(1)) if cnt else None, count_kind=cnt.group(2) if cnt else None,
        stack_used=int(st.group(1)) if st else None, hash=hs.group(1) if hs else None, log=log)


def run_selftest(fw: FirmwareBuild, timeout: float = 60.0) -> SelftestResult:
    """Boot the firmware on its emulated board and read the self-test's report."""
    from .qemu import run_to_exit

    if not fw.board.get("emulated"):
        raise TinyBnnError(run_refusal(fw.board, fw.board["platformio"]["platform"] == LOCAL_PLATFORM))
    code, raw = run_to_exit(fw.elf, fw.board, timeout=timeout)
    log = raw.decode("utf-8", "replace")
    (fw.project / "selftest.log").write_text(log)
    res = parse_selftest(log)
    res.exit_code = code
    return res
