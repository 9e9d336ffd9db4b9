"""The generated C model (tinybnn.backend.codegen + tinybnn.backend.hostc) against the golden model, bit for bit.

Every layer's output (through the tb_model_run_hooked hook) and the final output are compared with the
golden model on every fixture and on random IR-level models (tests/randmodels.py); seeds are fixed and
named in every failure message: ``random_model(np.random.default_rng([SEED, i]))``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinybnn
from randmodels import golden_layers, random_model
from tinybnn.backend import codegen, hostc, planner
from tinybnn.errors import TinyBnnError

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("*.onnx"))
SEED = 20250613
N_RANDOM_MODELS = 40
RANDOM_SAMPLES = 16
N_SANITIZED_MODELS = 6
STRICT_FLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wvla", "-Wshadow", "-Wstrict-prototypes",
                "-Wmissing-prototypes", "-Wcast-align", "-Wdouble-promotion", "-Wfloat-equal", "-O2")


def load_fixture(path):
    x = np.load(path.with_suffix(".npz"))["x"]
    return tinybnn.load(path, calibration=x), x


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)


def assert_layers_equal(model, q, c_layers, golden, where):
    assert len(c_layers) == len(golden) == len(model.layers), where
    for k, (n, c, g) in enumerate(zip(model.layers, c_layers, golden)):
        assert c.shape == g.shape and c.dtype == g.dtype, f"{where}: layer {k} '{n.name}' {c.shape} vs {g.shape}"
        if not np.array_equal(c, g):
            bad = tuple(np.argwhere(c != g)[0])
            pytest.fail(f"{where}: layer {k} '{n.name}' ({n.op}) C != golden at {bad}: C {c[bad]}, golden {g[bad]}")


# ------------------------------------------------------------------------------------- bit-exactness --
@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_fixture_bit_exact(path):
    m, x = load_fixture(path)
    q = m.quantize(x)
    c_layers = hostc.run_c_layers(m, q)
    g_layers = m.run_layers(x)
    assert [c.name for c in c_layers] == [g.name for g in g_layers]
    assert np.array_equal(c_layers[0].data, g_layers[0].data)
    assert_layers_equal(m, q, [c.data for c in c_layers[1:]], [g.data for g in g_layers[1:]], path.name)
    out = hostc.run_c(m, q)
    assert out.dtype == np.int32 and out.shape == (len(x),) + m.device_output_shape
    assert np.array_equal(out, m.run_quantized(q)), path.name
    r = codegen.prepare(m)
    planner.check_plan(r.plan)
    assert r.arena_bytes == planner.lower_bound(r.plan)
    assert r.weight_bytes == m.weight_bytes()  # the same count as `tinybnn inspect`


@pytest.mark.parametrize("i", range(N_RANDOM_MODELS))
def test_random_model_bit_exact(i):
    seed = [SEED, i]
    m, q = random_model(np.random.default_rng(seed), n_samples=RANDOM_SAMPLES, source=f"random-{i}")
    # extra samples the thresholds were not drawn from
    extra = np.random.default_rng([SEED, i, 1]).integers(-128, 128, size=q.shape).astype(np.int8)
    q = np.concatenate([q, extra])
    where = f"seed {seed} ({' -> '.join(n.op[3:] for n in m.layers)})"
    assert_layers_equal(m, q, hostc._run(m, q, True, None), golden_layers(m, q), where)
    r = codegen.prepare(m)
    planner.check_plan(r.plan)
    assert r.arena_bytes == planner.lower_bound(r.plan), where


@pytest.mark.parametrize("i", range(N_SANITIZED_MODELS))
def test_random_model_sanitized(i):
    seed = [SEED + 1, i]
    m, q = random_model(np.random.default_rng(seed), n_samples=4, source=f"random-san-{i}")
    assert_layers_equal(m, q, hostc._run(m, q, True, True), golden_layers(m, q), f"seed {seed} (sanitized)")


@pytest.mark.parametrize("path", FIXTURES[:2], ids=lambda p: p.stem)
def test_fixture_sanitized(path):
    m, x = load_fixture(path)
    q = m.quantize(x[:20])
    assert np.array_equal(hostc.run_c(m, q, sanitize=True), m.run_quantized(q))


def test_sanitize_env_selects_the_sanitized_build(monkeypatch):
    m, _ = random_model(np.random.default_rng([SEED + 1, 0]), n_samples=1, source="random-san-0")
    monkeypatch.setenv("TINYBNN_SANITIZE", "1")
    assert hostc.build(m).parent.name.endswith("-san")
    monkeypatch.setenv("TINYBNN_SANITIZE", "0")
    assert not hostc.build(m).parent.name.endswith("-san")


def _model_with_bits_layer(first_index):
    for i in range(first_index, first_index + 50):
        m, q = random_model(np.random.default_rng([SEED, i]), n_samples=RANDOM_SAMPLES)
        if len(m.layers) > 1 and m.layers[0].attrs.get("out") == "bits":
            return m, q
    raise AssertionError("no random model with a bits layer")


def test_comparison_can_fail():
    """Flipping the decisions of the first layer changes the C output: the comparison is real."""
    m, q = _model_with_bits_layer(0)
    before = hostc._run(m, q, True, None)
    m.layers[0].attrs["flip"] = ~m.layers[0].attrs["flip"]
    after = hostc._run(m, q, True, None)
    assert not np.array_equal(before[0], after[0])
    assert_layers_equal(m, q, after, golden_layers(m, q), "flipped")


# ------------------------------------------------------------------------------ the rendered output --
def test_layer_names_survive_escaping(tmp_path):
    """Names with quotes, backslashes, comment markers, trigraphs and UTF-8 reach the C table unchanged."""
    from randmodels import ODD_NAMES

    m, _ = random_model(np.random.default_rng([SEED, 3]), n_samples=2, max_layers=5)
    for n, name in zip(m.layers, ODD_NAMES):
        n.name = name
    r = codegen.render(m, tmp_path / "out")
    main = tmp_path / "out" / "names_main.c"
    main.write_text('#include <stdio.h>\n#include "model.h"\nint main(void)\n{\n    int i;\n'
                    '    for (i = 0; i < TB_MODEL_NUM_LAYERS; i++)\n        printf("%s\\n", tb_model_layer_names[i]);\n'
                    '    return 0;\n}\n')
    srcs = sorted(p.name for p in (tmp_path / "out").glob("*.c"))
    subprocess.run(["gcc", *STRICT_FLAGS, "-Wno-missing-prototypes", *srcs, "-o", "names"], cwd=tmp_path / "out",
                   check=True, capture_output=True)
    got = subprocess.run([str(tmp_path / "out" / "names")], capture_output=True, check=True).stdout
    assert got.decode("utf-8").splitlines() == [n.name for n in m.layers]
    assert r.manifest["layers"][0]["name"] == m.layers[0].name


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.stem)
def test_output_dir_compiles_on_its_own(path, tmp_path):
    m, _ = load_fixture(path)
    out = tmp_path / "model"
    r = codegen.render(m, out)
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(r.files)
    assert set(r.manifest["kernel_sources"]) <= set(files)
    for f in r.manifest["files"]:
        assert (out / f).is_file()
    cmd = ["gcc", *STRICT_FLAGS, "-c", *sorted(p.name for p in out.glob("*.c"))]
    res = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    text = {n: (out / n).read_text(encoding="utf-8") for n in codegen.GENERATED_FILES}
    for n, t in text.items():
        code = re.sub(r"/\*.*?\*/", " ", t, flags=re.S)
        assert not re.search(r"\b(float|double|malloc)\b", code), f"{n} uses float/double/malloc"
        assert str(tmp_path) not in t and str(ROOT) not in t, f"{n} holds an absolute path"
    h = text["model.h"]
    man = json.loads((out / "manifest.json").read_text())
    assert f"#define TB_MODEL_ARENA_BYTES {man['arena_bytes']}u" in h
    assert f'#define TB_MODEL_HASH "{man["hash"]}"' in h
    assert f"#define TB_MODEL_NUM_LAYERS {len(m.layers)}" in h
    assert man["weight_bytes"] == sum(la["weight_bytes"] for la in man["layers"])
    for n in m.layers:  # the original layer names in comments
        assert f'"{codegen.c_comment(n.name)}"' in text["model.c"]
    assert re.search(r"^    (0x[0-9A-F]{8}u, ){7}0x[0-9A-F]{8}u,$", text["model_weights.c"], flags=re.M)


def test_render_is_deterministic(tmp_path):
    m, _ = _model_with_bits_layer(5)
    a, b = codegen.render(m, tmp_path / "a"), codegen.render(m, tmp_path / "b")
    assert a.files == b.files
    for name in a.files:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    m.layers[0].attrs["thresholds"] = m.layers[0].attrs["thresholds"] + np.int32(1)
    assert codegen.prepare(m).hash != a.hash  # the hash covers the constants


def test_cli_convert_twice_is_byte_identical(tmp_path):
    path = FIXTURES[0]
    outs = []
    for k in range(2):
        out = tmp_path / f"o{k}"
        r = run_cli("convert", path, "-o", out, "--calibration", path.with_suffix(".npz"))
        assert r.returncode == 0, r.stderr
        outs.append({p.name: p.read_bytes() for p in out.iterdir()})
        assert "weights:" in r.stdout and "arena:" in r.stdout
    assert outs[0] == outs[1]
    # converting over an existing model replaces it as a whole
    r = run_cli("convert", path, "-o", tmp_path / "o0", "--calibration", path.with_suffix(".npz"))
    assert r.returncode == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "o0").iterdir()} == outs[0]


@pytest.mark.parametrize("flag,what", [("--max-ram", "RAM"), ("--max-flash", "flash")])
def test_cli_convert_refuses_what_does_not_fit(tmp_path, flag, what):
    path = FIXTURES[0]
    m, _ = load_fixture(path)
    r0 = codegen.prepare(m)
    need = r0.arena_bytes if what == "RAM" else r0.weight_bytes
    out = tmp_path / "out"
    r = run_cli("convert", path, "-o", out, "--calibration", path.with_suffix(".npz"), flag, need - 1)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinybnn: error: "), r.stderr
    assert str(need) in lines[0] and str(need - 1) in lines[0] and what in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []
    r = run_cli("convert", path, "-o", out, "--calibration", path.with_suffix(".npz"), flag, need)
    assert r.returncode == 0, r.stderr


def test_cli_convert_needs_calibration(tmp_path):
    path = next(p for p in FIXTURES if "torch_mlp" in p.name)  # a float input without a quantizer
    r = run_cli("convert", path, "-o", tmp_path / "out")
    assert r.returncode == 2 and "calibration" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_write_is_atomic(tmp_path, monkeypatch):
    m, _ = random_model(np.random.default_rng([SEED, 6]), n_samples=2)
    out = tmp_path / "out"
    good = codegen.render(m, out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = Path.write_bytes
    calls = {"n": 0}

    def flaky(self, data):  # the disk fills up on the third file
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    with pytest.raises(TinyBnnError, match="No space left"):
        codegen.write_files(good.files, out)  # replacing an existing model
    calls["n"] = 0
    with pytest.raises(TinyBnnError, match="No space left"):
        codegen.write_files(good.files, tmp_path / "fresh")  # a new directory
    monkeypatch.setattr(Path, "write_bytes", real)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old model is intact
    assert not (tmp_path / "fresh").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary directories left


def test_refuses_to_replace_a_foreign_directory(tmp_path):
    m, _ = random_model(np.random.default_rng([SEED, 7]), n_samples=2)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.c").write_text("int main(void) { return 0; }\n")
    with pytest.raises(TinyBnnError, match="refusing"):
        codegen.render(m, tmp_path / "src")
    assert (tmp_path / "src" / "main.c").is_file()


def test_cli_predict_engine_c(tmp_path):
    path = next(p for p in FIXTURES if "torch_cnn_legacy" in p.name)
    x = np.load(path.with_suffix(".npz"))["x"][:50]
    np.save(tmp_path / "x.npy", x)
    ys = {}
    for engine in ("golden", "c"):
        r = run_cli("predict", path, "--input", tmp_path / "x.npy", "--output", tmp_path / f"y_{engine}.npy",
                    "--engine", engine)
        assert r.returncode == 0, r.stderr
        ys[engine] = np.load(tmp_path / f"y_{engine}.npy")
    assert ys["c"].shape == (50, 10)
    assert np.array_equal(ys["c"], ys["golden"])


def test_cli_predict_engine_c_sanitized(tmp_path):
    path = next(p for p in FIXTURES if "brevitas_tfc" in p.name)
    x = np.load(path.with_suffix(".npz"))["x"][:10]
    np.save(tmp_path / "x.npy", x)
    env = dict(os.environ, TINYBNN_SANITIZE="1")
    r = run_cli("predict", path, "--input", tmp_path / "x.npy", "--output", tmp_path / "y.npy", "--engine", "c",
                env=env)
    assert r.returncode == 0, r.stderr
    m, _ = load_fixture(path)
    assert np.array_equal(np.load(tmp_path / "y.npy"), m.predict(x))


CROSS = [
    ("arm-none-eabi-gcc", ("-mcpu=cortex-m0", "-mthumb")),
    ("arm-none-eabi-gcc", ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=soft")),
    ("riscv64-unknown-elf-gcc", ("-march=rv32imc_zicsr", "-mabi=ilp32", "--specs=picolibc.specs")),
]


@pytest.mark.parametrize("cc,flags", CROSS, ids=lambda v: v if isinstance(v, str) else v[0])
def test_output_dir_cross_compiles(cc, flags, tmp_path):
    """The rendered directory builds for the device cores with the strict warning set (32-bit int/long)."""
    import shutil

    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    m, _ = load_fixture(next(p for p in FIXTURES if "torch_cnn_legacy" in p.name))
    out = tmp_path / "model"
    codegen.render(m, out)
    cmd = [cc, *flags, *STRICT_FLAGS, "-Os", "-Wcast-align=strict", "-c", *sorted(p.name for p in out.glob("*.c"))]
    res = subprocess.run(cmd, cwd=out, capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
