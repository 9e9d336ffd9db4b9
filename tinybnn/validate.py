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
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import TinyBnnError

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
    link: dict = field(default_factory=dict)
    seconds: float = 0.0

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
                     f"float {pct(self.float_accuracy)}")
        if self.per_inference is not None:
            lines.append(f"{self.count_kind} per inference: {self.per_inference:,.0f}")
        for row in self.per_layer:
            lines.append(f"  {row['layer']:<40} {row['count']:>12,} {self.count_kind}")
        if self.footprint:
            fp = self.footprint
            lines.append(f"footprint: flash {fp['flash']:,} bytes (weights {fp['components']['weights']:,}), "
                         f"RAM {fp['ram']:,} bytes (arena {fp['components']['arena']:,}, stack reserved "
                         f"{fp['stack'].get('reserved') or 0:,})")
        lines.append(f"time: {self.seconds:.1f} s")
        return "\n".join(lines)


def _data_digest(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()[:16]


class Results:
    """JSON-lines results: a header line, then one line per validated sample."""

    def __init__(self, path: Path, header: dict):
        self.path = Path(path)
        self.done: dict[int, dict] = {}
        if self.path.is_file():
            lines = self.path.read_text().splitlines()
            try:
                old = json.loads(lines[0]) if lines else None
            except json.JSONDecodeError:
                old = None
            if old is not None and all(old.get(k) == header[k] for k in ("model_hash", "data", "board")):
                for ln in lines[1:]:
                    try:
                        rec = json.loads(ln)
                    except json.JSONDecodeError:
                        break  # a line cut by an interruption: that sample is redone
                    self.done[int(rec["index"])] = rec
                self._rewrite(header)
            else:
                self.done = {}
                self._rewrite(header)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._rewrite(header)
        self.f = open(self.path, "a")

    def _rewrite(self, header):
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(json.dumps(header, sort_keys=True) + "\n")
            for i in sorted(self.done):
                f.write(json.dumps(self.done[i], sort_keys=True) + "\n")
        os.replace(tmp, self.path)

    def add(self, rec: dict):
        self.done[int(rec["index"])] = rec
        self.f.write(json.dumps(rec, sort_keys=True) + "\n")
        self.f.flush()

    def close(self):
        self.f.close()


def _progress(done, total, t0, stream=sys.stderr):
    if not stream.isatty():
        if done == total or done % max(1, total // 10) == 0:
            print(f"  {done}/{total} samples", file=stream, flush=True)
        return
    rate = done / max(time.monotonic() - t0, 1e-9)
    bar = "#" * int(30 * done / max(total, 1))
    print(f"\r  [{bar:<30}] {done}/{total} ({rate:.1f}/s)", end="" if done < total else "\n", file=stream,
          flush=True)


def _first_differing_layer(model, dev_layers, q_i) -> str:
    golden = model.run_layers_quantized(q_i[None])[1:]
    for g, d in zip(golden, dev_layers):
        gb = np.ascontiguousarray(g.data[0]).tobytes()
        if gb != bytes(d):
            return g.name
    return "(none: all layers equal on a re-run)"


def run(model, model_path, board_id: str, x, labels=None, *, port=None, flash=False, build_dir=None,
        results_path=None, limit=None, timeout=2.0, float_reference=True) -> Summary:
    from .boards import load_board
    from .device import Device

    board = load_board(board_id)
    from .data import check_data

    x, labels = check_data(model, x, labels)  # before anything is built, booted or opened
    if limit:
        x = x[:limit]
        labels = None if labels is None else np.asarray(labels)[:limit]
    q = model.quantize(x)
    golden = model.run_quantized(q)
    from .codegen import prepare

    rendered = prepare(model)
    header = {"model_hash": rendered.hash, "board": board["id"], "data": _data_digest(x), "samples": len(x)}
    build_dir = Path(build_dir) if build_dir else Path("out") / "validate" / f"{board['id']}-{rendered.hash}"
    results_path = Path(results_path) if results_path else build_dir.parent / f"{build_dir.name}.results.jsonl"
    t0 = time.monotonic()

    fw = None
    if board["emulated"] or flash:
        fw = _ensure_build(model, board["id"], build_dir, rendered.hash, sample=x[0])
    if not board["emulated"]:
        if port is None:
            raise TinyBnnError(f"board '{board['id']}' is a real board: give its serial port with --port "
                               "(e.g. /dev/ttyACM0 or COM3)")
        if flash:
            _upload(fw)

    res = Results(results_path, header)
    try:
        if board["emulated"]:
            from .qemu import QemuSession

            budget = 60.0 + 2.0 * len(x)
            with QemuSession(fw.elf, board, timeout=budget) as s:
                dev = Device(s.serial, timeout=timeout)
                summary = _session(dev, model, rendered, board, q, golden, res, t0)
                try:
                    dev.exit()
                except Exception:  # noqa: BLE001 - the device leaving QEMU may cut the reply
                    pass
        else:
            with Device(port, timeout=timeout, baudrate=board["serial"]["baud"]) as dev:
                summary = _session(dev, model, rendered, board, q, golden, res, t0)
    finally:
        res.close()
    outs = np.stack([np.asarray(res.done[i]["output"], dtype=np.int64) for i in range(len(x))])
    summary.model = str(model_path)
    if labels is not None:
        lab = np.asarray(labels).reshape(-1)
        y_dev = model.dequantize(outs.reshape(golden.shape).astype(np.int32))
        summary.device_accuracy = float(np.mean(y_dev.reshape(len(x), -1).argmax(1) == lab))
        summary.golden_accuracy = float(np.mean(model.dequantize(golden).reshape(len(x), -1).argmax(1) == lab))
        if float_reference:
            from .reference import run_reference

            y_f, _ = run_reference(model_path, x)
            summary.float_accuracy = float(np.mean(y_f.reshape(len(x), -1).argmax(1) == lab))
    if fw is not None and fw.elf is not None:
        from .footprint import from_build

        summary.footprint = from_build(fw.project).as_dict()
    summary.seconds = time.monotonic() - t0
    return summary


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
        ok = bool(np.array_equal(out.reshape(golden[i].shape), golden[i]))
        res.add({"index": i, "output": out.reshape(-1).tolist(), "count": int(count), "match": ok})
        counts.append(count)
        _progress(k + 1, len(todo), tstart)
    all_counts = [res.done[i]["count"] for i in range(n)]
    mism = [i for i in range(n) if not res.done[i]["match"]]
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


def _ensure_build(model, board_id, build_dir, model_hash, sample):
    """Build the serving firmware unless ``build_dir`` already holds it for this model and board."""
    from .boards import load_board
    from .build import FirmwareBuild, build

    info_p = Path(build_dir) / "tinybnn-build.json"
    if info_p.is_file():
        info = json.loads(info_p.read_text())
        elf = Path(build_dir) / info.get("elf", "")
        if (info.get("model_hash") == model_hash and info.get("app") == "serve" and info.get("board") == board_id
                and elf.is_file()):
            return FirmwareBuild(project=Path(build_dir), board=load_board(board_id), elf=elf,
                                 map=Path(build_dir) / info["map"], flash_used=info["flash_used"],
                                 ram_used=info["ram_used"], weight_bytes=info["weight_bytes"],
                                 arena_bytes=info["arena_bytes"], hash=model_hash, seconds=0.0)
    return build(model, board_id, build_dir, sample=sample, app="serve")


def _upload(fw):
    from . import platformio

    platformio.upload(fw.project)
