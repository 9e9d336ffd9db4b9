"""`pip install .` must carry the top-level templates/, firmware/, boards/ and examples/ inside the wheel."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

# one xdist worker runs the whole module (make test runs in parallel): the wheel, made once
pytestmark = pytest.mark.xdist_group("test_packaging")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return next(out.glob("tinybnn-*.whl"))


def test_wheel_contents(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ("templates", "firmware", "boards", "examples"):
        src = [p for p in (ROOT / rel).rglob("*") if p.is_file() and "__pycache__" not in p.parts]
        assert src, rel
        for p in src:
            assert f"tinybnn/_data/{rel}/{p.relative_to(ROOT / rel).as_posix()}" in names, p
    assert "tinybnn/passes/lower.py" in names
    for p in (ROOT / "tinybnn").rglob("*.py"):  # every subpackage is listed in pyproject.toml's packages
        assert p.relative_to(ROOT).as_posix() in names, p
    meta = [n for n in names if n.endswith("entry_points.txt")]
    assert meta and "tinybnn = tinybnn.cli:main" in zipfile.ZipFile(wheel).read(meta[0]).decode()
