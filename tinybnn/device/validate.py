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
        if self.per_inference is not None:
            lines.append(f"{self.count_kind} per inference: {self.per_inference:,.0f}")
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


def _data_digest(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


RESULTS_FORMAT = 2  # records carry the device output and the digests of device and golden outputs


def output_digest(a) -> str:
    """SHA-256 (hex) of an output as little-endian int32, the device's representation."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(a).reshape(-1), dtype="<i4").tobytes()).hexdigest()


def make_record(index: int, out, count: int, golden_i) -> dict:
    out = np.asarray(out).reshape(-1)
    return {"index": int(index), "output": [int(v) for v in out], "count": int(count),
            "output_sha256": output_digest(out), "golden_sha256": output_digest(golden_i),
            "match": bool(np.array_equal(out, np.asarray(golden_i).reshape(-1)))}


def check_record(rec, golden, golden_digests) -> str | None:
    """Why ``rec`` cannot be trusted (None if it can): every field is re-checked and the verdict is
    recomputed from the device output it holds against the golden model."""
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
    return None


class Results:
    """JSON-lines results: a header line, then one line per validated sample (:func:`make_record`).

    An existing file is evidence, not trust: a record is taken over only if :func:`check_record` accepts
    it (the verdict is recomputed from the device output it holds); a damaged, truncated, duplicated or
    inconsistent record is reported (one line, ``self.warning``) and its sample is run again. A file
    whose first line is not a tinybnn results header is never overwritten."""

    def __init__(self, path: Path, header: dict, golden: np.ndarray):
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
        if any(old.get(k) != self.header[k] for k in ("model_hash", "data", "board", "format")):
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
            why = check_record(rec, golden, digests)
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


def run(model, model_path, board_id, x, labels=None, *, port=None, flash=False, build_dir=None,
        results_path=None, limit=None, timeout=2.0, float_reference=True, quiet=False) -> Summary:
    from ..targets.boards import load_board
    from .link import Device

    board = load_board(board_id)
    # everything the run needs is checked before a firmware is built or a sample is sent
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
    x = np.asarray(x, dtype=np.float32)
    if limit:
        x = x[:limit]
        labels = None if labels is None else np.asarray(labels)[:limit]
    q = model.quantize(x)
    golden = model.run_quantized(q)
    from ..backend.codegen import prepare

    rendered = prepare(model)
    header = {"model_hash": rendered.hash, "board": board["id"], "data": _data_digest(x), "samples": len(x)}
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
                    summary = _session(dev, model, rendered, board, q, golden, res, t0)
                try:
                    dev.exit()
                except Exception:  # noqa: BLE001 - the device leaving QEMU may cut the reply
                    pass
        else:
            with Device(port, timeout=timeout, baudrate=board["serial"]["baud"]) as dev, \
                    _ProgressBar(len(x) - len(res.done), quiet):
                summary = _session(dev, model, rendered, board, q, golden, res, t0)
    except KeyboardInterrupt as e:  # SIGINT/SIGTERM/SIGHUP (tinybnn.plumbing): say what is kept
        e.note = (f"{len(res.done)} of {len(x)} results kept in {res.path}; the same command resumes from "
                  "them")
        raise
    finally:
        res.close()
    outs = np.stack([np.asarray(res.done[i]["output"], dtype=np.int64) for i in range(len(x))])
    summary.model = str(model_path)
    summary.float_note = float_note
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
    return summary


def _write_json(path: Path, obj) -> None:
    from ..plumbing import write_atomic

    write_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=float) + "\n")


def _session(dev, model, rendered, board, q, golden, res, t0) -> Summary:
    info = dev.info_ or dev.handshake()
    if info.model_hash != rendered.hash:
        raise TinyBnnError(f"the device on {board['id']} runs model {info.model_hash}, not this model "
                           f"({rendered.hash}): rebuild and flash it (tinybnn validate --flash)")
    n = len(q)
    todo = [i for i in range(n) if i not in res.done]
    resumed = n - len(todo)
    counts = []
    tstart = time.monotonic()
    for k, i in enumerate(todo):
        out, count = dev.infer(q[i])
        res.add(make_record(i, out, count, golden[i]))
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
                    and info.get("board_data") == board and elf.is_file()):
                return FirmwareBuild(project=Path(build_dir), board=board, elf=elf,
                                     map=Path(build_dir) / info["map"], flash_used=info["flash_used"],
                                     ram_used=info["ram_used"], weight_bytes=info["weight_bytes"],
                                     arena_bytes=info["arena_bytes"], hash=model_hash, seconds=0.0)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    return build(model, board, build_dir, sample=sample, app="serve", log=log)


def _upload(fw):
    from ..targets import platformio

    platformio.upload(fw.project)
