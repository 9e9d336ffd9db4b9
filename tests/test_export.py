"""tinybnn export: a library folder with the float boundary on the device; two exports in one program.

The KWS and digits examples are exported with different names, compiled together with a main.c calling both
``*_classify``, on the host (gcc -std=c99 -Wall -Wextra -Werror) over every test sample and on qemu-m4 through
PlatformIO over 20 samples each; every class equals the golden model's argmax, every int8 code equals the
host quantization, every score equals ``tinybnn predict``'s within 1e-5 relative (absolute floor 1e-5 * the
largest score of the sample, for scores near zero).
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinybnn.targets import boards
from tinybnn.targets.export import export
from tinybnn.model import load

# one xdist worker runs the whole module (make test runs in parallel): the exported libraries, made once
pytestmark = pytest.mark.xdist_group("test_export")

ROOT = Path(__file__).resolve().parents[1]
KWS = ROOT / "examples" / "kws" / "model"
DIG = ROOT / "examples" / "vision" / "model"
CFLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2"]
QEMU_SAMPLES = 20


def _models():
    dig_x = np.load(DIG / "digits_bnn_test.npz")["x"]
    return {"kws": (load(str(KWS / "kws_bnn.onnx")), np.load(KWS / "kws_bnn_test.npz")["x"], KWS / "labels.txt"),
            "digits": (load(str(DIG / "digits_bnn.onnx"), calibration=dig_x), dig_x, DIG / "labels.txt")}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    out = {}
    for name, (m, x, labels) in _models().items():
        info = export(m, name, d / name, labels_path=labels)
        out[name] = (m, x.astype(np.float32), d / name, info)
    return out


def _check_scores(name, got_scores, got_cls, m, x, codes=None):
    want = m.predict(x)
    want_cls = np.argmax(want, axis=1)
    assert np.array_equal(got_cls, want_cls), f"{name}: classes differ at {np.flatnonzero(got_cls != want_cls)[:10]}"
    floor = 1e-5 * np.abs(want).max(axis=1, keepdims=True)
    err = np.abs(got_scores - want)
    bad = err > np.maximum(1e-5 * np.abs(want), floor)
    assert not bad.any(), f"{name}: scores differ: max error {err.max()} at {np.argwhere(bad)[:5].tolist()}"
    if codes is not None:
        assert np.array_equal(codes, m.quantize(x).reshape(len(x), -1)), f"{name}: int8 codes differ"
    return want_cls


HOST_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kws.h"
#include "digits.h"

/* argv: kws.bin digits.bin (float32 samples); prints "<model> <class> <score bits...> | <codes...>" */
static int run(const char *path, const char *tag, int n_in, int n_out,
               int (*classify)(const float *, float *), int (*quantize)(const float *, int8_t *))
{
    FILE *f = fopen(path, "rb");
    float *x = malloc(sizeof(float) * (size_t)n_in), *s = malloc(sizeof(float) * (size_t)n_out);
    int8_t *q = malloc((size_t)n_in);
    int i;

    if (f == NULL || x == NULL || s == NULL || q == NULL)
        return 1;
    while (fread(x, sizeof(float), (size_t)n_in, f) == (size_t)n_in) {
        int cls = classify(x, s);
        if (cls < 0 || quantize(x, q) != 0)
            return 2;
        printf("%s %d", tag, cls);
        for (i = 0; i < n_out; ++i)
            printf(" %.9g", (double)s[i]);
        printf(" |");
        for (i = 0; i < n_in; ++i)
            printf(" %d", q[i]);
        printf("\n");
    }
    fclose(f);
    free(x);
    free(s);
    free(q);
    return 0;
}

int main(int argc, char **argv)
{
    float s[KWS_OUTPUT_SIZE];
    static float bad[DIGITS_INPUT_SIZE];
    const uint32_t nan_bits = 0x7fc00000u;

    if (argc != 3)
        return 3;
    if (kws_classify(NULL, s) != KWS_ERR_ARG || digits_invoke(NULL, NULL) != DIGITS_ERR_ARG)
        return 4;
    memcpy(&bad[3], &nan_bits, sizeof nan_bits);
    if (digits_classify(bad, NULL) != DIGITS_ERR_INPUT)
        return 7;
    if (run(argv[1], "kws", KWS_INPUT_SIZE, KWS_OUTPUT_SIZE, kws_classify, kws_quantize) != 0)
        return 5;
    if (run(argv[2], "digits", DIGITS_INPUT_SIZE, DIGITS_OUTPUT_SIZE, digits_classify, digits_quantize) != 0)
        return 6;
    printf("labels %s %s\n", kws_labels[2], digits_labels[7]);
    return 0;
}
"""


def _parse(lines, name, n_out):
    cls, scores, codes = [], [], []
    for ln in lines:
        if not ln.startswith(name + " "):
            continue
        head, _, tail = ln.partition(" |")
        v = head.split()[1:]
        cls.append(int(v[0]))
        scores.append([float(t) for t in v[1:1 + n_out]])
        codes.append([int(t) for t in tail.split()])
    return np.array(cls), np.array(scores, np.float32), np.array(codes, np.int8)


def test_two_exports_link_and_classify_on_host(exported, tmp_path, report):
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc not installed")
    srcs = []
    for name, (_, _, d, _) in exported.items():
        srcs += sorted(str(p) for p in (d / "src").glob("*.c"))
    (tmp_path / "main.c").write_text(HOST_MAIN)
    cmd = [cc, *CFLAGS, "-I", str(exported["kws"][2] / "src"), "-I", str(exported["digits"][2] / "src"),
           str(tmp_path / "main.c"), *srcs, "-o", str(tmp_path / "both")]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for name, (_, x, _, _) in exported.items():
        (tmp_path / f"{name}.bin").write_bytes(np.ascontiguousarray(x.reshape(len(x), -1)).tobytes())
    r = subprocess.run([str(tmp_path / "both"), str(tmp_path / "kws.bin"), str(tmp_path / "digits.bin")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, (r.returncode, r.stderr)
    lines = r.stdout.splitlines()
    assert lines[-1] == "labels yes 7"
    for name, (m, x, _, info) in exported.items():
        cls, scores, codes = _parse(lines, name, info["output_size"])
        assert len(cls) == len(x)
        _check_scores(name, scores, cls, m, x, codes)
        report(f"export {name}: host C over {len(x)} samples: class == golden argmax, int8 codes bit-equal, "
               "scores within 1e-5 of predict")


def test_exported_symbols_all_prefixed(exported, tmp_path):
    cc = shutil.which("gcc")
    nm = shutil.which("nm")
    if cc is None or nm is None:
        pytest.skip("gcc/nm not installed")
    for name, (_, _, d, _) in exported.items():
        for c in sorted((d / "src").glob("*.c")):
            o = tmp_path / (c.stem + ".o")
            subprocess.run([cc, *CFLAGS, "-c", str(c), "-o", str(o)], check=True)
            out = subprocess.run([nm, "-g", "--defined-only", str(o)], capture_output=True, text=True).stdout
            for ln in out.splitlines():
                sym = ln.split()[-1]
                assert sym.startswith(name + "_"), f"{c.name} exports '{sym}'"
        for f in (d / "src").iterdir():
            assert f.name.startswith(name), f


def test_library_formats(exported):
    from platformio.package.manifest.parser import ManifestParserFactory
    from platformio.package.manifest.schema import ManifestSchema

    for name, (_, _, d, info) in exported.items():
        for f in ("library.json", "library.properties"):  # PlatformIO's own manifest schema (offline)
            data = ManifestSchema().load_manifest(ManifestParserFactory.new_from_file(str(d / f)).as_dict())
            assert data["name"] == name and data["headers"] == [f"{name}.h"], (f, data)
        lj = json.loads((d / "library.json").read_text())
        assert lj["name"] == name and re.fullmatch(r"\d+\.\d+\.\d+", lj["version"])  # PlatformIO's required fields
        assert lj["build"]["srcDir"] == "src" and (d / "src" / f"{name}.h").is_file()
        props = dict(ln.split("=", 1) for ln in (d / "library.properties").read_text().splitlines() if "=" in ln)
        for key in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url",
                    "architectures"):  # the Arduino library specification's fields (1.5 format)
            assert props.get(key), key
        assert props["category"] in ("Display", "Communication", "Signal Input/Output", "Sensors",
                                     "Device Control", "Timing", "Data Storage", "Data Processing", "Other")
        assert (d / "examples" / f"{name}_classify" / f"{name}_classify.ino").is_file()
        cm = (d / "CMakeLists.txt").read_text()
        assert f"add_library({name} STATIC" in cm
        for c in (d / "src").glob("*.c"):
            assert f"src/{c.name}" in cm
        readme = (d / "README.md").read_text()
        assert f"{name}_classify" in readme and str(info["arena_bytes"]) in readme


def test_cmake_target_builds(exported, tmp_path):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake not installed")
    top = tmp_path / "app"
    top.mkdir()
    (top / "main.c").write_text(HOST_MAIN)
    (top / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(app C)\n"
        + "".join(f"add_subdirectory({d.as_posix()} {name})\n" for name, (_, _, d, _) in exported.items())
        + "add_executable(app main.c)\ntarget_link_libraries(app PRIVATE kws digits)\n")
    b = tmp_path / "build"
    r = subprocess.run([cmake, "-S", str(top), "-B", str(b)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run([cmake, "--build", str(b)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_reexport_keeps_user_edits(tmp_path):
    m, _, labels = _models()["digits"]
    d = tmp_path / "digits"
    export(m, "digits", d, labels_path=labels)
    mine = d / "src" / "my_notes.txt"
    mine.write_text("mine\n")
    export(m, "digits", d, labels_path=labels)  # unchanged files: rewritten quietly, mine kept
    assert mine.read_text() == "mine\n"
    ino = d / "examples" / "digits_classify" / "digits_classify.ino"
    ino.write_text(ino.read_text() + "// my edit\n")
    r = subprocess.run([sys.executable, "-m", "tinybnn", "export", str(DIG / "digits_bnn.onnx"), "--name", "digits",
                        "-o", str(d), "--calibration", str(DIG / "digits_bnn_test.npz"), "--labels", str(labels)],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "was changed" in r.stderr, r.stderr
    assert ino.read_text().endswith("// my edit\n") and mine.is_file()
    export(m, "digits", d, labels_path=labels, force=True)
    assert not ino.read_text().endswith("// my edit\n") and mine.is_file()


def test_bad_name_and_labels_one_line(tmp_path):
    for args, want in ((["--name", "Bad-Name"], "--name 'Bad-Name'"),
                       (["--name", "kws", "--labels", str(DIG / "labels.txt")], "12 outputs")):
        out = tmp_path / "x"
        r = subprocess.run([sys.executable, "-m", "tinybnn", "export", str(KWS / "kws_bnn.onnx"), "-o", str(out),
                            *args], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and want in r.stderr, r.stderr
        assert not out.exists()


# ------------------------------------------------------------------------------ qemu-m4 via PlatformIO --
def _tools(board_id):
    b = boards.load_board(board_id)
    return shutil.which(b["toolchain"] + "-gcc") and shutil.which(b["qemu"]["binary"])


def _c_floats(x):
    vals = [f"{struct.unpack('<I', struct.pack('<f', float(v)))[0]:#010x}u" for v in x.reshape(-1)]
    return ",\n".join(", ".join(vals[i:i + 8]) for i in range(0, len(vals), 8))


def _device_main(exported):
    parts = ["#include <stdint.h>\n#include <string.h>\n#include \"tb_port.h\"\n"
             + "".join(f"#include \"{name}.h\"\n" for name in exported) + "\n"
             "static void put_hex(uint32_t v)\n{\n    static const char h[] = \"0123456789abcdef\";\n"
             "    int i;\n    for (i = 28; i >= 0; i -= 4)\n        tb_port_putc((uint8_t)h[(v >> i) & 15u]);\n}\n\n"
             "static void put_str(const char *s)\n{\n    tb_port_write((const uint8_t *)s, strlen(s));\n}\n"]
    body = []
    for name, (_, x, _, info) in exported.items():
        up = name.upper()
        parts.append(f"\nstatic const uint32_t {name}_x[{QEMU_SAMPLES}][{up}_INPUT_SIZE] = {{\n"
                     + ",\n".join("{" + _c_floats(s) + "}" for s in x[:QEMU_SAMPLES]) + "\n};\n")
        body.append(f"""    for (n = 0; n < {QEMU_SAMPLES}; ++n) {{
        float in[{up}_INPUT_SIZE], sc[{up}_OUTPUT_SIZE];
        uint32_t bits;
        int cls;
        memcpy(in, {name}_x[n], sizeof in);
        cls = {name}_classify(in, sc);
        if (cls < 0)
            return 1;
        put_str("{name} ");
        put_hex((uint32_t)cls);
        for (i = 0; i < {up}_OUTPUT_SIZE; ++i) {{
            memcpy(&bits, &sc[i], 4);
            tb_port_putc(' ');
            put_hex(bits);
        }}
        put_str("\\n");
    }}
""")
    parts.append("\nint tb_main(void)\n{\n    int n, i;\n\n" + "".join(body) + "    put_str(\"done\\n\");\n"
                 "    return 0;\n}\n")
    return "".join(parts)


def _pio_project(exported, board, out):
    from tinybnn.targets import platformio

    src = out.parent / "app_src"
    src.mkdir(exist_ok=True)
    (src / "app.c").write_text(_device_main(exported))
    project = Path(platformio.write_project(board, out, [src / "app.c"]))
    for name, (_, _, d, _) in exported.items():
        shutil.copytree(d, project / "lib" / name)
    return project


def test_exports_on_qemu_m4_through_platformio(exported, tmp_path, report):
    if not _tools("qemu-m4"):
        pytest.skip("arm-none-eabi-gcc / qemu-system-arm not installed")
    from tinybnn.targets import platformio
    from tinybnn.targets.qemu import run_to_exit

    board = boards.load_board("qemu-m4")
    m, x, d, _ = exported["kws"]  # a third library: the same model on the board's own kernel variant
    fast = {**exported, "kwsfast": (m, x, tmp_path / "kwsfast", export(m, "kwsfast", tmp_path / "kwsfast",
                                                                       variant=board["kernel_variant"]))}
    assert any(f.endswith(".S") for f in fast["kwsfast"][3]["files"])
    project = _pio_project(fast, board, tmp_path / "fw")
    res = platformio.run_pio(project)
    code, raw = run_to_exit(res.elf, board, timeout=120)
    log = raw.decode("utf-8", "replace")
    assert code == 0 and "done" in log, log[-2000:]
    for name, (m, x, _, info) in fast.items():
        rows = [ln.split() for ln in log.splitlines() if ln.startswith(name + " ")]
        assert len(rows) == QEMU_SAMPLES, log[-2000:]
        cls = np.array([int(r[1], 16) for r in rows])
        scores = np.array([[struct.unpack("<f", struct.pack("<I", int(v, 16)))[0] for v in r[2:]] for r in rows],
                          np.float32)
        _check_scores(name, scores, cls, m, x[:QEMU_SAMPLES])
        report(f"export {name} ({info['variant']} kernels): qemu-m4 (PlatformIO library in lib/) over "
               f"{QEMU_SAMPLES} samples: class == golden argmax, scores within 1e-5 of predict")


def test_exports_build_for_offline_board(exported, tmp_path):
    b = boards.load_board("nucleo_f446re")
    if not b.get("offline") or not _tools("qemu-m4"):
        pytest.skip("no offline block / arm-none-eabi-gcc not installed")
    from tinybnn.targets import platformio

    board = boards.offline_board(b)
    project = _pio_project(exported, board, tmp_path / "fw")
    res = platformio.run_pio(project)
    assert res.elf.is_file() and res.flash_used


# ------------------------------------------------------------------ generated projects are the user's --
def _build_gen(out, *extra):
    return subprocess.run([sys.executable, "-m", "tinybnn", "build", str(DIG / "digits_bnn.onnx"), "--board",
                           "qemu-m4", "-o", str(out), "--calibration", str(DIG / "digits_bnn_test.npz"),
                           "--generate-only", *extra], capture_output=True, text=True, cwd=ROOT)


def test_rebuild_keeps_user_edits(tmp_path):
    from tinybnn.targets.platformio import FILES_RECORD, USER_MARK

    out = tmp_path / "fw"
    r = _build_gen(out)
    assert r.returncode == 0, r.stderr
    rec = json.loads((out / FILES_RECORD).read_text())["files"]
    assert "platformio.ini" in rec and any(k.startswith("src/tinybnn/") for k in rec)
    mine = out / "src" / "my_app.c"
    mine.write_text("/* mine */\n")
    ini = out / "platformio.ini"
    assert ini.read_text().count(USER_MARK) == 1
    ini.write_text(ini.read_text() + "upload_port = /dev/ttyMINE\n")
    r = _build_gen(out, "--variant", "reference")  # another kernel family: other kernel files
    assert r.returncode == 0, r.stderr
    assert mine.read_text() == "/* mine */\n"
    assert ini.read_text().endswith("upload_port = /dev/ttyMINE\n") and ini.read_text().count(USER_MARK) == 1
    rec2 = json.loads((out / FILES_RECORD).read_text())["files"]
    assert set(rec) - set(rec2)
    for rel in set(rec) - set(rec2):  # files tinybnn no longer writes are gone (they were unchanged)
        assert not (out / rel).exists(), rel
    # a generated file the user changed: refused in one line, nothing written; --force overwrites it
    model_c = out / "src" / "tinybnn" / "model.c"
    model_c.write_text(model_c.read_text() + "/* my fix */\n")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    r = _build_gen(out)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "model.c was changed" in r.stderr, r.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    r = _build_gen(out, "--force")
    assert r.returncode == 0, r.stderr
    assert "/* my fix */" not in model_c.read_text() and mine.is_file()
    assert ini.read_text().endswith("upload_port = /dev/ttyMINE\n")


def test_examples_command_copies_the_models_out(tmp_path):
    out = tmp_path / "ex"
    r = subprocess.run([sys.executable, "-m", "tinybnn", "examples", "-o", str(out)], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for rel in ("kws/model/kws_bnn.onnx", "kws/model/labels.txt", "vision/model/digits_bnn_test.npz", "README.md"):
        assert (out / rel).read_bytes() == (ROOT / "examples" / rel).read_bytes(), rel
    r = subprocess.run([sys.executable, "-m", "tinybnn", "examples", "-o", str(out)], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not an empty folder" in r.stderr


def test_readme_firmware_section_runs(tmp_path):
    """The README's export commands, run as written (from a copy of the examples), and its main.c compiled."""
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc not installed")
    text = (ROOT / "README.md").read_text()
    sec = text[text.index("## Use it in your firmware"):]
    sec = sec[:sec.index("\n## ", 5)]
    sh = re.findall(r"```sh\n(.*?)```", sec, re.S)[0].replace("\\\n", " ")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    for line in sh.splitlines():
        args = line.split()
        assert args[:2] == ["tinybnn", "export"], line
        r = subprocess.run([sys.executable, "-m", "tinybnn", *args[1:]], capture_output=True, text=True, cwd=tmp_path)
        assert r.returncode == 0, r.stderr
    main_c = re.findall(r"```c\n(.*?)```", sec, re.S)[1]
    (tmp_path / "main.c").write_text(main_c)
    srcs = [str(p) for lib in ("kws", "digits") for p in sorted((tmp_path / "lib" / lib / "src").glob("*.c"))]
    r = subprocess.run([cc, *CFLAGS, "-I", "lib/kws/src", "-I", "lib/digits/src", "main.c", *srcs, "-o", "app"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(tmp_path / "app")], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("heard "), r.stdout
    info = json.loads((tmp_path / "lib" / "kws" / "tinybnn-export.json").read_text())["export"]
    assert f"a {info['arena_bytes']:,}-byte arena, {info['weight_bytes']:,} bytes of weights" in sec


SINGLE_MAIN = r"""
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "m.h"

int main(int argc, char **argv)
{
    static float x[M_INPUT_SIZE], s[M_OUTPUT_SIZE];
    static int8_t q[M_INPUT_SIZE];
    FILE *f = argc == 2 ? fopen(argv[1], "rb") : NULL;
    int i;

    if (f == NULL)
        return 3;
    while (fread(x, sizeof(float), M_INPUT_SIZE, f) == M_INPUT_SIZE) {
        int cls = m_classify(x, s);
        if (cls < 0 || m_quantize(x, q) != 0)
            return 2;
        printf("m %d", cls);
        for (i = 0; i < M_OUTPUT_SIZE; ++i)
            printf(" %.9g", (double)s[i]);
        printf(" |");
        for (i = 0; i < M_INPUT_SIZE; ++i)
            printf(" %d", q[i]);
        printf("\n");
    }
    fclose(f);
    return 0;
}
"""


def _export_and_run(m, x, tmp_path):
    """Export m, compile it with SINGLE_MAIN on the host, run it over x: (classes, scores, int8 codes)."""
    cc = shutil.which("gcc")
    if cc is None:
        pytest.skip("gcc not installed")
    export(m, "m", tmp_path / "m")
    src = tmp_path / "m" / "src"
    (tmp_path / "main.c").write_text(SINGLE_MAIN)
    r = subprocess.run([cc, *CFLAGS, "-I", str(src), str(tmp_path / "main.c"), *map(str, sorted(src.glob("*.c"))),
                        "-o", str(tmp_path / "app")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (tmp_path / "x.bin").write_bytes(np.ascontiguousarray(x.reshape(len(x), -1)).tobytes())
    r = subprocess.run([str(tmp_path / "app"), str(tmp_path / "x.bin")], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    cls, scores, codes = _parse(r.stdout.splitlines(), "m", int(np.prod(m.device_output_shape)))
    assert len(cls) == len(x)
    return cls, scores, codes


def _edge_samples(m, shape) -> np.ndarray:
    """Samples made of the input quantizer's edges (a model without a prologue, whose every element the same
    quantizer reads): each breakpoint of the device's table, the float just below it, +-0, +-FLT_MAX, the
    smallest subnormals: where a table one float off, or float arithmetic that rounds once too often, shows."""
    from tinybnn.backend import model_io

    bp = model_io.breakpoint_plan(m, model_io.input_plan(m))
    assert bp is not None, "the model's input quantizer has no table"
    b = model_io._from_key(bp["keys"].astype(np.int64))
    b = b[np.isfinite(b)]
    tiny = np.float32(1e-45)
    v = np.concatenate([b, np.nextafter(b, np.float32(-np.inf)), np.nextafter(b, np.float32(np.inf)),
                        np.array([0.0, -0.0, np.finfo(np.float32).max, -np.finfo(np.float32).max, tiny, -tiny],
                                 np.float32)]).astype(np.float32)
    per = int(np.prod(shape))
    return np.resize(v, (-(-v.size // per)) * per).reshape((-1,) + tuple(shape))


@pytest.mark.parametrize("fixture", ["brevitas_cnn", "brevitas_tfc", "larq_cnn", "larq_pool_bn", "torch_cnn_dynamo",
                                     "torch_cnn_legacy", "torch_mlp_legacy", "torch_bireal_legacy",
                                     "torch_reactnet_dynamo", "torch_xnor_tcn_legacy", "larq_quicknet",
                                     "brevitas_dscnn"])
def test_every_fixture_exports_bit_equal_codes(fixture, tmp_path, report):
    """Every input quantizer (calibrated, the model's own Quant with its rounding, sign) and layout (NCHW and
    flat inputs, host prologues) quantized on the device as on the host; without a prologue also at every
    breakpoint of the device's table and one float on either side of it."""
    fix = ROOT / "tests" / "fixtures"
    x = np.load(fix / f"{fixture}.npz")["x"].astype(np.float32)
    m = load(str(fix / f"{fixture}.onnx"), fallback_calibration=x)
    rng = np.random.default_rng(7)  # beyond the data: values far out of range (clamping) and exact ties
    a = m.input_node.attrs
    wide = (rng.standard_normal((40,) + x.shape[1:]) * 4 * (np.abs(x).max() + 1)).astype(np.float32)
    extra = [wide]
    if a["mode"] == "calibrated" and not a["pre"]:
        ties = (rng.integers(-140, 140, (40,) + x.shape[1:]) + 0.5) * a["calib_scale"]
        extra.append(ties.astype(np.float32))
    if a["mode"] != "sign" and not a["pre"]:  # the table's edges, one float apart
        extra.append(_edge_samples(m, x.shape[1:]))
    x = np.concatenate([x] + extra)
    cls, scores, codes = _export_and_run(m, x, tmp_path)
    _check_scores(fixture, scores, cls, m, x, codes)
    report(f"export {fixture} ({m.input_node.attrs['mode']} input): host C over {len(x)} samples: codes bit-equal, "
           "class == golden argmax, scores within 1e-5")


ARDUINO_STUB = r"""
/* A host stand-in for the Arduino core: Serial prints to stdout, loop() runs once. */
#include <stdio.h>
struct StubSerial {
    void begin(unsigned long) {}
    void print(const char *s) { fputs(s, stdout); }
    void print(int v) { printf("%d", v); }
    void println(const char *s) { puts(s); }
    void println(int v) { printf("%d\n", v); }
    void println(float v, int digits) { printf("%.*f\n", digits, (double)v); }
};
extern StubSerial Serial;
static inline void delay(unsigned long) {}
"""


def test_arduino_example_sketch_compiles_and_runs(exported, tmp_path):
    """The exported example sketch, as the Arduino builder compiles it (C++ with <Arduino.h> first), against a
    host stand-in for the core; the library's C sources compiled as C."""
    cc, cxx = shutil.which("gcc"), shutil.which("g++")
    if cc is None or cxx is None:
        pytest.skip("gcc/g++ not installed")
    _, _, d, _ = exported["kws"]
    (tmp_path / "Arduino.h").write_text(ARDUINO_STUB)
    (tmp_path / "main.cpp").write_text("StubSerial Serial;\nvoid setup();\nvoid loop();\n"
                                       "int main() { setup(); loop(); return 0; }\n")
    objs = []
    for c in sorted((d / "src").glob("*.c")):
        o = tmp_path / (c.stem + ".o")
        subprocess.run([cc, *CFLAGS, "-c", str(c), "-o", str(o)], check=True)
        objs.append(str(o))
    ino = d / "examples" / "kws_classify" / "kws_classify.ino"
    r = subprocess.run([cxx, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-I", str(tmp_path), "-I", str(d / "src"),
                        "-include", "Arduino.h", "-x", "c++", str(ino), "-x", "c++", str(tmp_path / "main.cpp"),
                        "-x", "none", *objs, "-o", str(tmp_path / "sketch")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(tmp_path / "sketch")], capture_output=True, text=True)
    assert r.returncode == 0 and re.fullmatch(r"class \S+ score -?\d+\.\d{4}\n", r.stdout), r.stdout


@pytest.mark.parametrize("rounding", ["ROUND", "FLOOR", "CEIL", "ROUND_TO_ZERO", "HALF_UP"])
def test_input_quantizer_rounding_modes(rounding, tmp_path):
    """A QONNX input Quant with each rounding mode the device supports: the same int8 codes as the host's, at
    the edges of the device's table too."""
    fix = ROOT / "tests" / "fixtures"
    x = np.load(fix / "brevitas_cnn.npz")["x"].astype(np.float32)[:60]
    m = load(str(fix / "brevitas_cnn.onnx"))
    assert m.input_node.attrs["mode"] == "quant"
    m.input_node.attrs["rounding"] = rounding  # the golden quantize_input and the export both read it
    rng = np.random.default_rng(3)
    x = np.concatenate([x, x + rng.standard_normal(x.shape).astype(np.float32) * 0.3,
                        _edge_samples(m, x.shape[1:])]).astype(np.float32)
    cls, scores, codes = _export_and_run(m, x, tmp_path)
    _check_scores(rounding, scores, cls, m, x, codes)


@pytest.mark.parametrize("fixture", ["brevitas_cnn", "torch_bireal_legacy"])
def test_float_arithmetic_quantizer_without_a_table(fixture, tmp_path, monkeypatch):
    """Where no breakpoint table is made (a quantizer that is not monotone), model_io.c quantizes with the
    float arithmetic (double division and rounding): the same codes, the table's edges included."""
    from tinybnn.backend import model_io

    fix = ROOT / "tests" / "fixtures"
    x = np.load(fix / f"{fixture}.npz")["x"].astype(np.float32)[:40]
    m = load(str(fix / f"{fixture}.onnx"), fallback_calibration=x)
    x = np.concatenate([x, _edge_samples(m, x.shape[1:])]).astype(np.float32)
    monkeypatch.setattr(model_io, "breakpoint_plan", lambda model, inp: None)
    cls, scores, codes = _export_and_run(m, x, tmp_path)
    assert "input_keys" not in (tmp_path / "m" / "src" / "m_model_io.c").read_text()
    _check_scores(fixture, scores, cls, m, x, codes)


def test_breakpoint_table_is_the_host_rule():
    """model_io.breakpoint_plan, read as the device reads it (lo + the number of keys at or below a float's
    order key), gives the host's code for finite floats of every magnitude and both zeros; each breakpoint is
    the first float of its code; every key is a finite float's, or one of the two sentinels (-inf's key: every
    float reaches the code; KEY_NEVER: none does)."""
    from tinybnn.backend import model_io
    from tinybnn.ir.golden import quantize_input

    fix = ROOT / "tests" / "fixtures"
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 1 << 32, 200_000, dtype=np.uint64).astype(np.uint32)
    y = bits.view(np.float32)
    y = y[np.isfinite(y)]
    y = np.concatenate([y, rng.standard_normal(50_000).astype(np.float32) * 8, np.float32([0.0, -0.0])])
    for name in ("brevitas_cnn", "torch_bireal_legacy", "larq_cnn", "brevitas_dscnn"):
        x = np.load(fix / f"{name}.npz")["x"]
        m = load(str(fix / f"{name}.onnx"), fallback_calibration=x)
        bp = model_io.breakpoint_plan(m, model_io.input_plan(m))
        keys = bp["keys"].astype(np.int64)
        qa = dict(m.input_node.attrs, pre=[], perm=None, onnx_shape=[len(y)])
        want = quantize_input(qa, y[None])[0]
        got = bp["lo"] + np.searchsorted(keys, model_io.order_key(y), side="right")
        assert np.array_equal(got, want), name
        b = model_io._from_key(keys)
        ok = np.isfinite(b)
        qb = dict(qa, onnx_shape=[int(ok.sum())])
        at = quantize_input(qb, b[ok][None])[0]
        below = quantize_input(qb, np.nextafter(b[ok], np.float32(-np.inf))[None])[0]
        assert np.array_equal(at, bp["lo"] + 1 + np.flatnonzero(ok)) and np.all(below < at), name
        sentinel = (keys == -model_io.FLT_MAX_KEY - 1) | (keys == model_io.KEY_NEVER)
        assert np.all(sentinel | (np.abs(keys) <= model_io.FLT_MAX_KEY)), name


def test_requantization_plan_default_follows_the_model():
    """An optimized export carries tinybnn build's flags as its own defaults: NAME_TB_OPT_STREAM_PLAN is 0 in
    the library of a model without int8 / int16 outputs (the plan's stack left out) and 1 in a residual one's;
    its README says which."""
    from tinybnn.targets.export import prepare_export

    fix = Path(__file__).parent / "fixtures"
    for fixture, plan in (("larq_cnn", 0), ("torch_bireal_legacy", 1)):
        x = np.load(fix / f"{fixture}.npz")["x"]
        m = load(fix / f"{fixture}.onnx", calibration=x)
        files, _ = prepare_export(m, "net", variant="armv7m")
        h = files["src/net_tb_opt_internal.h"].decode()
        assert f"#ifndef NET_TB_OPT_STREAM_PLAN\n#define NET_TB_OPT_STREAM_PLAN {plan}\n" in h, fixture
        assert f"`NET_TB_OPT_STREAM_PLAN` (`src/net_tb_opt_internal.h`) is {plan}" in files["README.md"].decode()
        k = files["src/net_tb_kernels.h"].decode()  # the output stages: the same rule for every kernel variant
        assert f"#ifndef NET_TB_STREAM_OUTPUTS\n#define NET_TB_STREAM_OUTPUTS {plan}\n" in k, fixture
        assert ("`NET_TB_STREAM_OUTPUTS` is 0" in files["README.md"].decode()) == (not plan), fixture
