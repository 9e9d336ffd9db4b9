"""Every model in tests/fixtures/bad/ must be refused by the CLI with ONE clean error line and exit code 2.

The corpus and its expectations (``cases.json``) are built by tests/fixtures/bad/make_bad_models.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "fixtures" / "bad"
CASES = json.loads((BAD / "cases.json").read_text())
IDS = [c["file"] for c in CASES]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tinybnn", *args], cwd=ROOT, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=120)


def rel(case: dict) -> str:
    return str((BAD / case["file"]).relative_to(ROOT))


def test_corpus_is_complete():
    assert len(CASES) >= 18
    listed = {c["file"] for c in CASES}
    assert len(listed) == len(CASES), "duplicate file in cases.json"
    on_disk = {p.name for p in BAD.glob("*.onnx")} | {p.name for p in BAD.glob("*.tflite")}
    assert listed == on_disk
    for c in CASES:
        assert c["why"] and c["expect"], c


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_inspect_rejects(case):
    r = run_cli("inspect", rel(case))
    err = r.stderr.strip()
    assert r.returncode == 2, f"exit {r.returncode}, stderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    lines = err.splitlines()
    assert len(lines) == 1, f"expected ONE error line, got {len(lines)}:\n{r.stderr}"
    line = lines[0]
    assert line.startswith("tinybnn: error: "), line
    missing = [s for s in case["expect"] if s not in line]
    assert not missing, f"error line lacks {missing} ({case['why']}): {line}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_predict_rejects_without_output(case, tmp_path):
    x = np.random.default_rng(1234).standard_normal((4, 1, 8, 8)).astype(np.float32)
    xin = tmp_path / "x.npy"
    yout = tmp_path / "y.npy"
    np.save(xin, x)
    r = run_cli("predict", rel(case), "--input", str(xin), "--output", str(yout))
    assert r.returncode == 2, f"exit {r.returncode}, stderr:\n{r.stderr}"
    assert "Traceback" not in r.stderr, r.stderr
    assert not yout.exists(), "predict wrote an output for a rejected model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.npy"], "predict left files behind"
