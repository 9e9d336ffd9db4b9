"""``tinybnn validate``: run every sample on the device over serial and compare each output bit for bit.

Emulated boards: the firmware (boot self-test + the serial protocol, ``--app serve``) is built as needed
and booted in QEMU (serial over loopback TCP, ``-icount shift=0``: counts are instructions). Real boards:
``--port`` names the serial port (any pyserial URL); ``--flash`` uploads the firmware through PlatformIO
first. Before any sample is sent, the device's model hash must equal the model's.

Results are appended to a JSON-lines file as they arrive (one line per sample, flushed), so an interrupted
run resumes where it stopped: samples already in the file are not sent again.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import TinyBnnError

MAX_DIAGNOSED = 3  # mismatching samples whose layers are dumped to find the first differing layer


@dataclass
class Summary:
    model: str
    board: str
    model_hash: str
    samples: int
    matched: int
    mismatched: int
    resumed: int
    device_accuracy: float | None
    golden_accuracy: float | None
    float_accuracy: float | None
    count_kind: str
    per_inference: float | None
    per_layer: list = field(default_factory=list)
    mismatches: list = field(default_factory=list)
    footprint: dict | None = None
    float_note: str | None = None  # why the float model's accuracy is missing
    link: dict = field(default_factory=dict)
    seconds: float = 0.0
    results: str | None = None  # the per-sample results file
    report: dict | None = None  # what the HTML report needs beyond the above (tinybnn.device.report.collect)
    # the device's own decisions (CLASSIFY: float sample in, class and scores out; model_io.c)
    classify: dict | None = None
    classify_note: str | None = None  # why the device's classes are missing

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        key = "instructions_per_inference" if self.count_kind == "instructions" else "cycles_per_inference"
        d[key] = self.per_inference
        return d

    def text(self) -> str:
        pct = lambda v: "n/a" if v is None else f"{100 * v:.2f}%"  # noqa: E731
        lines = [f"validated {self.samples} samples of {Path(self.model).name} on {self.board} "
                 f"(model hash {self.model_hash}; {self.resumed} resumed from an earlier run)",
                 f"bit-exact: {self.matched}/{self.samples} outputs equal to the golden model"
                 + (f", {self.mismatched} MISMATCHED" if self.mismatched else "")]
        for mm in self.mismatches:
            lines.append(f"  sample {mm['index']}: first differing layer {mm.get('first_layer', '?')}")
        lines.append(f"accuracy: device {pct(self.device_accuracy)}, golden {pct(self.golden_accuracy)}, "
                     f"float {pct(self.float_accuracy)}"
                     + (f" (not measured: {self.float_note})" if self.float_note else ""))
        if self.classify:
            from .report import classify_line

            lines.append(classify_line(self.classify))
        elif self.classify_note:
            lines.append(f"device classes: not measured ({self.classify_note})")
        if self.per_inference is not None:
            lines.append(f"{self.count_kind} per inference: {self.per_inference:,.0f}"
                         + (f" (on-device classify of a float sample: {self.classify['per_classify']:,.0f})"
                            if self.classify and self.classify.get("per_classify") is not None else ""))
        for row in self.per_layer:
            lines.append(f"  {row['layer']:<40} {row['count']:>12,} {self.count_kind}")
        if self.footprint:
            fp = self.footprint
            st = fp["stack"]
            how = (f"static worst case {st['static_worst']:,} + margin" if st.get("derived")
                   else "as the board's platform reserves it")
            lines.append(f"footprint: flash {fp['flash']:,} bytes (weights {fp['components']['weights']:,}), "
                         f"RAM {fp['ram']:,} bytes = arena {fp['components']['arena']:,} + static data "
                         f"{fp['ram'] - fp['components']['arena'] - (st.get('reserved') or 0):,} + stack "
                         f"{st.get('reserved') or 0:,} ({how})")
        lines.append(f"time: {self.seconds:.1f} s")
        return "\n".join(lines)


def classify_summary(records: list, golden_scores: np.ndarray, codes: np.ndarray, labels=None) -> dict:
    """The device's own decisions over the samples (records of :func:`make_record` with CLASSIFY fields):
    accuracy against ``labels``, agreement with the golden model's argmax of the same floats
    (``golden_scores``, the host's ``predict``), the number of samples whose int8 codes equal the host's
    (``codes``: the host's codes per sample), and the largest relative difference of a score to predict's
    (|device - host| / |host|, a score smaller than 1e-6 of its sample's largest taken at that floor)."""
    from .protocol import crc32

    n = len(records)
    golden_scores = np.asarray(golden_scores, np.float64).reshape(n, -1)
    cls = np.array([r["device_class"] for r in records], dtype=np.int64)
    scores = np.array([r["scores"] for r in records], dtype=np.float64).reshape(n, -1)
    codes = np.asarray(codes).reshape(n, -1).astype(np.int8)
    codes_ok = [r["codes_crc"] == crc32(codes[i].tobytes()) for i, r in enumerate(records)]
    floor = 1e-6 * np.abs(golden_scores).max(axis=1, keepdims=True)
    rel = np.abs(scores - golden_scores) / np.maximum(np.abs(golden_scores), np.maximum(floor, 1e-30))
    counts = [r["classify_count"] for r in records]
    out = {"samples": n, "class_equal": int(np.sum(cls == golden_scores.argmax(axis=1))),
           "codes_equal": int(np.sum(codes_ok)), "codes_differ": [int(i) for i in np.flatnonzero(
               ~np.asarray(codes_ok, bool))[:20]],
           "scores_max_rel_diff": float(rel.max()) if rel.size else 0.0,
           "per_classify": float(np.median(counts)) if counts else None, "accuracy": None}
    if labels is not None:
        out["accuracy"] = float(np.mean(cls == np.asarray(labels).reshape(-1)))
    return out


def _data_digest(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


RESULTS_FORMAT = 3  # records carry the device output, the digests of device and golden outputs, and (when
# the firmware classifies) the device's own class, scores and the CRC-32 of its int8 codes


def output_digest(a) -> str:
    """SHA-256 (hex) of an output as little-endian int32, the device's representation."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a).reshape(-1), dtype="<i4").tobytes()).hexdigest()


def make_record(index: int, out, count: int, golden_i, classified=None) -> dict:
    """One sample's record; ``classified`` (tinybnn.device.Classified) adds the device's own decision."""
    out = np.asarray(out).reshape(-1)
    rec = {"index": int(index), "output": [int(v) for v in out], "count": int(count),
           "output_sha256": output_digest(out), "golden_sha256": output_digest(golden_i),
           "match": bool(np.array_equal(out, np.asarray(golden_i).reshape(-1)))}
    if classified is not None:
        rec.update(device_class=int(classified.cls), scores=[float(v) for v in np.asarray(classified.scores)],
                   codes_crc=int(classified.codes_crc), classify_count=int(classified.count))
    return rec


def _u32(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**32


def check_record(rec, golden, golden_digests, classify: bool = False) -> str | None:
    """Why ``rec`` cannot be trusted (None if it can): every field is re-checked and the verdict is
    recomputed from the device output it holds against the golden model. ``classify``: the record must
    hold the device's own class, scores, codes CRC and count (their verdicts are computed at the end)."""
    if not isinstance(rec, dict):
        return "not a JSON object"
    i = rec.get("index")
    if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < len(golden):
        return f"index {i!r} is not a sample number below {len(golden)}"
    out = rec.get("output")
    size = golden[i].size
    if (not isinstance(out, list) or len(out) != size
            or not all(isinstance(v, int) and not isinstance(v, bool) and -2**31 <= v < 2**31 for v in out)):
        return f"sample {i}: output is not a list of {size} int32 values"
    count = rec.get("count")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count < 2**32:
        return f"sample {i}: count {count!r} is not a 32-bit counter value"
    if rec.get("output_sha256") != output_digest(out):
        return f"sample {i}: the output differs from its digest"
    if rec.get("golden_sha256") != golden_digests[i]:
        return f"sample {i}: made against another golden output"
    match = bool(np.array_equal(np.asarray(out, dtype=np.int64), golden[i].reshape(-1)))
    if rec.get("match") is not match:
        return f"sample {i}: its match flag disagrees with its output"
    if classify:
        cls, scores = rec.get("device_class"), rec.get("scores")
        if not isinstance(cls, int) or isinstance(cls, bool) or not 0 <= cls < size:
            return f"sample {i}: device_class {cls!r} is not a class below {size}"
        if (not isinstance(scores, list) or len(scores) != size
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scores)):
            return f"sample {i}: scores is not a list of {size} numbers"
        if not _u32(rec.get("codes_crc")) or not _u32(rec.get("classify_count")):
            return f"sample {i}: codes_crc or classify_count is not a 32-bit value"
    return None


class Results:
    """JSON-lines results: a header line, then one line per validated sample (:func:`make_record`).

    An existing file is evidence, not trust: a record is taken over only if :func:`check_record` accepts
    it (the verdict is recomputed from the device output it holds); a damaged, truncated, duplicated or
    inconsistent record is reported (one line, ``self.warning``) and its sample is run again. A file
    whose first line is not a tinybnn results header is never overwritten."""

    def __init__(self, path: Path, header: dict, golden: np.ndarray):  # header["classify"]: records classify
        from ..plumbing import check_output_file

        self.path = Path(path)
        self.header = dict(header, format=RESULTS_FORMAT)
        self.done: dict[int, dict] = {}
        self.warning: str | None = None
        golden = np.asarray(golden)
        golden = golden.reshape(len(golden), -1)
        if not self.path.exists():
            try:
                self.path.absolute().parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise TinyBnnError(f"{self.path}: cannot create its folder ({e.strerror})") from None
        check_output_file(self.path)
        if self.path.is_file():
            self._load(golden)
        self._rewrite()
        try:
            self.f = open(self.path, "a")
        except OSError as e:
            raise TinyBnnError(f"{self.path}: cannot write it ({e.strerror})") from None

    def _load(self, golden):
        try:
            lines = self.path.read_bytes().split(b"\n")
        except OSError as e:
            raise TinyBnnError(f"{self.path}: cannot read it ({e.strerror})") from None
        while lines and not lines[-1].strip():
            lines.pop()
        if not lines:
            return  # empty: a new file
        try:
            old = json.loads(lines[0].decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            old = None
        if not isinstance(old, dict) or not all(isinstance(old.get(k), str) for k in ("model_hash", "data", "board")):
            raise TinyBnnError(f"{self.path}: line 1 is not the header of a tinybnn validate results file; "
                               "refusing to overwrite it (remove it or choose another --results)")
        if any(old.get(k) != self.header.get(k) for k in ("model_hash", "data", "board", "format", "classify")):
            return  # another model, data set, board or format: start over
        digests = [output_digest(g) for g in golden]
        bad: list[str] = []
        seen: dict[int, int] = {}
        for ln, raw in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                bad.append(f"line {ln}: not a JSON record (cut short or damaged)")
                continue
            why = check_record(rec, golden, digests, bool(self.header.get("classify")))
            if why is not None:
                bad.append(f"line {ln}: {why}")
                continue
            i = rec["index"]
            if i in seen:
                bad.append(f"line {ln}: sample {i} already on line {seen[i]}")
                self.done.pop(i, None)  # which one is right? run it again
                continue
            seen[i] = ln
            self.done[i] = rec
        if bad:
            self.warning = (f"{self.path}: {len(bad)} damaged record{'s' if len(bad) > 1 else ''} set aside, "
                            f"{'their samples run' if len(bad) > 1 else 'its sample runs'} again ("
                            + "; ".join(bad[:3]) + ("; ..." if len(bad) > 3 else "") + ")")

    def _rewrite(self):
        from ..plumbing import write_atomic

        lines = [json.dumps(self.header, sort_keys=True)]
        lines += [json.dumps(self.done[i], sort_keys=True) for i in sorted(self.done)]
        write_atomic(self.path, "\n".join(lines) + "\n")

    def add(self, rec: dict):
        self.done[int(rec["index"])] = rec
        try:
            self.f.write(json.dumps(rec, sort_keys=True) + "\n")
            self.f.flush()
        except OSError as e:
            raise TinyBnnError(f"{self.path}: cannot write it ({e.strerror})") from None

    def close(self):
        try:
            self.f.close()
        except OSError:
            pass


_BAR = None  # the progress bar of the running session (console.progress), None when quiet


def _progress(done, total, t0, stream=sys.stderr):
    """One more sample done: advances the progress bar (rate and time remaining, on a terminal only)."""
    if _BAR is not None:
        _BAR()


class _ProgressBar:
    """The progress bar around a session: drawn on standard error when it is a terminal and not ``quiet``."""

    def __init__(self, total, quiet):
        from ..console import progress

        self.cm = progress(total, "samples", enabled=not quiet)

    def __enter__(self):
        global _BAR
        _BAR = self.cm.__enter__()
        return self

    def __exit__(self, *exc):
        global _BAR
        _BAR = None
        return self.cm.__exit__(*exc)


def _first_differing_layer(model, dev_layers, q_i) -> str:
    golden = model.run_layers_quantized(q_i[None])[1:]
    for g, d in zip(golden, dev_layers):
        gb = np.ascontiguousarray(g.data[0]).tobytes()
        if gb != bytes(d):
            return g.name
    return "(none: all layers equal on a re-run)"


def _check_inputs(model, model_path, board, port, x, labels, float_reference: bool):
    """Everything the run needs, checked before a firmware is built or a sample is sent: the port, the data,
    the float runtime (without it the run goes on, without the float column)."""
    if not board["emulated"] and port is None:
        raise TinyBnnError(f"board '{board['id']}' is a real board: give its serial port with --port "
                           "(e.g. /dev/ttyACM0 or COM3)")
    if board["emulated"] and port is not None:
        raise TinyBnnError(f"board '{board['id']}' is emulated: tinybnn boots it in QEMU and connects to its serial "
                           "line itself; --port is for a real board")
    from ..data import check_data

    x, labels = check_data(model, x, labels)  # before anything is built, booted or opened
    float_note = None
    if labels is not None and float_reference:
        from ..frontend.onnx.runtime import require

        try:
            require(model_path)
        except TinyBnnError as e:  # the bit-exact comparison does not need it: run without the float column
            float_reference, float_note = False, str(e)
            print(f"tinybnn: note: no float accuracy column: {float_note}", file=sys.stderr)
    return x, labels, float_reference, float_note


def _finish(summary, model, model_path, x, labels, q, golden, res, header, classify_note, float_reference,
            float_note, fw, board, results_path, t0) -> None:
    """Fill the summary from the results: accuracies, the device's classes, the footprint, the report's
    data; write it beside the results file."""
    outs = np.stack([np.asarray(res.done[i]["output"], dtype=np.int64) for i in range(len(x))])
    summary.model = str(model_path)
    summary.float_note = float_note
    if header["classify"]:
        summary.classify = classify_summary([res.done[i] for i in range(len(x))], model.dequantize(golden), q,
                                            labels)
    else:
        summary.classify_note = classify_note
    if labels is not None:
        lab = np.asarray(labels).reshape(-1)
        y_dev = model.dequantize(outs.reshape(golden.shape).astype(np.int32))
        summary.device_accuracy = float(np.mean(y_dev.reshape(len(x), -1).argmax(1) == lab))
        summary.golden_accuracy = float(np.mean(model.dequantize(golden).reshape(len(x), -1).argmax(1) == lab))
        if float_reference:
            from ..frontend.onnx.runtime import run_reference

            y_f, _ = run_reference(model_path, x)
            summary.float_accuracy = float(np.mean(y_f.reshape(len(x), -1).argmax(1) == lab))
    if fw is not None and fw.elf is not None:
        from ..targets.footprint import from_build

        summary.footprint = from_build(fw.project).as_dict()
    # the report's data, kept in the summary written beside the results file (tinybnn report RESULTS)
    from .report import collect, summary_path_for

    summary.report = collect(model, model_path, x, labels, outs, board, float_reference=float_reference,
                             float_note=float_note)
    summary.report["data"] = header["data"]
    summary.results = str(results_path)
    summary.seconds = time.monotonic() - t0
    _write_json(summary_path_for(results_path), summary.as_dict())


def run(model, model_path, board_id, x, labels=None, *, port=None, flash=False, build_dir=None,
        results_path=None, limit=None, timeout=2.0, float_reference=True, quiet=False) -> Summary:
    from ..targets.boards import load_board
    from .link import Device

    board = load_board(board_id)
    x, labels, float_reference, float_note = _check_inputs(model, model_path, board, port, x, labels,
                                                           float_reference)
    x = np.asarray(x, dtype=np.float32)
    if limit:
        x = x[:limit]
        labels = None if labels is None else np.asarray(labels)[:limit]
    q = model.quantize(x)
    golden = model.run_quantized(q)
    from ..backend.codegen import prepare

    rendered = prepare(model)
    # the device's own decisions: the float boundary on the device (model_io.c), when the model has one
    classify_note = None
    if "model_io.c" not in rendered.files:
        from ..backend.model_io import float_boundary

        classify_note = "no float boundary on the device for this model: " + float_boundary(model)["classify_note"]
    header = {"model_hash": rendered.hash, "board": board["id"], "data": _data_digest(x), "samples": len(x),
              "classify": classify_note is None}
    build_dir = Path(build_dir) if build_dir else Path("out") / "validate" / f"{board['id']}-{rendered.hash}"
    results_path = Path(results_path) if results_path else build_dir.parent / f"{build_dir.name}.results.jsonl"
    t0 = time.monotonic()

    fw = None
    if board["emulated"] or flash:
        fw = _ensure_build(model, board, build_dir, rendered.hash, sample=x[0], log=None if quiet else sys.stderr)
    if not board["emulated"] and flash:
        _upload(fw)

    res = Results(results_path, header, golden)
    if res.warning:
        print(f"tinybnn: warning: {res.warning}", file=sys.stderr, flush=True)
    try:
        if board["emulated"]:
            from ..targets.qemu import QemuSession

            budget = 60.0 + 2.0 * len(x)
            with QemuSession(fw.elf, board, timeout=budget) as s:
                dev = Device(s.serial, timeout=timeout)
                with _ProgressBar(len(x) - len(res.done), quiet):
                    summary = _session(dev, model, rendered, board, q, golden, res, t0, x, header["classify"])
                try:
                    dev.exit()
                except Exception:  # noqa: BLE001 - the device leaving QEMU may cut the reply
                    pass
        else:
            with Device(port, timeout=timeout, baudrate=board["serial"]["baud"]) as dev, \
                    _ProgressBar(len(x) - len(res.done), quiet):
                summary = _session(dev, model, rendered, board, q, golden, res, t0, x, header["classify"])
    except KeyboardInterrupt as e:  # SIGINT/SIGTERM/SIGHUP (tinybnn.plumbing): say what is kept
        e.note = (f"{len(res.done)} of {len(x)} results kept in {res.path}; the same command resumes from "
                  "them")
        raise
    finally:
        res.close()
    _finish(summary, model, model_path, x, labels, q, golden, res, header, classify_note, float_reference,
            float_note, fw, board, results_path, t0)
    return summary


def _write_json(path: Path, obj) -> None:
    from ..plumbing import write_atomic

    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")


def _session(dev, model, rendered, board, q, golden, res, t0, x=None, classify=False) -> Summary:
    info = dev.info_ or dev.handshake()
    if info.model_hash != rendered.hash:
        raise TinyBnnError(f"the device on {board['id']} runs model {info.model_hash}, not this model "
                           f"({rendered.hash}): rebuild and flash it (tinybnn validate --flash)")
    if classify and not info.classify:
        raise TinyBnnError(f"the firmware on {board['id']} does not classify float samples (CLASSIFY; its INFO "
                           "lacks the flag): it was built by an older tinybnn; rebuild and flash it "
                           "(tinybnn validate --flash)")
    n = len(q)
    todo = [i for i in range(n) if i not in res.done]
    resumed = n - len(todo)
    counts = []
    tstart = time.monotonic()
    for k, i in enumerate(todo):
        out, count = dev.infer(q[i])  # bit-exact: the host's int8 codes in, int32 out
        cls = dev.classify(x[i]) if classify else None  # the device's own decision on the same float sample
        res.add(make_record(i, out, count, golden[i], cls))
        counts.append(count)
        _progress(k + 1, len(todo), tstart)
    all_counts = [res.done[i]["count"] for i in range(n)]
    # the verdict, recomputed from the device outputs the records hold
    mism = [i for i in range(n)
            if not np.array_equal(np.asarray(res.done[i]["output"], dtype=np.int64), golden[i].reshape(-1))]
    mm_rows = []
    for i in mism[:MAX_DIAGNOSED]:
        layers = dev.dump(q[i])
        mm_rows.append({"index": i, "first_layer": _first_differing_layer(model, layers, q[i])})
    per_layer = []
    prof = dev.profile(q[0])
    names = [n_.name for n_ in model.layers]
    for name, c in zip(names, prof.per_layer):
        per_layer.append({"layer": name, "count": int(c)})
    return Summary(model="", board=board["id"], model_hash=rendered.hash, samples=n, matched=n - len(mism),
                   mismatched=len(mism), resumed=resumed, device_accuracy=None, golden_accuracy=None,
                   float_accuracy=None, count_kind=info.counter_kind,
                   per_inference=float(np.median(all_counts)) if all_counts else None,
                   per_layer=per_layer, mismatches=mm_rows, link=dict(dev.stats))


def _ensure_build(model, board, build_dir, model_hash, sample, log=None):
    """Build the serving firmware unless ``build_dir`` already holds it for this model and board."""
    from ..targets.build import FirmwareBuild, build

    info_p = Path(build_dir) / "tinybnn-build.json"
    if info_p.is_file():
        try:  # a damaged or edited record of an earlier build means: build again (the device hash is checked)
            info = json.loads(info_p.read_text())
            elf = Path(build_dir) / info.get("elf", "")
            if (info.get("model_hash") == model_hash and info.get("app") == "serve"
                    and info.get("board_data") == board and elf.is_file()
                    and _sources_current(Path(build_dir), model, board, info.get("kernel_variant"))):
                return FirmwareBuild(project=Path(build_dir), board=board, elf=elf,
                                     map=Path(build_dir) / info["map"], flash_used=info["flash_used"],
                                     ram_used=info["ram_used"], weight_bytes=info["weight_bytes"],
                                     arena_bytes=info["arena_bytes"], hash=model_hash, seconds=0.0)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    return build(model, board, build_dir, sample=sample, app="serve", log=log)


def _sources_current(build_dir: Path, model, board, variant) -> bool:
    """The built project's model and runtime sources are the ones this tinybnn writes (a firmware built by
    an earlier tinybnn for the same model, e.g. without CLASSIFY, is built again)."""
    from ..backend import codegen
    from ..resources import data_dir
    from ..targets.build import RUNTIME_SELFTEST, RUNTIME_SERVE

    src = build_dir / "src" / "tinybnn"
    want = {n: d for n, d in codegen.prepare(model, variant or board["kernel_variant"]).files.items()
            if n.endswith((".c", ".h", ".S"))}
    runtime = data_dir("firmware") / "runtime"
    want.update({n: (runtime / n).read_bytes() for n in RUNTIME_SELFTEST + RUNTIME_SERVE})
    try:
        return all((src / n).read_bytes() == d for n, d in want.items())
    except OSError:
        return False


def _upload(fw):
    from ..targets import platformio

    platformio.upload(fw.project)
