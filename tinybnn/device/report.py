"""The validation report: one self-contained HTML file (``tinybnn validate --report F.html``, or later from
the files a run leaves: ``tinybnn report RESULTS -o F.html``).

It opens offline: no script, no stylesheet or font from elsewhere, every chart an inline SVG drawn by
matplotlib (the optional ``report`` extra: ``pip install 'tinybnn[report]'``). It shows

- the summary: model, model hash, board, samples, bit-exact count, accuracy of device, golden and float model;
- the error of the device outputs (equal to the golden model's when bit-exact) against the float model, for
  the whole output and per output unit: RMSE, MAE, L2 relative error, cosine similarity, max abs error,
  argmax agreement;
- per binary layer, the fraction of activation bits equal to the float model's (:func:`tinybnn.check.check`);
- the confusion matrix of the device's decisions (with labels);
- instructions (emulated board) or cycles (real board) per layer, with binary MACs per instruction or cycle;
- the memory map: flash and RAM by component (:mod:`tinybnn.targets.footprint`) against the board's limits.

Everything but the per-sample records is computed while ``validate`` runs (:func:`collect`, with the model,
the data and the float runtime at hand) and kept in the run's summary: ``validate`` writes it beside its
results file (``NAME.summary.json`` for ``NAME.jsonl``) and to ``--json``. ``tinybnn report`` reads the
results file and that summary; no device, model or data is needed.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import TinyBnnError

INSTALL_HINT = "pip install 'tinybnn[report]'"
REPORT_FORMAT = 1


def require_matplotlib() -> None:
    """One line, before any work, when the report cannot be drawn."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise TinyBnnError(f"the HTML report draws its charts with matplotlib, which is not installed: "
                           f"{INSTALL_HINT}") from None


def summary_path_for(results_path) -> Path:
    """Where ``validate`` writes the summary of a results file: ``NAME.summary.json`` beside ``NAME.jsonl``."""
    p = Path(results_path)
    stem = p.name[:-len(".jsonl")] if p.name.endswith(".jsonl") else p.name
    return p.with_name(stem + ".summary.json")


# ----------------------------------------------------------------------------- metrics -------
def error_metrics(y, ref) -> dict:
    """``y`` against the reference ``ref`` (same shape, float): RMSE, MAE, L2 relative error (||y - ref|| /
    ||ref||), cosine similarity, max abs error."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    ref = np.asarray(ref, dtype=np.float64).reshape(-1)
    d = y - ref
    nr, ny = float(np.linalg.norm(ref)), float(np.linalg.norm(y))
    return {"rmse": float(np.sqrt(np.mean(d * d))), "mae": float(np.mean(np.abs(d))),
            "l2_rel": float(np.linalg.norm(d) / nr) if nr > 0 else None,
            "cosine": float(np.dot(y, ref) / (ny * nr)) if nr > 0 and ny > 0 else None,
            "max_abs": float(np.max(np.abs(d))) if d.size else 0.0}


def collect(model, model_path, x, labels, device_outputs, board: dict, float_reference: bool = True,
            float_note: str | None = None) -> dict:
    """What the report needs beyond the validate summary, computed with the model and data at hand.
    ``device_outputs``: (N, outputs) int32 accumulators the device returned."""
    n = len(x)
    dev = np.asarray(device_outputs, dtype=np.int64)
    shape = (n,) + tuple(model.device_output_shape)
    y_dev = model.dequantize(dev.reshape(shape).astype(np.int32)).reshape(n, -1)
    rep = {"format": REPORT_FORMAT,
           "model": {"name": Path(model_path).name, "dialect": model.graph.meta.get("dialect"),
                     "input_shape": list(model.input_shape), "output_shape": list(model.device_output_shape),
                     "input_quantization": {k: v for k, v in (model.input_quantization or {}).items()
                                            if isinstance(v, (str, int, float))}},
           "board": {k: board.get(k) for k in ("id", "core", "clock_hz", "emulated", "flash_bytes", "ram_bytes")},
           "layers": [{k: r[k] for k in ("name", "kind", "binary_macs", "int_macs", "bytes")}
                      for r in model.layer_table()],
           "outputs": None, "layer_agreement": None, "confusion": None, "float_note": float_note}
    if float_reference and float_note is None:
        from ..frontend.onnx.runtime import require

        try:
            require(model_path)
        except TinyBnnError as e:
            float_reference, rep["float_note"] = False, str(e)
    if float_reference:
        from ..check import check
        from ..frontend.onnx.runtime import run_reference

        y_f, _ = run_reference(model_path, x)
        y_f = np.asarray(y_f, dtype=np.float64).reshape(n, -1)
        whole = error_metrics(y_dev, y_f)
        whole["argmax_agreement"] = float(np.mean(y_dev.argmax(1) == y_f.argmax(1)))
        rows = [dict(output="all", **whole)]
        for j in range(y_dev.shape[1]):
            rows.append(dict(output=str(j), **error_metrics(y_dev[:, j], y_f[:, j]), argmax_agreement=None))
        rep["outputs"] = rows
        try:
            chk = check(model, model_path, x, labels)
            rep["layer_agreement"] = [{"layer": name, "fraction": frac} for name, frac in chk.layer_bit_agreement]
        except TinyBnnError as e:  # the float model's layers cannot be probed: the rest of the report stands
            rep["layer_agreement_note"] = str(e)
        except Exception as e:  # noqa: BLE001 - a finished validation is never lost to a side computation
            rep["layer_agreement_note"] = (f"the float model's layers could not be probed ({type(e).__name__}: "
                                           f"{str(e)[:200]}); tinybnn check MODEL --data FILE.npz shows it alone")
    if labels is not None:
        lab = np.asarray(labels).reshape(-1).astype(np.int64)
        pred = y_dev.argmax(1)
        k = int(max(y_dev.shape[1], lab.max() + 1 if lab.size else 0))
        cm = np.zeros((k, k), dtype=np.int64)
        np.add.at(cm, (lab, pred), 1)
        rep["confusion"] = {"classes": k, "matrix": cm.tolist()}
    return rep


# ----------------------------------------------------------------------------- loading ------
def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except OSError as e:
        raise TinyBnnError(f"{path}: cannot read the {what} ({e.strerror})") from None
    except (UnicodeDecodeError, ValueError):
        raise TinyBnnError(f"{path}: not a JSON {what}") from None


def load_results(path) -> tuple[dict, list]:
    """The header and the per-sample records of a ``validate --results`` file (damaged lines skipped)."""
    p = Path(path)
    if not p.is_file():
        raise TinyBnnError(f"{p}: no such results file")
    try:
        lines = p.read_text(errors="replace").splitlines()
    except OSError as e:
        raise TinyBnnError(f"{p}: cannot read it ({e.strerror})") from None
    try:
        header = json.loads(lines[0]) if lines else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or not all(k in header for k in ("model_hash", "board", "data")):
        raise TinyBnnError(f"{p}: line 1 is not the header of a tinybnn validate results file")
    recs = {}
    for ln in lines[1:]:
        try:
            r = json.loads(ln)
        except ValueError:
            continue
        if isinstance(r, dict) and isinstance(r.get("index"), int) and isinstance(r.get("count"), int):
            recs[r["index"]] = r
    return header, [recs[i] for i in sorted(recs)]


def load(path, summary_path=None) -> tuple[dict, list | None]:
    """The summary and the records for ``tinybnn report PATH``: PATH is a results file (its summary is
    ``summary_path`` or the one beside it) or a summary (``validate --json``; its results file, when it is
    still where the run wrote it, adds the per-sample counts)."""
    p = Path(path)
    if not p.is_file():
        raise TinyBnnError(f"{p}: no such file (give the results file of a tinybnn validate run)")
    first = p.read_text(errors="replace").lstrip()[:1]
    whole = None
    if first == "{" and summary_path is None:
        try:
            whole = json.loads(p.read_text())
        except ValueError:
            whole = None  # JSON lines: a results file
    if isinstance(whole, dict) and "report" in whole:  # a summary given directly
        summary, header, records = whole, None, None
        rp = Path(summary.get("results") or "")
        if summary.get("results") and rp.is_file():
            header, records = load_results(rp)
    else:
        header, records = load_results(p)
        sp = Path(summary_path) if summary_path else summary_path_for(p)
        if not sp.is_file():
            raise TinyBnnError(f"{p}: no summary beside it ({sp.name}, written when tinybnn validate finishes): "
                               "let the run finish, or give the summary with --summary (validate --json writes one)")
        summary = _read_json(sp, "summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("report"), dict):
        raise TinyBnnError(f"{summary_path or p}: not a tinybnn validate summary with report data "
                           "(written by tinybnn validate from version 0.1 on)")
    if header is not None:
        for key, mine in (("model_hash", summary.get("model_hash")), ("board", summary.get("board")),
                          ("data", summary["report"].get("data"))):
            if header.get(key) != mine:
                raise TinyBnnError(f"the summary and the results file are of different runs: {key} "
                                   f"{mine} in the summary, {header.get(key)} in the results")
    return summary, records


# ----------------------------------------------------------------------------- charts --------
def _svg(fig, name: str) -> str:
    """The figure as an inline <svg> element; its ids prefixed with ``name`` (several SVGs share a page)."""
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    s = buf.getvalue()
    s = s[s.index("<svg"):]
    s = re.sub(r"<metadata>.*?</metadata>", "", s, flags=re.S)
    ids = set(re.findall(r'\bid="([^"]+)"', s))
    for i in sorted(ids, key=len, reverse=True):
        s = s.replace(f'id="{i}"', f'id="{name}-{i}"').replace(f'"#{i}"', f'"#{name}-{i}"') \
             .replace(f"url(#{i})", f"url(#{name}-{i})")
    return s.replace("<svg ", f'<svg class="chart" data-chart="{name}" role="img" aria-label="{name}" ', 1)


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.fonttype": "path", "font.size": 9, "axes.spines.top": False,
                         "axes.spines.right": False, "svg.hashsalt": "tinybnn"})
    return plt


def _thousands(axis):
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def chart_layers(rows, count_kind) -> str:
    plt = _plt()
    names = [r["layer"] for r in rows]
    counts = [r["count"] for r in rows]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.0))
    y = np.arange(len(rows))
    ax.barh(y, counts, color="#3b75af")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlabel(f"{count_kind} per inference")
    top = max(counts) if counts else 1
    for yi, r in zip(y, rows):
        label = f"{r['count']:,}"
        if r.get("binary_macs"):
            label += f"  ({r['binary_macs'] / max(r['count'], 1):.2f} binary MACs per {count_kind[:-1]})"
        elif r.get("int_macs"):
            label += f"  ({r['int_macs'] / max(r['count'], 1):.3f} int8 MACs per {count_kind[:-1]})"
        ax.text(r["count"] + top * 0.01, yi, label, va="center", fontsize=8)
    ax.set_xlim(0, top * 1.6)
    _thousands(ax.xaxis)
    return _svg(fig, "layers")


def chart_memory(fp: dict) -> str:
    plt = _plt()
    from ..targets.footprint import COMPONENTS

    colors = dict(zip(COMPONENTS, plt.get_cmap("tab10").colors))
    fig, ax = plt.subplots(figsize=(7.5, 2.4))
    lim = fp.get("limits") or {}
    bars = [("flash", fp.get("flash_components") or {}, fp["flash"], lim.get("flash_bytes")),
            ("RAM", fp.get("ram_components") or {}, fp["ram"], lim.get("ram_bytes"))]
    labelled = set()
    for yi, (label, comps, total, limit) in enumerate(bars):
        left = 0
        for c in COMPONENTS:
            v = comps.get(c, 0)
            if v:
                ax.barh(yi, v, left=left, color=colors[c], label=None if c in labelled else c)
                labelled.add(c)
                left += v
        note = f"{total:,} bytes" + (f" of {limit:,} ({100 * total / limit:.1f}% of the board)" if limit else "")
        ax.text(total * 1.01, yi, note, va="center", fontsize=8)
        if limit and limit <= 2 * max(fp["flash"], fp["ram"]):
            ax.plot([limit, limit], [yi - 0.4, yi + 0.4], color="#c0392b", lw=2)
    ax.set_yticks([0, 1], ["flash", "RAM"])
    ax.invert_yaxis()
    ax.set_xlabel("bytes")
    _thousands(ax.xaxis)
    ax.set_xlim(0, max(fp["flash"], fp["ram"]) * 1.75)
    ax.legend(ncol=5, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.35), frameon=False)
    return _svg(fig, "memory")


def chart_confusion(cm) -> str:
    plt = _plt()
    m = np.asarray(cm["matrix"])
    k = len(m)
    side = min(7.5, 1.2 + 0.42 * k)
    fig, ax = plt.subplots(figsize=(side, side))
    im = ax.pcolormesh(np.arange(k + 1) - 0.5, np.arange(k + 1) - 0.5, m, cmap="Blues")  # vector cells
    ax.set_aspect("equal")
    ax.invert_yaxis()
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("device's decision")
    ax.set_ylabel("label")
    hi = m.max() if m.size else 0
    for i in range(k):
        for j in range(k):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] > hi / 2 else "black")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _svg(fig, "confusion")


def chart_agreement(rows) -> str:
    plt = _plt()
    rows = [r for r in rows if r["fraction"] is not None]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.0))
    y = np.arange(len(rows))
    vals = [100 * r["fraction"] for r in rows]
    ax.barh(y, vals, color="#2e8b57")
    ax.set_yticks(y, [r["layer"] for r in rows])
    ax.invert_yaxis()
    ax.set_xlim(min([90.0] + vals) - 1, 100.5)
    ax.set_xlabel("activation bits equal to the float model's (%)")
    for yi, v in zip(y, vals):
        ax.text(v, yi, f" {v:.3f}%", va="center", fontsize=8)
    return _svg(fig, "agreement")


def chart_counts(records, count_kind) -> str:
    plt = _plt()
    c = np.array([r["count"] for r in records], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(7.5, 2.2))
    ax.hist(c, bins=min(40, max(5, len(set(c.tolist())))), color="#8e6bb8")
    ax.set_xlabel(f"{count_kind} per inference, per sample")
    _thousands(ax.xaxis)
    ax.set_ylabel("samples")
    return _svg(fig, "per-sample")


# ----------------------------------------------------------------------------- page ----------
_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;margin:24px auto;max-width:1000px;color:#222;
font-size:14px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#1e7b34;font-weight:bold}
.bad{color:#b03a2e;font-weight:bold}.note{color:#666;font-size:12px}svg.chart{max-width:100%;height:auto}
"""


def _e(v) -> str:
    return html.escape(str(v), quote=True)


def _table(head, rows, numeric=()) -> str:
    out = ["<table><tr>" + "".join(f'<th class="{"n" if i in numeric else ""}">{_e(h)}</th>'
                                   for i, h in enumerate(head)) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="{"n" if i in numeric else ""}">{_e(c)}</td>'
                                    for i, c in enumerate(r)) + "</tr>")
    return "".join(out) + "</table>"


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.2f}%"


def _num(v, fmt="{:.4g}") -> str:
    return "n/a" if v is None else fmt.format(v)


def classify_line(c: dict) -> str:
    """The summary line of the device's own decisions (see :func:`classify_summary`)."""
    n = c["samples"]
    acc = "" if c.get("accuracy") is None else f"accuracy {100 * c['accuracy']:.2f}%, "
    codes = f"int8 codes {c['codes_equal']}/{n} equal to the host's" + (
        f" ({n - c['codes_equal']} DIFFER)" if c["codes_equal"] != n else "")
    d = c["scores_max_rel_diff"]
    scores = ("scores equal to predict's" if d == 0 else
              f"scores within {d:.2g} of predict's (max relative difference)")
    return f"device classes: {acc}{c['class_equal']}/{n} equal to the golden model's argmax; {codes}; {scores}"


def _device_classes(summary: dict) -> str:
    """The device's own decisions (CLASSIFY), as validate prints them; why not, when they are missing."""
    c = summary.get("classify")
    if not c:
        note = summary.get("classify_note")
        return "not measured" + (f" ({note})" if note else "")
    return classify_line(c).removeprefix("device classes: ")


def render(summary: dict, records: list | None = None) -> str:
    """The report page (a string of HTML) for a validate summary and, optionally, its per-sample records."""
    rep = summary["report"]
    kind = summary.get("count_kind") or "instructions"
    model, board = rep.get("model", {}), rep.get("board", {})
    n, ok = summary["samples"], summary["matched"]
    title = f"{model.get('name') or Path(summary['model']).name} on {summary['board']}"
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<meta name=\"viewport\" content=\"width=device-width\"><link rel=\"icon\" href=\"data:,\">"
             f"<title>tinybnn validation: {_e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>tinybnn validation: {_e(title)}</h1>",
             f'<p class="{"ok" if ok == n and n else "bad"}" id="verdict">bit-exact: {ok:,}/{n:,} outputs equal to '
             f"the golden model" + (f", {summary['mismatched']:,} mismatched" if summary.get("mismatched") else "")
             + "</p>"]
    # a real board counts cycles of its clock: they are a time; an emulated board's instructions are not
    clock = board.get("clock_hz")
    timed = kind == "cycles" and bool(clock) and summary.get("per_inference") is not None
    parts += _summary_section(summary, board, kind, clock, timed)
    parts += _float_section(rep)
    parts += _layer_section(summary, rep, records, kind, clock, timed)
    parts += _memory_section(summary.get("footprint"))
    parts.append(f"<p class=\"note\">tinybnn {_e(__version__)}</p></body></html>")
    return "\n".join(parts)


def _summary_section(summary: dict, board: dict, kind: str, clock, timed: bool) -> list[str]:
    n, ok = summary["samples"], summary["matched"]
    rows = [("model", summary["model"]), ("model hash", summary["model_hash"]),
            ("board", f"{summary['board']} ({board.get('core', '?')}"
                      + (f", {clock / 1e6:g} MHz" if clock else "")
                      + (", emulated in QEMU: counts are instructions" if board.get("emulated") else "") + ")"),
            ("samples", f"{n:,} ({summary.get('resumed', 0):,} resumed from an earlier run)"),
            ("bit-exact", f"{ok:,}/{n:,}"),
            ("accuracy: device", _pct(summary.get("device_accuracy"))),
            ("accuracy: golden model", _pct(summary.get("golden_accuracy"))),
            ("accuracy: float model", _pct(summary.get("float_accuracy"))
             + (f" (not measured: {summary['float_note']})" if summary.get("float_note") else "")),
            ("device classes (float sample in, class out)", _device_classes(summary)),
            (f"{kind} per inference", _num(summary.get("per_inference"), "{:,.0f}")
             + (f" ({1e6 * summary['per_inference'] / clock:,.1f} µs at {clock / 1e6:g} MHz)" if timed else "")),
            ("validation time", f"{summary.get('seconds', 0):.1f} s")]
    parts = ["<h2>Summary</h2>", _table(("", ""), rows)]
    for mm in summary.get("mismatches") or []:
        parts.append(f"<p class=\"bad\">sample {_e(mm['index'])}: first differing layer "
                     f"{_e(mm.get('first_layer', '?'))}</p>")
    return parts


def _float_section(rep: dict) -> list[str]:
    parts = []
    parts.append("<h2>Outputs against the float model</h2>")
    if rep.get("outputs"):
        parts.append("<p class=\"note\">The device's outputs (after the output affine; equal to the golden "
                     "model's where bit-exact) against the original model run by its framework's float runtime, "
                     "over all samples: for the whole output, then per output unit.</p>")
        head = ("output", "RMSE", "MAE", "L2 relative", "cosine", "max abs", "argmax agreement")
        parts.append(_table(head, [(r["output"], _num(r["rmse"]), _num(r["mae"]), _num(r["l2_rel"]),
                                    _num(r["cosine"], "{:.6f}"), _num(r["max_abs"]), _pct(r["argmax_agreement"]))
                                   for r in rep["outputs"]], numeric=range(1, 7)))
    else:
        parts.append(f"<p class=\"note\">not measured: {_e(rep.get('float_note') or 'no float runtime')}</p>")
    if rep.get("layer_agreement"):
        parts.append("<h2>Binary layers: activation bits equal to the float model's</h2>")
        if any(r["fraction"] is not None for r in rep["layer_agreement"]):
            parts.append(chart_agreement(rep["layer_agreement"]))
        rows = [(r["layer"], "compared after the max-pool that follows" if r["fraction"] is None
                 else f"{100 * r['fraction']:.3f}%") for r in rep["layer_agreement"]]
        parts.append(_table(("layer", "bits equal"), rows, numeric=(1,)))
    elif rep.get("layer_agreement_note"):
        parts.append(f"<p class=\"note\">layer agreement not measured: {_e(rep['layer_agreement_note'])}</p>")
    if rep.get("confusion"):
        parts += ["<h2>Confusion matrix of the device's decisions</h2>", chart_confusion(rep["confusion"])]
    return parts


def _layer_section(summary: dict, rep: dict, records, kind: str, clock, timed: bool) -> list[str]:
    parts = []
    macs = {r["name"]: r for r in rep.get("layers", [])}
    per_layer = [dict(r, binary_macs=macs.get(r["layer"], {}).get("binary_macs", 0),
                      int_macs=macs.get(r["layer"], {}).get("int_macs", 0))
                 for r in summary.get("per_layer") or []]
    if per_layer:
        parts += [f"<h2>{kind.capitalize()} per layer</h2>", chart_layers(per_layer, kind)]
        unit = kind[:-1]
        head = ("layer", "kind", kind) + ((f"µs at {clock / 1e6:g} MHz",) if timed else ()) + (
            "binary MACs", f"binary MACs per {unit}", "int8 MACs")
        rows = [(r["layer"], macs.get(r["layer"], {}).get("kind", ""), f"{r['count']:,}")
                + ((f"{1e6 * r['count'] / clock:,.1f}",) if timed else ())
                + (f"{r['binary_macs']:,}",
                   f"{r['binary_macs'] / r['count']:.2f}" if r["binary_macs"] and r["count"] else "",
                   f"{r['int_macs']:,}" if r["int_macs"] else "") for r in per_layer]
        parts.append(_table(head, rows, numeric=range(2, len(head))))
    if records:
        parts += [f"<h2>{kind.capitalize()} per sample</h2>", chart_counts(records, kind),
                  f"<p class=\"note\">{len(records):,} samples in the results file; "
                  f"{sum(1 for r in records if r.get('match')):,} marked bit-exact.</p>"]
    return parts


def _memory_section(fp) -> list[str]:
    parts = ["<h2>Memory</h2>"]
    if fp:
        parts.append(chart_memory(fp))
        from ..targets.footprint import COMPONENTS

        fc, rc = fp.get("flash_components") or {}, fp.get("ram_components") or {}
        rows = [(c, f"{fc.get(c, 0):,}", f"{rc.get(c, 0):,}") for c in COMPONENTS if fc.get(c) or rc.get(c)]
        lim = fp.get("limits") or {}
        rows.append(("total", f"{fp['flash']:,}", f"{fp['ram']:,}"))
        rows.append(("board's limit", _num(lim.get("flash_bytes"), "{:,}"), _num(lim.get("ram_bytes"), "{:,}")))
        parts.append(_table(("component", "flash (bytes)", "RAM (bytes)"), rows, numeric=(1, 2)))
        st = fp.get("stack") or {}
        if st.get("reserved"):
            parts.append(f"<p class=\"note\">stack: {st['reserved']:,} bytes reserved"
                         + (f", static worst case {st['static_worst']:,}" if st.get("static_worst") else "")
                         + (f" ({_e(st.get('static_path', ''))})" if st.get("static_path") else "") + "</p>")
    else:
        parts.append("<p class=\"note\">no firmware was built by this run (the board ran the firmware it had): "
                     "tinybnn footprint BUILD shows the memory map of a build.</p>")
    return parts


def write(path, summary: dict, records: list | None = None) -> Path:
    """Render and write the report (whole or not at all)."""
    from ..plumbing import check_output_file, write_atomic

    require_matplotlib()
    check_output_file(path)
    return write_atomic(path, render(summary, records))
