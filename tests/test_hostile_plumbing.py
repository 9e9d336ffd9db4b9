"""Hostile input to the plumbing, tried as an adversarial user would: paths and board files that try to
reach a shell or platformio.ini, signals in the middle of a run, outputs that cannot be written,
edited or damaged results files, nonsense --limit values.

Each case asserts the exit code, a single stderr line without a traceback, that a previous output is
untouched, and that no child process (QEMU, PlatformIO) survives."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from tinybnn.targets import boards
from tinybnn import plumbing
from tinybnn.device import validate
from tinybnn.errors import TinyBnnError

FIX = Path(__file__).parent / "fixtures"
MODEL, DATA = FIX / "torch_mlp_legacy.onnx", FIX / "torch_mlp_legacy.npz"
TFC, TFC_DATA = FIX / "brevitas_tfc.onnx", FIX / "brevitas_tfc.npz"


def cli(*args, cwd=None, **kw):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, **kw)


def one_line_error(r, code=2):
    assert r.returncode == code, (r.returncode, r.stdout[-2000:], r.stderr[-2000:])
    assert "Traceback" not in r.stderr, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinybnn: error: "), r.stderr
    return lines[0]


def _arm_tools():
    return shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")


# ------------------------------------------------------------------------------- process helpers --

def _proc_stat(pid):
    """(ppid, start time, state) of a live process, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[19]), fields[0]


def _descendants(root):
    """{pid: start time} of every live descendant of ``root`` (Linux /proc)."""
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            st = _proc_stat(int(d.name))
            if st:
                parent[int(d.name)] = st
    out = {}
    frontier = {root}
    while frontier:
        nxt = {pid for pid, st in parent.items() if st[0] in frontier and pid not in out}
        for pid in nxt:
            out[pid] = parent[pid][1]
        frontier = nxt
    return out


def _alive(pid, start):
    st = _proc_stat(pid)
    return st is not None and st[1] == start and st[2] != "Z"


def _wait_gone(procs, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = {p: s for p, s in procs.items() if _alive(p, s)}
        if not left:
            return {}
        time.sleep(0.05)
    return left


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


# ------------------------------------------------------------------------------------- --limit --

@pytest.mark.parametrize("value", ["0", "-5", "abc", "1.5"])
def test_limit_must_be_a_positive_count(value, tmp_path):
    r = cli("validate", MODEL, "--data", DATA, "--limit", value, "--build-dir", tmp_path / "fw")
    line = one_line_error(r)
    assert "--limit" in line
    assert not (tmp_path / "fw").exists()


# --------------------------------------------------------------------------------------- paths --

HOSTILE_DIRS = ["sub$(touch CANARY)", "tick`touch CANARY`", "semi;touch CANARY;x", "amp&touch CANARY&x",
                "pipe|touch CANARY", "dollar$HOME", "quote'x", 'dquote"x', "back\\slash", "new\nline",
                "comma,x"]


@pytest.mark.parametrize("name", HOSTILE_DIRS, ids=range(len(HOSTILE_DIRS)))
def test_build_refuses_paths_a_shell_would_interpret(name, tmp_path):
    """A build folder PlatformIO's SCons would hand to `sh -c` unescaped is refused before anything is
    written or run: no canary file anywhere, no folder created."""
    out = tmp_path / name / "fw"
    r = cli("build", MODEL, "--calibration", DATA, "-o", out, cwd=tmp_path)
    line = one_line_error(r)
    assert "build folder" in line and "would interpret" in line
    assert not list(tmp_path.rglob("CANARY*"))
    assert not (tmp_path / name).exists()


def test_validate_refuses_a_hostile_build_dir(tmp_path):
    r = cli("validate", MODEL, "--data", DATA, "--limit", "2", "--build-dir", tmp_path / "x$(touch CANARY)",
            "--results", tmp_path / "r.jsonl", cwd=tmp_path)
    one_line_error(r)
    assert not list(tmp_path.rglob("CANARY*"))
    assert not (tmp_path / "x$(touch CANARY)").exists()


@pytest.mark.slow
@pytest.mark.skipif(not _arm_tools(), reason="arm-none-eabi-gcc or QEMU not installed")
def test_paths_with_spaces_and_non_ascii_build_and_run(tmp_path):
    out = tmp_path / "dossier à espaces — ü" / "fw"
    r = cli("build", MODEL, "--calibration", DATA, "-o", out, "--run")
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (out / ".pio" / "build" / "qemu-m4" / "firmware.elf").is_file()
    assert "PASS" in r.stdout or "hash=" in r.stdout


# ---------------------------------------------------------------------------- board injection --

def _board_file(tmp_path, **changes):
    b = json.loads(boards.board_path("qemu-m4").read_text())
    b.update(changes)
    b.setdefault("id", "qemu-m4")
    d = tmp_path / "boards"
    d.mkdir(exist_ok=True)
    p = d / f"{b['id']}.json"
    p.write_text(json.dumps(b))
    return p


def _evil_script(tmp_path):
    s = tmp_path / "evil.py"
    s.write_text(f"open({str(tmp_path / 'CANARY')!r}, 'w').write('ran')\n")
    return s


@pytest.mark.parametrize("field", ["id", "name", "platformio.board", "defines", "cflags", "ldflags"])
def test_board_fields_cannot_inject(field, tmp_path):
    """A board file that tries to add extra_scripts to platformio.ini (a newline in a field) or to run a
    command through a compiler flag or macro value is refused in one line naming the file and the field,
    before anything is written; the script never runs (built for real if the check were missing)."""
    evil = _evil_script(tmp_path)
    inject = f"x\nextra_scripts = pre:{evil.name}"
    canary_cmd = f"$(python3 {evil})"
    if field == "id":
        board = _board_file(tmp_path, id=inject)  # the file name holds the newline too
    elif field == "name":
        board = _board_file(tmp_path, id="evil", name="Evil\nextra_scripts = pre:" + str(evil))
    elif field == "platformio.board":
        board = _board_file(tmp_path, id="evil",
                            platformio={"platform": "tinybnn", "board": "evil\nextra_scripts = pre:" + str(evil),
                                        "framework": None})
    elif field == "defines":
        board = _board_file(tmp_path, id="evil", defines={"TB_MPS2_UART0": f"0x40004000u `python3 {evil}`"})
    else:
        flags = json.loads(boards.board_path("qemu-m4").read_text())[field]
        board = _board_file(tmp_path, id="evil", **{field: flags + [f"-mthumb{canary_cmd}"]})
    out = tmp_path / "fw"
    r = cli("build", MODEL, "--calibration", DATA, "--board", board, "-o", out, cwd=tmp_path)
    line = one_line_error(r)
    assert board.name.split("\n")[-1] in line  # the file (its name printed escaped when it holds a newline)
    assert field.split(".")[0] in line
    assert not (tmp_path / "CANARY").exists()
    assert not (out / "platformio.ini").exists()


def test_write_project_checks_boards_given_as_data(tmp_path):
    """platformio.write_project refuses a board dict that never went through a board file (Python API)."""
    from tinybnn.targets import platformio

    b = boards.load_board("qemu-m4")
    for key, value in (("name", "x\nextra_scripts = pre:evil.py"), ("id", "a b"),
                       ("cflags", ["-O2", "-DX=`id`"])):
        bad = dict(b, **{key: value})
        with pytest.raises(TinyBnnError, match=f"key '{key}"):
            platformio.write_project(bad, tmp_path / key)
        assert not (tmp_path / key).exists()


# -------------------------------------------------------------------------------- output files --

@pytest.fixture
def xfile(tmp_path):
    d = np.load(DATA)
    p = tmp_path / "x.npy"
    np.save(p, d["x"][:8])
    return p


def _no_temp_files(folder):
    return [p for p in Path(folder).rglob("*") if ".tmp" in p.name or ".old-" in p.name]


def test_predict_output_problems_are_one_line(tmp_path, xfile):
    (tmp_path / "adir").mkdir()
    for target, what in ((tmp_path / "missing" / "y.npy", "does not exist"), (tmp_path / "adir", "is a folder")):
        r = cli("predict", MODEL, "--calibration", DATA, "--input", xfile, "--output", target)
        assert what in one_line_error(r)
    assert _no_temp_files(tmp_path) == []


@pytest.fixture
def small_fs(tmp_path):
    """A folder on a file system of 1 MiB (tmpfs, root only), else None."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                            capture_output=True).returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder):
    try:
        with open(folder / "filler", "wb", buffering=0) as f:
            while True:
                f.write(b"\0" * 4096)
    except OSError:
        pass


def _readonly(folder):
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        folder.chmod(0o555)


def test_predict_full_disk_and_read_only_keep_the_previous_output(tmp_path, xfile, small_fs):
    if small_fs is None:
        pytest.skip("needs root to mount a small tmpfs")
    y = small_fs / "y.npy"
    r = cli("predict", MODEL, "--calibration", DATA, "--input", xfile, "--output", y)
    assert r.returncode == 0, r.stderr
    before = y.read_bytes()
    big = tmp_path / "big.npy"
    np.save(big, np.repeat(np.load(xfile), 400, axis=0))  # outputs larger than the space left
    _fill(small_fs)
    r = cli("predict", MODEL, "--calibration", DATA, "--input", big, "--output", y)
    assert "No space left" in one_line_error(r)
    assert y.read_bytes() == before and _no_temp_files(small_fs) == []
    (small_fs / "filler").unlink()
    _readonly(small_fs)
    r = cli("predict", MODEL, "--calibration", DATA, "--input", xfile, "--output", y)
    assert "Read-only" in one_line_error(r)
    assert y.read_bytes() == before


def test_convert_full_disk_keeps_the_previous_model(tmp_path, small_fs):
    if small_fs is None:
        pytest.skip("needs root to mount a small tmpfs")
    out = small_fs / "model"
    r = cli("convert", MODEL, "--calibration", DATA, "-o", out)
    assert r.returncode == 0, r.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _fill(small_fs)
    r = cli("convert", TFC, "-o", out)
    assert "No space left" in one_line_error(r)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _no_temp_files(small_fs) == [] and sorted(p.name for p in small_fs.iterdir()) == ["filler", "model"]


def test_convert_signal_between_the_renames_keeps_a_model(tmp_path, monkeypatch):
    """A real SIGINT delivered right after the previous output was moved aside (the moment that used to
    lose it) is held back until the swap is over: the folder holds a whole model, nothing is left
    beside it, and the interrupt still arrives."""
    from tinybnn.backend import codegen

    d = np.load(DATA)
    m = tinybnn.load(MODEL, calibration=d["x"])
    out = tmp_path / "model"
    r0 = codegen.render(tinybnn.load(TFC), out)
    real_rename = os.rename
    calls = []

    def rename(a, b):
        real_rename(a, b)
        calls.append((a, b))
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # between "old aside" and "new in place"

    monkeypatch.setattr(codegen.os, "rename", rename)
    # Python's own SIGINT handler, whatever was inherited: a runner started in the background by a shell
    # without job control (nohup ..., cmd &) ignores SIGINT, and an ignored SIGINT is kept by design
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            codegen.render(m, out)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(calls) == 2  # the swap finished before the interrupt was delivered
    assert (out / "manifest.json").read_bytes() == codegen.prepare(m).files["manifest.json"]
    assert sorted(p.name for p in out.iterdir()) == sorted(codegen.prepare(m).files)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # nothing left beside it
    assert r0.hash != codegen.prepare(m).hash


def test_write_atomic_interrupted_mid_write_leaves_no_temp_file(tmp_path):
    p = tmp_path / "out.json"
    p.write_text("previous")

    def writer(f):
        f.write(b"half")
        raise plumbing.Interrupted(signal.SIGTERM)  # what the SIGTERM handler raises, mid-write

    with pytest.raises(KeyboardInterrupt):
        plumbing.write_atomic(p, writer)
    assert p.read_text() == "previous" and sorted(x.name for x in tmp_path.iterdir()) == ["out.json"]


# ------------------------------------------------------------------------------- results files --

def _golden(n=6, size=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(-300, 300, size=(n, size)).astype(np.int32)


HEADER = {"model_hash": "abc", "board": "qemu-m4", "data": "d1", "samples": 6}


def _good_file(path, golden):
    lines = [json.dumps(dict(HEADER, format=validate.RESULTS_FORMAT))]
    lines += [json.dumps(validate.make_record(i, golden[i], 100 + i, golden[i])) for i in range(len(golden))]
    path.write_text("\n".join(lines) + "\n")
    return lines


def _edit(rec, **kw):
    r = json.loads(rec)
    r.update(kw)
    return json.dumps(r)


CORRUPTIONS = {
    "truncated": lambda ln, g: ln[: len(ln) // 2],
    "not_json": lambda ln, g: "}{ garbage",
    "binary": lambda ln, g: "\udcff\udcfe",
    "not_an_object": lambda ln, g: "[1, 2, 3]",
    "no_index": lambda ln, g: json.dumps({k: v for k, v in json.loads(ln).items() if k != "index"}),
    "index_out_of_range": lambda ln, g: _edit(ln, index=99),
    "index_not_int": lambda ln, g: _edit(ln, index="2"),
    "short_output": lambda ln, g: _edit(ln, output=json.loads(ln)["output"][:-1]),
    "output_not_ints": lambda ln, g: _edit(ln, output=[0.5] * 10),
    "output_edited": lambda ln, g: _edit(ln, output=[v + 1 for v in json.loads(ln)["output"]]),
    "match_flag_edited": lambda ln, g: _edit(ln, match=False),
    "no_digest": lambda ln, g: json.dumps({k: v for k, v in json.loads(ln).items() if k != "output_sha256"}),
    "count_negative": lambda ln, g: _edit(ln, count=-1),
    "duplicate": lambda ln, g: ln + "\n" + _edit(ln, count=5),
}


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_damaged_record_is_reported_and_rerun(kind, tmp_path):
    g = _golden()
    path = tmp_path / "r.jsonl"
    lines = _good_file(path, g)
    lines[3] = CORRUPTIONS[kind](lines[3], g)  # sample 2
    path.write_bytes("\n".join(lines).encode("utf-8", "surrogateescape") + b"\n")
    res = validate.Results(path, HEADER, g)
    res.close()
    assert 2 not in res.done and sorted(res.done) == [0, 1, 3, 4, 5]
    assert res.warning and "\n" not in res.warning and "line 4" in res.warning
    # the file now holds only trusted records
    again = validate.Results(path, HEADER, g)
    again.close()
    assert again.warning is None and sorted(again.done) == [0, 1, 3, 4, 5]


CLASSIFY_CORRUPTIONS = {
    "no_class": lambda ln: json.dumps({k: v for k, v in json.loads(ln).items() if k != "device_class"}),
    "class_out_of_range": lambda ln: _edit(ln, device_class=10),
    "class_not_int": lambda ln: _edit(ln, device_class=True),
    "short_scores": lambda ln: _edit(ln, scores=json.loads(ln)["scores"][:-1]),
    "scores_not_numbers": lambda ln: _edit(ln, scores=["1"] * 10),
    "codes_crc_negative": lambda ln: _edit(ln, codes_crc=-5),
    "no_classify_count": lambda ln: json.dumps({k: v for k, v in json.loads(ln).items() if k != "classify_count"}),
}


@pytest.mark.parametrize("kind", sorted(CLASSIFY_CORRUPTIONS))
def test_damaged_classify_record_is_reported_and_rerun(kind, tmp_path):
    """Records of a run with the device's own classes (CLASSIFY) are checked field by field too."""
    from tinybnn.device.link import Classified

    g = _golden()
    header = dict(HEADER, classify=True)
    path = tmp_path / "r.jsonl"
    lines = [json.dumps(dict(header, format=validate.RESULTS_FORMAT))]
    lines += [json.dumps(validate.make_record(i, g[i], 100 + i, g[i], Classified(
        int(np.argmax(g[i])), g[i].astype(np.float32) / 8, 0xDEADBEEF, 5000))) for i in range(len(g))]
    lines[3] = CLASSIFY_CORRUPTIONS[kind](lines[3])
    path.write_text("\n".join(lines) + "\n")
    res = validate.Results(path, header, g)
    res.close()
    assert 2 not in res.done and sorted(res.done) == [0, 1, 3, 4, 5]
    assert res.warning and "\n" not in res.warning and "line 4" in res.warning
    # records of a run without classes are not taken for a run with them (another results format)
    _good_file(path, g)
    res = validate.Results(path, header, g)
    res.close()
    assert res.done == {}


def test_classify_summary_counts_from_the_records():
    """Device classes against labels and the golden argmax, int8 codes against the host's (by CRC-32), and the
    largest relative score difference, all recomputed from the records."""
    from tinybnn.device.link import Classified
    from tinybnn.device.protocol import crc32

    g = _golden()
    scores = (g / 8).astype(np.float32)
    codes = np.arange(6 * 4, dtype=np.int8).reshape(6, 4)
    recs = []
    for i in range(6):
        s = scores[i].copy()
        cls = int(np.argmax(s))
        if i == 1:
            s[0] *= np.float32(1 + 2e-6)  # a rounding difference
        if i == 2:
            cls = (cls + 1) % 10  # a class that differs
        crc = crc32(codes[i].tobytes()) ^ (i == 3)  # codes that differ
        recs.append(validate.make_record(i, g[i], 1, g[i], Classified(cls, s, crc, 900 + i)))
    labels = np.argmax(scores, axis=1)
    labels[4] = (labels[4] + 1) % 10
    c = validate.classify_summary(recs, scores, codes, labels)
    assert c["class_equal"] == 5 and c["codes_equal"] == 5 and c["codes_differ"] == [3]
    assert c["accuracy"] == pytest.approx(4 / 6) and c["per_classify"] == 902.5
    assert 1e-6 < c["scores_max_rel_diff"] < 3e-6
    from tinybnn.device.report import classify_line

    line = classify_line(c)
    assert "5/6 equal to the golden model's argmax" in line and "int8 codes 5/6 equal to the host's (1 DIFFER)" in line


def test_consistent_mismatch_is_counted_from_the_evidence(tmp_path):
    """A record whose device output differs from the golden output (with its flag saying so) is kept:
    the verdict comes from the output it holds; flipping its flag to true makes it damaged, not matched."""
    g = _golden()
    path = tmp_path / "r.jsonl"
    lines = _good_file(path, g)
    wrong = g[1].copy()
    wrong[0] += 1
    lines[2] = json.dumps(validate.make_record(1, wrong, 7, g[1]))
    assert json.loads(lines[2])["match"] is False
    path.write_text("\n".join(lines) + "\n")
    res = validate.Results(path, HEADER, g)
    res.close()
    assert res.warning is None and res.done[1]["output"] == wrong.tolist()
    lines[2] = _edit(lines[2], match=True)
    path.write_text("\n".join(lines) + "\n")
    res = validate.Results(path, HEADER, g)
    res.close()
    assert 1 not in res.done and "match flag" in res.warning


@pytest.mark.parametrize("content", [b"not json at all\n", b"[1,2]\n", b'{"model_hash": 5}\n', b"\xff\xfe\x00\n",
                                     b"important user data\nmore\n"])
def test_foreign_results_file_is_never_overwritten(content, tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_bytes(content)
    with pytest.raises(TinyBnnError, match="refusing to overwrite"):
        validate.Results(path, HEADER, _golden())
    assert path.read_bytes() == content


def test_results_path_problems_are_one_line(tmp_path):
    (tmp_path / "adir").mkdir()
    with pytest.raises(TinyBnnError, match="is a folder"):
        validate.Results(tmp_path / "adir", HEADER, _golden())
    (tmp_path / "afile").write_text("x")
    with pytest.raises(TinyBnnError, match="not a folder|cannot create"):
        validate.Results(tmp_path / "afile" / "r.jsonl", HEADER, _golden())


# ------------------------------------------------------------- validate end to end (QEMU, slow) --

@pytest.mark.slow
@pytest.mark.skipif(not _arm_tools(), reason="arm-none-eabi-gcc or QEMU not installed")
def test_validate_recomputes_verdicts_on_resume(tmp_path):
    args = ["validate", TFC, "--data", TFC_DATA, "--limit", "4", "--build-dir", tmp_path / "fw",
            "--results", tmp_path / "r.jsonl", "--json", tmp_path / "s.json"]
    r = cli(*args)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    path = tmp_path / "r.jsonl"
    lines = path.read_text().splitlines()
    assert len(lines) == 5
    # sample 1: output edited to differ, flag left at true -> damaged, re-run, matched again
    rec = json.loads(lines[2])
    rec["output"][0] += 1
    lines[2] = json.dumps(rec)
    # sample 2: a consistent mismatch (output, digest and flag agree) -> kept and counted as a mismatch
    rec = json.loads(lines[3])
    rec["output"][0] += 1
    rec["output_sha256"] = validate.output_digest(rec["output"])
    rec["match"] = False
    lines[3] = json.dumps(rec)
    lines[4] = lines[4][:20]  # sample 3 cut short
    path.write_text("\n".join(lines) + "\n")
    (tmp_path / "fw" / "tinybnn-build.json").write_text('{"model_hash": ')  # a damaged build record: rebuilt
    r = cli(*args)
    assert r.returncode == 1, r.stdout[-2000:] + r.stderr[-2000:]
    warn = [ln for ln in r.stderr.splitlines() if "warning" in ln]
    assert len(warn) == 1 and "2 damaged records" in warn[0] and "Traceback" not in r.stderr
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["resumed"] == 2 and s["matched"] == 3 and s["mismatched"] == 1
    assert [mm["index"] for mm in s["mismatches"]] == [2]
    assert "MISMATCHED" in r.stdout
    assert json.loads((tmp_path / "fw" / "tinybnn-build.json").read_text())["app"] == "serve"


def _start_validate(tmp_path, limit=360, sighup=signal.SIG_DFL):
    """tinybnn validate in the background with SIGHUP at ``sighup`` (default: as from a terminal, whatever the
    test runner inherited; SIG_IGN: as under nohup)."""
    args = [sys.executable, "-m", "tinybnn", "validate", str(TFC), "--data", str(TFC_DATA), "--limit", str(limit),
            "--build-dir", str(tmp_path / "fw"), "--results", str(tmp_path / "r.jsonl")]
    return args, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  preexec_fn=lambda: signal.signal(signal.SIGHUP, sighup))


def _qemu_children(pid):
    return {p: s for p, s in _descendants(pid).items() if "qemu-system" in _cmdline(p)}


@linux_only
@pytest.mark.slow
@pytest.mark.skipif(not _arm_tools(), reason="arm-none-eabi-gcc or QEMU not installed")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP", "SIGINT", "SIGKILL", "SIGHUP under nohup"])
def test_signal_during_validate_leaves_no_qemu(sig, tmp_path):
    """The signal goes to tinybnn alone (as `kill PID` or a closed terminal would): QEMU, its child, is
    gone when tinybnn has exited, the exit code is 128 + the signal, the results file holds only whole,
    trusted records, and a rerun resumes from them. SIGKILL cannot be handled: the kernel ends QEMU
    (PR_SET_PDEATHSIG)."""
    nohup = sig.endswith("under nohup")
    sig = sig.split()[0]
    args, p = _start_validate(tmp_path, limit=200, sighup=signal.SIG_IGN if nohup else signal.SIG_DFL)
    results = tmp_path / "r.jsonl"
    deadline = time.monotonic() + 240
    qemu = {}
    while time.monotonic() < deadline and p.poll() is None:
        qemu = qemu or _qemu_children(p.pid)
        if qemu and results.is_file() and len(results.read_text().splitlines()) > 10:
            break
        time.sleep(0.05)
    assert p.poll() is None and qemu, "validate ended before it could be interrupted"
    os.kill(p.pid, getattr(signal, sig))
    out, err = p.communicate(timeout=60)
    num = getattr(signal, sig)
    if nohup:  # an ignored SIGHUP stays ignored (plumbing.install_signal_handlers): the run completes
        assert p.returncode == 0, err[-2000:]
        assert "bit-exact: 200/200" in out and _wait_gone(qemu, 2.0) == {}
        return
    if sig == "SIGKILL":
        assert p.returncode == -num
        assert _wait_gone(qemu, 5.0) == {}, f"QEMU survived: {qemu}"
        return
    assert p.returncode == 128 + num, (p.returncode, err[-2000:])
    assert "Traceback" not in err
    extra = [ln for ln in err.splitlines() if not ln.strip().endswith("samples")]
    assert len(extra) == 1 and extra[0].startswith(f"tinybnn: interrupted ({sig}); "), err[-2000:]
    kept = int(extra[0].split("; ")[1].split()[0])
    assert _wait_gone(qemu, 2.0) == {}, f"QEMU survived: {qemu}"
    lines = results.read_text().splitlines()
    assert lines and all(json.loads(ln) for ln in lines)
    assert not _no_temp_files(tmp_path)
    assert kept == len(lines) - 1 and "resumes" in extra[0]
    if sig == "SIGTERM":  # the rerun takes over every record written before the signal
        r = subprocess.run(args, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        assert f"{kept} resumed" in r.stdout and "bit-exact: 200/200" in r.stdout
        assert "warning" not in r.stderr


@linux_only
@pytest.mark.slow
@pytest.mark.skipif(not _arm_tools(), reason="arm-none-eabi-gcc or QEMU not installed")
def test_sigterm_during_build_leaves_no_platformio(tmp_path):
    """SIGTERM while PlatformIO compiles: PlatformIO, SCons and the compilers are gone with tinybnn, and
    the next build into the same folder works."""
    args = [sys.executable, "-m", "tinybnn", "build", str(TFC), "-o", str(tmp_path / "fw")]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    kids = {}
    while time.monotonic() < deadline and p.poll() is None:
        kids = {q: s for q, s in _descendants(p.pid).items() if "platformio" in _cmdline(q)}
        if kids:
            break
        time.sleep(0.02)
    assert p.poll() is None and kids, "the build ended before PlatformIO could be caught running"
    time.sleep(0.3)
    everything = _descendants(p.pid)
    os.kill(p.pid, signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert err.splitlines() == ["tinybnn: interrupted (SIGTERM)"], err
    assert _wait_gone(everything, 2.0) == {}, {q: _cmdline(q) for q in everything}
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]


# --------------------------------------------------------------------------- device liveness (QEMU) --

@pytest.mark.slow
@pytest.mark.skipif(not _arm_tools(), reason="arm-none-eabi-gcc or QEMU not installed")
def test_firmware_answers_reset_after_the_largest_raw_echo(tmp_path):
    """On the emulated board: RAW_ECHO of TBP_RAW_ECHO_MAX bytes (the device echoes a MiB of whatever
    comes), a few raw bytes, then a handshake with ONE attempt: the RESET among the raw bytes must be
    answered at once (before, it was echoed like data), and inference works again."""
    import struct

    from tinybnn.device import protocol as P
    from tinybnn.targets.build import build
    from tinybnn.device.link import Device
    from tinybnn.targets.qemu import QemuSession

    d = np.load(DATA)
    m = tinybnn.load(MODEL, calibration=d["x"])
    fw = build(m, "qemu-m4", tmp_path / "fw", app="serve")
    q = m.quantize(d["x"][:2])
    with QemuSession(fw.elf, "qemu-m4", timeout=120) as s:
        dev = Device(s.serial, timeout=2.0)
        dev.request(P.CMD_RAW_ECHO, struct.pack("<I", P.RAW_ECHO_MAX), lambda f: True)
        dev._write(b"raw bytes\x00\x01")
        strict = Device(s.serial, timeout=2.0, retries=0, handshake=False)
        strict.handshake()  # RESET: one attempt, no retry
        out, _ = strict.infer(q[1])
        assert np.array_equal(out, m.run_quantized(q)[1])
        strict.exit()


def test_platformio_core_folder_is_checked_too(tmp_path):
    """$TINYBNN_CACHE (PlatformIO's core folder, which SCons substitutes into commands) gets the same rule
    as the build folder: one line naming the variable, before PlatformIO runs."""
    fw = tmp_path / "fw"
    r = cli("build", MODEL, "--calibration", DATA, "-o", fw, "--generate-only")
    assert r.returncode == 0, r.stderr
    env = dict(os.environ, TINYBNN_CACHE=str(tmp_path / "cache`touch CANARY`"))
    r = subprocess.run([sys.executable, "-c", "import sys; from tinybnn.targets import platformio\n"
                        "try:\n    platformio.run_pio(sys.argv[1])\n"
                        "except platformio.PlatformIOError as e:\n    print(e, file=sys.stderr); sys.exit(2)",
                        str(fw)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 2 and "TINYBNN_CACHE" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert not list(tmp_path.rglob("CANARY*")) and not (tmp_path / "cache`touch CANARY`").exists()


@pytest.mark.parametrize("record", ['{"elf": ', "[]", '{"board": "qemu-m4"}', "\udcff".encode("utf-8", "surrogateescape").decode("latin-1")])
def test_footprint_of_a_damaged_build_record_is_one_line(record, tmp_path):
    (tmp_path / "tinybnn-build.json").write_text(record, encoding="latin-1")
    err = one_line_error(cli("footprint", tmp_path))
    assert "damaged build record" in err
