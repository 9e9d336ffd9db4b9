"""The HTML validation report: `validate --report` on an emulated board, checked in a real headless Chromium
(no console error, no network request, the charts in the rendered page, a screenshot kept in build/), and
`tinybnn report` from the files the run left, without the device."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinybnn.targets import boards
from tinybnn.device import report

# one xdist worker runs the whole module (make test runs in parallel): the validation run, made once
pytestmark = pytest.mark.xdist_group("test_report")

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures"
ARTIFACTS = ROOT / "build" / "test-artifacts"  # kept by CI: the report and its screenshot

CHARTS = ("agreement", "confusion", "layers", "per-sample", "memory")
# what the page must show once rendered: every chart drawn (width, height, marks), and the key figures
PAGE_SCRIPT = """(() => ({
  charts: [...document.querySelectorAll("svg.chart")].map(s => {
    const r = s.getBoundingClientRect();
    return {name: s.dataset.chart, width: r.width, height: r.height,
            marks: s.querySelectorAll("path, use, rect").length};
  }),
  text: document.body.innerText,
  scripts: document.scripts.length,
  external: [...document.querySelectorAll("[src], link[href]")]
    .map(e => e.getAttribute("src") || e.getAttribute("href")).filter(u => !u.startsWith("data:"))
}))()"""


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], capture_output=True, text=True, **kw)


def _tools(board_id):
    b = boards.load_board(board_id)
    return shutil.which(b["toolchain"] + "-gcc") and shutil.which(b["qemu"]["binary"])


def test_error_metrics():
    ref = np.array([[1.0, -2.0], [3.0, 0.5]])
    y = ref + np.array([[0.1, 0.0], [0.0, -0.3]])
    m = report.error_metrics(y, ref)
    assert m["max_abs"] == pytest.approx(0.3)
    assert m["mae"] == pytest.approx(0.1)
    assert m["rmse"] == pytest.approx(np.sqrt((0.01 + 0.09) / 4))
    assert m["l2_rel"] == pytest.approx(np.sqrt(0.1) / np.linalg.norm(ref))
    assert m["cosine"] == pytest.approx(float(np.dot(y.ravel(), ref.ravel())
                                              / np.linalg.norm(y) / np.linalg.norm(ref)))
    same = report.error_metrics(ref, ref)
    assert same["rmse"] == 0 and same["cosine"] == pytest.approx(1.0) and same["l2_rel"] == 0


def test_summary_path_beside_the_results():
    assert report.summary_path_for("out/x.results.jsonl") == Path("out/x.results.summary.json")
    assert report.summary_path_for("run.jsonl") == Path("run.summary.json")


def test_report_needs_its_summary(tmp_path):
    res = tmp_path / "run.jsonl"
    res.write_text(json.dumps({"model_hash": "ab", "board": "qemu-m4", "data": "cd", "samples": 1}) + "\n")
    r = cli("report", res, "-o", tmp_path / "r.html")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "no summary beside it (run.summary.json" in r.stderr and "--summary" in r.stderr
    res.write_text("not a results file\n")
    r = cli("report", res)
    assert r.returncode == 2 and "not the header of a tinybnn validate results file" in r.stderr
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "run.html").exists()


def test_without_matplotlib_one_line_before_any_work(tmp_path):
    """Without the report extra, --report is refused in one line that says how to install it, before a
    firmware is built or a sample sent."""
    import os

    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\n"
        "class _NoMpl:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'matplotlib' or name.startswith('matplotlib.'):\n"
        "            raise ModuleNotFoundError(\"No module named 'matplotlib'\", name=name)\n"
        "        return None\n"
        "sys.meta_path.insert(0, _NoMpl())\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    r = cli("validate", FIX / "torch_mlp_legacy.onnx", "--data", FIX / "torch_mlp_legacy.npz", "--build-dir",
            tmp_path / "fw", "--results", tmp_path / "r.jsonl", "--report", tmp_path / "r.html", env=env)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "matplotlib" in r.stderr and "pip install 'tinybnn[report]'" in r.stderr
    assert not (tmp_path / "fw").exists() and not (tmp_path / "r.jsonl").exists()


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """One validate --report run on qemu-m4 (20 samples), shared by the tests below."""
    tmp_path = tmp_path_factory.mktemp("validated")
    if not _tools("qemu-m4"):
        pytest.skip("toolchain or QEMU for qemu-m4 not installed")
    pytest.importorskip("matplotlib")
    page = tmp_path / "report.html"
    r = cli("validate", FIX / "torch_mlp_legacy.onnx", "--board", "qemu-m4", "--data", FIX / "torch_mlp_legacy.npz",
            "--limit", "20", "--build-dir", tmp_path / "fw", "--results", tmp_path / "run.jsonl",
            "--json", tmp_path / "s.json", "--report", page)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert f"wrote {page}" in r.stdout and (tmp_path / "fw" / "build.log").is_file()
    assert f"summary: {tmp_path / 'run.summary.json'} (tinybnn report" in r.stdout
    return tmp_path, page


@pytest.mark.slow
def test_validate_report_in_headless_chromium(validated):
    """The acceptance test: validate --report on qemu-m4, the page opened in Chromium as a person would."""
    from headless_chromium import chromium, load_page, save

    if chromium() is None:
        pytest.skip("chromium not installed (scripts/apt-packages.txt, profile test)")
    _, page = validated
    html = page.read_text()
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") \
        .replace('xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    res = load_page(page.resolve().as_uri(), PAGE_SCRIPT)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = save(ARTIFACTS / "validate-report.png", res.screenshot)
    shutil.copy(page, ARTIFACTS / "validate-report.html")
    assert res.console_errors == [], res.console_errors
    # the page's only request is the page itself (inline charts may carry data: images; nothing leaves it)
    others = [u for u in res.requests if u != page.resolve().as_uri() and not u.startswith("data:")]
    assert others == [], others
    ev = res.evaluated
    assert ev["scripts"] == 0 and ev["external"] == [], ev["external"]
    drawn = {c["name"]: c for c in ev["charts"]}
    assert set(CHARTS) <= set(drawn), drawn.keys()
    for name in CHARTS:
        c = drawn[name]
        assert c["width"] > 300 and c["height"] > 100 and c["marks"] > 20, c
    text = ev["text"]
    for needle in ("bit-exact: 20/20 outputs equal to the golden model", "torch_mlp_legacy.onnx", "qemu-m4",
                   "RMSE", "MAE", "L2 relative", "cosine", "argmax agreement", "Confusion matrix",
                   "binary MACs per instruction", "weights", "arena", "stack", "board's limit",
                   "20/20 equal to the golden model's argmax; int8 codes 20/20 equal to the host's"):
        assert needle in text, needle
    assert "µs" not in text  # emulated: instruction counts, never times
    # the screenshot is the rendered page: as wide as the window, as tall as the page, not blank
    from PIL import Image

    img = Image.open(shot)
    assert img.size[0] == 1100 and img.size[1] > 2000
    assert len(np.unique(np.asarray(img.convert("L").resize((64, 256))))) > 20


@pytest.mark.slow
def test_report_from_the_files_of_the_run(validated, tmp_path):
    """tinybnn report RESULTS: the same page as validate --report, from the results and the summary beside
    them (or a --json summary), without the device."""
    run, page = validated
    assert (run / "run.summary.json").is_file()
    r = cli("report", run / "run.jsonl", "-o", tmp_path / "again.html")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "again.html").read_text() == page.read_text()
    r = cli("report", run / "s.json", "-o", tmp_path / "from-json.html")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "from-json.html").read_text() == page.read_text()
    # a summary of another run is refused in one line
    other = json.loads((run / "s.json").read_text())
    other["model_hash"] = "0" * 16
    (tmp_path / "other.json").write_text(json.dumps(other))
    r = cli("report", run / "run.jsonl", "--summary", tmp_path / "other.json", "-o", tmp_path / "x.html")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "different runs: model_hash" in r.stderr
    assert not (tmp_path / "x.html").exists()
    s = json.loads((run / "run.summary.json").read_text())["report"]
    assert s["outputs"][0]["output"] == "all" and s["outputs"][0]["argmax_agreement"] == 1.0
    assert sum(map(sum, s["confusion"]["matrix"])) == 20
    assert [r["layer"] for r in s["layer_agreement"]] == ["/1/MatMul", "/4/MatMul"]


def test_render_a_real_board_run_without_labels_or_float_model():
    """A real board's run: cycles instead of instructions, no build of its own (no memory map), no labels,
    no float runtime; the page says what is missing instead of failing."""
    pytest.importorskip("matplotlib")
    summary = {"model": "models/<img src=x>.onnx", "board": "nucleo_f446re", "model_hash": "3fe8e941d1ce816f", "samples": 3,
               "matched": 2, "mismatched": 1, "resumed": 0, "device_accuracy": None, "golden_accuracy": None,
               "float_accuracy": None, "count_kind": "cycles", "per_inference": 1234.0,
               "per_layer": [{"layer": "fc1", "count": 1000}, {"layer": "fc2", "count": 200}],
               "mismatches": [{"index": 1, "first_layer": "fc2"}], "footprint": None,
               "float_note": "qonnx is not installed", "seconds": 1.5,
               "report": {"model": {"name": "m.onnx"}, "board": {"id": "nucleo_f446re", "core": "cortex-m4",
                                                                 "clock_hz": 180_000_000, "emulated": False},
                          "layers": [{"name": "fc1", "kind": "dense bin->bits", "binary_macs": 4096,
                                      "int_macs": 0, "bytes": 600},
                                     {"name": "fc2", "kind": "dense bin->int32 out", "binary_macs": 640,
                                      "int_macs": 0, "bytes": 80}],
                          "outputs": None, "layer_agreement": None, "confusion": None,
                          "float_note": "qonnx is not installed", "data": "ab"}}
    page = report.render(summary, [{"index": i, "count": 1230 + i, "match": i != 1} for i in range(3)])
    assert "bit-exact: 2/3 outputs equal to the golden model, 1 mismatched" in page
    assert "sample 1: first differing layer fc2" in page
    assert "Cycles per layer" in page and "binary MACs per cycle" in page and "4.10" in page  # 4096 / 1000
    assert "not measured: qonnx is not installed" in page and "Confusion matrix" not in page
    assert "no firmware was built by this run" in page and "180 MHz" in page
    assert "1,234 (6.9 µs at 180 MHz)" in page and "µs at 180 MHz" in page and ">5.6<" in page  # 1000 cycles
    assert page.count('<svg class="chart"') == 2  # per layer, per sample
    assert "<script" not in page
    assert "<img" not in page and "models/&lt;img src=x&gt;.onnx" in page  # user text is escaped
