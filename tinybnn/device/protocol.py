"""Host side of the tinybnn serial protocol: constants, CRC, COBS, frames, payloads.

The protocol is specified in the header comment of ``firmware/runtime/tb_protocol.h``
(shipped in the wheel as ``tinybnn/_data/firmware/runtime/tb_protocol.h``).  That C
header is the single source of truth for every number: this module parses its
``#define TBP_<NAME> <integer>`` lines at import time and exposes them without the
``TBP_`` prefix (``protocol.VERSION``, ``protocol.CMD_INFER``, ...).  Nothing is
generated and no number is written here a second time; the payload layouts below are
checked against the header's ``*_HDR`` / ``*_BYTES`` sizes at import.

Summary (see the header for the full text)::

    wire:  0x00  COBS(raw)  0x00
    raw:   u8 version | u8 kind | u8 status | u8 flags | u16 seq | u16 length |
           payload[length] | u32 CRC-32 (zlib) of everything before it
    kind:  request = command code; response = RESPONSE_BIT | command code

:class:`FrameReader` turns a byte stream into frames (and garbage reports), with a
bounded buffer; :func:`encode_frame` builds one wire frame; the ``parse_*`` functions
decode response payloads and raise :class:`PayloadError` when a length does not match.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

from ..errors import TinyBnnError

# ------------------------------------------------------------------------------------- constants --

_DEFINE = re.compile(r"^\s*#\s*define\s+TBP_([A-Z0-9_]+)\s+(0x[0-9A-Fa-f]+|\d+)[uU]?\s*(?:/\*.*?\*/)?\s*$")


def header_path() -> Path:
    """Path of ``tb_protocol.h`` in this checkout or installed wheel."""
    from ..resources import data_dir

    return data_dir("firmware") / "runtime" / "tb_protocol.h"


def parse_header(text: str) -> Dict[str, int]:
    """``{NAME: value}`` for every ``#define TBP_NAME <integer>`` line of ``text``."""
    out: Dict[str, int] = {}
    for line in text.splitlines():
        m = _DEFINE.match(line)
        if m:
            name, value = m.group(1), int(m.group(2), 0)
            if name in out and out[name] != value:
                raise ValueError(f"tb_protocol.h: TBP_{name} defined twice with different values")
            out[name] = value
    return out


CONSTANTS: Dict[str, int] = parse_header(header_path().read_text(encoding="utf-8"))

_REQUIRED = ("VERSION", "HDR_BYTES", "CRC_BYTES", "OVERHEAD_BYTES", "RESPONSE_BIT", "FLAG_MORE", "DELIMITER",
             "CRC32_POLY", "CRC32_CHECK", "DEFAULT_MAX_PAYLOAD", "PAYLOAD_LIMIT", "STR_MAX",
             "INFO_FIXED_BYTES", "INFO_EMULATED", "INFER_RESP_HDR", "PROFILE_RESP_HDR", "DUMP_CHUNK_HDR",
             "DUMP_FINAL_HDR", "LAYER_RESP_HDR", "RAW_ECHO_MAX", "CMD_INFO", "CMD_INFER", "CMD_PROFILE",
             "CMD_DUMP", "CMD_RESET", "CMD_ECHO", "CMD_EXIT", "CMD_LAYER", "CMD_RAW_ECHO", "CMD_CLASSIFY",
             "INFO_CLASSIFY", "CLASSIFY_REQ_HDR", "CLASSIFY_ACK_BYTES", "CLASSIFY_RESP_HDR", "ST_OK")
_missing = [n for n in _REQUIRED if n not in CONSTANTS]
if _missing:
    raise ImportError(f"{header_path()}: missing #define TBP_{', TBP_'.join(_missing)}")

globals().update(CONSTANTS)  # VERSION, CMD_INFER, ... as module attributes

VERSION: int
HDR_BYTES: int
CRC_BYTES: int
OVERHEAD_BYTES: int
RESPONSE_BIT: int
FLAG_MORE: int
DEFAULT_MAX_PAYLOAD: int
PAYLOAD_LIMIT: int
STR_MAX: int
INFO_FIXED_BYTES: int
INFO_EMULATED: int
INFER_RESP_HDR: int
PROFILE_RESP_HDR: int
DUMP_CHUNK_HDR: int
DUMP_FINAL_HDR: int
LAYER_RESP_HDR: int
RAW_ECHO_MAX: int
INFO_CLASSIFY: int
CLASSIFY_REQ_HDR: int
CLASSIFY_ACK_BYTES: int
CLASSIFY_RESP_HDR: int

Cmd = IntEnum("Cmd", {k[4:]: v for k, v in CONSTANTS.items() if k.startswith("CMD_")})
Status = IntEnum("Status", {k[3:]: v for k, v in CONSTANTS.items() if k.startswith("ST_")})

# Payload layouts (little-endian); sizes are checked against the header below.
_HDR = struct.Struct("<BBBBHH")  # version, kind, status, flags, seq, length
_INFO_FIXED = struct.Struct("<BBHIIIIIIiHBBIIIII")
_INFER_HDR = struct.Struct("<II")  # count, crc32(input)
_PROFILE_HDR = struct.Struct("<IIHH")  # total, crc32(input), layers, 0
_CHUNK_HDR = struct.Struct("<HHII")  # chunk index, layer, layer bytes, offset
_DUMP_FINAL = struct.Struct("<IHH")  # crc32(input), chunks, layers
_LAYER_HDR = struct.Struct("<HHI")  # layer, 0, output bytes
_CLASSIFY_REQ = struct.Struct("<I")  # offset of the piece's first float in the sample
_CLASSIFY_ACK = struct.Struct("<I")  # floats received so far
_CLASSIFY_HDR = struct.Struct("<IIIi")  # count, crc32(float sample), crc32(int8 codes), class

for _s, _name in ((_HDR, "HDR_BYTES"), (_INFO_FIXED, "INFO_FIXED_BYTES"), (_INFER_HDR, "INFER_RESP_HDR"),
                  (_PROFILE_HDR, "PROFILE_RESP_HDR"), (_CHUNK_HDR, "DUMP_CHUNK_HDR"),
                  (_DUMP_FINAL, "DUMP_FINAL_HDR"), (_LAYER_HDR, "LAYER_RESP_HDR"),
                  (_CLASSIFY_REQ, "CLASSIFY_REQ_HDR"), (_CLASSIFY_ACK, "CLASSIFY_ACK_BYTES"),
                  (_CLASSIFY_HDR, "CLASSIFY_RESP_HDR")):
    if _s.size != CONSTANTS[_name]:
        raise ImportError(f"tinybnn.device.protocol: layout of TBP_{_name} is {_s.size} bytes here, "
                          f"{CONSTANTS[_name]} in {header_path()}")


# ---------------------------------------------------------------------------------------- errors --

class ProtocolError(TinyBnnError, ValueError):
    """Malformed frame or payload (one-line message)."""


class FrameError(ProtocolError):
    """A frame was dropped; ``reason`` is one of: cobs, short, crc, length, overflow."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class PayloadError(ProtocolError):
    """An intact frame whose payload does not have the expected layout or length."""


# ------------------------------------------------------------------------------------ CRC / COBS --

def crc32(data: bytes) -> int:
    """CRC-32 as in tb_protocol.h (zlib / IEEE 802.3)."""
    return zlib.crc32(data) & 0xFFFFFFFF


assert crc32(b"123456789") == CONSTANTS["CRC32_CHECK"], "tb_protocol.h CRC check value differs from zlib"


def cobs_encode(data: bytes) -> bytes:
    """COBS without delimiters; identical to tbp_cobs_write in tb_protocol.c."""
    out = bytearray()
    i, n = 0, len(data)
    while True:
        j = data.find(0, i, min(n, i + 254))
        if j < 0:
            j = min(n, i + 254)
        code = j - i + 1
        out.append(code)
        out += data[i:j]
        if j >= n:
            break
        i = j if code == 0xFF else j + 1
    return bytes(out)


def cobs_decode(enc: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; raises FrameError('cobs') on a zero byte or a truncated block."""
    out = bytearray()
    i, n = 0, len(enc)
    if n == 0:
        raise FrameError("cobs", "empty COBS frame")
    prev = None
    while i < n:
        code = enc[i]
        if code == 0:
            raise FrameError("cobs", "zero byte inside a COBS frame")
        if prev is not None and prev != 0xFF:
            out.append(0)
        end = i + code
        if end > n:
            raise FrameError("cobs", "COBS block runs past the end of the frame")
        block = enc[i + 1:end]
        if 0 in block:
            raise FrameError("cobs", "zero byte inside a COBS frame")
        out += block
        prev = code
        i = end
    return bytes(out)


def wire_size(raw_len: int) -> int:
    """Bytes on the wire for a raw frame of ``raw_len`` bytes (COBS + two delimiters)."""
    return raw_len + raw_len // 254 + 1 + 2


# ---------------------------------------------------------------------------------------- frames --

@dataclass
class Frame:
    version: int
    kind: int
    status: int
    flags: int
    seq: int
    payload: bytes

    @property
    def is_response(self) -> bool:
        return bool(self.kind & RESPONSE_BIT)

    @property
    def cmd(self) -> int:
        return self.kind & ~RESPONSE_BIT & 0xFF

    @property
    def more(self) -> bool:
        return bool(self.flags & FLAG_MORE)


def build_raw(kind: int, seq: int, payload: bytes = b"", status: int = 0, flags: int = 0,
              version: Optional[int] = None) -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError(f"payload of {len(payload)} bytes does not fit the 16-bit length field")
    head = _HDR.pack(VERSION if version is None else version, kind, status, flags, seq & 0xFFFF, len(payload))
    body = head + bytes(payload)
    return body + struct.pack("<I", crc32(body))


def encode_frame(kind: int, seq: int, payload: bytes = b"", status: int = 0, flags: int = 0,
                 version: Optional[int] = None) -> bytes:
    """One frame as sent on the wire: ``0x00 COBS(raw) 0x00``."""
    return b"\x00" + cobs_encode(build_raw(kind, seq, payload, status, flags, version)) + b"\x00"


def parse_raw(raw: bytes) -> Frame:
    """Check CRC and length of a decoded frame; raises FrameError.  The version is
    NOT checked here (the caller decides what a foreign version means)."""
    if len(raw) < OVERHEAD_BYTES:
        raise FrameError("short", f"frame of {len(raw)} bytes is shorter than {OVERHEAD_BYTES}")
    body, (crc,) = raw[:-CRC_BYTES], struct.unpack("<I", raw[-CRC_BYTES:])
    if crc32(body) != crc:
        raise FrameError("crc", "CRC mismatch")
    version, kind, status, flags, seq, length = _HDR.unpack_from(body)
    if length != len(body) - HDR_BYTES:
        raise FrameError("length", f"length field {length} but {len(body) - HDR_BYTES} payload bytes")
    return Frame(version, kind, status, flags, seq, bytes(body[HDR_BYTES:]))


def decode_frame(enc: bytes) -> Frame:
    """COBS bytes between two delimiters -> Frame (raises FrameError)."""
    return parse_raw(cobs_decode(enc))


class FrameReader:
    """Incremental splitter/decoder of a byte stream into frames.

    ``feed(data)`` returns a list whose items are :class:`Frame` (intact: COBS, CRC and
    length good) or :class:`FrameError` (garbage: noise, boot text, truncated or
    corrupted frames).  At most ``max_frame`` encoded bytes are buffered: a longer run
    without a delimiter is reported once as an ``overflow`` error and skipped up to the
    next 0x00, so memory stays bounded whatever arrives.
    """

    def __init__(self, max_frame: int = 2 * 65536):
        self.max_frame = max_frame
        self._buf = bytearray()
        self._skipping = False

    def reset(self) -> None:
        self._buf.clear()
        self._skipping = False

    def feed(self, data: bytes) -> List[Union[Frame, FrameError]]:
        out: List[Union[Frame, FrameError]] = []
        start = 0
        while True:
            z = data.find(0, start)
            piece = data[start:] if z < 0 else data[start:z]
            if not self._skipping:
                if len(self._buf) + len(piece) > self.max_frame:
                    out.append(FrameError("overflow", f"more than {self.max_frame} bytes without a delimiter"))
                    self._buf.clear()
                    self._skipping = True
                else:
                    self._buf += piece
            if z < 0:
                return out
            if not self._skipping and self._buf:
                try:
                    out.append(decode_frame(bytes(self._buf)))
                except FrameError as exc:
                    out.append(exc)
            self._buf.clear()
            self._skipping = False
            start = z + 1


# -------------------------------------------------------------------------------------- payloads --

def _need(payload: bytes, n: int, what: str, exact: bool = True) -> None:
    if (len(payload) != n) if exact else (len(payload) < n):
        raise PayloadError(f"{what}: {len(payload)} payload bytes, expected {'' if exact else 'at least '}{n}")


def _str(payload: bytes, off: int, what: str) -> Tuple[str, int]:
    if off >= len(payload):
        raise PayloadError(f"{what}: payload ends before a string")
    n = payload[off]
    if off + 1 + n > len(payload):
        raise PayloadError(f"{what}: string runs past the payload")
    return payload[off + 1:off + 1 + n].decode("utf-8", errors="replace"), off + 1 + n


@dataclass
class Info:
    protocol_version: int
    emulated: bool
    max_payload: int
    clock_hz: int
    arena_bytes: int
    stack_size: int
    stack_used: int
    input_bytes: int
    output_size: int
    input_zero_point: int
    num_layers: int
    input_shape: Tuple[int, ...]
    output_shape: Tuple[int, ...]
    board_id: str
    counter_kind: str
    model_hash: str
    rx_frames: int = 0
    rx_bad_crc: int = 0
    rx_overflow: int = 0
    rx_other: int = 0
    tx_frames: int = 0
    flags: int = 0

    @property
    def rx_dropped(self) -> int:
        return self.rx_bad_crc + self.rx_overflow + self.rx_other

    @property
    def classify(self) -> bool:
        """The firmware answers CLASSIFY (its model has a float boundary on the device)."""
        return bool(self.flags & INFO_CLASSIFY)


def parse_info(payload: bytes) -> Info:
    _need(payload, INFO_FIXED_BYTES, "INFO", exact=False)
    (ver, flags, max_payload, clock, arena, ssize, sused, in_bytes, out_size, zp, layers, in_rank, out_rank,
     rx_ok, rx_crc, rx_over, rx_other, tx) = _INFO_FIXED.unpack_from(payload)
    off = INFO_FIXED_BYTES
    if off + 4 * (in_rank + out_rank) > len(payload):
        raise PayloadError("INFO: payload ends inside the shapes")
    in_shape = struct.unpack_from(f"<{in_rank}I", payload, off)
    off += 4 * in_rank
    out_shape = struct.unpack_from(f"<{out_rank}I", payload, off)
    off += 4 * out_rank
    board, off = _str(payload, off, "INFO")
    kind, off = _str(payload, off, "INFO")
    mhash, off = _str(payload, off, "INFO")
    if off != len(payload):
        raise PayloadError(f"INFO: {len(payload) - off} unexpected trailing bytes")
    return Info(ver, bool(flags & INFO_EMULATED), max_payload, clock, arena, ssize, sused, in_bytes, out_size,
                zp, layers, tuple(in_shape), tuple(out_shape), board, kind, mhash,
                rx_ok, rx_crc, rx_over, rx_other, tx, flags)


def parse_infer(payload: bytes, output_size: int) -> Tuple[int, int, bytes]:
    """-> (count, crc32 of the input the device ran on, output as raw int32 LE bytes)."""
    _need(payload, INFER_RESP_HDR + 4 * output_size, "INFER")
    count, in_crc = _INFER_HDR.unpack_from(payload)
    return count, in_crc, payload[INFER_RESP_HDR:]


def parse_profile(payload: bytes, num_layers: int, output_size: int) -> Tuple[int, int, List[int], bytes]:
    """-> (total count, crc32 of the input, per-layer counts, output int32 LE bytes)."""
    _need(payload, PROFILE_RESP_HDR + 4 * num_layers + 4 * output_size, "PROFILE")
    total, in_crc, layers, _zero = _PROFILE_HDR.unpack_from(payload)
    if layers != num_layers:
        raise PayloadError(f"PROFILE: {layers} layers, expected {num_layers}")
    counts = list(struct.unpack_from(f"<{num_layers}I", payload, PROFILE_RESP_HDR))
    return total, in_crc, counts, payload[PROFILE_RESP_HDR + 4 * num_layers:]


@dataclass
class DumpChunk:
    index: int
    layer: int
    layer_bytes: int
    offset: int
    data: bytes


def parse_dump_chunk(payload: bytes) -> DumpChunk:
    _need(payload, DUMP_CHUNK_HDR, "DUMP chunk", exact=False)
    index, layer, layer_bytes, offset = _CHUNK_HDR.unpack_from(payload)
    data = payload[DUMP_CHUNK_HDR:]
    if offset + len(data) > layer_bytes:
        raise PayloadError(f"DUMP chunk {index}: bytes {offset}..{offset + len(data)} past layer size {layer_bytes}")
    return DumpChunk(index, layer, layer_bytes, offset, data)


def parse_dump_final(payload: bytes, output_size: int) -> Tuple[int, int, int, bytes]:
    """-> (crc32 of the input, number of chunks, number of layers, output int32 LE bytes)."""
    _need(payload, DUMP_FINAL_HDR + 4 * output_size, "DUMP final frame")
    in_crc, chunks, layers = _DUMP_FINAL.unpack_from(payload)
    return in_crc, chunks, layers, payload[DUMP_FINAL_HDR:]


@dataclass
class DumpAssembly:
    """Collects the chunks of one DUMP; :meth:`finish` checks completeness."""
    chunks: Dict[int, DumpChunk] = field(default_factory=dict)

    def add(self, c: DumpChunk) -> None:
        old = self.chunks.get(c.index)
        if old is not None and old != c:
            raise PayloadError(f"DUMP chunk {c.index} received twice with different contents")
        self.chunks[c.index] = c

    def finish(self, n_chunks: int, n_layers: int) -> List[bytes]:
        if set(self.chunks) != set(range(n_chunks)):
            missing = sorted(set(range(n_chunks)) - set(self.chunks))
            extra = sorted(set(self.chunks) - set(range(n_chunks)))
            raise PayloadError(f"DUMP: chunks missing {missing[:5]} extra {extra[:5]} of {n_chunks}")
        layers: List[Optional[bytearray]] = [None] * n_layers
        covered = [0] * n_layers
        next_off = [0] * n_layers
        last_layer = -1
        for i in range(n_chunks):
            c = self.chunks[i]
            if not 0 <= c.layer < n_layers:
                raise PayloadError(f"DUMP chunk {i}: layer {c.layer} out of range")
            if c.layer < last_layer:
                raise PayloadError(f"DUMP chunk {i}: layer {c.layer} after layer {last_layer}")
            last_layer = c.layer
            if layers[c.layer] is None:
                layers[c.layer] = bytearray(c.layer_bytes)
            buf = layers[c.layer]
            if len(buf) != c.layer_bytes or c.offset != next_off[c.layer]:
                raise PayloadError(f"DUMP chunk {i}: inconsistent layer size or offset")
            buf[c.offset:c.offset + len(c.data)] = c.data
            next_off[c.layer] += len(c.data)
            covered[c.layer] += len(c.data)
        for k, buf in enumerate(layers):
            if buf is None or covered[k] != len(buf):
                raise PayloadError(f"DUMP: layer {k} incomplete")
        return [bytes(b) for b in layers]  # type: ignore[arg-type]


def classify_piece(offset: int, floats: bytes) -> bytes:
    """CLASSIFY request payload: a piece of the float32 sample (little-endian) starting at element ``offset``."""
    if len(floats) % 4:
        raise ValueError("CLASSIFY: a piece holds whole float32 values")
    return _CLASSIFY_REQ.pack(offset) + bytes(floats)


def parse_classify_ack(payload: bytes) -> int:
    """-> floats of the sample the device holds so far."""
    _need(payload, CLASSIFY_ACK_BYTES, "CLASSIFY ack")
    return _CLASSIFY_ACK.unpack(payload)[0]


def parse_classify(payload: bytes, output_size: int) -> Tuple[int, int, int, int, bytes]:
    """-> (count, crc32 of the float sample as the device holds it (float32 LE bytes), crc32 of the int8 codes
    the device computed, class, scores as float32 LE bytes)."""
    _need(payload, CLASSIFY_RESP_HDR + 4 * output_size, "CLASSIFY")
    count, in_crc, codes_crc, cls = _CLASSIFY_HDR.unpack_from(payload)
    if not 0 <= cls < output_size:
        raise PayloadError(f"CLASSIFY: class {cls} outside 0..{output_size - 1}")
    return count, in_crc, codes_crc, cls, payload[CLASSIFY_RESP_HDR:]


def parse_layer(payload: bytes) -> Tuple[int, int, str]:
    """-> (layer index, output bytes, name)."""
    _need(payload, LAYER_RESP_HDR + 1, "LAYER", exact=False)
    idx, _zero, nbytes = _LAYER_HDR.unpack_from(payload)
    name, off = _str(payload, LAYER_RESP_HDR, "LAYER")
    if off != len(payload):
        raise PayloadError("LAYER: unexpected trailing bytes")
    return idx, nbytes, name


def status_name(status: int) -> str:
    try:
        return Status(status).name
    except ValueError:
        return f"status {status}"


def cmd_name(cmd: int) -> str:
    try:
        return Cmd(cmd).name
    except ValueError:
        return f"command 0x{cmd:02x}"
