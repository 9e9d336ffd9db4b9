"""tinybnn against CMSIS-NN int8, side by side: the same layer sequence, the same emulated board, the same counter.

    python benchmarks/bench_vs_cmsis_nn.py                        # every example and fixture, qemu-m4 and qemu-m55
    python benchmarks/bench_vs_cmsis_nn.py --boards qemu-m4,qemu-m7,qemu-m55 --models kws_bnn --json out.json
    python benchmarks/bench_vs_cmsis_nn.py --cmsis-nn /path/to/CMSIS-NN --require

For each model (the examples and the trained fixtures) every lowered tinybnn layer gets what an int8
deployment of the same network runs with CMSIS-NN (the kernels TensorFlow Lite Micro calls on a Cortex-M), on
the same shapes, read from CMSIS-NN's arm_nnfunctions.h:
  - a convolution (int8 first layer or binary, writing bits or a stream) -> arm_convolve_wrapper_s8 (with the
    buffer arm_convolve_wrapper_s8_get_buffer_size asks for); a grouped one -> the same wrapper with C/groups
    filter channels (this CMSIS-NN's arm_convolve_s8 runs the groups in one call); a depthwise one ->
    arm_depthwise_conv_wrapper_s8 (channel multiplier out/in);
  - a dense layer -> arm_fully_connected_s8; a max-pool -> arm_max_pool_s8; an average or global average
    pool -> arm_avgpool_s8; a residual add -> arm_elementwise_add_s8 (both branches kept in the arena until
    it runs); a concat of streams or bits -> arm_concatenation_s8_z once per input (the channel axis);
  - a layer reading or writing an int16 stream (stem, 1x1 shortcuts, classifier, residual adds, pools) -> the
    int8 kernel of that layer: CMSIS-NN is an int8 peer here, and every row says so;
  - the binarize of a stream -> nothing: an int8 network has no sign op (the next convolution reads the int8
    stream); the row counts 0 and says so;
  - a PReLU / RPReLU -> CMSIS-NN has no PReLU kernel. TensorFlow Lite Micro runs its reference int8 PRELU, so
    the CMSIS-NN firmware runs that arithmetic as plain C written for this benchmark (bench_cmsis_nn.c.j2:
    per element, x >= 0 ? requantize(x) : requantize(x * alpha[c]), with CMSIS-NN's arm_nn_requantize; one
    pass over NHWC, without the reference kernel's per-element broadcast indexing, so a lower bound of what
    TFLite Micro runs), compiled with the same flags; RPReLU's two per-channel shifts count as folded into
    it, as tinybnn folds them. Such rows name the harness kernel, never CMSIS-NN.
Weights and input are seeded random int8 (the counts depend on the shapes: with another seed they are the
same to the counter's resolution, except a PReLU's, which follows its share of negative inputs), requantization per output channel (convolutions) or per tensor (fully
connected, add, PReLU) as TensorFlow Lite Micro passes it. The layers are wired as the tinybnn model's DAG
(each reads what its tinybnn layer reads) through one activation arena placed first-fit by lifetime. The
CMSIS-NN side is one generated firmware per board (benchmarks/bench_cmsis_nn.c.j2) that counts each layer,
then the whole model in its schedule; the tinybnn side is the model's own firmware (tinybnn build, its
board's kernel variant), whose per-layer counts come from the device's PROFILE command (the mean of a few
runs) and whose total is one tb_model_run (INFER). The last table gives, per model, the share of MACs in
binary layers and tinybnn's performance target (the KWS example 4.5x; every other model above 1x, at least
2x where binary layers carry most of the MACs).

Counts are instructions under QEMU -icount shift=0 (deterministic), read from the board's cycle counter
(SysTick on Cortex-M: a resolution of 40 instructions on the MPS2 boards); they are not cycles.

CMSIS-NN is a benchmark-only peer: it is never linked into tinybnn's firmware and never copied into the
repository. It is found at ../shared/peers/cmsis-nn from the repository root, or --cmsis-nn DIR, or the
environment variable CMSIS_NN_DIR; at every run its headers and int8 sources are copied unmodified into a
temporary PlatformIO project (the in-repo platform, the board's CPU flags) and compiled there with the
optimisation its own build uses (-Ofast). Without it the benchmark says so in one line and exits 0 (2 with
--require).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tinybnn.backend import codegen  # noqa: E402
from tinybnn.targets.boards import data_dir, load_board  # noqa: E402
from tinybnn.errors import TinyBnnError  # noqa: E402

SEED = 20261203
DEFAULT_CMSIS_NN = ROOT.parent / "shared" / "peers" / "cmsis-nn"
# the default: the DSP path (Cortex-M4) and the Helium/MVE path (Cortex-M55); qemu-m7 runs the same code as
# qemu-m4 (counts within 1% of it), qemu-m3/qemu-m33 on request
BOARDS = ("qemu-m4", "qemu-m55")
# last on the compiler line: -Ofast as CMSIS-NN's own build; -ftree-loop-distribute-patterns undoes the in-repo
# platform's -fno-tree-loop-distribute-patterns (GCC's default at -O2 and above)
CMSIS_FLAGS = ["-Ofast", "-ftree-loop-distribute-patterns"]
EXAMPLES = (("kws_bnn", "examples/kws/model/kws_bnn.onnx", "examples/kws/model/kws_bnn_test.npz"),
            ("digits_bnn", "examples/vision/model/digits_bnn.onnx", "examples/vision/model/digits_bnn_test.npz"))
PATHS = {"MVE": "its Helium (MVE) code", "DSP": "its DSP-extension code", "C": "its pure C code"}
SMALL_MACS = 50_000  # layers below this many MACs (and every max-pool) run REPS times between two readings
REPS = 16
PROFILE_RUNS = 8     # PROFILE runs averaged on the tinybnn side (the SysTick phase differs between runs)
# CMSIS-NN source folders the int8 kernels and their helpers live in (TransposeFunctions: the Helium depthwise
# wrapper transposes a one-channel input's weights to run a convolution); of them, the files with s8 (or q7) in
# their name and the tables: float files and the int16/int4 kernels are left out
SOURCE_DIRS = ("ConvolutionFunctions", "FullyConnectedFunctions", "PoolingFunctions", "NNSupportFunctions",
               "BasicMathFunctions", "ConcatenationFunctions", "TransposeFunctions")
SOURCE_RE = re.compile(r"(s8|q7|nntables)\w*\.c$")
SOURCE_SKIP_RE = re.compile(r"_(f16|f32|flt)(_|\.)")


class BenchError(TinyBnnError):
    pass


# ------------------------------------------------------------------------------------------ CMSIS-NN --
def find_cmsis_nn(option: str | None) -> tuple[Path, bool]:
    """The CMSIS-NN folder (--cmsis-nn, else $CMSIS_NN_DIR, else ../shared/peers/cmsis-nn) and whether it holds
    the library (Include/arm_nnfunctions.h and Source/)."""
    d = Path(option or os.environ.get("CMSIS_NN_DIR") or DEFAULT_CMSIS_NN).expanduser()
    return d, (d / "Include" / "arm_nnfunctions.h").is_file() and (d / "Source").is_dir()


def cmsis_sources(cmsis: Path) -> list[Path]:
    """The int8 sources of the four folders the benchmarked kernels need (unused ones are dropped by the
    linker's --gc-sections)."""
    out = []
    for d in SOURCE_DIRS:
        for p in sorted((cmsis / "Source" / d).glob("*.c")):
            if SOURCE_RE.search(p.name) and not SOURCE_SKIP_RE.search(p.name):
                out.append(p)
    return out


def cmsis_version(cmsis: Path) -> str:
    """What identifies the CMSIS-NN copy: a git commit when it is a checkout, else the line of the peers
    README naming it, else the folder."""
    try:
        r = subprocess.run(["git", "-C", str(cmsis), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                           timeout=10)
        if r.returncode == 0 and r.stdout.strip():
            return f"git {r.stdout.strip()}"
    except (OSError, subprocess.TimeoutExpired):
        pass
    readme = cmsis.parent / "README.md"
    if readme.is_file():
        for line in readme.read_text(errors="replace").splitlines():
            if line.startswith(f"| `{cmsis.name}/`"):
                cells = [c.strip() for c in line.strip("|").split("|")]
                if len(cells) >= 3:
                    return cells[2]
    return str(cmsis)


# -------------------------------------------------------------------------------------- layer mapping --
NO_SIGN = "none (an int8 network has no sign op)"
PRELU_FN = "int8 PReLU in C (harness)"
NOTE_INT16 = "int16 stream in tinybnn, int8 in CMSIS-NN (an int8 peer: its int8 kernels on the same shapes)"
NOTE_BINARIZE = ("binarize of a stream: nothing in the int8 network (it has no sign; the next convolution reads the "
                 "int8 stream), counted 0")
NOTE_PRELU = ("PReLU/RPReLU: CMSIS-NN has no PReLU kernel; the CMSIS-NN firmware runs TensorFlow Lite Micro's "
              "reference int8 PRELU arithmetic, written as plain C in the benchmark harness (one pass over NHWC, "
              "per-channel alpha, arm_nn_requantize), compiled with the same flags; RPReLU's two shifts counted as "
              "folded into it, as tinybnn folds them")
NOTE_GROUPED = ("grouped convolution: arm_convolve_wrapper_s8 with C/groups filter channels (this CMSIS-NN's "
                "arm_convolve_s8 runs the groups in one call)")
NOTE_CONCAT = "concat: arm_concatenation_s8_z once per input (channels axis)"


@dataclass
class CmsisLayer:
    """One tinybnn layer and its int8 CMSIS-NN equivalent on the same shapes."""
    index: int
    name: str
    op: str                   # conv | dwconv | dense | maxpool | avgpool | add | concat | prelu | none
    tinybnn_kind: str         # from the layer table, e.g. "conv2d bin->bits"
    fn: str                   # the CMSIS-NN function called
    path: str                 # the kernel the wrapper dispatches to (conv, dwconv), else fn
    macs: int
    in_shape: tuple = ()
    out_shape: tuple = ()
    kernel: tuple = (1, 1)
    stride: tuple = (1, 1)
    dilation: tuple = (1, 1)
    pad: tuple = (0, 0)       # (top, left) as CMSIS-NN takes it; bottom/right follow from the output shape
    in_features: int = 0
    out_features: int = 0
    input_offset: int = 0
    inputs: list = field(default_factory=lambda: [-1])  # the layers it reads (-1: the model input)
    in_channels: list = field(default_factory=list)     # concat: the channels of each input
    groups: int = 1           # conv: filter channels = C / groups (grouped); dwconv: C (depthwise)
    mve_path: str = ""        # dwconv: the kernel the wrapper dispatches to on Helium, when it differs
    binary_macs: int = 0
    notes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.op == "dense":
            return f"{self.fn} {self.in_features} -> {self.out_features}"
        shape = "x".join(map(str, self.in_shape)) + " -> " + "x".join(map(str, self.out_shape))
        if self.op in ("conv", "dwconv", "maxpool", "avgpool"):
            return f"{self.path} {self.kernel[0]}x{self.kernel[1]} {shape}"
        if self.op == "add":
            s = "x".join(map(str, self.in_shape))
            return f"{self.fn} {s} + {s}"
        if self.op == "concat":
            return f"{self.fn} x{len(self.in_channels)} " + " + ".join(
                "x".join(map(str, self.in_shape[:2] + (c,))) for c in self.in_channels) + \
                " -> " + "x".join(map(str, self.out_shape))
        return f"{self.fn} {shape}"


def _conv_path(in_shape, kernel, stride, dilation, pad, groups: int = 1) -> str:
    """The kernel arm_convolve_wrapper_s8 dispatches to (its predicates in arm_nnsupportfunctions.h; a grouped
    convolution's filter has C / groups channels, which only arm_convolve_s8 takes)."""
    H, W, C = in_shape
    if groups > 1:
        return "arm_convolve_s8"
    if pad == (0, 0) and kernel == (1, 1) and dilation == (1, 1):
        return "arm_convolve_1x1_s8_fast" if stride == (1, 1) else "arm_convolve_1x1_s8"
    if H == 1 and dilation[1] == 1 and kernel[0] == 1 and (stride[1] * C) % 4 == 0:
        return "arm_convolve_1_x_n_s8"
    return "arm_convolve_s8"


def _dw_path(in_shape, out_shape, kernel, dilation, pad, mve: bool) -> str:
    """The kernel arm_depthwise_conv_wrapper_s8 dispatches to (arm_depthwise_conv_wrapper_s8.c): on Helium a
    single input channel with more than 1 output channel goes to a convolution, channel multiplier 1 (and no
    dilation) to the optimized kernel (3x3 with padding <= 1: the 3x3 kernel, except on Helium), else the
    generic one."""
    C, O = in_shape[2], out_shape[2]
    if mve and C == 1 and O > 1:
        return "arm_convolve_wrapper_s8"
    if O == C and dilation == (1, 1):
        if not mve and kernel == (3, 3) and max(pad) <= 1:
            return "arm_depthwise_conv_3x3_s8"
        return "arm_depthwise_conv_s8_opt"
    return "arm_depthwise_conv_s8"


def is_1d(model) -> bool:
    """Every convolution and pool of the model runs along H with a width of 1 (the KWS example: 49x1xC)."""
    spatial = [l for l in model.layers if l.op in ("tb.Conv2d", "tb.MaxPool", "tb.AvgPool")]
    return bool(spatial) and all(int(l.attrs["in_shape"][1]) == 1 and int(l.attrs["kernel"][1]) == 1
                                 for l in spatial)


def _as_1xn(c: CmsisLayer) -> CmsisLayer:
    """A layer along H (H x 1) laid out along W (1 x H), as TensorFlow Lite lays out a Conv1D."""
    if c.op == "dense" or len(c.in_shape) != 3:
        return c
    sw = lambda t: (t[1], t[0])  # noqa: E731
    c.in_shape, c.out_shape = (1, c.in_shape[0], c.in_shape[2]), (1, c.out_shape[0], c.out_shape[2])
    c.kernel, c.stride, c.dilation, c.pad = sw(c.kernel), sw(c.stride), sw(c.dilation), sw(c.pad)
    if c.op == "conv":
        c.path = _conv_path(c.in_shape, c.kernel, c.stride, c.dilation, c.pad, c.groups)
    elif c.op == "dwconv":
        c.path = _dw_path(c.in_shape, c.out_shape, c.kernel, c.dilation, c.pad, mve=False)
        c.mve_path = _dw_path(c.in_shape, c.out_shape, c.kernel, c.dilation, c.pad, mve=True)
    c.notes.append("laid out 1 x N in CMSIS-NN (--conv1d-as-1xn)")
    return c


def _hwc(shape) -> tuple:
    """A layer shape as CMSIS-NN's (H, W, C): (C,) and (P, C) vectors are 1 x 1 x P*C."""
    s = tuple(int(v) for v in shape)
    return s if len(s) == 3 else (1, 1, int(np.prod(s)))


def _offset(a) -> int:
    """CMSIS-NN's input offset (the negated zero point) of a layer reading an int8 stream or the int8 input;
    0 for bits and for int16 streams (whose zero points do not fit int8)."""
    if a.get("in_dtype") == "int8" and a.get("in_bits", 8) == 8:
        return -int(a.get("input_zero_point", 0))
    return 0


def cmsis_layers(model, conv1d_as_1xn: bool = False) -> list[CmsisLayer]:
    """The int8 CMSIS-NN layer sequence of a lowered tinybnn model (same shapes, kernel, stride, padding,
    dilation, groups and output channels; the same DAG: each layer reads what its tinybnn layer reads).
    ``conv1d_as_1xn``: a model whose convolutions and pools all run along H with a width of 1 gets them laid
    out 1 x N instead (TensorFlow Lite's layout of a Conv1D, which CMSIS-NN's arm_convolve_1_x_n_s8 serves).
    Raises BenchError for a layer kind with no mapping."""
    rows = model.layer_table()
    out = []
    for i, (layer, row) in enumerate(zip(model.layers, rows)):
        a = layer.attrs
        macs = row["binary_macs"] + row["int_macs"]
        kind = row["kind"]
        ins = list(model.layer_inputs[i])
        common = dict(inputs=ins, binary_macs=row["binary_macs"])
        stream16 = a.get("bits") == 16 or a.get("in_bits") == 16
        if layer.op == "tb.Conv2d":
            pads = tuple(int(v) for v in a["pads"])
            k = tuple(int(v) for v in a["kernel"])
            s = tuple(int(v) for v in a["stride"])
            d = tuple(int(v) for v in a["dilation"])
            in_shape = tuple(int(v) for v in a["in_shape"])
            out_shape = tuple(int(v) for v in a["out_shape"])
            G = int(a.get("groups", 1))
            geo = dict(in_shape=in_shape, out_shape=out_shape, kernel=k, stride=s, dilation=d, pad=pads[:2],
                       input_offset=_offset(a), groups=G, **common)
            if G > 1 and G == in_shape[2]:
                cl = CmsisLayer(i, layer.name, "dwconv", kind, "arm_depthwise_conv_wrapper_s8",
                                _dw_path(in_shape, out_shape, k, d, pads[:2], mve=False), macs,
                                mve_path=_dw_path(in_shape, out_shape, k, d, pads[:2], mve=True), **geo)
            else:
                cl = CmsisLayer(i, layer.name, "conv", kind, "arm_convolve_wrapper_s8",
                                _conv_path(in_shape, k, s, d, pads[:2], G), macs, **geo)
                if G > 1:
                    cl.notes.append(NOTE_GROUPED)
            if a.get("pad", "zero") != "zero":
                cl.notes.append(f"{a['pad']} padding in tinybnn, zero padding in CMSIS-NN")
        elif layer.op == "tb.Dense":
            P, C = (int(v) for v in a["in_shape"])
            O = int(np.prod(a["out_shape"]))
            cl = CmsisLayer(i, layer.name, "dense", kind, "arm_fully_connected_s8", "arm_fully_connected_s8", macs,
                            in_features=P * C, out_features=O, input_offset=_offset(a), **common)
            if a.get("out") == "int32":
                cl.notes.append("int32 output in tinybnn, int8 in CMSIS-NN")
        elif layer.op in ("tb.MaxPool", "tb.AvgPool"):
            pads = tuple(int(v) for v in a["pads"])
            fn = "arm_max_pool_s8" if layer.op == "tb.MaxPool" else "arm_avgpool_s8"
            cl = CmsisLayer(i, layer.name, "maxpool" if layer.op == "tb.MaxPool" else "avgpool", kind, fn, fn, 0,
                            in_shape=tuple(int(v) for v in a["in_shape"]),
                            out_shape=tuple(int(v) for v in a["out_shape"]),
                            kernel=tuple(int(v) for v in a["kernel"]), stride=tuple(int(v) for v in a["stride"]),
                            pad=pads[:2], **common)
        elif layer.op == "tb.Add":
            cl = CmsisLayer(i, layer.name, "add", kind, "arm_elementwise_add_s8", "arm_elementwise_add_s8", 0,
                            in_shape=_hwc(a["in_shape"]), out_shape=_hwc(a["out_shape"]), **common)
        elif layer.op == "tb.Concat":
            shapes = [_hwc(v) for v in a["in_shapes"]]
            cl = CmsisLayer(i, layer.name, "concat", kind, "arm_concatenation_s8_z", "arm_concatenation_s8_z", 0,
                            in_shape=shapes[0], out_shape=_hwc(a["out_shape"]),
                            in_channels=[sh[2] for sh in shapes], **common)
            cl.notes.append(NOTE_CONCAT)
        elif layer.op == "tb.PReLU":
            cl = CmsisLayer(i, layer.name, "prelu", kind, PRELU_FN, PRELU_FN, 0, in_shape=_hwc(a["in_shape"]),
                            out_shape=_hwc(a["out_shape"]), **common)
            cl.notes.append(NOTE_PRELU)
        elif layer.op == "tb.Binarize":
            cl = CmsisLayer(i, layer.name, "none", kind, NO_SIGN, NO_SIGN, 0, in_shape=_hwc(a["in_shape"]),
                            out_shape=_hwc(a["out_shape"]), **common)
            cl.notes.append(NOTE_BINARIZE)
        else:
            raise BenchError(f"layer '{layer.name}' ({layer.op}) has no CMSIS-NN equivalent in this benchmark; "
                             "mapped: tb.Conv2d (grouped and depthwise too), tb.Dense, tb.MaxPool, tb.AvgPool, "
                             "tb.Add, tb.Concat, tb.PReLU, tb.Binarize")
        if stream16:
            cl.notes.append(NOTE_INT16)
        out.append(cl)
    if conv1d_as_1xn and is_1d(model):
        out = [_as_1xn(c) for c in out]
    return out


def _data_bytes(layers: list[CmsisLayer]) -> int:
    """Constant data of one model in the CMSIS-NN firmware: int8 weights, int32 bias, multipliers and shifts."""
    n = 0
    for c in layers:
        if c.op in ("conv", "dwconv"):
            O, (KH, KW), C = c.out_shape[2], c.kernel, c.in_shape[2]
            n += O * KH * KW * (C // c.groups if c.op == "conv" else 1) + 12 * O
        elif c.op == "dense":
            n += c.in_features * c.out_features + 4 * c.out_features
        elif c.op == "prelu":
            n += 13 * c.in_shape[2]
    return n + (layers[0].in_features if layers[0].op == "dense" else int(np.prod(layers[0].in_shape)))


def _io_bytes(c: CmsisLayer) -> tuple[int, int]:
    """int8 input (the first one) and output bytes of a layer, each rounded up to a word."""
    if c.op == "dense":
        i, o = c.in_features, c.out_features
    else:
        i, o = int(np.prod(c.in_shape)), int(np.prod(c.out_shape))
    return -(-i // 4) * 4, -(-o // 4) * 4


def plan_arena(layers: list[CmsisLayer]) -> tuple[list[list[int]], list[int], int]:
    """Where each layer of the int8 network reads and writes in one activation arena, as TensorFlow Lite
    Micro's greedy planner would place them: a layer with no op (a binarize) passes its input through, so its
    readers read that input; every other output lives from its layer to its last reader (the last layer's to
    the end) and is placed first-fit, word-aligned, beside every output alive at the same time (both branches
    of a residual add are kept). Returns (per layer, the layers it reads after pass-through, -1 for the model
    input), per layer its output's byte offset, and the arena size."""
    src = []
    for c in layers:
        src.append([s if s < 0 or layers[s].op != "none" else src[s][0] for s in c.inputs])
    reads = [[s for s in (src[i] if c.op != "none" else [])] for i, c in enumerate(layers)]
    last = {i: i for i in range(len(layers))}
    for i, rs in enumerate(reads):
        for s in rs:
            if s >= 0:
                last[s] = max(last[s], i)
    placed, offsets, arena = [], [0] * len(layers), 4
    for i, c in enumerate(layers):
        if c.op == "none":
            continue
        size = _io_bytes(c)[1]
        busy = sorted((o, o + n) for (j, o, n) in placed if last[j] >= i)
        off = 0
        for lo, hi in busy:
            if off + size <= lo:
                break
            off = max(off, hi)
        offsets[i] = off
        placed.append((i, off, size))
        arena = max(arena, off + size)
    return src, offsets, arena


# ----------------------------------------------------------------------------------- CMSIS-NN firmware --
class _Arrays:
    def __init__(self):
        self.items = []

    def add(self, name, ctype, values, comment) -> str:
        v = np.asarray(values).reshape(-1)
        self.items.append({"name": name, "ctype": ctype, "count": int(v.size), "comment": comment,
                           "body": codegen.c_array_body(ctype, v)})
        return name


def _requant(arrays: _Arrays, rng, p: str, O: int, it: dict) -> None:
    """Per-channel requantization: multiplier in [2^30, 2^31), right shift as for scales of 2^-7..2^-10."""
    it["multiplier"] = arrays.add(f"{p}_mult", "int32_t", rng.integers(1 << 30, (1 << 31) - 1, O),
                                  "per-channel multipliers")
    it["shift"] = arrays.add(f"{p}_shift", "int32_t", rng.integers(-10, -6, O), "per-channel shifts")


def render_firmware(board_id: str, models: list[tuple[str, list[CmsisLayer]]]) -> str:
    import jinja2

    rng = np.random.default_rng(SEED)
    arrays = _Arrays()
    rendered, arena, scratch, max_inputs = [], 4, 64, 1
    for mi, (name, layers) in enumerate(models):
        first = layers[0]
        n_in = first.in_features if first.op == "dense" else int(np.prod(first.in_shape))
        inp = arrays.add(f"m{mi}_input", "int8_t", rng.integers(-128, 128, n_in), f"{name}: random int8 input")
        items = []
        src, offsets, size = plan_arena(layers)
        arena = max(arena, size)
        for k, c in enumerate(layers):
            p = f"m{mi}_l{c.index}"
            reads = src[k] if c.op != "none" else []
            max_inputs = max(max_inputs, len(reads))
            it = {"id": c.index, "name": c.name, "op": c.op, "label": c.label, "input_offset": c.input_offset,
                  "output_offset": 0,
                  "reps": 1 if c.op in ("conv", "dwconv", "dense") and c.macs >= SMALL_MACS else REPS,
                  "in_shape": c.in_shape, "out_shape": c.out_shape, "kernel": c.kernel, "stride": c.stride,
                  "dilation": c.dilation, "pad": c.pad, "in_features": c.in_features,
                  "out_features": c.out_features, "out_offset": offsets[k], "reads": reads,
                  "in_channels": c.in_channels, "groups": c.groups}
            if c.op == "none":  # not called: counted 0
                it["reps"] = 1
            if c.op in ("conv", "dwconv"):
                O, (KH, KW), C = c.out_shape[2], c.kernel, c.in_shape[2]
                if c.op == "conv":
                    it["weights"] = arrays.add(f"{p}_w", "int8_t",
                                               rng.integers(-127, 128, O * KH * KW * (C // c.groups)),
                                               f"{name} {c.name}: int8 weights OHWI")
                else:
                    it["weights"] = arrays.add(f"{p}_w", "int8_t", rng.integers(-127, 128, KH * KW * O),
                                               f"{name} {c.name}: int8 depthwise weights 1HWO")
                it["bias"] = arrays.add(f"{p}_b", "int32_t", rng.integers(-2000, 2001, O), "int32 bias")
                _requant(arrays, rng, p, O, it)
                # above what the wrappers ask (checked at start-up); on Helium the depthwise kernel takes blocks
                # of 124 channels (CH_IN_BLOCK_MVE), and a one-channel input runs a convolution on transposed
                # weights kept in the scratch buffer too
                scratch = max(scratch, 4 * KH * KW * C * 2 + 256 +
                              (4 * 124 * KH * KW + KH * KW * O if c.op == "dwconv" else 0))
            elif c.op == "dense":
                it["weights"] = arrays.add(f"{p}_w", "int8_t",
                                           rng.integers(-127, 128, c.in_features * c.out_features),
                                           f"{name} {c.name}: int8 weights [out][in]")
                it["bias"] = arrays.add(f"{p}_b", "int32_t", rng.integers(-2000, 2001, c.out_features),
                                        "int32 bias")
                it["multiplier"] = int(rng.integers(1 << 30, (1 << 31) - 1))
                it["shift"] = int(rng.integers(-10, -6))
            elif c.op == "avgpool":
                scratch = max(scratch, 4 * c.in_shape[2])
            elif c.op == "add":
                # as TensorFlow Lite Micro prepares an int8 ADD: inputs shifted left by 20, each scaled by a
                # multiplier below 1 (right shift 1..2), the sum brought back to the output scale
                it["add"] = {"in1_offset": int(rng.integers(-20, 21)), "in2_offset": int(rng.integers(-20, 21)),
                             "in1_mult": int(rng.integers(1 << 30, (1 << 31) - 1)), "in1_shift": -1,
                             "in2_mult": int(rng.integers(1 << 30, (1 << 31) - 1)), "in2_shift": -2,
                             "left_shift": 20, "out_offset": int(rng.integers(-20, 21)),
                             "out_mult": int(rng.integers(1 << 30, (1 << 31) - 1)), "out_shift": -19}
            elif c.op == "prelu":
                C = c.in_shape[2]
                it["alpha"] = arrays.add(f"{p}_alpha", "int8_t", rng.integers(-127, 128, C),
                                         f"{name} {c.name}: int8 alpha per channel")
                it["prelu"] = {"input_offset": int(rng.integers(-20, 21)), "alpha_offset": int(rng.integers(-20, 21)),
                               "out_offset": int(rng.integers(-20, 21)),
                               "mult_pos": int(rng.integers(1 << 30, (1 << 31) - 1)), "shift_pos": -1,
                               "mult_neg": int(rng.integers(1 << 30, (1 << 31) - 1)), "shift_neg": -8}
            items.append(it)
        rendered.append({"id": mi, "name": name, "input": inp, "layers": items})
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(Path(__file__).resolve().parent)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True,
                             lstrip_blocks=True)
    return env.get_template("bench_cmsis_nn.c.j2").render(board=board_id, arrays=arrays.items, models=rendered,
                                                          arena_bytes=arena, scratch_words=-(-scratch // 4),
                                                          max_inputs=max_inputs,
                                                          prelu=any(c.op == "prelu" for _, ls in models for c in ls))


def cmsis_flags(board: dict) -> str:
    """The compiler line the CMSIS-NN sources are built with (the in-repo platform's, then ours last)."""
    gcc = shutil.which(board["toolchain"] + "-gcc")
    ver = ""
    if gcc:
        r = subprocess.run([gcc, "-dumpfullversion"], capture_output=True, text=True, timeout=30)
        ver = " " + r.stdout.strip()
    return (f"{board['toolchain']}-gcc{ver} {' '.join(board['cflags'])} -std=c99 -ffunction-sections "
            f"-fdata-sections {' '.join(CMSIS_FLAGS)}")


_PATH = re.compile(r"^path (\w+)$", re.M)
_LAYER = re.compile(r"^layer (\d+) (\d+) status (-?\d+) count (\d+) reps (\d+)$", re.M)
_MODEL = re.compile(r"^model (\d+) status (-?\d+) total (\d+)$", re.M)


FLASH_SHARE = 0.6  # constant data one CMSIS-NN firmware may take of the board's flash before models are split


def run_cmsis(board_id: str, cmsis: Path, models: list[tuple[str, list[CmsisLayer]]], work: Path,
              timeout: float = 600.0) -> dict:
    """Build and run the CMSIS-NN firmware for the board (CMSIS-NN compiled from its folder into ``work``; as
    many firmwares as the board's flash needs), return {model index: {"layers": {layer index: instructions per
    call}, "total": instructions}, "path": the code CMSIS-NN compiled for the core (MVE, DSP or C)}."""
    board = load_board(board_id)
    groups, size = [[]], 0
    for mi, (_, layers) in enumerate(models):
        n = _data_bytes(layers)
        if groups[-1] and size + n > FLASH_SHARE * board["flash_bytes"]:
            groups.append([])
            size = 0
        groups[-1].append(mi)
        size += n
    out: dict = {}
    for g, ids in enumerate(groups):
        part = _run_cmsis_firmware(board, cmsis, [models[i] for i in ids],
                                   work / (f"part{g}" if len(groups) > 1 else ""), timeout)
        out["path"] = part.pop("path")
        out.update({ids[k]: v for k, v in part.items()})
    return out


def _run_cmsis_firmware(board: dict, cmsis: Path, models: list[tuple[str, list[CmsisLayer]]], work: Path,
                        timeout: float) -> dict:
    from tinybnn.targets import platformio
    from tinybnn.targets.qemu import run_to_exit

    board_id = board["id"]
    stage = work / "stage" / "cmsis_bench"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    # CMSIS-NN's headers and int8 sources, unmodified, side by side in the temporary project (its sources
    # include "arm_nnfunctions.h" and "Internal/..." relative to the header folder)
    shutil.copytree(cmsis / "Include", stage, dirs_exist_ok=True)
    for src in cmsis_sources(cmsis):
        shutil.copy2(src, stage / src.name)
    runtime = data_dir("firmware") / "runtime"
    for name in ("tb_print.c", "tb_print.h"):
        shutil.copy2(runtime / name, stage / name)
    (stage / "bench_cmsis_nn.c").write_text(render_firmware(board_id, models))
    project = platformio.write_project(board, work / f"cmsis-{board_id}", [stage], extra_build_flags=CMSIS_FLAGS)
    try:
        res = platformio.run_pio(project, jobs=2)
    except platformio.PlatformIOError as e:
        over = re.search(r"region `?(\w+)'? overflowed by (\d+) bytes", e.output)
        if over:
            raise BenchError(f"the CMSIS-NN int8 layers of {', '.join(n for n, _ in models)} do not fit board "
                             f"{board_id}: {over.group(1)} overflowed by {over.group(2)} bytes") from None
        raise
    code, raw = run_to_exit(res.elf, board, timeout=timeout)
    log = raw.decode("utf-8", "replace")
    if code != 0 or "bench done" not in log:
        raise BenchError(f"the CMSIS-NN firmware on {board_id} failed (exit {code}): {log.strip()[-400:]}")
    path = _PATH.search(log)
    out: dict = {"path": path.group(1) if path else "?"}
    for m in _LAYER.finditer(log):
        mi, li, st, n, reps = (int(g) for g in m.groups())
        if st != 0:
            raise BenchError(f"CMSIS-NN returned status {st} on model {models[mi][0]} layer {li} ({board_id})")
        out.setdefault(mi, {"layers": {}, "total": None})["layers"][li] = n / reps
    for m in _MODEL.finditer(log):
        mi, st, n = (int(g) for g in m.groups())
        out.setdefault(mi, {"layers": {}, "total": None})["total"] = n
    for mi, (name, layers) in enumerate(models):
        if mi not in out or out[mi]["total"] is None or len(out[mi]["layers"]) != len(layers):
            raise BenchError(f"the CMSIS-NN firmware on {board_id} printed no complete counts for {name}")
    return out


# ------------------------------------------------------------------------------------------ tinybnn --
def run_tinybnn(model, board_id: str, sample, work: Path, timeout: float = 120.0) -> dict:
    """tinybnn's own firmware of the model on the board: per-layer counts (mean of PROFILE_RUNS profiles),
    one whole inference (INFER), the kernel of each layer, and whether the output equals the golden model."""
    from tinybnn.targets.build import build
    from tinybnn.device.link import Device
    from tinybnn.targets.qemu import QemuSession

    board = load_board(board_id)
    r = codegen.prepare(model, board["kernel_variant"])
    fw = build(model, board_id, work, sample=sample, app="serve")
    q = model.quantize(np.asarray(sample, dtype=np.float32)[None])
    golden = model.run_quantized(q)[0]
    with QemuSession(fw.elf, board, timeout=timeout) as s:
        dev = Device(s.serial, timeout=2.0)
        dev.handshake()
        out, total = dev.infer(q[0])
        profs = [dev.profile(q[0]) for _ in range(PROFILE_RUNS)]
        try:
            dev.exit()
        except Exception:  # noqa: BLE001 - QEMU leaving may cut the reply
            pass
    per_layer = np.mean([p.per_layer for p in profs], axis=0)
    same = bool(np.array_equal(np.asarray(out).reshape(-1), golden.reshape(-1))) and all(
        np.array_equal(np.asarray(p.output).reshape(-1), golden.reshape(-1)) for p in profs)
    return {"total": int(total), "layers": [float(v) for v in per_layer], "bit_exact": same,
            "kernels": [l["kernel"] for l in r.manifest["layers"]], "variant": board["kernel_variant"]}


# ------------------------------------------------------------------------------------------- models --
def model_list(only: set | None) -> list[tuple[str, Path, Path]]:
    out = [(n, ROOT / o, ROOT / d) for n, o, d in EXAMPLES]
    for p in sorted((ROOT / "tests" / "fixtures").glob("*.onnx")):
        out.append((p.stem, p, p.with_suffix(".npz")))
    if only:
        unknown = only - {n for n, _, _ in out}
        if unknown:
            raise BenchError(f"--models: unknown model(s) {', '.join(sorted(unknown))}; known: "
                             + ", ".join(n for n, _, _ in out))
        out = [m for m in out if m[0] in only]
    return out


def load_model(onnx: Path, data: Path):
    import tinybnn

    x = np.load(data)["x"]
    m = tinybnn.load(onnx)
    if m.needs_calibration or m.streams_need_calibration:  # a model's own input quantizer is kept (as make
        m = tinybnn.load(onnx, calibration=x)                 # demo converts them); streams are calibrated
    return m, x[0]


# ------------------------------------------------------------------------------------------- output --
def _table(rows) -> list[str]:
    w = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w[i]) if i in (0, 1, 3) else str(c).rjust(w[i])
                               for i, c in enumerate(r)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * x for x in w))
    return lines


def _ratio(c: float, t: float) -> str:
    return f"{c / t:.2f}x" if t > 0 else "-"


STREAM_KINDS = ("add", "avgpool", "prelu", "concat", "none")  # the real-valued stream ops (and binarize)
KWS_TARGET = 4.5  # tinybnn's target for the KWS example on qemu-m4 (CMSIS-NN/tinybnn instructions)
TARGET_BOARD = "qemu-m4"  # the board the targets are set for (other boards' rows show no target)


def binary_share(res: dict) -> float:
    """The part of a model's MACs that binary layers carry (binary weights and binary input)."""
    total = sum(l["macs"] for l in res["layers"])
    return sum(l["binary_macs"] for l in res["layers"]) / total if total else 0.0


def target(res: dict) -> tuple[float, bool]:
    """tinybnn's performance target for a model (CMSIS-NN/tinybnn instructions) and whether the run meets it: the KWS
    example 4.5x; every other model above 1x, at least 2x where binary layers carry most of the MACs."""
    goal = KWS_TARGET if res["model"] == "kws_bnn" else (2.0 if binary_share(res) > 0.5 else 1.0)
    ratio = res["cmsis_total"] / res["tinybnn_total"] if res["tinybnn_total"] else 0.0
    return goal, (ratio >= goal if goal > 1.0 else ratio > goal)


def model_report(res: dict) -> list[str]:
    rows = [("layer", "tinybnn kernel", "tinybnn instr", "CMSIS-NN kernel", "CMSIS-NN instr", "CMSIS-NN/tinybnn")]
    for l in res["layers"]:
        rows.append((l["layer"], l["tinybnn_kernel"], f"{round(l['tinybnn']):,}", l["cmsis_kernel"],
                     f"{round(l['cmsis']):,}",
                     "no int8 op" if l["op"] == "none" else _ratio(l["cmsis"], l["tinybnn"])))
    t, c = res["tinybnn_total"], res["cmsis_total"]
    rows.append(("whole inference", "tb_model_run", f"{t:,}", "its kernel calls in a row", f"{c:,}", _ratio(c, t)))
    lines = [f"{res['model']} on {res['board']} (tinybnn {res['variant']} kernels, output "
             f"{'bit-exact' if res['bit_exact'] else 'NOT equal to the golden model'}; CMSIS-NN {res['cmsis_path']} "
             "path)"]
    lines += ["  " + s for s in _table(rows)]
    notes = sorted({n for l in res["layers"] for n in l["notes"]})
    if notes:
        lines.append("  notes: " + "; ".join(notes))
    lf = res["layers"][0]
    rest_t = sum(l["tinybnn"] for l in res["layers"][1:])
    rest_c = sum(l["cmsis"] for l in res["layers"][1:])
    summary = (f"  summary {res['model']} on {res['board']}: tinybnn {t:,} vs CMSIS-NN int8 {c:,} instructions per "
               f"inference, CMSIS-NN/tinybnn {_ratio(c, t)}; first layer {round(lf['tinybnn']):,} vs "
               f"{round(lf['cmsis']):,} ({_ratio(lf['cmsis'], lf['tinybnn'])})")
    if len(res["layers"]) > 1:
        summary += f"; after the first layer {round(rest_t):,} vs {round(rest_c):,} ({_ratio(rest_c, rest_t)})"
    stream = [l for l in res["layers"] if l["op"] in STREAM_KINDS]
    if stream:
        st_t, st_c = sum(l["tinybnn"] for l in stream), sum(l["cmsis"] for l in stream)
        summary += (f"; stream ops (residual add, average pools, PReLU, concat, binarize) {round(st_t):,} vs "
                    f"{round(st_c):,} ({_ratio(st_c, st_t)})")
    lines.append(summary)
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boards", default=",".join(BOARDS),
                    help="comma-separated emulated Cortex-M boards (default qemu-m4,qemu-m55; qemu-m7 works too)")
    ap.add_argument("--models", help="comma-separated model names (default: the examples and every fixture)")
    ap.add_argument("--cmsis-nn", dest="cmsis_nn", metavar="DIR",
                    help="the CMSIS-NN folder (default $CMSIS_NN_DIR, else ../shared/peers/cmsis-nn from the "
                         "repository root)")
    ap.add_argument("--require", action="store_true", help="exit 2 when CMSIS-NN is absent (default: skip, exit 0)")
    ap.add_argument("--conv1d-as-1xn", action="store_true",
                    help="give CMSIS-NN the 1-D models (convolutions and pools along H, width 1: the KWS example) "
                         "laid out 1 x N, as TensorFlow Lite lays out a Conv1D (default: the same H x 1 shapes)")
    ap.add_argument("--json", help="write every figure to this JSON file")
    ap.add_argument("--keep", metavar="DIR", help="build in DIR and keep it (default: a temporary directory)")
    args = ap.parse_args(argv)

    cmsis, ok = find_cmsis_nn(args.cmsis_nn)
    if not ok:
        print(f"bench_vs_cmsis_nn: CMSIS-NN not found at {cmsis} (no Include/arm_nnfunctions.h): side-by-side "
              "benchmark skipped; give its folder with --cmsis-nn DIR or CMSIS_NN_DIR", file=sys.stderr)
        return 2 if args.require else 0
    try:
        return _run(args, cmsis)
    except TinyBnnError as e:
        print(f"bench_vs_cmsis_nn: error: {e}", file=sys.stderr)
        return 2 if isinstance(e, BenchError) else 1


def _run(args, cmsis: Path) -> int:
    from tinybnn.plumbing import check_output_file, write_atomic

    if args.json:  # before the measurements: a folder that is not there fails now, not after minutes
        try:
            check_output_file(args.json)
        except TinyBnnError as e:
            raise BenchError(str(e)) from None
    boards = [b for b in args.boards.split(",") if b]
    for b in boards:
        try:
            bd = load_board(b)
        except TinyBnnError as e:
            raise BenchError(str(e)) from None
        if not bd.get("emulated") or bd["toolchain"] != "arm-none-eabi":
            raise BenchError(f"board '{b}': the CMSIS-NN comparison runs on the emulated Cortex-M boards "
                             "(qemu-m0, qemu-m3, qemu-m4, qemu-m7, qemu-m33, qemu-m55)")
    models, skipped = [], []
    for name, onnx, data in model_list(set(args.models.split(",")) if args.models else None):
        m, sample = load_model(onnx, data)
        try:
            models.append((name, onnx, m, sample, cmsis_layers(m, args.conv1d_as_1xn)))
        except BenchError as e:  # a residual network's stream ops are not mapped yet: said, not fatal
            skipped.append(f"not compared: {name}: {e}")
    if not models:
        raise BenchError("; ".join(skipped) or "no models to compare")
    print(f"tinybnn vs CMSIS-NN int8 ({cmsis_version(cmsis)}, from {cmsis}), the same layer sequence on each board; "
          "counts: instructions (QEMU -icount shift=0), not cycles")
    for line in skipped:
        print(line)
    results = []
    t0 = time.time()
    work_root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tinybnn-cmsis-"))
    try:
        for b in boards:
            board = load_board(b)
            cm = run_cmsis(b, cmsis, [(n, cl) for n, _, _, _, cl in models], work_root / b)
            print(f"\nboard {b} ({board['core']}): CMSIS-NN compiled unmodified with {cmsis_flags(board)} "
                  f"({PATHS.get(cm['path'], cm['path'])}); tinybnn built as `tinybnn build` does (-O2, kernel "
                  f"variant {board['kernel_variant']})")
            if cm["path"] == "MVE":
                print("note: on this core CMSIS-NN runs Helium vector code (16 int8 lanes per instruction) and tinybnn "
                      "its scalar kernels (it has no MVE kernels yet); QEMU counts a vector instruction as one "
                      "instruction, and a Cortex-M55 executes a 128-bit one in two beats")
            print(f"  CMSIS-NN firmware done in {time.time() - t0:.0f} s", file=sys.stderr)
            for mi, (name, onnx, m, sample, cl) in enumerate(models):
                tb = run_tinybnn(m, b, sample, work_root / b / f"tinybnn-{name}")
                layers = []
                for c, n_tb, kern in zip(cl, tb["layers"], tb["kernels"]):
                    path = c.mve_path if cm["path"] == "MVE" and c.mve_path else c.path
                    layers.append({"layer": c.name, "kind": c.tinybnn_kind, "op": c.op, "tinybnn_kernel": kern,
                                   "tinybnn": n_tb, "cmsis_kernel": path if path == c.fn else f"{c.fn} ({path})",
                                   "cmsis": cm[mi]["layers"][c.index], "macs": c.macs,
                                   "binary_macs": c.binary_macs, "shape": c.label, "notes": c.notes})
                res = {"model": name, "onnx": str(onnx.relative_to(ROOT)), "board": b, "core": board["core"],
                       "variant": tb["variant"], "bit_exact": tb["bit_exact"], "tinybnn_total": tb["total"],
                       "cmsis_total": cm[mi]["total"], "cmsis_path": cm["path"],
                       "cmsis_flags": cmsis_flags(board), "layers": layers}
                results.append(res)
                print()
                print("\n".join(model_report(res)))
                print(f"  ({name} done in {time.time() - t0:.0f} s)", file=sys.stderr)
    finally:
        if not args.keep:
            shutil.rmtree(work_root, ignore_errors=True)
    print()
    rows = [("model", "board", "tinybnn instr", "CMSIS-NN instr", "CMSIS-NN/tinybnn", "first layer ratio",
             "after it", "binary MACs", "target")]
    for r in results:
        lf = r["layers"][0]
        rest_t = sum(l["tinybnn"] for l in r["layers"][1:])
        rest_c = sum(l["cmsis"] for l in r["layers"][1:])
        goal, met = target(r)
        aim = f"{'>=' if goal > 1 else '>'}{goal:g}x {'met' if met else 'missed'}" if r["board"] == TARGET_BOARD else "-"
        rows.append((r["model"], r["board"], f"{r['tinybnn_total']:,}", f"{r['cmsis_total']:,}",
                     _ratio(r["cmsis_total"], r["tinybnn_total"]), _ratio(lf["cmsis"], lf["tinybnn"]),
                     _ratio(rest_c, rest_t) if rest_t else "-", f"{100 * binary_share(r):.0f}%",
                     aim))
    print("per model, instructions per inference (QEMU -icount shift=0); ratio > 1: tinybnn executes fewer; "
          "binary MACs: the share of the model's MACs in binary layers; target: tinybnn's performance target (the KWS "
          "example 4.5x, every other model above 1x, at least 2x where binary layers carry most of the MACs; set "
          f"for {TARGET_BOARD} only)")
    w = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, r in enumerate(rows):
        left = (0, 1, len(r) - 1)  # names and the target to the left, figures to the right
        print("  ".join(str(c).ljust(w[i]) if i in left else str(c).rjust(w[i]) for i, c in enumerate(r)).rstrip())
        if n == 0:
            print("  ".join("-" * x for x in w))
    if args.json:
        write_atomic(args.json, json.dumps({"cmsis_nn": cmsis_version(cmsis), "count_kind": "instructions",
                                            "results": results}, indent=2) + "\n")
        print(f"wrote {args.json}")
    bad = [f"{r['model']} on {r['board']}" for r in results if not r["bit_exact"]]
    if bad:
        print(f"bench_vs_cmsis_nn: tinybnn's output differs from the golden model: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
