"""Talk to a tinybnn device (real board or QEMU) over the serial protocol.

    with Device("socket://127.0.0.1:4321", timeout=0.5) as dev:   # or "/dev/ttyACM0"
        dev.info()                        # Info: board, counter kind, model hash, shapes, ...
        out, count = dev.infer(q)         # q: int8 array of the model's input size
        prof = dev.profile(q)             # Profile(total, per_layer, output)
        layers = dev.dump(q)              # [bytes of layer 0 output, layer 1, ...]
        c = dev.classify(x)               # x: one float32 sample: Classified(cls, scores, codes_crc, count)
        dev.exit()                        # emulated boards: QEMU exits with 0

The protocol is specified in ``firmware/runtime/tb_protocol.h``; the codec is
:mod:`tinybnn.device.protocol`.

Integrity: a result is returned only from a response frame that

* COBS-decodes and has a good CRC-32 over header and payload,
* has this protocol's version, the response kind of the command sent and the
  sequence number of *this attempt* (every attempt, including retries, uses a
  fresh 16-bit sequence number, so a late reply to an earlier attempt or an
  earlier request is never taken for this one; DUMP alone also accepts chunks
  answering earlier attempts of the same request, as the bytes are the same),
* has exactly the payload length the command's layout needs for this model, and
* for INFER/PROFILE/DUMP/CLASSIFY echoes the CRC-32 of the input that was sent
  (so the output belongs to this input, end to end), and for DUMP has every chunk
  of every layer exactly once (a chunk seen twice must be identical).

Anything else is counted (``stats``, ``garbage``, ``rejected``) and ignored.  When no
acceptable reply has arrived within ``timeout`` seconds of silence (or shortly after
a corrupted frame showed that the reply was damaged), the request is sent again with
a new sequence number, at most ``retries`` more times (silent attempts back off
exponentially); then :class:`DeviceTimeout` is raised naming the command and the
last failure.  A status other than OK in an intact reply raises
:class:`DeviceStatusError` at once (the device did answer; retrying would not change
its answer).
"""

from __future__ import annotations

import os
import select
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from . import protocol as P
from ..errors import TinyBnnError


class DeviceError(TinyBnnError, RuntimeError):
    """The device could not be reached or did not answer correctly (one line)."""


class DeviceTimeout(DeviceError):
    """No intact reply after all retries."""


class ProtocolVersionError(DeviceError):
    """The device speaks another protocol version."""


class DeviceStatusError(DeviceError):
    """The device answered with a status other than OK (``status``, ``code``)."""

    def __init__(self, message: str, status: int, code: Optional[int] = None):
        super().__init__(message)
        self.status = status
        self.code = code


class _Retry(Exception):
    """This attempt failed; try again (internal)."""


class _Timeout(_Retry):
    """This attempt got no reply at all (internal)."""


@dataclass
class Profile:
    total: int
    per_layer: List[int]
    output: np.ndarray


@dataclass
class Classified:
    """The device's own decision on a float sample (CLASSIFY): class, scores after the output affine, the
    CRC-32 of the int8 codes it computed, and the counter difference around quantize + run + affine."""
    cls: int
    scores: np.ndarray
    codes_crc: int
    count: int


def _nodelay(sock: socket.socket) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


class Device:
    """One connection to a device running ``tb_serve()``.

    ``url_or_port``: a pyserial URL or port name (``socket://host:port``,
    ``/dev/ttyACM0``, ``COM3``) or an already open pyserial-like object (it is not
    closed by :meth:`close`).  ``timeout``: seconds of silence after which an attempt
    is given up (it must exceed the longest inference); each further silent attempt
    of the same request waits twice as long, up to ``max_backoff * timeout`` (rides
    out a device reboot); after a corrupted frame an attempt waits only
    ``corrupt_grace`` more seconds.  ``retries``: extra attempts per request (bounded;
    then DeviceTimeout).  ``handshake`` resynchronises
    (RESET with a random nonce), reads INFO and checks the protocol version.
    """

    def __init__(self, url_or_port: Any, timeout: float = 1.0, *, retries: int = 8, baudrate: int = 115200,
                 handshake: bool = True, corrupt_grace: Optional[float] = None, max_backoff: float = 8.0,
                 read_nap: float = 0.0005):
        self.timeout = float(timeout)
        self.retries = int(retries)
        # consecutive silent attempts double the wait, up to max_backoff * timeout
        self.max_backoff = float(max_backoff)
        self.read_nap = float(read_nap)  # socket links: pause before each recv
        # After a corrupted frame, wait this long for a good reply before retrying.
        self.corrupt_grace = min(self.timeout, 0.05) if corrupt_grace is None else corrupt_grace
        self._owned = False
        if isinstance(url_or_port, (str, os.PathLike)):
            import serial

            try:
                self._ser = serial.serial_for_url(str(url_or_port), baudrate=baudrate, timeout=0,
                                                  write_timeout=max(5.0, 4 * self.timeout))
            except (serial.SerialException, OSError, ValueError) as exc:
                raise DeviceError(f"cannot open {url_or_port}: {exc}") from None
            self._owned = True
        else:
            self._ser = url_or_port
        self._sock: Optional[socket.socket] = getattr(self._ser, "_socket", None)
        if self._sock is not None:
            _nodelay(self._sock)
        elif hasattr(self._ser, "timeout"):
            self._ser.timeout = 0.02
        self._reader = P.FrameReader()
        self._seq = int.from_bytes(os.urandom(2), "little")
        self.info_: Optional[P.Info] = None
        self.stats: Dict[str, int] = dict(requests=0, attempts=0, retries=0, timeouts=0, corrupt_frames=0,
                                          stale_frames=0, rejected_frames=0, bytes_in=0, bytes_out=0)
        self.garbage: Dict[str, int] = {}  # corrupt frames by reason (cobs, crc, short, length, overflow)
        self.rejected: Dict[str, int] = {}  # intact replies rejected, by what failed
        if handshake:
            self.handshake()

    # ------------------------------------------------------------------ context / close --
    def __enter__(self) -> "Device":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._owned and self._ser is not None:
            sock = self._sock
            try:
                if sock is not None:  # pyserial's socket close() sleeps 0.3 s
                    sock.close()
                    self._ser._socket = None
                    self._ser.is_open = False
                else:
                    self._ser.close()
            except Exception:
                pass
        self._ser = None

    # ------------------------------------------------------------------ low level I/O --
    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    def _write(self, data: bytes) -> None:
        try:
            self._ser.write(data)
            if self._sock is None and hasattr(self._ser, "flush"):
                self._ser.flush()
        except Exception as exc:  # serial.SerialException, OSError, socket errors
            raise DeviceError(f"serial write failed: {exc}") from None
        self.stats["bytes_out"] += len(data)

    def _read_some(self, deadline: float) -> bytes:
        """Whatever has arrived, waiting at most until ``deadline``."""
        remaining = deadline - time.monotonic()
        if self._sock is not None:
            try:
                r, _, _ = select.select([self._sock], [], [], max(0.0, remaining))
                if not r:
                    return b""
                if self.read_nap:
                    # QEMU (nodelay) sends each byte in its own TCP segment: let a few
                    # arrive instead of waking up per byte (halves the round trip on a
                    # busy 2-core machine, where host wake-ups steal QEMU's CPU)
                    time.sleep(self.read_nap)
                data = self._sock.recv(65536)
            except BlockingIOError:
                return b""
            except OSError as exc:
                raise DeviceError(f"serial connection failed: {exc}") from None
            if not data:
                raise DeviceError("the device closed the connection")
        else:
            try:
                n = getattr(self._ser, "in_waiting", 0) or 1
                data = self._ser.read(n)
            except Exception as exc:
                raise DeviceError(f"serial read failed: {exc}") from None
        self.stats["bytes_in"] += len(data)
        return data

    def send_request(self, cmd: int, seq: int, payload: bytes = b"") -> None:
        self._write(P.encode_frame(cmd, seq, payload))

    # ------------------------------------------------------------------ transactions --
    def _attempt(self, cmd: int, seqs: Any, accept: Callable[[P.Frame], Any], timeout: float) -> Any:
        """Wait for frames answering ``cmd`` with a sequence number in ``seqs``;
        ``accept(frame)`` returns a result, returns None to wait for more frames of
        this reply, or raises PayloadError."""
        deadline = time.monotonic() + timeout
        corrupted = False
        while True:
            data = self._read_some(deadline)
            if not data:
                if time.monotonic() >= deadline:
                    if corrupted:
                        raise _Retry("corrupted reply")
                    self.stats["timeouts"] += 1
                    raise _Timeout(f"no reply within {timeout:.3g} s")
                continue
            for item in self._reader.feed(data):
                if isinstance(item, P.FrameError):
                    self.stats["corrupt_frames"] += 1
                    self.garbage[item.reason] = self.garbage.get(item.reason, 0) + 1
                    if not corrupted:
                        corrupted = True
                        deadline = min(deadline, time.monotonic() + self.corrupt_grace)
                    continue
                f = item
                if f.version != P.VERSION:
                    raise ProtocolVersionError(
                        f"device sent an intact frame of protocol version {f.version}; this host speaks "
                        f"version {P.VERSION}: update tinybnn or reflash the device")
                if not f.is_response or f.cmd != cmd or f.seq not in seqs:
                    self.stats["stale_frames"] += 1
                    continue
                if f.status != P.ST_OK:
                    code = None
                    msg = f"{P.cmd_name(cmd)}: device answered {P.status_name(f.status)}"
                    if f.status == P.CONSTANTS.get("ST_MODEL_ERROR") and len(f.payload) == 4:
                        code = struct.unpack("<i", f.payload)[0]
                        msg += f" (tb_model_run returned {code})"
                    raise DeviceStatusError(msg, f.status, code)
                try:
                    result = accept(f)
                except P.PayloadError as exc:
                    self.stats["rejected_frames"] += 1
                    why = str(exc).split(":")[0]
                    self.rejected[why] = self.rejected.get(why, 0) + 1
                    raise _Retry(f"rejected reply: {exc}") from None
                if result is not None:
                    return result
                # a partial multi-frame reply: the silence timer restarts, a
                # corruption seen earlier still shortens the wait
                deadline = time.monotonic() + (self.corrupt_grace if corrupted else timeout)

    def request(self, cmd: int, payload: bytes, accept: Callable[[P.Frame], Any],
                any_attempt: bool = False) -> Any:
        """Send ``cmd`` with retries until ``accept`` returns a result (see the module doc).

        Normally only frames with the sequence number of the latest attempt reach
        ``accept``.  ``any_attempt=True`` also passes frames answering earlier attempts
        of this same request (same command, same payload): for deterministic multi-frame
        replies (DUMP), so that intact pieces of several damaged replies add up."""
        if self.info_ is not None and len(payload) > self.info_.max_payload:
            raise ValueError(f"{P.cmd_name(cmd)}: payload of {len(payload)} bytes exceeds the device's "
                             f"maximum of {self.info_.max_payload}")
        self.stats["requests"] += 1
        last = "no attempt"
        mine: set = set()
        timeout = self.timeout
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            seq = self._next_seq()
            mine = mine | {seq} if any_attempt else {seq}
            self.stats["attempts"] += 1
            self.send_request(cmd, seq, payload)
            try:
                return self._attempt(cmd, mine, accept, timeout)
            except _Timeout as exc:  # silence: maybe rebooting or overloaded, back off
                last = str(exc)
                timeout = min(timeout * 2, self.timeout * self.max_backoff)
            except _Retry as exc:  # a damaged reply: retry at once
                last = str(exc)
        raise DeviceTimeout(f"{P.cmd_name(cmd)}: no intact reply after {self.retries + 1} attempts "
                            f"(last: {last}); is the device running tb_serve() on this port?")

    # ------------------------------------------------------------------ commands --
    def handshake(self) -> P.Info:
        """Resynchronise (RESET), read INFO and check the protocol version."""
        self.reset()
        info = self.info()
        if info.protocol_version != P.VERSION:
            raise ProtocolVersionError(f"device protocol version {info.protocol_version}, host {P.VERSION}")
        self._reader.max_frame = P.wire_size(P.OVERHEAD_BYTES + info.max_payload)
        return info

    def reset(self) -> None:
        """RESET with a random nonce: drops the device's half-received frame; every
        frame before the matching reply is discarded (resynchronisation)."""
        try:
            if hasattr(self._ser, "reset_input_buffer"):
                self._ser.reset_input_buffer()
        except Exception:
            pass
        self._reader.reset()
        nonce = os.urandom(8)

        def accept(f: P.Frame):
            if f.payload != nonce:
                raise P.PayloadError("RESET: nonce differs")
            return True

        self.request(P.CMD_RESET, nonce, accept)

    def info(self) -> P.Info:
        """INFO (also refreshes the cached ``self.info_``; the counters are live)."""
        self.info_ = self.request(P.CMD_INFO, b"", lambda f: P.parse_info(f.payload))
        return self.info_

    def _need_info(self) -> P.Info:
        if self.info_ is None:
            self.info()
        return self.info_  # type: ignore[return-value]

    def _input_bytes(self, q: Any) -> bytes:
        info = self._need_info()
        if isinstance(q, (bytes, bytearray, memoryview)):
            data = bytes(q)
        else:
            a = np.asarray(q)
            if a.dtype != np.int8:
                raise ValueError(f"input must be int8 (quantized), got {a.dtype}")
            data = np.ascontiguousarray(a).tobytes()
        if len(data) != info.input_bytes:
            raise ValueError(f"input has {len(data)} bytes, the model on the device takes {info.input_bytes}")
        return data

    def _output(self, raw: bytes) -> np.ndarray:
        info = self._need_info()
        return np.frombuffer(raw, dtype="<i4").astype(np.int32).reshape(info.output_shape)

    def infer(self, q: Any) -> Tuple[np.ndarray, int]:
        """Run one sample: (int32 output, counter difference around tb_model_run)."""
        data = self._input_bytes(q)
        want = P.crc32(data)
        size = self._need_info().output_size

        def accept(f: P.Frame):
            count, in_crc, out = P.parse_infer(f.payload, size)
            if in_crc != want:
                raise P.PayloadError("INFER: the device ran on another input (input CRC differs)")
            return self._output(out), count

        return self.request(P.CMD_INFER, data, accept)

    def infer_many(self, qs: Any, window: int = 1) -> Iterator[Tuple[np.ndarray, int]]:
        """``infer`` over many samples, yielding (output, count) in order.

        ``window`` > 1 keeps that many requests in flight (each with its own sequence
        number, matched to its own reply with the same checks as :meth:`infer`).  Only
        for links with flow control (QEMU's emulated UART): the device is half-duplex
        and a real UART drops bytes that arrive while it computes.  When nothing
        acceptable arrives for ``timeout`` seconds (or shortly after a corrupted frame),
        every request still in flight is sent again with a new sequence number; a
        sample that needs more than ``retries`` resends raises DeviceTimeout."""
        if window <= 1:
            for q in qs:
                yield self.infer(q)
            return
        size = self._need_info().output_size
        todo = iter(enumerate(qs))
        inflight: Dict[int, Tuple[int, bytes, int, int]] = {}  # seq -> (index, data, crc, resends)
        done: Dict[int, Tuple[np.ndarray, int]] = {}
        next_out = 0
        exhausted = False
        wait = self.timeout  # doubles on consecutive silent rounds (see request)

        def send(index: int, data: bytes, crc: int, resends: int) -> None:
            seq = self._next_seq()
            inflight[seq] = (index, data, crc, resends)
            self.stats["attempts"] += 1
            self.send_request(P.CMD_INFER, seq, data)

        while True:
            while not exhausted and len(inflight) < window:
                try:
                    index, q = next(todo)
                except StopIteration:
                    exhausted = True
                    break
                data = self._input_bytes(q)
                self.stats["requests"] += 1
                send(index, data, P.crc32(data), 0)
            while next_out in done:
                yield done.pop(next_out)
                next_out += 1
            if exhausted and not inflight:
                return
            deadline = time.monotonic() + wait
            corrupted = progress = False
            while not progress:
                data_in = self._read_some(deadline)
                if not data_in:
                    if time.monotonic() < deadline:
                        continue
                    if not corrupted:
                        self.stats["timeouts"] += 1
                        wait = min(wait * 2, self.timeout * self.max_backoff)
                    for seq, (index, data, crc, resends) in sorted(inflight.items(), key=lambda kv: kv[1][0]):
                        del inflight[seq]
                        if resends >= self.retries:
                            raise DeviceTimeout(f"INFER: no intact reply for sample {index} after "
                                                f"{resends + 1} attempts")
                        self.stats["retries"] += 1
                        send(index, data, crc, resends + 1)
                    break
                for item in self._reader.feed(data_in):
                    got = self._window_reply(item, inflight, size, done)
                    if got == "corrupt" and not corrupted:
                        corrupted = True
                        deadline = min(deadline, time.monotonic() + self.corrupt_grace)
                    elif got == "done":
                        progress = True
                        wait = self.timeout

    def _window_reply(self, item, inflight: dict, size: int, done: dict) -> str:
        """One frame (or frame error) read while :meth:`infer_many` has requests in flight: "done" when it
        answers one of them (its output goes to ``done``), "corrupt" for a damaged frame, "" otherwise."""
        if isinstance(item, P.FrameError):
            self.stats["corrupt_frames"] += 1
            self.garbage[item.reason] = self.garbage.get(item.reason, 0) + 1
            return "corrupt"
        f = item
        if f.version != P.VERSION:
            raise ProtocolVersionError(f"device sent an intact frame of protocol version {f.version}; "
                                       f"this host speaks version {P.VERSION}")
        if not f.is_response or f.cmd != P.CMD_INFER or f.seq not in inflight:
            self.stats["stale_frames"] += 1
            return ""
        index, data, crc, _ = inflight[f.seq]
        if f.status != P.ST_OK:
            raise DeviceStatusError(f"INFER: device answered {P.status_name(f.status)}", f.status)
        try:
            count, in_crc, out = P.parse_infer(f.payload, size)
            if in_crc != crc:
                raise P.PayloadError("INFER: input CRC differs")
        except P.PayloadError:
            self.stats["rejected_frames"] += 1
            return ""  # the timeout resends it
        del inflight[f.seq]
        done[index] = (self._output(out), count)
        return "done"

    def profile(self, q: Any) -> Profile:
        data = self._input_bytes(q)
        want = P.crc32(data)
        info = self._need_info()

        def accept(f: P.Frame):
            total, in_crc, counts, out = P.parse_profile(f.payload, info.num_layers, info.output_size)
            if in_crc != want:
                raise P.PayloadError("PROFILE: input CRC differs")
            return Profile(total, counts, self._output(out))

        return self.request(P.CMD_PROFILE, data, accept)

    def dump(self, q: Any, with_output: bool = False):
        """Every layer's output bytes (device representation), one entry per model
        layer (the input is not included).  ``with_output=True`` returns
        (layers, output) instead."""
        data = self._input_bytes(q)
        want = P.crc32(data)
        info = self._need_info()
        asm = P.DumpAssembly()  # chunks of every attempt: the same input gives the same bytes
        final: Dict[str, Any] = {}  # n_chunks and output from an intact final frame

        def complete():
            if not final or set(asm.chunks) != set(range(final["chunks"])):
                return None
            layers = asm.finish(final["chunks"], info.num_layers)
            if layers[-1] != final["out"]:
                raise P.PayloadError("DUMP: last layer differs from the output")
            return layers, self._output(final["out"])

        def accept(f: P.Frame):
            if f.more:
                asm.add(P.parse_dump_chunk(f.payload))
                return complete()
            in_crc, n_chunks, n_layers, out = P.parse_dump_final(f.payload, info.output_size)
            if in_crc != want:
                raise P.PayloadError("DUMP: input CRC differs")
            if n_layers != info.num_layers:
                raise P.PayloadError(f"DUMP: {n_layers} layers, expected {info.num_layers}")
            if final and (final["chunks"], final["out"]) != (n_chunks, out):
                raise P.PayloadError("DUMP: final frames of two attempts differ")
            final.update(chunks=n_chunks, out=out)
            result = complete()
            if result is None and f.seq == self._seq:
                raise P.PayloadError("DUMP: chunks missing")  # the latest attempt is over: retry
            return result

        layers, out = self.request(P.CMD_DUMP, data, accept, any_attempt=True)
        return (layers, out) if with_output else layers

    def classify(self, x: Any) -> Classified:
        """CLASSIFY one float32 sample (the model's own input layout, any shape of the right size): the
        device quantizes it, runs the model and applies the output affine (model_io.c). The sample goes in
        pieces of up to the device's max payload; when the device has lost it (the reply to a completing
        piece was lost and the piece sent again), it is sent again from the start, at most ``retries``
        times."""
        info = self._need_info()
        if not info.classify:
            raise DeviceError("CLASSIFY: the firmware on the device has no float boundary (its INFO lacks the "
                              "classify flag): rebuild and flash it with this tinybnn")
        data = np.ascontiguousarray(np.asarray(x, dtype="<f4").reshape(-1)).tobytes()
        n = len(data) // 4
        if n != info.input_bytes:  # one int8 code per input element on the device
            raise ValueError(f"sample has {n} values, the model on the device takes {info.input_bytes}")
        want_crc = P.crc32(data)
        per = (info.max_payload - P.CLASSIFY_REQ_HDR) // 4
        pieces = [(o, data[4 * o:4 * min(n, o + per)]) for o in range(0, n, per)]
        size = info.output_size

        def ack(want: int):
            def accept(f: P.Frame):
                got = P.parse_classify_ack(f.payload)
                if got != want:
                    raise P.PayloadError(f"CLASSIFY ack: the device holds {got} values, expected {want}")
                return got
            return accept

        def final(f: P.Frame):
            count, in_crc, codes_crc, cls, raw = P.parse_classify(f.payload, size)
            if in_crc != want_crc:
                raise P.PayloadError("CLASSIFY: the device classified another sample (sample CRC differs)")
            return Classified(cls, np.frombuffer(raw, dtype="<f4").astype(np.float32), codes_crc, count)

        last = "no attempt"
        for attempt in range(self.retries + 1):
            if attempt:
                self.stats["retries"] += 1
            try:
                for off, piece in pieces[:-1]:
                    self.request(P.CMD_CLASSIFY, P.classify_piece(off, piece), ack(off + len(piece) // 4))
                off, piece = pieces[-1]
                return self.request(P.CMD_CLASSIFY, P.classify_piece(off, piece), final)
            except DeviceStatusError as exc:
                if exc.status != P.ST_BAD_ARG:
                    raise
                last = str(exc)  # the device lost the sample: start over
        raise DeviceTimeout(f"CLASSIFY: the sample did not get through in {self.retries + 1} attempts "
                            f"(last: {last})")

    def layer(self, index: int) -> Tuple[str, int]:
        """(name, output bytes) of layer ``index``."""
        def accept(f: P.Frame):
            idx, nbytes, name = P.parse_layer(f.payload)
            if idx != index:
                raise P.PayloadError("LAYER: index differs")
            return name, nbytes

        return self.request(P.CMD_LAYER, struct.pack("<H", index), accept)

    def echo(self, data: bytes = b"") -> bytes:
        data = bytes(data)

        def accept(f: P.Frame):
            if f.payload != data:
                raise P.PayloadError("ECHO: payload differs")
            return f.payload

        return self.request(P.CMD_ECHO, data, accept)

    def raw_echo(self, data: bytes, timeout: Optional[float] = None) -> bytes:
        """Link benchmark: the device echoes ``data`` unframed (no integrity check
        beyond comparing the bytes; raises DeviceError on a difference)."""
        n = len(data)
        self.request(P.CMD_RAW_ECHO, struct.pack("<I", n), lambda f: True)
        self._write(bytes(data))
        got = bytearray()
        deadline = time.monotonic() + (timeout or max(self.timeout, n / 2000.0))
        while len(got) < n:
            chunk = self._read_some(deadline)
            if not chunk and time.monotonic() >= deadline:
                raise DeviceTimeout(f"RAW_ECHO: {len(got)} of {n} bytes came back")
            got += chunk
        if bytes(got[:n]) != bytes(data):
            raise DeviceError("RAW_ECHO: bytes differ")
        if len(got) > n:
            self._reader.feed(bytes(got[n:]))
        return bytes(got[:n])

    def exit(self) -> None:
        """EXIT: the device answers, then stops (QEMU exits with status 0)."""
        self.request(P.CMD_EXIT, b"", lambda f: True)
