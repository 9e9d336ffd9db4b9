"""A faulty serial line for tests: a TCP proxy between the host and a device's
serial socket (QEMU's ``-serial tcp:...``) that damages the byte stream.

    proxy = FaultProxy(upstream, seed=1, flip=3e-4, drop=3e-4, dup=3e-4, delay=1e-3,
                       inject=3e-4, reset=1e-4, restart=restart_qemu)
    with proxy:
        dev = Device(proxy.url, timeout=0.3)       # socket://127.0.0.1:<port>
        ...
    proxy.stats    # {'flipped': .., 'dropped': .., 'duplicated': .., 'delayed': ..,
                   #  'injected': .., 'resets': .., 'bytes_to_device': .., 'bytes_to_host': ..}

Faults (rates are probabilities per forwarded byte, drawn from ``random.Random(seed)``;
``to_device`` / ``to_host`` choose the directions, both by default):

* flip     one random bit of the byte is inverted
* drop     the byte is not forwarded
* dup      the byte is forwarded twice
* delay    the line stalls for a random time in ``delay_range`` seconds before this
           byte; later bytes wait behind it (a UART never reorders bytes)
* inject   a boot banner or a burst of random noise (including 0x00 bytes) is
           inserted before the byte
* replay   a copy of 32..512 bytes recently forwarded the same way is inserted
           before the byte: old, intact frames arrive again (only sequence
           numbers tell them from the current reply)
* reset    host->device only: the DEVICE IS RESTARTED.  Bytes in flight in both
           directions are discarded, the upstream connection is closed and
           ``restart()`` is called; it must return the new upstream (for QEMU: kill
           the emulator and start it again, so the firmware really reboots, prints
           its boot text and loses all state).  Without ``restart`` the rate must be 0.

``upstream``: a connected socket, a ``(host, port)`` pair, or a pyserial
``socket://`` object (its socket is used; the proxy then does all the I/O on it).
The proxy listens on 127.0.0.1 (port ``port``, chosen by the OS) and serves one
host connection at a time; when the device closes its end (QEMU exited) the host
connection is closed after the bytes already queued for it.
"""

from __future__ import annotations

import random
import selectors
import socket
import threading
import time
from collections import deque
from typing import Any, Callable, Deque, Dict, Optional, Tuple

BOOT_TEXTS = (
    b"\r\ntinybnn boot: reset cause POR\r\n",
    b"\r\n*** tinybnn firmware (rebooted) ***\r\nself-test ok\r\n",
    b"\x00\x00garbage\x00",
)

Upstream = Any


def _as_socket(up: Upstream) -> socket.socket:
    if isinstance(up, socket.socket):
        sock = up
    elif isinstance(up, tuple):
        sock = socket.create_connection(up, timeout=5.0)
    else:
        sock = getattr(up, "_socket", None)
        if not isinstance(sock, socket.socket):
            raise TypeError(f"upstream must be a socket, (host, port) or a pyserial socket:// object, got {up!r}")
    sock.setblocking(True)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass
    return sock


class _Direction:
    """Bytes waiting to go one way: a deque of (release time, bytes)."""

    HISTORY = 512

    def __init__(self) -> None:
        self.q: Deque[Tuple[float, bytes]] = deque()
        self.last_release = 0.0
        self.history = bytearray()  # the last HISTORY bytes forwarded (for replays)

    def push(self, release: float, data: bytes) -> None:
        release = max(release, self.last_release)
        self.last_release = release
        self.q.append((release, data))

    def clear(self) -> None:
        self.q.clear()
        self.last_release = 0.0
        self.history.clear()

    def remember(self, data: bytes) -> None:
        self.history += data
        if len(self.history) > 2 * self.HISTORY:
            del self.history[:-self.HISTORY]

    def due(self, now: float) -> bytes:
        out = bytearray()
        while self.q and self.q[0][0] <= now:
            out += self.q.popleft()[1]
        return bytes(out)

    def next_time(self) -> Optional[float]:
        return self.q[0][0] if self.q else None


class FaultProxy:
    def __init__(self, upstream: Upstream, *, seed: int = 0, flip: float = 0.0, drop: float = 0.0,
                 dup: float = 0.0, delay: float = 0.0, delay_range: Tuple[float, float] = (0.001, 0.03),
                 inject: float = 0.0, replay: float = 0.0, reset: float = 0.0, restart: Optional[Callable[[], Upstream]] = None,
                 to_device: bool = True, to_host: bool = True, inject_texts=BOOT_TEXTS):
        if reset and restart is None:
            raise ValueError("reset > 0 needs a restart() callable that restarts the device")
        for name, rate in (("flip", flip), ("drop", drop), ("dup", dup), ("delay", delay),
                           ("inject", inject), ("replay", replay), ("reset", reset)):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"{name} rate must be in [0, 1), got {rate}")
        self.rates = dict(flip=flip, drop=drop, dup=dup, delay=delay, inject=inject, replay=replay, reset=reset)
        self.delay_range = delay_range
        self.to_device, self.to_host = to_device, to_host
        self.inject_texts = tuple(inject_texts)
        self.restart = restart
        self.rng = random.Random(seed)
        self.stats: Dict[str, int] = dict(flipped=0, dropped=0, duplicated=0, delayed=0, injected=0, replayed=0,
                                          resets=0, bytes_to_device=0, bytes_to_host=0)
        self._up: Optional[socket.socket] = _as_socket(upstream)
        self._up_eof = False
        self._client: Optional[socket.socket] = None
        self._listen = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listen.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listen.bind(("127.0.0.1", 0))
        self._listen.listen(1)
        self.port: int = self._listen.getsockname()[1]
        self._to_dev = _Direction()
        self._to_host = _Direction()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self.error: Optional[BaseException] = None
        self.reset_seconds = 0.0  # longest restart() so far

    @property
    def url(self) -> str:
        return f"socket://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ lifecycle --
    def start(self) -> "FaultProxy":
        self._thread = threading.Thread(target=self._run, name="tinybnn-faultproxy", daemon=True)
        self._thread.start()
        return self

    def __enter__(self) -> "FaultProxy":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)  # a restart() in progress is bounded by its own timeouts
            self._thread = None
        for s in (self._client, self._listen):
            if s is not None:
                try:
                    s.close()
                except OSError:
                    pass
        self._client = None
        if self.error is not None:
            err, self.error = self.error, None
            raise RuntimeError(f"fault proxy failed: {err!r}") from err

    def set_rates(self, **rates: float) -> None:
        """Change fault rates while running (e.g. 0 for a clean final exchange)."""
        with self._lock:
            for k, v in rates.items():
                if k not in self.rates:
                    raise KeyError(k)
                if k == "reset" and v and self.restart is None:
                    raise ValueError("reset > 0 needs restart()")
                self.rates[k] = v

    # ------------------------------------------------------------------ faults --
    def _damage(self, data: bytes, direction: _Direction, enabled: bool, to_device: bool) -> bool:
        """Schedule ``data`` (damaged) on ``direction``; True if the device must be reset."""
        now = time.monotonic()
        if not enabled:
            direction.push(now, data)
            return False
        r = self.rng.random
        with self._lock:
            rates = dict(self.rates)
        for b in data:
            if to_device and rates["reset"] and r() < rates["reset"]:
                return True
            if rates["inject"] and r() < rates["inject"]:
                text = self.rng.choice(self.inject_texts + (None,))
                if text is None:
                    text = bytes(self.rng.getrandbits(8) for _ in range(self.rng.randint(1, 24)))
                direction.push(now, text)
                self.stats["injected"] += 1
            if rates["replay"] and r() < rates["replay"] and len(direction.history) >= 32:
                n = self.rng.randint(32, min(len(direction.history), direction.HISTORY))
                direction.push(now, bytes(direction.history[-n:]))
                self.stats["replayed"] += 1
            if rates["delay"] and r() < rates["delay"]:
                now = max(now, direction.last_release) + self.rng.uniform(*self.delay_range)
                self.stats["delayed"] += 1
            if rates["drop"] and r() < rates["drop"]:
                self.stats["dropped"] += 1
                continue
            if rates["flip"] and r() < rates["flip"]:
                b ^= 1 << self.rng.randrange(8)
                self.stats["flipped"] += 1
            one = bytes((b,))
            if rates["dup"] and r() < rates["dup"]:
                one += one
                self.stats["duplicated"] += 1
            direction.push(now, one)
            direction.remember(one)
        return False

    def _reset_device(self, sel: selectors.BaseSelector) -> None:
        self.stats["resets"] += 1
        self._to_dev.clear()
        self._to_host.clear()
        if self._up is not None:
            try:
                sel.unregister(self._up)
            except (KeyError, ValueError):
                pass
            try:
                self._up.close()
            except OSError:
                pass
            self._up = None
        t0 = time.monotonic()
        self._up = _as_socket(self.restart())  # type: ignore[misc]
        self.reset_seconds = max(self.reset_seconds, time.monotonic() - t0)
        self._up_eof = False
        sel.register(self._up, selectors.EVENT_READ, "up")

    # ------------------------------------------------------------------ loop --
    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        try:
            sel.register(self._listen, selectors.EVENT_READ, "listen")
            sel.register(self._up, selectors.EVENT_READ, "up")
            while not self._stop.is_set():
                now = time.monotonic()
                times = [t for t in (self._to_dev.next_time(), self._to_host.next_time()) if t is not None]
                wait = 0.05 if not times else max(0.0, min(min(times) - now, 0.05))
                for key, _ in sel.select(wait):
                    if key.data == "listen":
                        conn, _ = self._listen.accept()
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                        if self._client is not None:
                            sel.unregister(self._client)
                            self._client.close()
                        self._client = conn
                        sel.register(conn, selectors.EVENT_READ, "client")
                    elif key.data == "client":
                        data = self._recv(self._client)
                        if data is None:
                            continue
                        if not data:
                            sel.unregister(self._client)
                            self._client.close()
                            self._client = None
                            continue
                        self.stats["bytes_to_device"] += len(data)
                        if self._damage(data, self._to_dev, self.to_device, True):
                            self._reset_device(sel)
                    elif key.data == "up":
                        data = self._recv(self._up)
                        if data is None:
                            continue
                        if not data:
                            sel.unregister(self._up)
                            self._up_eof = True
                            continue
                        self.stats["bytes_to_host"] += len(data)
                        self._damage(data, self._to_host, self.to_host, False)
                now = time.monotonic()
                out = self._to_dev.due(now)
                if out and self._up is not None and not self._up_eof:
                    try:
                        self._up.sendall(out)
                    except OSError:
                        pass  # the device went away; the host will time out
                out = self._to_host.due(now)
                if out and self._client is not None:
                    try:
                        self._client.sendall(out)
                    except OSError:
                        pass
                if self._up_eof and self._client is not None and not self._to_host.q:
                    sel.unregister(self._client)
                    self._client.close()
                    self._client = None
        except BaseException as exc:  # reported by close()
            self.error = exc
        finally:
            sel.close()

    @staticmethod
    def _recv(sock: Optional[socket.socket]) -> Optional[bytes]:
        """Received bytes; b"" when the peer closed; None when nothing was there."""
        if sock is None:
            return b""
        try:
            return sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""
