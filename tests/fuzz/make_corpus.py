"""Seed corpus for tests/fuzz/fuzz_protocol.c (see its header for the input format).

    python3 tests/fuzz/make_corpus.py OUT_DIR [INPUT_BYTES]

Writes one file per seed: valid request streams for every command (mode byte 0x00,
raw wire bytes made with tinybnn.device.protocol), the same requests as CRC-fixed records
(mode 0x01/0x03/0x05), and typical garbage (boot text, truncated, oversize, bad CRC).
"""

import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tinybnn.device import protocol as P  # noqa: E402


def requests(input_bytes: int):
    x = bytes((i * 37 + 11) & 0xFF for i in range(input_bytes))
    return [
        (P.CMD_INFO, b""),
        (P.CMD_INFER, x),
        (P.CMD_INFER, bytes(input_bytes)),
        (P.CMD_PROFILE, x),
        (P.CMD_DUMP, x),
        (P.CMD_RESET, b"nonce123"),
        (P.CMD_ECHO, b"\x00\x01\xff" * 10),
        (P.CMD_LAYER, struct.pack("<H", 0)),
        (P.CMD_LAYER, struct.pack("<H", 3)),
        (P.CMD_LAYER, struct.pack("<H", 999)),
        (P.CMD_INFER, x[:-1]),
        (0x55, b"?"),
        # CLASSIFY: a float sample in two pieces, a gap, a piece past the end, a ragged length, a NaN
        (P.CMD_CLASSIFY, P.classify_piece(0, struct.pack(f"<{input_bytes // 2}f", *([0.5] * (input_bytes // 2))))),
        (P.CMD_CLASSIFY, P.classify_piece(input_bytes // 2, struct.pack(
            f"<{input_bytes - input_bytes // 2}f", *([-1.25] * (input_bytes - input_bytes // 2))))),
        (P.CMD_CLASSIFY, P.classify_piece(7, struct.pack("<f", 1.0))),
        (P.CMD_CLASSIFY, P.classify_piece(0, bytes(4 * (input_bytes + 1)))),
        (P.CMD_CLASSIFY, b"\x00\x00\x00\x00\x01\x02"),
        (P.CMD_CLASSIFY, P.classify_piece(0, struct.pack(f"<{input_bytes}f", *([float("nan")] * input_bytes)))),
    ]


def seeds(input_bytes: int):
    reqs = requests(input_bytes)
    out = {}
    for k, (cmd, payload) in enumerate(reqs):
        out[f"wire_{k:02d}_{P.cmd_name(cmd)}"] = b"\x00" + P.encode_frame(cmd, k, payload)
        body = P.build_raw(cmd, k, payload)[:-P.CRC_BYTES]
        if len(body) <= 255:
            out[f"rec_{k:02d}_{P.cmd_name(cmd)}"] = b"\x01" + bytes([len(body)]) + body
    everything = b"".join(P.encode_frame(c, k, p) for k, (c, p) in enumerate(reqs))
    out["wire_all"] = b"\x00" + everything
    out["wire_boot_text_then_info"] = b"\x00boot text\r\n" + P.encode_frame(P.CMD_INFO, 1)
    out["wire_raw_echo"] = (b"\x00" + P.encode_frame(P.CMD_RAW_ECHO, 2, struct.pack("<I", 5)) + b"hello"
                            + P.encode_frame(P.CMD_INFO, 3))
    out["wire_raw_echo_max_then_reset"] = (
        b"\x00" + P.encode_frame(P.CMD_RAW_ECHO, 2, struct.pack("<I", P.RAW_ECHO_MAX)) + b"raw\x00data"
        + P.encode_frame(P.CMD_RESET, 3, b"nonce") + P.encode_frame(P.CMD_INFO, 4))
    good = P.encode_frame(P.CMD_ECHO, 4, b"abc")
    out["wire_truncated"] = b"\x00" + good[:-4] + b"\x00" + good
    out["wire_oversize"] = b"\x00\x00" + b"\x05" * 700 + good
    bad = bytearray(P.build_raw(P.CMD_ECHO, 5, b"abcd"))
    bad[9] ^= 1
    out["wire_bad_crc"] = b"\x00\x00" + P.cobs_encode(bytes(bad)) + b"\x00" + good
    out["wire_version"] = b"\x00" + P.encode_frame(P.CMD_INFO, 6, version=7) + good
    out["wire_exit"] = b"\x00" + P.encode_frame(P.CMD_EXIT, 7) + P.encode_frame(P.CMD_INFO, 8)
    out["rec_multi"] = b"\x07" + b"".join(
        bytes([len(b)]) + b + b"\x00" for b in (P.build_raw(P.CMD_INFO, 9)[:-4], P.build_raw(P.CMD_DUMP, 10, bytes(input_bytes))[:-4]))
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    d = Path(argv[1])
    d.mkdir(parents=True, exist_ok=True)
    n = int(argv[2]) if len(argv) > 2 else 64
    for name, data in seeds(n).items():
        (d / name).write_bytes(data)
    print(f"{len(seeds(n))} seeds in {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
