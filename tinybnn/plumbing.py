"""Process and file plumbing that must hold under hostile conditions.

* **Signals.** :func:`install_signal_handlers` turns SIGINT, SIGTERM and SIGHUP into
  :class:`Interrupted` (a ``KeyboardInterrupt``), so every ``finally`` block and context manager
  runs; before raising, the handler kills every child process started with :func:`spawn`.
* **Children.** :func:`spawn` starts a child in its own process group (a terminal's Ctrl-C reaches
  tinybnn, which ends the child, never the child alone) that the kernel kills when tinybnn dies
  (Linux ``PR_SET_PDEATHSIG``), and records it until it has been reaped; :func:`kill` ends the
  child's whole process group (PlatformIO's SCons and compilers included). :func:`run` is
  ``subprocess.run`` on top of it.
* **Outputs.** :func:`write_atomic` writes a file to a temporary sibling and renames it over the
  target: the previous file survives any failure or signal, and no temporary file is left behind.
  :func:`deferred_signals` holds SIGINT/SIGTERM/SIGHUP back during such a swap.
* **Paths for PlatformIO.** :func:`check_build_path` refuses a folder that PlatformIO's build
  (SCons, which runs its commands through ``sh -c``) would interpret.
"""

from __future__ import annotations

import contextlib
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import unicodedata
from pathlib import Path
from typing import Callable, Optional, Union

from .errors import CONTROL_CATEGORIES, TinyBnnError, control_char, one_line  # noqa: F401 (re-exported)

SIGNALS = tuple(s for s in (getattr(signal, n, None) for n in ("SIGINT", "SIGTERM", "SIGHUP")) if s is not None)


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP arrived (``signum``); the command line exits with 128 + signum."""

    def __init__(self, signum: int = signal.SIGINT):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


# ------------------------------------------------------------------------------------ children --

_children: "set[subprocess.Popen]" = set()
_children_lock = threading.Lock()


_PRCTL = None


def _prctl():
    """libc's prctl, resolved in the parent: the child between fork and exec must not import anything
    (another thread of tinybnn may have held the import lock at the fork)."""
    global _PRCTL
    if _PRCTL is None:
        _PRCTL = False
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
            except (OSError, AttributeError):
                pass
    return _PRCTL


def _child_setup(parent: int, prctl) -> None:  # runs in the child between fork and exec
    if prctl:
        prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG = 1, SIGKILL = 9: the kernel kills it when tinybnn dies
    if os.getppid() != parent:  # tinybnn died before the line above took effect
        os._exit(137)


def spawn(cmd, **kw) -> subprocess.Popen:
    """``subprocess.Popen(cmd, **kw)`` (an argument list, never a shell) in a new process group,
    killed with tinybnn; recorded so that a signal handler or :func:`kill` can end it.
    (Linux delivers PR_SET_PDEATHSIG when the spawning *thread* ends: spawn from the thread that
    outlives the child, as tinybnn does from its main thread.)"""
    if isinstance(cmd, (str, bytes)):
        raise TypeError("spawn takes an argument list, not a shell command")
    parent, prctl = os.getpid(), _prctl()
    if os.name == "posix":
        kw.setdefault("start_new_session", True)
        kw.setdefault("preexec_fn", lambda: _child_setup(parent, prctl))
    proc = subprocess.Popen(cmd, **kw)
    with _children_lock:
        _children.add(proc)
    return proc


def kill(proc: Optional[subprocess.Popen], wait: float = 5.0) -> None:
    """End ``proc`` and its process group (SIGKILL), reap it, forget it. Idempotent."""
    if proc is None:
        return
    if proc.returncode is None:
        try:
            if os.name == "posix":
                os.killpg(proc.pid, signal.SIGKILL)  # the group: PlatformIO's SCons and compilers too
            else:
                proc.kill()
        except (ProcessLookupError, PermissionError):
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            pass
    # (a reaped child's pid may already belong to another process: its group is never signalled)
    forget(proc)


def forget(proc: subprocess.Popen) -> None:
    with _children_lock:
        _children.discard(proc)


def kill_all() -> None:
    """Kill every child started by :func:`spawn` that is still recorded (signal handlers, atexit)."""
    with _children_lock:
        procs = list(_children)
    for p in procs:
        if p.returncode is not None:  # reaped: its pid may already belong to another process
            continue
        try:
            if os.name == "posix":
                os.killpg(p.pid, signal.SIGKILL)
            else:
                p.kill()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def run(cmd, *, timeout: Optional[float] = None, **kw) -> subprocess.CompletedProcess:
    """``subprocess.run`` through :func:`spawn`: on a timeout, an exception or a signal the child's
    whole process group is killed before this returns or raises."""
    proc = spawn(cmd, **kw)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        kill(proc)
        raise
    forget(proc)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


# ------------------------------------------------------------------------------------- signals --

_interrupted = False


def _handler(signum, frame):
    global _interrupted
    kill_all()
    if _interrupted:
        return  # a second signal while the first unwinds: the children are gone, let the cleanup finish
    _interrupted = True
    raise Interrupted(signum)


def install_signal_handlers() -> dict:
    """SIGINT, SIGTERM, SIGHUP -> kill the children, raise :class:`Interrupted` (main thread only).
    Returns the previous handlers, for :func:`restore_signal_handlers`."""
    global _interrupted
    if threading.current_thread() is not threading.main_thread():
        return {}
    _interrupted = False
    old = {}
    for s in SIGNALS:
        if s == getattr(signal, "SIGHUP", None) and signal.getsignal(s) == signal.SIG_IGN:
            continue  # started under nohup: keep ignoring hang-ups
        old[s] = signal.signal(s, _handler)
    return old


def restore_signal_handlers(old: dict) -> None:
    for s, h in old.items():
        if h is not None:
            signal.signal(s, h)


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT/SIGTERM/SIGHUP back for the duration of the block (a swap of outputs that must not
    be cut in the middle); a signal that arrived meanwhile is handled as before when the block ends.

    Python-level handlers, not the thread signal mask: a process-directed signal reaches any thread
    that does not block it (numpy's and onnxruntime's worker threads), and Python then runs the
    handler in the main thread anyway."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list = []
    old = {}
    try:
        for s in SIGNALS:
            old[s] = signal.signal(s, lambda signum, frame: pending.append(signum))
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if pending:
            s = pending[0]
            h = old.get(s)
            if callable(h):
                h(s, None)
            elif h == signal.SIG_DFL:
                os.kill(os.getpid(), s)  # the default action, now that the swap is over


# ------------------------------------------------------------------------------------- outputs --

def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _os_error(path: Path, e: OSError) -> TinyBnnError:
    return TinyBnnError(f"{path}: cannot write it ({e.strerror or e})")


def check_output_file(path) -> Path:
    """One line instead of a traceback for an output file that cannot be written where it goes."""
    p = Path(path)
    if str(path) == "" or p.name in ("", ".", ".."):
        raise TinyBnnError(f"'{path}': not a file name")
    if p.is_dir():
        raise TinyBnnError(f"{p}: is a folder; give a file name")
    parent = p.absolute().parent
    if not parent.exists():
        raise TinyBnnError(f"{p}: its folder {parent} does not exist")
    if not parent.is_dir():
        raise TinyBnnError(f"{p}: {parent} is not a folder")
    return p


def write_atomic(path, data: Union[bytes, str, Callable]) -> Path:
    """Write ``data`` (bytes, text, or ``fn(binary_file)``) to ``path`` through a temporary sibling
    renamed over it. On any failure or signal the previous ``path`` is untouched and the temporary is
    removed; problems (missing folder, a folder in the way, read-only folder, full disk) raise a one-line
    :class:`TinyBnnError`."""
    p = check_output_file(path)
    parent = p.absolute().parent
    with deferred_signals():
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=parent)
        except OSError as e:
            raise _os_error(p, e) from None
        try:
            with os.fdopen(fd, "wb") as f:
                if callable(data):
                    data(f)
                else:
                    f.write(data.encode() if isinstance(data, str) else data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o666 & ~_umask())
            os.replace(tmp, p)
        except OSError as e:
            _unlink(tmp)
            raise _os_error(p, e) from None
        except BaseException:
            _unlink(tmp)
            raise
    return p


def _unlink(path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# ------------------------------------------------------------------------------ PlatformIO paths --

# Characters that a POSIX shell or SCons's substitution would interpret in a path that SCons writes into
# a command line (sh -c): SCons quotes an argument only when it holds a space, and inside double quotes
# $ ` \ " still act. A comma splits -Wl,... linker options; % is a format character in PlatformIO.
UNSAFE_PATH_CHARS = "$`\"'\\;&|<>()*?[]!,%"


def unsafe_char(text: str) -> Optional[str]:
    """The first character of ``text`` that is a control/format/line-separator character, not valid
    UTF-8 (a surrogate from the file system), or one of :data:`UNSAFE_PATH_CHARS`; else None."""
    for c in text:
        if c in UNSAFE_PATH_CHARS or unicodedata.category(c) in CONTROL_CATEGORIES:
            return c
    return None


def check_build_path(path, what: str = "build folder") -> Path:
    """Refuse, before anything is written or run, a folder that PlatformIO's build would interpret.
    Spaces and non-ASCII letters are fine."""
    p = Path(path)
    text = str(p.absolute())
    c = unsafe_char(text)
    if c is not None:
        shown = repr(c) if c.isprintable() else f"U+{ord(c):04X}"
        raise TinyBnnError(
            f"{what} {text!r}: holds the character {shown}, which PlatformIO's build (SCons runs its "
            f"commands through a shell) would interpret; choose a folder without control characters or "
            f"any of {UNSAFE_PATH_CHARS}")
    return p


# ------------------------------------------------------------------------------------- input files --
def check_file(path: str | Path, expected: str = "an .onnx file") -> Path:
    """``path`` as a Path, checked (stat before open) to be a regular file: a FIFO or device is never read."""
    p = Path(path)
    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        raise TinyBnnError(f"{path}: no such file") from None
    except OSError as e:
        raise TinyBnnError(f"{path}: cannot read it ({e.strerror})") from None
    if stat.S_ISDIR(mode):
        raise TinyBnnError(f"{path}: is a directory, expected {expected}")
    if not stat.S_ISREG(mode):
        raise TinyBnnError(f"{path}: is {describe_mode(mode)}, expected {expected} (a regular file)")
    return p


def describe_mode(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"
