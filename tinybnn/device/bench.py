"""``tinybnn bench``: instruction counts of the kernels and of whole models on an emulated board.

Kernels: one firmware per (board, kernel variant) holds a few benchmark layers as constant data (seeded,
deterministic) and runs, for each, the reference kernel and the variant's kernel, then compares their
outputs. Whole models: the model is built twice for the board (its kernel variant, then "reference") and
the boot self-test's count of one inference is read.

Counts are instructions, deterministic under QEMU's ``-icount shift=0``: SysTick on Cortex-M (one tick =
40 instructions on the 25 MHz MPS2 boards, 62.5 on the micro:bit, 31.25 on the MPS3 AN547), minstret on
RISC-V (exact). The measured layers run for hundreds of thousands to tens of millions of instructions, the
small ones are repeated (``repeat``), and the count of an empty call between the same two readings is
subtracted, so the tick quantisation stays below 0.1%. They are instruction counts, not cycles: an LDM of
four words is one instruction and several cycles on real silicon.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._version import __version__
from ..backend import codegen, kernels
from ..ir.bits import pack_bits, words
from ..targets.boards import data_dir, load_board
from ..errors import TinyBnnError
from ..ir.layers import CONV2D, DENSE

SEED = 20250611


@dataclass(frozen=True)
class KernelCase:
    """One benchmark layer. ``op``: conv2d_b1b1 | dense_b1b1 | conv2d_s8s8 (the int8 cost of the same shape)."""
    id: int
    key: str
    op: str
    in_shape: tuple          # (H, W, C) for convs, (P, C) for dense
    out_c: int
    kernel: int = 1
    pad: int = 0             # symmetric zero padding of a conv
    bits: bool = True        # TB_OUT_BITS (thresholds, flip) or TB_OUT_S32
    repeat: int = 1          # calls between the two counter readings

    @property
    def out_hw(self) -> tuple:
        H, W, _ = self.in_shape
        return H + 2 * self.pad - self.kernel + 1, W + 2 * self.pad - self.kernel + 1

    @property
    def macs(self) -> int:
        if self.op == "dense_b1b1":
            P, C = self.in_shape
            return P * C * self.out_c
        OH, OW = self.out_hw
        return OH * OW * self.out_c * self.kernel * self.kernel * self.in_shape[2]

    @property
    def shape(self) -> str:
        if self.op == "dense_b1b1":
            P, C = self.in_shape
            return f"{P * C} -> {self.out_c}" + ("" if self.bits else " (int32 out)")
        H, W, C = self.in_shape
        OH, OW = self.out_hw
        pad = "valid" if self.pad == 0 else f"pad {self.pad} zero"
        return f"{self.kernel}x{self.kernel} conv {C} -> {self.out_c}, {H}x{W} -> {OH}x{OW} ({pad})"


# The brief's layers: 3x3 conv 64 -> 64 with a 16x16 output (valid on 18x18), dense 1024 -> 1024; plus the
# same conv with zero padding (border pixels), an output layer and the int8 cost of the first shape.
CASES = (
    KernelCase(0, "conv3x3_64_valid", "conv2d_b1b1", (18, 18, 64), 64, kernel=3),
    KernelCase(1, "conv3x3_64_same", "conv2d_b1b1", (16, 16, 64), 64, kernel=3, pad=1),
    KernelCase(2, "dense_1024", "dense_b1b1", (1, 1024), 1024),
    KernelCase(3, "dense_256_10_int32", "dense_b1b1", (1, 256), 10, bits=False, repeat=16),
    KernelCase(4, "conv3x3_64_valid_int8", "conv2d_s8s8", (18, 18, 64), 64, kernel=3),
)
INT8_OF = {"conv3x3_64_valid_int8": "conv3x3_64_valid"}  # int8 case -> the binary case of the same shape


@dataclass
class BenchResult:
    board: str
    core: str
    variant: str
    count_kind: str
    kernels: list = field(default_factory=list)
    models: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"tinybnn_version": __version__, "board": self.board, "core": self.core, "variant": self.variant,
                "count_kind": self.count_kind, "kernels": self.kernels, "models": self.models}

    def text(self) -> str:
        out = [f"board {self.board} ({self.core}), kernel variant {self.variant}; counts: {self.count_kind} "
               "(QEMU -icount shift=0)"]
        if self.kernels:
            rows = [("kernel", "variant", "shape", "MACs", "instructions", "MAC/instr", "vs reference")]
            for k in self.kernels:
                macs = k["binary_macs"] or k.get("int8_macs", 0)
                vs = f"{k['speedup']:.2f}x" if k.get("speedup") else ""
                if k.get("bnn_vs_int8"):
                    vs += f" (int8: {k['bnn_vs_int8']:.1f}x more)"
                rows.append((k["fn"], k["variant"], k["shape"], f"{macs:,}" + ("" if k["binary_macs"] else " int8"),
                             f"{k['instructions']:,}", f"{k['macs_per_instruction']:.2f}", vs))
            out += _table(rows)
        if self.models:
            rows = [("model", "variant", "binary MACs", "int8 MACs", "instructions", "MAC/instr", "vs reference")]
            for m in self.models:
                rows.append((m["name"], m["variant"], f"{m['binary_macs']:,}", f"{m['int_macs']:,}",
                             f"{m['instructions']:,}", f"{m['macs_per_instruction']:.2f}",
                             f"{m['speedup']:.2f}x" if m.get("speedup") else ""))
            out += [""] + _table(rows)
        return "\n".join(out)


def _table(rows) -> list[str]:
    w = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w[i]) if i < 3 else str(c).rjust(w[i]) for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * x for x in w))
    return lines


# -------------------------------------------------------------------------------------------- data --
def _bits(rng, pixels: int, c: int) -> np.ndarray:
    """Random packed bits uint32[pixels][words(c)], tail bits 0."""
    b = rng.integers(0, 2, size=(pixels, c), dtype=np.uint8)
    out = np.zeros((pixels, words(c)), np.uint32)
    for i in range(c):
        out[:, i // 32] |= b[:, i].astype(np.uint32) << np.uint32(i % 32)
    return out


class _Arrays:
    """Constant arrays of the firmware, shared between cases by key."""

    def __init__(self):
        self.items: dict[str, dict] = {}

    def add(self, key: str, ctype: str, values, comment: str) -> str:
        if key not in self.items:
            v = np.asarray(values).reshape(-1)
            self.items[key] = {"name": f"bench_{key}", "ctype": ctype, "count": int(v.size), "comment": comment,
                               "body": codegen.c_array_body(ctype, v)}
        return self.items[key]["name"]


class _Layer:
    """Enough of a device layer for tinybnn.backend.kernels.specialization."""

    def __init__(self, c: KernelCase):
        self.name = c.key
        if c.op == "dense_b1b1":
            self.op = DENSE
            self.attrs = {"in_dtype": "bits", "out": "bits" if c.bits else "int32", "in_shape": c.in_shape,
                          "out_shape": (c.out_c,)}
            return
        H, W, C = c.in_shape
        self.op = CONV2D
        self.attrs = {"in_dtype": "bits", "out": "bits" if c.bits else "int32", "kernel": (c.kernel, c.kernel),
                      "in_shape": (H, W, C), "out_shape": c.out_hw + (c.out_c,), "stride": (1, 1),
                      "dilation": (1, 1), "pads": (c.pad,) * 4, "pad": "zero"}


KINDS = ("generic", "specialized")  # the variant's kernels a firmware measures (besides the reference)
FLASH_SHARE = 0.8  # constant data a benchmark firmware may use of the board's flash before it is split


def _variant_kernels(c, item: dict, arrays: "_Arrays", variant: str, kinds, special: list, x: str, w_ref,
                     wname: str, shape_key: str, tau, flip_b) -> int:
    """The variant's calls of a binary case: its generic kernel (weights encoded for the family) and the
    kernel specialized to the shape, appended to ``item`` (the latter also to ``special``); returns the
    scratch bytes they need."""
    scratch = 0
    v = kernels.variant(variant)
    if v is None:
        return scratch
    taps = kernels.flash_taps(variant, _Layer(c)) if c.op == "conv2d_b1b1" else 0
    enc = kernels.encode(variant, w_ref, taps)
    ename = wname if np.array_equal(enc.reshape(-1), w_ref.reshape(-1)) or "generic" not in kinds else \
        arrays.add(f"w_{shape_key}_{v.family}{'_taps' if taps else ''}", "uint32_t", enc,
                   f"weights encoded for {variant}" + (", then the tap popcounts" if taps else ""))
    if "generic" in kinds:
        item["kernels"].append({"fn": v.fn(f"tb_{c.op}"), "input": x, "weights": ename,
                                "output": "out_opt"})
    k = kernels.specialization(variant, _Layer(c), c.id) if "specialized" in kinds else None
    if k is not None:  # what a model with this layer runs: the kernel specialized to its shape
        special.append(k)
        scratch = max(scratch, kernels.scratch_bytes(variant, _Layer(c)))
        lname = arrays.add(f"w_{c.key}_layer", "uint32_t", kernels.encode_layer(k, w_ref, tau, flip_b),
                           "weights and thresholds of the layer-specialized kernel")
        item["kernels"].append({"fn": k["fn"], "input": x, "weights": lname, "output": "out_opt",
                                "specialized": True})
    return scratch


def _render_case(c, rng, arrays: "_Arrays", variant: str, kinds, special: list) -> tuple[dict, int]:
    """One benchmark case: its arrays (added to ``arrays``), its kernel calls (reference, the family's
    generic kernel, the kernel specialized to the shape, appended to ``special``) and its scratch bytes."""
    scratch = 4
    item = {"id": c.id, "label": f"{c.op} {c.shape}" + (f", x{c.repeat}" if c.repeat > 1 else ""),
            "bits": c.bits, "repeat": c.repeat, "kernels": []}
    if c.op == "dense_b1b1":
        P, C = c.in_shape
        k_words = P * words(C)
        x = arrays.add(f"x_d{P}x{C}", "uint32_t", _bits(rng, P, C), f"input {P}x{C} bits")
        w_ref = _bits(rng, c.out_c * P, C).reshape(c.out_c, k_words)
        item["family"] = "dense"
        item["params"] = [str(P), str(C), str(c.out_c), "0"]
        pixels = 1
        scratch = max(scratch, kernels.dense_scratch_bytes(variant, P, C, c.out_c))
        K = P * C
    else:
        H, W, C = c.in_shape
        OH, OW = c.out_hw
        k_words = c.kernel * c.kernel * words(C)
        item["family"] = "conv2d"
        item["params"] = [str(v) for v in (H, W, C, OH, OW, c.out_c, c.kernel, c.kernel, 1, 1, 1, 1,
                                            c.pad, c.pad, c.pad, c.pad)] + ["TB_PAD_ZERO", "0"]
        pixels = OH * OW
        K = c.kernel * c.kernel * C
        if c.op == "conv2d_s8s8":
            x = arrays.add(f"x_s8_{H}x{W}x{C}", "int8_t", rng.integers(-128, 128, (H, W, C)),
                           f"int8 input {H}x{W}x{C}")
            w_ref = rng.integers(-127, 128, (c.out_c, c.kernel, c.kernel, C))
            scratch = max(scratch, 2 * K)
        else:
            x = arrays.add(f"x_{H}x{W}x{C}", "uint32_t", _bits(rng, H * W, C), f"input {H}x{W}x{C} bits")
            # the binary convs share their weights (one 3x3x64 -> 64 filter bank)
            w_ref = _bits(np.random.default_rng(SEED + 1), c.out_c * c.kernel * c.kernel, C)
            w_ref = w_ref.reshape(c.out_c, k_words)
            scratch = max(scratch, kernels.conv2d_scratch_bytes(variant, (c.kernel, c.kernel), C, c.out_c,
                                                                c.pad > 0))
    o_words = pixels * (words(c.out_c) if c.bits else c.out_c)
    item["out_words"] = o_words
    tau, flip_b = None, None
    if c.bits:
        span = K if c.op != "conv2d_s8s8" else 127 * 64 * int(np.sqrt(K))
        tau = rng.integers(-span // 4, span // 4 + 1, c.out_c)
        item["thresholds"] = arrays.add(f"tau_{c.key}", "int32_t", tau, "thresholds")
        flip_b = rng.integers(0, 2, c.out_c).astype(bool)
        item["flip"] = arrays.add(f"flip_{c.key}", "uint32_t", pack_bits(flip_b), "flip mask")
    if c.op == "conv2d_s8s8":
        wname = arrays.add(f"w_s8_{c.key}", "int8_t", w_ref, "int8 weights")
        item["kernels"].append({"fn": "tb_conv2d_s8s8", "input": x, "weights": wname, "output": "out_ref"})
    else:
        shape_key = f"{c.op}_{c.out_c}x{k_words}"
        wname = arrays.add(f"w_{shape_key}", "uint32_t", w_ref, "weights (reference layout)")
        item["kernels"].append({"fn": f"tb_{c.op}", "input": x, "weights": wname, "output": "out_ref"})
        scratch = max(scratch, _variant_kernels(c, item, arrays, variant, kinds, special, x, w_ref, wname,
                                                shape_key, tau, flip_b))
    return item, scratch


def _render(board: dict, variant: str, cases, kinds=KINDS) -> tuple[str, dict, dict, int]:
    """The benchmark firmware source, per case its kernel function names, the per-layer kernel files and the
    bytes of its constant arrays."""
    rng = np.random.default_rng(SEED)
    arrays = _Arrays()
    rendered, out_words, scratch, special = [], 1, 4, []
    for c in cases:
        item, case_scratch = _render_case(c, rng, arrays, variant, kinds, special)
        scratch = max(scratch, case_scratch)
        out_words = max(out_words, item["out_words"])
        rendered.append(item)
    from ..backend.ctext import environment

    env = environment()
    src = env.get_template("bench_kernels.c.j2").render(
        version=__version__, board=board["id"], variant=variant, arrays=list(arrays.items.values()),
        out_words=out_words, scratch_words=-(-scratch // 4), cases=rendered, layer_kernels=bool(special))
    size = {"uint32_t": 4, "int32_t": 4, "int8_t": 1}
    data = sum(a["count"] * size[a["ctype"]] for a in arrays.items.values())
    return src, {r["id"]: r for r in rendered}, kernels.render_layer_kernels(variant, special), data


# ------------------------------------------------------------------------------------------- kernels --
def _run_firmware(board: dict, variant: str, work: Path, src: str, layer_files: dict, timeout: float):
    """Build one benchmark firmware and run it to its exit: (exit code, output)."""
    from ..targets import platformio
    from ..targets.qemu import run_to_exit

    stage = work / "stage" / "bench"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    kdir = codegen.kernels_dir()
    for p in sorted(kdir.iterdir()):
        if p.suffix in (".c", ".h"):
            shutil.copy2(p, stage / p.name)
    for name in kernels.sources(variant):
        shutil.copy2(kernels.opt_dir() / name, stage / name)
    runtime = data_dir("firmware") / "runtime"
    for name in ("tb_print.c", "tb_print.h"):
        shutil.copy2(runtime / name, stage / name)
    (stage / "bench_kernels.c").write_text(src)
    for name, data in layer_files.items():
        (stage / name).write_bytes(data)
    project = platformio.write_project(board, work / f"{board['id']}-{variant}", [stage], extra_build_flags=["-O2"])
    res = platformio.run_pio(project)
    code, raw = run_to_exit(res.elf, board, timeout=timeout)
    return code, raw.decode("utf-8", "replace")


_CASE = re.compile(r"^case (\d+) (\w+) status (-?\d+) count (\d+)$", re.M)
_SAME = re.compile(r"^same (\d+) ([01])$", re.M)


def bench_kernels(board_id: str, variant: str | None = None, work_dir=None, cases=CASES,
                  timeout: float = 300.0) -> BenchResult:
    """Build and run the kernel benchmark firmware of ``board_id`` (an emulated board); on a board whose
    flash cannot hold every case's data at once, one firmware per case and kind of kernel."""
    board = load_board(board_id)
    if not board.get("emulated"):
        raise TinyBnnError(f"board '{board['id']}' is a real board: tinybnn bench runs on emulated boards only "
                           "(instruction counts need QEMU -icount)")
    variant = board["kernel_variant"] if variant is None else variant
    kernels.variant(variant)  # unknown names fail here
    src, rendered, layer_files, data = _render(board, variant, cases)
    firmwares = [(src, layer_files)]
    if data > FLASH_SHARE * board["flash_bytes"]:
        # too much constant data for this board in one firmware: one per case and kind of kernel
        firmwares = []
        for c in cases:
            for kinds in ((),) if c.op == "conv2d_s8s8" else (("generic",), ("specialized",)):
                part_src, part, part_files, _ = _render(board, variant, [c], kinds)
                if kinds == () or len(part[c.id]["kernels"]) > 1:
                    firmwares.append((part_src, part_files))
    tmp = None
    if work_dir is None:
        tmp = tempfile.mkdtemp(prefix="tinybnn-bench-")
        work_dir = tmp
    logs = []
    try:
        for i, (fw_src, fw_files) in enumerate(firmwares):
            code, log = _run_firmware(board, variant, Path(work_dir) / (f"part{i}" if len(firmwares) > 1 else ""),
                                      fw_src, fw_files, timeout)
            if code != 0 or "bench done" not in log:
                raise TinyBnnError(f"the kernel benchmark on {board['id']} failed (exit {code}): {log.strip()[-400:]}")
            logs.append(log)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    log = "\n".join(logs)
    return _parse(board, variant, cases, rendered, log)


def _parse(board: dict, variant: str, cases, rendered: dict, log: str) -> BenchResult:
    counts, same = {}, {}
    for m in _CASE.finditer(log):  # a case split over several firmwares repeats its reference count
        counts.setdefault((int(m.group(1)), m.group(2)), (int(m.group(3)), int(m.group(4))))
    for m in _SAME.finditer(log):
        same[int(m.group(1))] = same.get(int(m.group(1)), True) and m.group(2) == "1"
    kind = "instructions"
    res = BenchResult(board["id"], board["core"], variant, kind)
    by_key = {c.key: c for c in cases}
    for c in cases:
        fns = [k["fn"] for k in rendered[c.id]["kernels"]]
        for fn in fns:
            st, n = counts.get((c.id, fn), (None, None))
            if st is None:
                raise TinyBnnError(f"the kernel benchmark printed no count for case {c.key} ({fn})")
            if st != 0:
                raise TinyBnnError(f"{fn} returned status {st} on case {c.key}")
            if c.id in same and not same[c.id]:
                raise TinyBnnError(f"{fn} and the reference kernel disagree on case {c.key}: a kernel bug")
            n = n / c.repeat
            ref_n = counts[(c.id, fns[0])][1] / c.repeat
            binary = c.op != "conv2d_s8s8"
            spec = any(k.get("specialized") for k in rendered[c.id]["kernels"] if k["fn"] == fn)
            entry = {"name": c.op, "case": c.key, "fn": fn, "specialized": spec,
                     "variant": variant if fn != fns[0] else "reference", "shape": c.shape,
                     "binary_macs": c.macs if binary else 0, "instructions": round(n),
                     "macs_per_instruction": c.macs / n, "reference_instructions": round(ref_n),
                     "speedup": ref_n / n}
            if not binary:
                entry["int8_macs"] = c.macs
            if c.id in same:
                entry["same_output_as_reference"] = same[c.id]
            res.kernels.append(entry)
    # the int8 cost of the same shape, on each binary entry of that shape
    for i8, b in INT8_OF.items():
        if i8 in by_key and b in by_key:
            n8 = counts[(by_key[i8].id, "tb_conv2d_s8s8")][1]
            for e in res.kernels:
                if e["case"] == b:
                    e["int8_instructions"] = n8
                    e["bnn_vs_int8"] = n8 / e["instructions"]
    return res


# -------------------------------------------------------------------------------------------- models --
def bench_model(model, board_id: str, variant: str | None = None, work_dir=None, sample=None,
                name: str = "model") -> dict:
    """One inference of ``model`` on the board: its kernel variant against the reference kernels."""
    from ..targets.build import build, run_selftest

    board = load_board(board_id)
    variant = board["kernel_variant"] if variant is None else variant
    tmp = None
    if work_dir is None:
        tmp = tempfile.mkdtemp(prefix="tinybnn-bench-")
        work_dir = tmp
    counts = {}
    try:
        for v in dict.fromkeys((variant, "reference")):
            fw = build(model, board, Path(work_dir) / f"model-{board['id']}-{v}", sample=sample, variant=v)
            r = run_selftest(fw)
            if r.exit_code != 0 or r.count is None:
                raise TinyBnnError(f"the self-test of {name} on {board['id']} ({v} kernels) failed (exit "
                                   f"{r.exit_code}): {r.log.strip()[-300:]}")
            counts[v] = r.count
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    rows = model.layer_table()
    bm = sum(r["binary_macs"] for r in rows)
    im = sum(r["int_macs"] for r in rows)
    n = counts[variant]
    return {"name": name, "variant": variant, "binary_macs": bm, "int_macs": im, "instructions": n,
            "macs_per_instruction": (bm + im) / n, "binary_macs_per_instruction": bm / n,
            "reference_instructions": counts["reference"], "speedup": counts["reference"] / n}


def write_json(result: BenchResult, path) -> None:
    from ..plumbing import write_atomic

    write_atomic(path, json.dumps(result.as_dict(), indent=2, sort_keys=True) + "\n")
