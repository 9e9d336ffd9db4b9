"""The serial protocol end to end on the default emulated board (qemu-m4):
tests/device_app (boot text + tb_serve()) with a generated fixture model, driven by
tinybnn.device.link.Device, directly and through tinybnn.device.faultproxy.FaultProxy.

The fault test checks, over >= 500 samples on a line that flips, drops, duplicates,
delays, injects and replays bytes and reboots the device (QEMU restarted): zero silent
wrong results (every accepted output equals the golden model's run_quantized), zero
false mismatches, every sample validated."""

import os
import shutil
import struct
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from device_app import build_app  # noqa: E402
from tinybnn.targets import boards, qemu  # noqa: E402
from tinybnn.device import protocol as P  # noqa: E402
from tinybnn.device.link import Device, DeviceStatusError  # noqa: E402
from tinybnn.device.faultproxy import FaultProxy  # noqa: E402

BOARD = "qemu-m4"
FIXTURE = "brevitas_cnn"  # conv s8xb1, conv b1xb1, maxpool, dense: 64-byte input, 10 outputs
# A small max payload so that DUMP needs several chunks per layer (256-byte layers).
BUILD_FLAGS = ["-D TBP_MAX_PAYLOAD=128"]

N_FAULT_SAMPLES = int(os.environ.get("TINYBNN_FAULT_SAMPLES", "520"))
FAULT_SEED = int(os.environ.get("TINYBNN_FAULT_SEED", "20240601"))
FAULT_RATE = 4e-4  # per byte and fault kind

# one xdist worker runs the whole module (make test runs in parallel): the device app's firmware, made once
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("test_device")]


def _missing_tools():
    b = boards.load_board(BOARD)
    return [t for t in (b["toolchain"] + "-gcc", b["qemu"]["binary"]) if shutil.which(t) is None]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    missing = _missing_tools()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    mp = pytest.MonkeyPatch()
    if not os.environ.get("TINYBNN_CACHE"):
        mp.setenv("TINYBNN_CACHE", str(tmp_path_factory.mktemp("tinybnn-cache")))
    try:
        a = build_app.build(FIXTURE, tmp_path_factory.mktemp("device_app"), BOARD, BUILD_FLAGS)
    finally:
        mp.undo()
    a.q = a.model.quantize(a.x)
    a.golden = a.model.run_quantized(a.q)
    return a


def _session(app):
    return qemu.QemuSession(app.elf, BOARD, timeout=300)


def _layers_golden(app, i):
    return [lo.data.tobytes() for lo in app.model.run_layers(app.x[i:i + 1])[1:]]


# ------------------------------------------------------------------------------------------------ --

def test_commands(app):
    with _session(app) as q:
        dev = Device(q.serial, timeout=2.0)
        info = dev.info_
        assert info.protocol_version == P.VERSION
        assert info.board_id == BOARD and info.emulated and info.counter_kind == "instructions"
        assert info.clock_hz == boards.load_board(BOARD)["clock_hz"]
        assert info.model_hash == app.model_hash
        assert info.input_bytes == app.q[0].size == 64
        assert info.input_shape == app.q.shape[1:] and info.output_shape == app.golden.shape[1:]
        assert info.num_layers == len(app.model.run_layers(app.x[:1])) - 1
        assert info.max_payload >= 128 and 0 < info.stack_used < info.stack_size
        assert info.rx_dropped == 0  # the host starts every frame with 0x00

        counts = []
        for i in range(20):
            out, count = dev.infer(app.q[i])
            assert out.dtype == np.int32 and np.array_equal(out, app.golden[i])
            counts.append(count)
        out, count = dev.infer(app.q[0])
        # deterministic under -icount up to one SysTick tick (40 instructions at 25 MHz): the
        # tick phase at the start depends on how long the device polled for the request
        assert abs(count - counts[0]) <= 40, "instruction count not deterministic under -icount"
        assert all(c > 0 for c in counts)
        many = list(dev.infer_many((app.q[i] for i in range(20)), window=3))
        assert all(np.array_equal(o, app.golden[i]) for i, (o, _) in enumerate(many))

        prof = dev.profile(app.q[3])
        assert np.array_equal(prof.output, app.golden[3])
        assert len(prof.per_layer) == info.num_layers and all(c > 0 for c in prof.per_layer)
        assert 0 <= prof.total - sum(prof.per_layer) <= 200  # the last read after the last hook
        layers, out = dev.dump(app.q[5], with_output=True)
        assert layers == _layers_golden(app, 5)
        assert np.array_equal(out, app.golden[5])
        assert max(len(x) for x in layers) > info.max_payload - P.DUMP_CHUNK_HDR  # several chunks
        names = [dev.layer(k) for k in range(info.num_layers)]
        assert [n for n, _ in names] == [lo.name for lo in app.model.run_layers(app.x[:1])[1:]]
        assert [b for _, b in names] == [len(x) for x in layers]

        for payload in (b"", b"\x00", b"\x00" * 40, bytes(range(1, 256))[:info.max_payload],
                        b"\xff" * (info.max_payload - 1) + b"\x00", os.urandom(info.max_payload)):
            assert dev.echo(payload) == payload
        with pytest.raises(ValueError, match="exceeds"):
            dev.echo(b"x" * (info.max_payload + 1))
        with pytest.raises(DeviceStatusError, match="BAD_LENGTH"):
            dev.request(P.CMD_INFER, b"\x01" * 63, lambda f: f)
        with pytest.raises(DeviceStatusError, match="UNKNOWN_CMD"):
            dev.request(0x55, b"", lambda f: f)
        with pytest.raises(DeviceStatusError, match="BAD_ARG"):
            dev.layer(info.num_layers)
        with pytest.raises(ValueError, match="int8"):
            dev.infer(app.q[0].astype(np.int16))
        with pytest.raises(ValueError, match="64"):
            dev.infer(b"\x00" * 65)
        data = bytes(range(256)) * 4
        assert dev.raw_echo(data) == data
        assert dev.echo(b"framed again") == b"framed again"
        assert dev.stats["retries"] == 0
        dev.exit()
        assert q.wait() == 0


def test_device_drops_garbage(app):
    """Boot text, noise, oversize, truncated, bad-CRC, wrong-version, wrong-length
    and response-kind frames are dropped without a reply; the device keeps serving."""
    with _session(app) as q:
        dev = Device(q.serial, timeout=2.0)
        cap = dev.info_.max_payload
        before = dev.info()
        good = P.build_raw(P.CMD_ECHO, 1, b"abc")
        bad_crc = bytearray(good)
        bad_crc[9] ^= 0x10
        wrong_len = P.build_raw(P.CMD_ECHO, 2, b"abcd")
        wrong_len = wrong_len[:6] + struct.pack("<H", 3) + wrong_len[8:-4]
        wrong_len += struct.pack("<I", P.crc32(wrong_len))
        junk = [
            b"tinybnn boot text\r\nno delimiter here",
            b"\x00" + os.urandom(300).replace(b"\x00", b"\x01") + b"\x00",          # noise (oversize)
            b"\x00" + b"\x07" * (3 * cap) + b"\x00",                                # oversize
            b"\x00" + P.cobs_encode(good)[:-3] + b"\x00",                           # truncated
            b"\x00" + P.cobs_encode(bytes(bad_crc)) + b"\x00",                      # bad CRC
            P.encode_frame(P.CMD_ECHO, 3, b"v", version=P.VERSION + 1),              # wrong version
            b"\x00" + P.cobs_encode(wrong_len) + b"\x00",                           # length field
            P.encode_frame(P.RESPONSE_BIT | P.CMD_ECHO, 4, b"r"),                   # a response
            P.encode_frame(0, 5, b""),                                              # command 0
            b"\x00" + P.cobs_encode(good[:8]) + b"\x00",                            # short
            b"\x00\x00\x00\x00",                                                    # empty frames
        ]
        for j in junk:
            dev._write(j)
        time.sleep(0.3)
        after = dev.info()  # answered: the device kept serving
        assert dev.stats["stale_frames"] == 0, "the device answered garbage"
        assert after.rx_frames == before.rx_frames + 1
        assert after.rx_overflow - before.rx_overflow >= 2
        assert after.rx_bad_crc - before.rx_bad_crc >= 1
        assert after.rx_other - before.rx_other >= 5
        out, _ = dev.infer(app.q[7])
        assert np.array_equal(out, app.golden[7])
        dev.exit()
        assert q.wait() == 0


def test_host_rejects_foreign_version(app):
    """An intact frame of another protocol version stops the host with a clear error."""
    from tinybnn.device.link import ProtocolVersionError

    class Fake:
        def __init__(self):
            self.out = b""

        def write(self, data):
            seq = struct.unpack_from("<H", P.cobs_decode(data[1:-1]), 4)[0]
            self.out = P.encode_frame(P.RESPONSE_BIT | P.CMD_RESET, seq, b"", version=P.VERSION + 1)

        def read(self, n):
            data, self.out = self.out, b""
            return data

    with pytest.raises(ProtocolVersionError, match="version 2"):
        Device(Fake(), timeout=0.2)


def test_tinybnn_build_serve_app(app, tmp_path):
    """The real application (firmware/runtime/tb_main.c: boot self-test, then tb_serve())
    as built by `tinybnn build --app serve` speaks the protocol too."""
    from tinybnn.targets import build

    fb = build.build(app.model, BOARD, tmp_path / "fw", sample=app.x[0], app="serve")
    with qemu.QemuSession(fb.elf, BOARD, timeout=120) as q:
        dev = Device(q.serial, timeout=2.0)
        assert dev.info_.model_hash == fb.hash == app.model_hash
        for i, (out, _) in enumerate(dev.infer_many((app.q[i] for i in range(10)), window=2)):
            assert np.array_equal(out, app.golden[i])
        dev.exit()
        assert q.wait() == 0


def test_classify(app):
    """CLASSIFY on the device: float samples in pieces (a max payload of 128 bytes: 31 floats a piece), the
    device quantizes, runs and applies the output affine; its codes are the host's, its class the golden
    model's argmax, its scores predict's within 1e-5. A lost sample is sent again; a NaN is refused."""
    x = np.asarray(app.x[:20], dtype=np.float32)
    want = app.model.predict(x).reshape(len(x), -1)
    with _session(app) as q:
        dev = Device(q.serial, timeout=2.0)
        assert dev.info_.classify
        for i in range(len(x)):
            c = dev.classify(x[i])
            assert c.codes_crc == P.crc32(app.q[i].tobytes()), f"sample {i}: int8 codes differ from the host's"
            assert c.cls == int(np.argmax(want[i]))
            assert np.allclose(c.scores, want[i], rtol=1e-5, atol=1e-5 * np.abs(want[i]).max())
            assert c.count > 0
        # the device loses a half-sent sample to an INFER: the next piece gets BAD_ARG
        piece = np.ascontiguousarray(x[0].reshape(-1), dtype="<f4").tobytes()
        assert P.parse_classify_ack(dev.request(P.CMD_CLASSIFY, P.classify_piece(0, piece[:40]), lambda f: f.payload)) == 10
        dev.infer(app.q[0])
        with pytest.raises(DeviceStatusError, match="BAD_ARG"):
            dev.request(P.CMD_CLASSIFY, P.classify_piece(10, piece[40:80]), lambda f: f)
        with pytest.raises(DeviceStatusError, match="MODEL_ERROR") as exc:
            dev.classify(np.full(x[0].shape, np.nan, np.float32))
        assert exc.value.code == -16  # TB_MODEL_ERR_INPUT
        with pytest.raises(ValueError, match="64"):
            dev.classify(np.zeros(65, np.float32))
        assert dev.classify(x[1]).cls == int(np.argmax(want[1]))  # still serving
        assert dev.stats["retries"] == 0
        dev.exit()
        assert q.wait() == 0


def test_fault_injection(app, report):
    """>= 500 samples through the fault proxy: zero silent wrong results, zero false
    mismatches, every sample validated, within ~90 s."""
    t0 = time.monotonic()
    sessions = [_session(app).__enter__()]
    every_session = list(sessions)  # all closed at the end, whatever happens

    def restart():
        sessions[0].close()
        sessions[0] = _session(app)
        every_session.append(sessions[0])
        sessions[0].__enter__()
        return sessions[0].serial

    r = FAULT_RATE
    proxy = FaultProxy(sessions[0].serial, seed=FAULT_SEED, flip=r, drop=r, dup=r, delay=3 * r,
                       inject=r, replay=r, reset=r / 4, restart=restart)
    wrong = mismatched_layers = validated = dumps = classified = wrong_classes = 0
    want_cls = app.model.predict(app.x).reshape(len(app.x), -1).argmax(axis=1)
    try:
        with proxy:
            dev = Device(proxy.url, timeout=0.15, retries=20)
            n = len(app.q)
            # blocks of 50 samples: stop-and-wait infer() and pipelined infer_many(window=2)
            # alternate; a multi-frame DUMP after each block
            for b0 in range(0, N_FAULT_SAMPLES, 50):
                ks = [i % n for i in range(b0, min(b0 + 50, N_FAULT_SAMPLES))]
                if (b0 // 50) % 2 == 0:
                    results = (dev.infer(app.q[k]) for k in ks)
                else:
                    results = dev.infer_many((app.q[k] for k in ks), window=2)
                for k, (out, _count) in zip(ks, results):
                    if np.array_equal(out, app.golden[k]):
                        validated += 1
                    else:
                        wrong += 1
                dumps += 1
                if dev.dump(app.q[ks[-1]]) != _layers_golden(app, ks[-1]):
                    mismatched_layers += 1
                for k in ks[:3]:  # CLASSIFY in pieces on the same line: never a wrong class or codes
                    c = dev.classify(app.x[k])
                    classified += 1
                    if c.codes_crc != P.crc32(app.q[k].tobytes()) or c.cls != want_cls[k]:
                        wrong_classes += 1
            proxy.set_rates(flip=0, drop=0, dup=0, delay=0, inject=0, replay=0, reset=0)
            dev.exit()
            assert sessions[0].wait() == 0
    finally:
        try:
            proxy.close()  # idempotent; stops restarts before the sessions are closed
        finally:
            for sess in every_session:
                sess.close()
    elapsed = time.monotonic() - t0
    s, d = proxy.stats, dev.stats
    lines = [f"fault test: {N_FAULT_SAMPLES} samples + {dumps} dumps in {elapsed:.1f} s (seed {FAULT_SEED})",
             "line faults: flipped {flipped}, dropped {dropped}, duplicated {duplicated}, delayed {delayed}, "
          "injected {injected}, replayed {replayed}, device resets {resets}; bytes to device {bytes_to_device}, "
          "to host {bytes_to_host}".format(**s) + f"; longest device restart {proxy.reset_seconds:.2f} s",
             f"host: {d['requests']} requests, {d['attempts']} attempts, {d['retries']} retries "
          f"({d['timeouts']} timeouts), {d['corrupt_frames']} corrupt frames {dev.garbage}, "
          f"{d['stale_frames']} intact but stale frames (seq), {d['rejected_frames']} rejected replies {dev.rejected}",
             f"validated {validated}, silent wrong results {wrong}, dump mismatches {mismatched_layers}, "
             f"classified {classified} float samples (CLASSIFY in pieces), wrong classes or codes {wrong_classes}"]
    for line in lines:
        print(line)
        report(line)
    assert wrong == 0 and mismatched_layers == 0 and wrong_classes == 0
    assert validated == N_FAULT_SAMPLES and classified > 0
    # the faults really happened
    for key in ("flipped", "dropped", "duplicated", "delayed", "injected", "replayed"):
        assert s[key] > 0, key
    assert d["retries"] > 0 and d["stale_frames"] > 0
