"""Run firmware on an emulated board in QEMU.

QEMU is started from the board file's "qemu" entry with

    -nographic -monitor none -semihosting-config enable=on,target=native
    -icount shift=0                      (deterministic: 1 instruction = 1 ns)
    -serial tcp:127.0.0.1:PORT,server=on,wait=on
    -S -chardev socket,id=tbmon,path=DIR/monitor.sock,server=on,wait=off
    -mon chardev=tbmon,mode=readline

The guest does not start until the host's serial link is open: QEMU waits for
the connection (wait=on) with its CPU stopped (-S), and the session starts the
CPU with the monitor's ``cont`` only after pyserial has opened the port.
(pyserial's open() discards whatever has already arrived; a guest started on
the connection alone can print its whole output in that window when the host is
busy.)  So no output is lost.  The firmware stops QEMU with an exit code
(tb_port_exit); a hung or faulting guest never exits by itself, so every run
has a timeout after which QEMU is killed.

    with QemuSession(elf, "qemu-m4", timeout=10) as q:
        q.serial.write(b"...")          # pyserial object (socket://)
        out = q.read_until_exit()       # bytes until QEMU exits
    q.returncode

    code, out = run_to_exit(elf, "qemu-m4", timeout=10)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from . import boards as _boards
from .. import plumbing
from ..errors import TinyBnnError

BoardLike = Union[str, Dict[str, Any]]

COMMON_ARGS = [
    "-nographic",
    "-monitor", "none",
    "-semihosting-config", "enable=on,target=native",
    "-icount", "shift=0",
]


class QemuError(TinyBnnError, RuntimeError):
    """QEMU could not be started or the guest could not be reached."""


class QemuTimeout(QemuError):
    """The guest did not exit in time; QEMU was killed.  ``output`` holds the
    serial bytes received so far."""

    def __init__(self, message: str, output: bytes = b""):
        super().__init__(message)
        self.output = output


def _board(board: BoardLike) -> Dict[str, Any]:
    b = _boards.load_board(board) if isinstance(board, str) else board
    if not b.get("emulated") or "qemu" not in b:
        raise QemuError(f"board '{b.get('id')}' is not an emulated board")
    return b


def qemu_binary(board: BoardLike) -> Optional[str]:
    """Full path of the board's QEMU binary, or None if it is not installed."""
    return shutil.which(_board(board)["qemu"]["binary"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _opt_value(value: str) -> str:
    """A value inside a QEMU option list (key=value,key=value): commas doubled."""
    return value.replace(",", ",,")


def qemu_command(board: BoardLike, elf: Union[str, os.PathLike], port: int,
                 monitor: Optional[Union[str, os.PathLike]] = None) -> List[str]:
    """QEMU's argument list; with ``monitor`` (a Unix socket path) the CPU starts stopped (-S) and the
    monitor listens there for the ``cont`` that starts it."""
    b = _board(board)
    q = b["qemu"]
    cmd = ([q["binary"], "-M", q["machine"]] + COMMON_ARGS + list(q["extra"])
           + ["-serial", f"tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on", "-kernel", str(elf)])
    if monitor is not None:
        cmd += ["-S", "-chardev", f"socket,id=tbmon,path={_opt_value(str(monitor))},server=on,wait=off",
                "-mon", "chardev=tbmon,mode=readline"]
    return cmd


class QemuSession:
    """Context manager: QEMU running ``elf`` on ``board``, serial connected.

    ``timeout`` bounds the whole session (seconds from start); QEMU is killed
    on exit from the ``with`` block in any case.
    """

    def __init__(self, elf: Union[str, os.PathLike], board: BoardLike = _boards.DEFAULT_BOARD,
                 timeout: float = 30.0, connect_timeout: float = 5.0):
        self.board = _board(board)
        self.elf = Path(elf)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.serial = None
        self.returncode: Optional[int] = None
        self.command: List[str] = []
        self._log = None
        self._deadline = 0.0
        self._mondir: Optional[str] = None
        self._monitor: Optional[socket.socket] = None

    # -- start / stop -------------------------------------------------------
    def __enter__(self) -> "QemuSession":
        try:
            return self._start()
        except BaseException:  # a signal or an error while starting: no QEMU survives
            self.close()
            raise

    def _start(self) -> "QemuSession":
        import serial

        if not self.elf.is_file():
            raise QemuError(f"{self.elf}: no such firmware file")
        binary = self.board["qemu"]["binary"]
        if shutil.which(binary) is None:
            raise QemuError(f"{binary} not found on PATH (board {self.board['id']})")
        self._deadline = time.monotonic() + self.timeout
        self._mondir = tempfile.mkdtemp(prefix="tinybnn-qemu-")
        monitor = os.path.join(self._mondir, "monitor.sock")
        for _attempt in range(3):  # the free port may be taken in between
            port = _free_port()
            self.command = qemu_command(self.board, self.elf, port, monitor)
            if self._log is not None:
                self._log.close()
            self._log = tempfile.TemporaryFile()
            # its own process group, killed with tinybnn (PR_SET_PDEATHSIG) and by tinybnn's signal handlers
            self.proc = plumbing.spawn(self.command, stdin=subprocess.DEVNULL,
                                       stdout=self._log, stderr=subprocess.STDOUT)
            connect_deadline = min(self._deadline, time.monotonic() + self.connect_timeout)
            while True:
                try:
                    self.serial = serial.serial_for_url(f"socket://127.0.0.1:{port}", timeout=0.05)
                except (serial.SerialException, OSError):
                    pass
                else:
                    self._resume(monitor, connect_deadline)
                    return self
                if self.proc.poll() is not None:
                    break
                if time.monotonic() > connect_deadline:
                    self._kill()
                    raise QemuError(f"could not connect to QEMU's serial port {port} "
                                    f"within {self.connect_timeout:.0f} s")
                time.sleep(0.01)
            log = self._qemu_log()
            self._kill()
            if "Address already in use" not in log and "Failed to bind" not in log:
                raise QemuError(f"QEMU exited with {self.proc.returncode} before the serial "
                                f"connection: {log.strip().splitlines()[-1] if log.strip() else '(no output)'}")
        raise QemuError("QEMU could not bind a free TCP port for the serial line")

    def _resume(self, monitor: str, deadline: float) -> None:
        """Start the stopped CPU: ``cont`` on QEMU's monitor socket (the serial link is open now)."""
        while True:
            mon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                mon.connect(monitor)
                mon.sendall(b"cont\n")
                self._monitor = mon
                return
            except OSError:
                mon.close()
            if self.proc.poll() is not None:
                log = self._qemu_log().strip()
                raise QemuError(f"QEMU exited with {self.proc.returncode} before the guest started: "
                                f"{log.splitlines()[-1] if log else '(no output)'}")
            if time.monotonic() > deadline:
                self._kill()
                raise QemuError(f"could not reach QEMU's monitor within {self.connect_timeout:.0f} s "
                                "to start the guest")
            time.sleep(0.01)

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.serial is not None:
            # pyserial's socket close() sleeps 0.3 s "for quick reconnects";
            # close the socket directly when the backend exposes it.
            sock = getattr(self.serial, "_socket", None)
            try:
                if sock is not None:
                    sock.close()
                    self.serial._socket = None
                    self.serial.is_open = False
                else:
                    self.serial.close()
            except Exception:
                pass
            self.serial = None
        self._kill()
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._mondir is not None:
            shutil.rmtree(self._mondir, ignore_errors=True)
            self._mondir = None

    def _kill(self) -> None:
        if self.proc is None:
            return
        self.proc.poll()
        plumbing.kill(self.proc)
        if self.returncode is None:
            self.returncode = self.proc.returncode

    def _qemu_log(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    # -- I/O ----------------------------------------------------------------
    @property
    def remaining(self) -> float:
        return max(0.0, self._deadline - time.monotonic())

    def read_until_exit(self) -> bytes:
        """Serial bytes until QEMU exits; sets ``returncode``.  Raises
        QemuTimeout (with the partial output) when the session times out."""
        import serial

        out = bytearray()
        while True:
            try:
                chunk = self._read_chunk()
            except (serial.SerialException, OSError):
                chunk = None  # QEMU closed the socket: it is exiting
            if chunk:
                out += chunk
                continue
            if self.proc.poll() is not None:
                break
            if chunk is None:
                try:
                    self.proc.wait(timeout=min(2.0, self.remaining) or 0.01)
                except subprocess.TimeoutExpired:
                    pass
                if self.proc.poll() is not None:
                    break
            if time.monotonic() >= self._deadline:
                self._kill()
                raise QemuTimeout(f"board {self.board['id']}: firmware did not exit within "
                                  f"{self.timeout:g} s (QEMU killed)", bytes(out))
        self.returncode = self.proc.returncode
        try:  # anything still buffered on the host side
            self.serial.timeout = 0
            while True:
                chunk = self.serial.read(65536)
                if not chunk:
                    break
                out += chunk
        except (serial.SerialException, OSError):
            pass
        return bytes(out)

    def _read_chunk(self) -> bytes:
        # pyserial's socket read() drops the bytes of the current call when
        # the peer closes during it, which is exactly how a run ends.  So:
        # one non-blocking recv (timeout 0 reads at most once), else wait for
        # a single byte (nothing to lose).
        self.serial.timeout = 0
        data = self.serial.read(65536)
        if data:
            return data
        self.serial.timeout = 0.05
        return self.serial.read(1)

    def wait(self) -> int:
        """Wait for QEMU to exit (within the session timeout); its exit status."""
        try:
            self.returncode = self.proc.wait(timeout=self.remaining)
        except subprocess.TimeoutExpired:
            self._kill()
            raise QemuTimeout(f"board {self.board['id']}: QEMU did not exit within "
                              f"{self.timeout:g} s (killed)") from None
        return self.returncode

    @property
    def qemu_output(self) -> str:
        """QEMU's own stdout/stderr (errors, semihosting console)."""
        return self._qemu_log()


def run_to_exit(elf: Union[str, os.PathLike], board: BoardLike = _boards.DEFAULT_BOARD,
                timeout: float = 30.0) -> Tuple[int, bytes]:
    """Run ``elf`` until the firmware exits: (QEMU exit status, serial output)."""
    with QemuSession(elf, board, timeout=timeout) as q:
        out = q.read_until_exit()
    return q.returncode, out
