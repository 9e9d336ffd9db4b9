"""Host execution of the generated C: compile the rendered model with the system gcc and run it.

The model directory (:func:`tinybnn.backend.codegen.prepare`) plus ``templates/host_main.c.j2`` (a small runner
that reads int8 samples from a file and writes the int32 outputs, or every layer's output through the
``tb_model_run_hooked`` hook) are compiled with ``gcc -std=c99 -Wall -Wextra -Werror -O2`` into an
executable, cached under ``$TINYBNN_CACHE_DIR`` (default: ``<tmp>/tinybnn-hostc-<uid>``) by the model
hash and a digest of every source and flag, so a change to a kernel or a template rebuilds.

With ``TINYBNN_SANITIZE=1`` (or ``sanitize=True``) it is built with
``-fsanitize=address,undefined -fno-sanitize-recover=all``; any report makes the run fail.
An executable (not a ctypes library) keeps a sanitizer report or a crash out of the Python process.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..ir.bits import words
from ..errors import TinyBnnError
from ..ir.layers import INPUT_QUANT, out_dtype

CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2")
SANITIZE_FLAGS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g", "-fno-omit-frame-pointer")
RUN_TIMEOUT_S = 600
EXE_NAME = "model_host"


class HostCError(RuntimeError):
    """The generated C failed to compile or to run: a bug in tinybnn, not a user error."""


def sanitize_enabled(sanitize: bool | None = None) -> bool:
    if sanitize is not None:
        return bool(sanitize)
    return os.environ.get("TINYBNN_SANITIZE", "") not in ("", "0")


def cache_root() -> Path:
    d = os.environ.get("TINYBNN_CACHE_DIR")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    p = Path(d) if d else Path(tempfile.gettempdir()) / f"tinybnn-hostc-{uid}"
    p.mkdir(parents=True, exist_ok=True)
    return p


def compiler() -> str:
    cc = shutil.which("gcc")
    if cc is None:
        raise TinyBnnError("gcc not found: running the generated C on the host (--engine c) needs gcc")
    return cc


@functools.lru_cache(maxsize=None)
def _compiler_id(cc: str) -> str:
    r = subprocess.run([cc, "-dumpfullversion", "-dumpversion"], capture_output=True, text=True)
    return f"{cc} {r.stdout.strip()}"


def sanitizer_env() -> dict:
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    return env


def compile_sources(files: dict, out_dir: Path, exe_name: str, sanitize: bool, extra_flags=()) -> Path:
    """Write ``files`` (name -> bytes) into ``out_dir`` and compile every .c file into ``exe_name``."""
    cc = compiler()
    for name, data in files.items():
        (out_dir / name).write_bytes(data)
    flags = list(CFLAGS) + (list(SANITIZE_FLAGS) if sanitize else []) + list(extra_flags)
    srcs = sorted(n for n in files if n.endswith(".c"))
    cmd = [cc, *flags, "-I.", *srcs, "-o", exe_name]
    r = subprocess.run(cmd, cwd=out_dir, capture_output=True, text=True)
    if r.returncode != 0:
        raise HostCError(f"gcc failed ({' '.join(cmd)}):\n{r.stderr}")
    return out_dir / exe_name


def cached_build(files: dict, label: str, sanitize: bool, exe_name: str = EXE_NAME, extra_flags=()) -> Path:
    """Compile ``files`` once per (sources, flags, compiler) into the cache; returns the executable."""
    cc = compiler()
    flags = list(CFLAGS) + (list(SANITIZE_FLAGS) if sanitize else []) + list(extra_flags)
    h = hashlib.sha256(json.dumps([flags, _compiler_id(cc)]).encode())
    for name in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    d = cache_root() / f"{label}-{h.hexdigest()[:16]}{'-san' if sanitize else ''}"
    exe = d / exe_name
    if exe.is_file():
        return exe
    tmp = Path(tempfile.mkdtemp(prefix=f".{label}-", dir=cache_root()))
    try:
        compile_sources(files, tmp, exe_name, sanitize, extra_flags)
        try:
            os.rename(tmp, d)
        except OSError:
            if not exe.is_file():  # not a concurrent build of the same thing
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return exe


def host_main_source() -> bytes:
    from ..resources import templates_dir

    return (templates_dir() / "host_main.c.j2").read_bytes()


def build(model=None, rendered=None, sanitize: bool | None = None) -> Path:
    """The host executable of ``model`` (or of an already prepared :class:`tinybnn.backend.codegen.Rendered`)."""
    from .codegen import prepare

    r = rendered if rendered is not None else prepare(model)
    files = {n: d for n, d in r.files.items() if n.endswith((".c", ".h"))}
    files["host_main.c"] = host_main_source()
    return cached_build(files, r.hash, sanitize_enabled(sanitize))


def _layer_shapes(model) -> list[tuple[str, tuple]]:
    out = []
    for n in model.layers:
        s = tuple(int(v) for v in n.attrs["out_shape"])
        dt = out_dtype(n)
        out.append((dt, s[:-1] + (words(s[-1]),) if dt == "bits" else s))
    return out


_NUMPY = {"bits": np.uint32, "int8": np.int8, "int16": np.int16, "int32": np.int32}


def _run(model, q, layers: bool, sanitize: bool | None):
    q = np.asarray(q)
    if q.dtype != np.int8:
        raise TinyBnnError(f"quantized input must be int8, got {q.dtype}")
    n_in = int(np.prod(model.device_input_shape))
    if q.ndim < 1 or q.size != q.shape[0] * n_in:
        raise TinyBnnError(f"quantized input has shape {list(q.shape)}; expected (N, "
                           f"{', '.join(map(str, model.device_input_shape))})")
    N = int(q.shape[0])
    exe = build(model, sanitize=sanitize)
    shapes = _layer_shapes(model)
    with tempfile.TemporaryDirectory(prefix="tinybnn-run-") as td:
        fin, fout = Path(td) / "in.bin", Path(td) / "out.bin"
        fin.write_bytes(np.ascontiguousarray(q.reshape(N, n_in)).tobytes())
        r = subprocess.run([str(exe), str(fin), str(fout), str(N), "1" if layers else "0"], capture_output=True,
                           text=True, timeout=RUN_TIMEOUT_S, env=sanitizer_env())
        if r.returncode != 0:
            raise HostCError(f"generated C failed (exit {r.returncode}) on {N} samples:\n{r.stderr[-4000:]}")
        raw = fout.read_bytes()
    if not layers:
        out = np.frombuffer(raw, dtype=np.int32)
        return out.reshape((N,) + tuple(model.device_output_shape)).copy()
    sizes = [int(np.prod(s)) * np.dtype(_NUMPY[dt]).itemsize for dt, s in shapes]
    per = sum(sizes)
    if len(raw) != N * per:
        raise HostCError(f"generated C wrote {len(raw)} bytes of layer outputs; expected {N * per}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(N, per)
    outs, o = [], 0
    for (dt, s), nb in zip(shapes, sizes):
        chunk = np.ascontiguousarray(rows[:, o:o + nb])
        outs.append(chunk.view(_NUMPY[dt]).reshape((N,) + s))
        o += nb
    return outs


def run_c(model, q, sanitize: bool | None = None) -> np.ndarray:
    """int8 device inputs (N, *device_input_shape) -> int32 outputs (N, *device_output_shape), via the C."""
    return _run(model, q, False, sanitize)


def run_c_layers(model, q, sanitize: bool | None = None) -> list:
    """Every layer's output from the C (via the hook), as :class:`tinybnn.LayerOutput` aligned with
    ``model.run_layers`` (the first entry is the int8 input itself)."""
    from ..model import LayerOutput

    q = np.asarray(q)
    outs = _run(model, q, True, sanitize)
    res = [LayerOutput("input", INPUT_QUANT, "int8", tuple(model.device_input_shape),
                       q.reshape((q.shape[0],) + tuple(model.device_input_shape)))]
    for n, (dt, _), data in zip(model.layers, _layer_shapes(model), outs):
        res.append(LayerOutput(n.name, n.op, dt, tuple(int(v) for v in n.attrs["out_shape"]), data))
    return res
