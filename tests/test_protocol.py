"""The serial protocol on the host: constants parsed from tb_protocol.h, CRC, COBS,
frame reader, payload parsers; the device-side C (tb_protocol.c + a generated model)
compiled for the host and driven through its byte interface; the libFuzzer run."""

import os
import random
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tinybnn.device import protocol as P  # noqa: E402

# one xdist worker runs the whole module (make test runs in parallel): the host servers, made once
pytestmark = pytest.mark.xdist_group("test_protocol")

FUZZ = ROOT / "tests" / "fuzz"
RUNTIME = ROOT / "firmware" / "runtime"
FIXTURE = "brevitas_cnn"


# --------------------------------------------------------------------------------- constants --

def test_constants_come_from_the_c_header():
    text = P.header_path().read_text()
    assert P.header_path().parts[-3:] == ("firmware", "runtime", "tb_protocol.h")
    defines = [ln for ln in text.splitlines() if ln.lstrip().startswith("#define TBP_")]
    parsed = P.parse_header(text)
    # every integer #define is visible on the host, under the same name
    for ln in defines:
        name, value = ln.split()[1:3]
        if value[0].isdigit():
            assert parsed[name[4:]] == int(value.rstrip("uU"), 0), name
            assert getattr(P, name[4:]) == parsed[name[4:]]
    assert P.Cmd.INFER == parsed["CMD_INFER"] and P.Status.OK == 0
    assert {c.name for c in P.Cmd} == {"INFO", "INFER", "PROFILE", "DUMP", "RESET", "ECHO", "EXIT", "LAYER",
                                       "RAW_ECHO", "CLASSIFY"}
    with pytest.raises(ValueError, match="twice"):
        P.parse_header("#define TBP_X 1\n#define TBP_X 2\n")


def test_crc32_is_zlib():
    assert P.crc32(b"123456789") == 0xCBF43926 == P.CRC32_CHECK


# -------------------------------------------------------------------------------------- COBS --

def _cobs_reference(data: bytes) -> bytes:
    """The classic encoder (Cheshire & Baker): also emits a final 0x01 after a
    trailing 254-byte block, which the decoder must accept as well."""
    out = bytearray([0])
    code_i, code = 0, 1
    for b in data:
        if b == 0:
            out[code_i] = code
            code_i, code = len(out), 1
            out.append(0)
        else:
            out.append(b)
            code += 1
            if code == 0xFF:
                out[code_i] = code
                code_i, code = len(out), 1
                out.append(0)
    out[code_i] = code
    return bytes(out)


EDGE = [b"", b"\x00", b"\x00\x00", b"\x01", b"\x01\x00", b"\x00\x01", b"\xff" * 253, b"\xff" * 254,
        b"\xff" * 255, b"\xff" * 254 + b"\x00", b"\x00" + b"\xff" * 254, b"\xff" * 508, b"\xff" * 509 + b"\x00",
        bytes(range(256)) * 3]


@pytest.mark.parametrize("data", EDGE, ids=range(len(EDGE)))
def test_cobs_edges(data):
    enc = P.cobs_encode(data)
    assert b"\x00" not in enc
    assert P.cobs_decode(enc) == data
    assert P.cobs_decode(_cobs_reference(data)) == data
    assert len(enc) <= len(data) + len(data) // 254 + 1


def test_cobs_random_and_errors():
    rng = random.Random(5)
    for _ in range(2000):
        n = rng.randrange(0, 700)
        data = bytes(rng.choice((0, 0xFF, rng.randrange(256))) for _ in range(n))
        assert P.cobs_decode(P.cobs_encode(data)) == data
    with pytest.raises(P.FrameError, match="past the end"):
        P.cobs_decode(b"\x05ab")
    with pytest.raises(P.FrameError, match="zero"):
        P.cobs_decode(b"\x03a\x00")


# ------------------------------------------------------------------------------------- frames --

def test_frame_roundtrip_and_reader():
    wire = P.encode_frame(P.CMD_ECHO, 0xBEEF, b"\x00hello\x00")
    assert wire[0] == 0 and wire[-1] == 0 and b"\x00" not in wire[1:-1]
    f = P.decode_frame(wire[1:-1])
    assert (f.version, f.cmd, f.seq, f.payload, f.is_response) == (P.VERSION, P.CMD_ECHO, 0xBEEF, b"\x00hello\x00",
                                                                    False)
    rd = P.FrameReader(max_frame=64)
    stream = b"boot text\r\n" + wire + b"\x01\x02" + wire + b"x" * 200 + b"\x00" + wire
    items = []
    for b in stream:  # byte by byte
        items += rd.feed(bytes([b]))
    frames = [i for i in items if isinstance(i, P.Frame)]
    errors = [i.reason for i in items if isinstance(i, P.FrameError)]
    assert len(frames) == 3 and all(fr == f for fr in frames)
    assert errors == ["cobs", "cobs", "overflow"]  # boot text, b"\x01\x02", 200 x b"x"
    assert len(rd._buf) == 0
    assert [type(i) for i in P.FrameReader().feed(stream)] == [type(i) for i in items]


def test_frame_errors():
    raw = bytearray(P.build_raw(P.CMD_INFO, 1, b"abc"))
    with pytest.raises(P.FrameError) as e:
        P.parse_raw(bytes(raw[:11]))
    assert e.value.reason == "short"
    raw[8] ^= 4
    with pytest.raises(P.FrameError) as e:
        P.parse_raw(bytes(raw))
    assert e.value.reason == "crc"
    body = bytearray(P.build_raw(P.CMD_INFO, 1, b"abc")[:-4])
    body[6] = 9
    with pytest.raises(P.FrameError) as e:
        P.parse_raw(bytes(body) + struct.pack("<I", P.crc32(bytes(body))))
    assert e.value.reason == "length"


def test_payload_parsers_check_lengths():
    with pytest.raises(P.PayloadError, match="INFER"):
        P.parse_infer(b"\x00" * 47, 10)
    count, crc, out = P.parse_infer(struct.pack("<II", 5, 6) + b"\x01" * 40, 10)
    assert (count, crc, len(out)) == (5, 6, 40)
    with pytest.raises(P.PayloadError):
        P.parse_profile(b"\x00" * 12, 1, 0)
    with pytest.raises(P.PayloadError, match="past layer size"):
        P.parse_dump_chunk(struct.pack("<HHII", 0, 0, 4, 2) + b"abc")
    asm = P.DumpAssembly()
    asm.add(P.parse_dump_chunk(struct.pack("<HHII", 0, 0, 4, 0) + b"ab"))
    with pytest.raises(P.PayloadError, match="missing"):
        asm.finish(2, 1)
    asm.add(P.parse_dump_chunk(struct.pack("<HHII", 1, 0, 4, 2) + b"cd"))
    assert asm.finish(2, 1) == [b"abcd"]
    with pytest.raises(P.PayloadError, match="different"):
        asm.add(P.parse_dump_chunk(struct.pack("<HHII", 1, 0, 4, 2) + b"xx"))
    with pytest.raises(P.PayloadError, match="INFO"):
        P.parse_info(b"\x01" * 20)


# ------------------------------------------------------ the device C, compiled for the host --

def _render(tmp, fixture=FIXTURE):
    import tinybnn
    from tinybnn.backend import codegen

    d = np.load(ROOT / "tests" / "fixtures" / f"{fixture}.npz")
    m = tinybnn.load(str(ROOT / "tests" / "fixtures" / f"{fixture}.onnx"), calibration=d["x"])
    codegen.render(m, tmp / "model")
    return m, d["x"]


def _sanitize_flags(cc):
    probe = subprocess.run([cc, "-fsanitize=address,undefined", "-x", "c", "-", "-o", os.devnull],
                           input=b"int main(void){return 0;}", capture_output=True)
    return ["-fsanitize=address,undefined", "-fno-sanitize-recover=all"] if probe.returncode == 0 else []


@pytest.fixture(scope="module")
def host_server(tmp_path_factory):
    return _build_server(tmp_path_factory.mktemp("hostproto"), FIXTURE)


def _build_server(tmp, fixture):
    cc = shutil.which("gcc") or shutil.which("cc") or shutil.which("clang-14") or shutil.which("clang")
    if cc is None:
        pytest.skip("no host C compiler (gcc) installed")
    model, x = _render(tmp, fixture)
    exe = tmp / "server"
    inc = ["-D", 'TB_BOARD_ID="host"', "-DTB_CLOCK_HZ=1000u", "-I", str(RUNTIME),
           "-I", str(ROOT / "firmware" / "port"), "-I", str(tmp / "model")]
    # the protocol sources must be warning-free C99 ...
    subprocess.run([cc, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Wconversion", "-Wshadow", "-Werror",
                    "-fsyntax-only", *inc, str(RUNTIME / "tb_protocol.c"), str(RUNTIME / "tb_serve.c")],
                   check=True)
    # ... and run under ASan/UBSan (when the compiler has them) with the model and the harness
    build = [cc, "-std=c99", "-O1", "-g", *_sanitize_flags(cc), "-DTBP_FUZZ_STANDALONE", *inc,
             str(FUZZ / "fuzz_protocol.c"), str(RUNTIME / "tb_protocol.c"), str(RUNTIME / "tb_serve.c")]
    build += [str(p) for p in sorted((tmp / "model").glob("*.c"))]
    subprocess.run(build + ["-o", str(exe)], check=True)
    return exe, model, x, tmp


def _talk(exe, stream: bytes):
    p = subprocess.run([str(exe), "--stream"], input=stream, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    frames = P.FrameReader().feed(p.stdout)
    assert all(isinstance(f, P.Frame) for f in frames), frames
    return frames


def test_host_server_commands(host_server):
    exe, model, x, _ = host_server
    q = model.quantize(x[:8])
    golden = model.run_quantized(q)
    layers = [[lo.data.tobytes() for lo in model.run_layers(x[i:i + 1])[1:]] for i in range(2)]
    reqs = [(P.CMD_INFO, b"")]
    reqs += [(P.CMD_INFER, q[i].tobytes()) for i in range(8)]
    reqs += [(P.CMD_PROFILE, q[0].tobytes()), (P.CMD_DUMP, q[0].tobytes()), (P.CMD_DUMP, q[1].tobytes())]
    long_run = b"\xff" * 300 + b"\x00" + b"\xfe" * 200  # COBS blocks of 254 (0xFF code) inside a frame
    reqs += [(P.CMD_ECHO, long_run), (P.CMD_ECHO, b""), (P.CMD_LAYER, struct.pack("<H", 1)),
             (P.CMD_RESET, b"nonce"), (P.CMD_INFER, q[0].tobytes()[:10]), (0x42, b""), (P.CMD_EXIT, b""),
             (P.CMD_INFO, b"")]  # after EXIT: never answered
    stream = b"boot noise \x00\x00" + b"".join(P.encode_frame(c, 100 + k, p) for k, (c, p) in enumerate(reqs))
    frames = _talk(exe, stream)
    by_seq = {}
    for f in frames:
        assert f.is_response and f.version == P.VERSION
        by_seq.setdefault(f.seq, []).append(f)
    assert sorted(by_seq) == [100 + k for k in range(len(reqs) - 1)]  # one reply each, none after EXIT
    info = P.parse_info(by_seq[100][0].payload)
    assert info.board_id == "host" and info.input_bytes == 64 and info.output_size == 10
    assert info.max_payload == P.DEFAULT_MAX_PAYLOAD and info.rx_frames == 1
    for i in range(8):
        count, crc, out = P.parse_infer(by_seq[101 + i][0].payload, 10)
        assert crc == P.crc32(q[i].tobytes())
        assert np.array_equal(np.frombuffer(out, "<i4"), golden[i])
    total, crc, per_layer, out = P.parse_profile(by_seq[109][0].payload, info.num_layers, 10)
    assert np.array_equal(np.frombuffer(out, "<i4"), golden[0]) and len(per_layer) == info.num_layers
    for k, seq in enumerate((110, 111)):
        fs = by_seq[seq]
        assert all(f.more for f in fs[:-1]) and not fs[-1].more
        asm = P.DumpAssembly()
        for f in fs[:-1]:
            asm.add(P.parse_dump_chunk(f.payload))
        in_crc, n_chunks, n_layers, out = P.parse_dump_final(fs[-1].payload, 10)
        assert asm.finish(n_chunks, n_layers) == layers[k]
    assert by_seq[112][0].payload == long_run and by_seq[113][0].payload == b""
    assert P.parse_layer(by_seq[114][0].payload)[2] == model.run_layers(x[:1])[2].name
    assert by_seq[115][0].payload == b"nonce"
    assert by_seq[116][0].status == P.ST_BAD_LENGTH
    assert by_seq[117][0].status == P.ST_UNKNOWN_CMD and by_seq[117][0].cmd == 0x42
    assert by_seq[118][0].cmd == P.CMD_EXIT


# brevitas_cnn stages the float sample in the model's arena (quant input); brevitas_tfc, whose arena is
# smaller than the sample, in a buffer of its own (sign input)
@pytest.fixture(scope="module", params=["brevitas_cnn", "brevitas_tfc"])
def classify_server(request, tmp_path_factory):
    return _build_server(tmp_path_factory.mktemp(f"hostcls-{request.param}"), request.param)


def _floats(a) -> bytes:
    return np.ascontiguousarray(np.asarray(a, dtype="<f4").reshape(-1)).tobytes()


def test_host_server_classify(classify_server):
    """CLASSIFY in pieces (of every size, with a piece sent twice) and in one frame: the device's int8 codes
    are the host's, its class is the golden model's argmax, its scores are predict's within 1e-5."""
    exe, model, x, _ = classify_server
    x = np.asarray(x[:6], dtype=np.float32)
    n = x[0].size
    q = model.quantize(x).reshape(len(x), -1)
    want = model.predict(x).reshape(len(x), -1)
    reqs, finals = [(P.CMD_INFO, b"")], {}
    for i in range(len(x)):
        data = _floats(x[i])
        per = [n, 1, 7, 25, n // 2 + 1, 3][i]  # floats per piece
        offs = list(range(0, n, per))
        for k, o in enumerate(offs):
            piece = P.classify_piece(o, data[4 * o:4 * min(n, o + per)])
            reqs.append((P.CMD_CLASSIFY, piece))
            if k == 0 and len(offs) > 1:
                reqs.append((P.CMD_CLASSIFY, piece))  # a piece sent again (a lost ack) is taken again
        finals[len(reqs) - 1] = i
    stream = b"\x00" + b"".join(P.encode_frame(c, k, pl) for k, (c, pl) in enumerate(reqs))
    frames = {f.seq: f for f in _talk(exe, stream)}
    assert sorted(frames) == list(range(len(reqs)))
    info = P.parse_info(frames[0].payload)
    assert info.classify and info.input_bytes == n
    for k in range(1, len(reqs)):
        f = frames[k]
        assert f.status == P.ST_OK and f.cmd == P.CMD_CLASSIFY, (k, P.status_name(f.status))
        if k not in finals:
            off = struct.unpack_from("<I", reqs[k][1])[0]
            assert P.parse_classify_ack(f.payload) == off + (len(reqs[k][1]) - 4) // 4
            continue
        i = finals[k]
        count, in_crc, codes_crc, cls, raw = P.parse_classify(f.payload, info.output_size)
        scores = np.frombuffer(raw, "<f4")
        assert in_crc == P.crc32(_floats(x[i]))
        assert codes_crc == P.crc32(q[i].astype(np.int8).tobytes()), f"sample {i}: codes differ from the host's"
        assert cls == int(np.argmax(want[i])), f"sample {i}: class {cls}, golden {np.argmax(want[i])}"
        assert np.allclose(scores, want[i], rtol=1e-5, atol=1e-5 * np.abs(want[i]).max()), (scores, want[i])


def test_host_server_classify_hostile(classify_server):
    """Every malformed CLASSIFY gets its status and the device keeps serving (under ASan/UBSan, with the
    harness checking every frame): ragged or short payloads, gaps, pieces past the end (an offset that
    would wrap 32 bits included), a sample lost to an INFER or to an error, a NaN."""
    exe, model, x, _ = classify_server
    n = x[0].size
    data = _floats(x[0])
    piece = lambda o, k: P.classify_piece(o, data[4 * o:4 * (o + k)])  # noqa: E731
    reqs = [
        (P.CMD_CLASSIFY, b""), (P.CMD_CLASSIFY, b"\x00\x00"),                  # no offset: BAD_LENGTH
        (P.CMD_CLASSIFY, P.classify_piece(0, b"") + b"\x01\x02\x03"),          # not whole floats: BAD_LENGTH
        (P.CMD_CLASSIFY, piece(5, 1)),                                      # a gap: BAD_ARG
        (P.CMD_CLASSIFY, P.classify_piece(0, bytes(4 * (n + 1)))),          # past the end: BAD_ARG
        (P.CMD_CLASSIFY, P.classify_piece(0xFFFFFFFF, bytes(4))),           # would wrap: BAD_ARG
        (P.CMD_CLASSIFY, P.classify_piece(0, b"")),                         # empty piece: ack 0
        (P.CMD_CLASSIFY, piece(0, n // 2)),                                 # ack n/2
        (P.CMD_CLASSIFY, P.classify_piece(n // 2, bytes(4 * (n - n // 2 + 1)))),  # one too many: BAD_ARG
        (P.CMD_CLASSIFY, piece(n // 2, n - n // 2)),                        # the sample was dropped: BAD_ARG
        (P.CMD_CLASSIFY, piece(0, n // 2)),                                 # ack n/2
        (P.CMD_INFER, model.quantize(x[:1]).tobytes()),                     # runs the model: sample lost
        (P.CMD_CLASSIFY, piece(n // 2, n - n // 2)),                        # BAD_ARG
        (P.CMD_CLASSIFY, P.classify_piece(0, _floats(np.full(n, np.nan)))),  # MODEL_ERROR(TB_MODEL_ERR_INPUT)
        (P.CMD_CLASSIFY, piece(0, n)),                                      # still serving: classified
        (P.CMD_CLASSIFY, piece(1, n - 1)),                                  # the sample is used up: BAD_ARG
    ]
    want = [P.ST_BAD_LENGTH] * 3 + [P.ST_BAD_ARG] * 3 + [P.ST_OK, P.ST_OK, P.ST_BAD_ARG, P.ST_BAD_ARG, P.ST_OK,
                                                         P.ST_OK, P.ST_BAD_ARG, P.ST_MODEL_ERROR, P.ST_OK,
                                                         P.ST_BAD_ARG]
    stream = b"\x00" + b"".join(P.encode_frame(c, k, pl) for k, (c, pl) in enumerate(reqs))
    frames = {f.seq: f for f in _talk(exe, stream)}
    assert [P.status_name(frames[k].status) for k in range(len(reqs))] == [P.status_name(w) for w in want]
    assert P.parse_classify_ack(frames[6].payload) == 0 and P.parse_classify_ack(frames[7].payload) == n // 2
    assert struct.unpack("<i", frames[13].payload)[0] == -16  # TB_MODEL_ERR_INPUT (model.h)
    cls = P.parse_classify(frames[14].payload, 10)[3]
    assert cls == int(np.argmax(model.predict(x[:1])))


def test_host_server_survives_garbage(host_server):
    """Random garbage with valid requests in between: every intact request is answered,
    never anything else (the harness also checks every output frame and ASan/UBSan
    watch every access)."""
    exe, *_ = host_server
    rng = random.Random(11)
    stream = bytearray()
    expected = []
    for k in range(300):
        r = rng.random()
        if r < 0.3:
            stream += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 900)))
        elif r < 0.5:  # damaged frame
            w = bytearray(P.encode_frame(P.CMD_ECHO, k, os.urandom(rng.randrange(0, 40))))
            pos = rng.randrange(1, len(w) - 1)
            w[pos] ^= 1 << rng.randrange(8)
            stream += w
        else:
            payload = os.urandom(rng.randrange(0, 600))
            stream += P.encode_frame(P.CMD_ECHO, k, payload)
            if len(payload) <= P.DEFAULT_MAX_PAYLOAD:
                expected.append((k, payload))
            stream += b"\x00"  # so the next garbage cannot merge with it
    frames = _talk(exe, bytes(stream))
    assert [(f.seq, f.payload) for f in frames] == expected


def test_seed_corpus_replays_clean(host_server, tmp_path):
    exe, *_ = host_server
    seeds = tmp_path / "seeds"
    subprocess.run([sys.executable, str(FUZZ / "make_corpus.py"), str(seeds), "64"], check=True,
                   capture_output=True)
    files = sorted(str(p) for p in seeds.iterdir())
    p = subprocess.run([str(exe), *files], capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr.decode()[-2000:]


# ----------------------------------------------------------------------------------- fuzzing --

def _libfuzzer_compiler():
    cc = os.environ.get("CLANG") or shutil.which("clang-14") or shutil.which("clang")
    if cc is None:
        return None, ("clang not installed: apt-get install --no-install-recommends clang-14 "
                      "libclang-rt-14-dev")
    probe = subprocess.run([cc, "-fsanitize=fuzzer,address,undefined", "-x", "c", "-", "-o", os.devnull],
                           input=b"#include <stdint.h>\n#include <stddef.h>\n"
                                 b"int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n){return 0;}\n",
                           capture_output=True)
    if probe.returncode != 0:
        return None, (f"{cc} cannot link -fsanitize=fuzzer (libFuzzer runtime missing: "
                      "apt-get install --no-install-recommends libclang-rt-14-dev)")
    return cc, ""


@pytest.mark.slow
def test_fuzz_protocol(tmp_path, report):
    cc, why = _libfuzzer_compiler()
    if cc is None:
        pytest.skip(why)
    secs = os.environ.get("TINYBNN_FUZZ_SECONDS", "20")
    env = dict(os.environ, CLANG=cc, PYTHON=sys.executable)
    p = subprocess.run(["bash", str(FUZZ / "run.sh"), secs, str(tmp_path)], env=env, capture_output=True,
                       text=True, timeout=int(secs) + 240)
    print(p.stdout[-1500:])
    assert p.returncode == 0, f"fuzzer found a problem:\n{p.stdout[-3000:]}\n{p.stderr[-5000:]}"
    assert "stat::number_of_executed_units" in p.stdout
    runs = int(p.stdout.split("stat::number_of_executed_units:")[1].split()[0])
    assert runs > 1000
    report(f"libFuzzer + ASan + UBSan on the device frame parser and dispatcher: {runs:,} runs in {secs} s, "
           "no findings")


def test_reset_ends_raw_echo_of_any_length(host_server):
    """Liveness: a RAW_ECHO of the largest length (the device would echo a MiB of whatever comes) does not
    leave the device deaf: a RESET among the raw bytes is echoed, then answered, and framed requests work
    again; a frame straddling the end of a short raw echo is still decoded."""
    exe, model, x, _ = host_server
    q = model.quantize(x[:1])
    reset = P.encode_frame(P.CMD_RESET, 2, b"wake-up!")
    stream = (P.encode_frame(P.CMD_RAW_ECHO, 1, struct.pack("<I", P.RAW_ECHO_MAX)) + b"\x01\x02raw\x00bytes"
              + P.encode_frame(P.CMD_INFO, 9)  # inside raw mode: data, echoed, never answered
              + reset + P.encode_frame(P.CMD_INFER, 3, q[0].tobytes()))
    p = subprocess.run([str(exe), "--stream"], input=stream, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    items = P.FrameReader().feed(p.stdout)
    responses = [f for f in items if isinstance(f, P.Frame) and f.is_response]
    assert [(f.cmd, f.seq) for f in responses] == [(P.CMD_RAW_ECHO, 1), (P.CMD_RESET, 2), (P.CMD_INFER, 3)]
    assert responses[1].payload == b"wake-up!"
    _, _, out = P.parse_infer(responses[2].payload, 10)
    assert np.array_equal(np.frombuffer(out, "<i4"), model.run_quantized(q)[0])
    # the raw bytes came back as they were, up to the RESET frame included
    assert b"\x01\x02raw\x00bytes" + P.encode_frame(P.CMD_INFO, 9) + reset in p.stdout
    # a RESET that starts inside a 3-byte raw echo and ends after it is still answered
    stream = P.encode_frame(P.CMD_RAW_ECHO, 4, struct.pack("<I", 3)) + reset
    frames = [f for f in P.FrameReader().feed(_run_stream(exe, stream)) if isinstance(f, P.Frame)]
    assert [(f.cmd, f.seq) for f in frames if f.is_response] == [(P.CMD_RAW_ECHO, 4), (P.CMD_RESET, 2)]


def _run_stream(exe, stream: bytes) -> bytes:
    p = subprocess.run([str(exe), "--stream"], input=stream, capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout


def test_fuzz_harness_checks_liveness(host_server, tmp_path):
    """The fuzz harness's liveness oracle (a RESET after every input must be answered) passes on the seed
    that enters raw-echo mode of the largest length, and fails on a firmware whose raw-echo mode ignores
    RESET (tb_protocol.c with that check removed): the oracle can catch a deaf device."""
    exe, model, x, tmp = host_server
    seed = tmp_path / "raw_max"
    seed.write_bytes(b"\x00" + P.encode_frame(P.CMD_RAW_ECHO, 1, struct.pack("<I", P.RAW_ECHO_MAX)) + b"abc")
    p = subprocess.run([str(exe), str(seed)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    src = (RUNTIME / "tb_protocol.c").read_text()
    guard = "tbp_buf[1] == TBP_CMD_RESET &&"
    assert src.count(guard) == 1
    deaf_src = tmp_path / "tb_protocol.c"
    deaf_src.write_text(src.replace(guard, "0 &&"))
    cc = shutil.which("gcc") or shutil.which("cc") or shutil.which("clang-14") or shutil.which("clang")
    deaf = tmp_path / "deaf_server"
    subprocess.run([cc, "-std=c99", "-O1", "-DTBP_FUZZ_STANDALONE", "-D", 'TB_BOARD_ID="host"', "-I", str(RUNTIME),
                    "-I", str(ROOT / "firmware" / "port"), "-I", str(tmp / "model"), str(FUZZ / "fuzz_protocol.c"),
                    str(deaf_src), str(RUNTIME / "tb_serve.c"), *map(str, sorted((tmp / "model").glob("*.c"))),
                    "-o", str(deaf)], check=True)
    p = subprocess.run([str(deaf), str(seed)], capture_output=True, timeout=60)
    assert p.returncode != 0 and b"did not answer a RESET" in p.stderr, p.stderr.decode()
