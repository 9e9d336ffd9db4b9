"""Read a Larq Compute Engine ``.tflite`` file into the canonical float graph.

The file is parsed with the ``tflite`` package (the TFLite FlatBuffers schema, generated code) and LCE's custom
options with flatbuffers' ``flexbuffers``. Each operator becomes the canonical ops of
:mod:`tinybnn.passes.canonicalize` (NCHW, float semantics, exactly the file's computation), so ``lower`` and
everything after it run unchanged:

=================  ==========================================================================================
``CONV_2D``        ``Conv`` (+ ``Affine`` for its bias); OHWI weights as OIHW, TFLite's SAME padding explicit
``DEPTHWISE_CONV_2D`` ``Conv`` with group = C ([1, KH, KW, C M] weights as (C M, 1, KH, KW)) (+ ``Affine``)
``FULLY_CONNECTED`` ``Dense`` (+ ``Affine`` for its bias)
``MUL`` / ``ADD``  ``Affine`` (a per-channel or scalar constant); ``ADD`` of two tensors: ``Sum`` (a residual)
``MAX_POOL_2D``    ``MaxPool``
``AVERAGE_POOL_2D`` ``AvgPool``: no padding; after PAD of 0, the padded zeros counted (``count_include_pad``);
                   SAME only where LceQuantize alone reads it (TFLite's mean over a border window's valid taps
                   has the sign of the window's sum: the pool counting padded zeros, exact for the sign)
``PAD`` / ``PADV2`` nothing: constant spatial pads merged into the CONV_2D, DEPTHWISE_CONV_2D or
                   AVERAGE_POOL_2D reading them (``pads``, ``pad_value``)
``CONCATENATION``  ``Concat`` on the channel axis
``SOFTMAX``        ``Softmax`` (beta), the model's output only; lowering applies it on the host
fused activations  RELU: ``PRelu`` of slope 0; RELU_N1_TO_1 where only LceQuantize reads (dropped: signs kept)
``MEAN``           ``AvgPool`` over the whole map (axes 1, 2), then ``Flatten`` unless keep_dims
``RESHAPE``        ``Flatten`` reading the NHWC map in TFLite's order
``LceQuantize``    ``Sign`` with 0 -> +1 (LCE packs ``x < 0`` as bit 1)
``LceDequantize``  nothing (the canonical graph holds the +-1 values)
``LceBconv2d``     ``Conv`` on +-1 weights unpacked from the file (bit 1 = -1, channel 32k+j at bit j; grouped:
                   the words of one group's 32 k channels, ``group`` = channels_in / (32 k)),
                   ``pad_value`` from ``pad_values``; float output: ``Affine`` with the post-activation
                   multiplier and bias; bitpacked output (``accum > threshold``, accum = popcount of
                   XOR): ``Affine`` then ``Sign``, the threshold as the exact integer offset
``LceBMaxPool2d``  ``MaxPool`` on the +-1 values
int8 tensors       ``QUANTIZE``, ``DEQUANTIZE`` and the int8 forms of the ops above, in :mod:`.int8`: the int8
                   input as a ``Quant``, every int8 chain to ``LceQuantize`` as one exact threshold per channel
=================  ==========================================================================================

Errors are one line naming the file, the operator (index and op) and, for a damaged file, the byte.
"""

from __future__ import annotations

import math
import re
import stat
import struct
from pathlib import Path

import numpy as np

from ...errors import TinyBnnError, UnsupportedModel
from ...ir.graph import Graph, Node
from ...plumbing import check_file
from . import int8
from .text import short, shown

IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
MAX_MODEL_BYTES = 2**31 - 1
LCE_OPS = ("LceQuantize", "LceDequantize", "LceBconv2d", "LceBMaxPool2d")
BUILTINS = ("CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "RESHAPE", "MUL", "ADD",
            "DEPTHWISE_CONV_2D", "PAD", "PADV2", "CONCATENATION", "SOFTMAX")
INT8_OPS = ("QUANTIZE", "DEQUANTIZE")
SUPPORTED = (", ".join(LCE_OPS + BUILTINS + INT8_OPS) + " on float32 tensors; int8 tensors from the input to "
             "LceQuantize (see the README's .tflite row)")
FUSED_SUPPORTED = "fused activation NONE, RELU, or RELU_N1_TO_1 on a tensor only LceQuantize reads"


def is_tflite(path) -> bool:
    """True when the file at ``path`` holds a TFLite FlatBuffer (the identifier "TFL3" at bytes 4..8), whatever
    its name; also for a file named .tflite (which then gets the TFLite frontend's own errors)."""
    p = Path(path)
    if p.suffix.lower() == ".tflite":
        return True
    try:
        if not stat.S_ISREG(p.stat().st_mode):  # never open a FIFO or a device (it could block forever)
            return False
        with open(p, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[4:8] == IDENTIFIER


SAME_WINDOW_FLOOR = 16  # a SAME window may exceed twice a small map up to this size (a 5x5 on a 1x1 map)
MAX_RANK = 8  # TFLite's kernels handle up to 6 dimensions; a longer shape vector is damage
ARITY = {  # (fewest, most) inputs of each operator tinybnn reads; -1 (absent) only where the op has optional inputs
    "CONV_2D": (2, 3), "DEPTHWISE_CONV_2D": (2, 3), "FULLY_CONNECTED": (2, 3), "MAX_POOL_2D": (1, 1),
    "AVERAGE_POOL_2D": (1, 1), "MEAN": (2, 2), "RESHAPE": (1, 2), "MUL": (2, 2), "ADD": (2, 2), "PAD": (2, 2),
    "PADV2": (2, 3), "CONCATENATION": (1, 1 << 16), "SOFTMAX": (1, 1), "QUANTIZE": (1, 1), "DEQUANTIZE": (1, 1),
    "LceQuantize": (1, 1), "LceDequantize": (1, 1), "LceBconv2d": (5, 5), "LceBMaxPool2d": (1, 1)}
OPTIONAL = {"CONV_2D": (2,), "DEPTHWISE_CONV_2D": (2,), "FULLY_CONNECTED": (2,), "RESHAPE": (1,), "PADV2": (2,),
            "LceBconv2d": (2, 3, 4)}


def _enum_names(cls) -> dict[int, str]:
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


class _File:
    """The parsed model: FlatBuffers accessors wrapped so a damaged file is one line, with the byte."""

    def __init__(self, path: Path):
        self.path = path
        size = path.stat().st_size
        if size > MAX_MODEL_BYTES:
            raise TinyBnnError(f"{path}: {size:,} bytes; supported: .tflite files under 2 GiB")
        self.at = None  # what is being read, for the error of a damaged file
        self.buf = path.read_bytes()
        n = len(self.buf)
        if n == 0:
            raise TinyBnnError(f"{path}: empty file (0 bytes), expected a .tflite model")
        if n < 8:
            raise TinyBnnError(f"{path}: {n} bytes, too short for a TFLite FlatBuffer (the file is truncated)")
        if self.buf[4:8] != IDENTIFIER:
            raise TinyBnnError(f"{path}: bytes 4..8 are {self.buf[4:8]!r}, not the TFLite file identifier "
                               f"{IDENTIFIER!r}; not a .tflite model")
        root = struct.unpack_from("<I", self.buf, 0)[0]
        if root + 4 > n:
            raise TinyBnnError(f"{path}: the root table at byte {root} is past the end of the file ({n} bytes); "
                               "the file is truncated")
        import tflite

        self.tfl = tflite
        self.model = self.guard(lambda: tflite.Model.GetRootAsModel(self.buf, 0), "the model table")

    def guard(self, fn, what: str):
        """Run a FlatBuffers read; a read past the end or a malformed table is one line with the byte."""
        try:
            return fn()
        except (struct.error, IndexError, ValueError, TypeError, UnicodeDecodeError, OverflowError) as e:
            m = re.search(r"offset (-?\d+)", str(e))
            where = f" at byte {m.group(1)}" if m else ""
            what = self.at or what
            raise TinyBnnError(f"{self.path}: reading {what} failed{where}, past the end of its {len(self.buf)} "
                               "bytes or at a damaged offset: the file is truncated or damaged") from None


class _Options(dict):
    """An LCE op's custom options (a FlexBuffer map): each value read as an int32, another type refused."""

    def __init__(self, opts: dict, where: str):
        super().__init__(opts)
        self.where = where

    def int(self, key: str, default: int) -> int:
        v = self.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or not -(2**31) <= v < 2**31:
            raise UnsupportedModel(f"{self.where}: its custom option '{key}' is {shown(repr(v), 40)}; supported: "
                                   "an int32 value, as Larq Compute Engine's converter writes")
        return v


def _custom_options(f: _File, op, k: int, name: str) -> _Options:
    from flatbuffers import flexbuffers

    where = f"{f.path}: operator {k} ({name})"
    raw = f.guard(lambda: op.CustomOptionsAsNumpy(), f"operator {k} ({name})'s options")
    if isinstance(raw, int) or len(raw) == 0:
        return _Options({}, where)
    try:
        opts = flexbuffers.Loads(bytes(raw.tobytes()))
    except Exception:  # flexbuffers raises bare errors of many kinds on bad bytes
        raise TinyBnnError(f"{f.path}: operator {k} ({name}): its custom options are not a valid FlexBuffer "
                           f"map") from None
    if not isinstance(opts, dict):
        raise TinyBnnError(f"{f.path}: operator {k} ({name}): its custom options are not a FlexBuffer map")
    return _Options(opts, where)


def _same_pads(n_in: int, k: int, s: int, d: int) -> tuple[int, int]:
    """TensorFlow's SAME padding of one spatial axis: (before, after), the extra pixel after."""
    out = -(-n_in // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n_in, 0)
    return total // 2, total - total // 2


class _Importer:
    def __init__(self, f: _File):
        self.f = f
        self.tfl = f.tfl
        self.model = f.model
        self.nodes: list[Node] = []
        self.consts: dict[str, np.ndarray] = {}
        self.shapes: dict[str, tuple] = {}
        self.ir: dict[int, str] = {}          # TFLite tensor index -> IR tensor name
        self.bits: set[int] = set()           # TFLite tensors holding LCE bitpacked data
        self.names: set[str] = set()
        self.padded: dict[int, tuple] = {}    # TFLite tensor written by PAD -> (IR tensor, pads t l b r, value)
        self.act_code = 0                     # the fused activation of the operator being read
        self.not_exact: set[str] = set()      # IR tensors that differ from the file's (documented where made)
        self.builtin_names = _enum_names(self.tfl.BuiltinOperator)
        self.type_names = _enum_names(self.tfl.TensorType)
        self.q8: dict[int, str] = {}          # int8 tensors: "real" (IR holds scale * (q - zp)) or "sign"
        self.int8_notes: list[str] = []
        self.tab: dict[int, tuple] = {}       # tensors tabulated on a binary conv's output (see int8.py)
        self.flat: dict[int, tuple] = {}      # tabulated tensors flattened by a RESHAPE (done after the binarizer)
        self.shadow: dict[int, tuple] = {}    # float tensors also tabulated, for a QUANTIZE that may read them

    # ---- reading ------------------------------------------------------------------------------
    def fail(self, k: int, name: str, what: str, supported: str | None = None) -> UnsupportedModel:
        msg = f"{self.f.path}: " + (f"operator {k} ({name})" if k >= 0 else name) + f": {what}"
        if supported:
            msg += f"; supported: {supported}"
        return UnsupportedModel(msg)

    def tensor(self, i: int):
        if i < 0:  # -1: an optional input left out, read where the operator needs a tensor
            raise TinyBnnError(f"{self.f.path}: {self.f.at or 'the model'}: reads no tensor (index {i}) where it "
                               "needs one; supported: -1 only for an optional input (a bias, LceBconv2d's "
                               "post-activation or thresholds)")
        return self.f.guard(lambda: self.sg.Tensors(i), f"tensor {i}")

    def tname(self, i: int) -> str:
        return self.f.guard(lambda: (self.tensor(i).Name() or b"").decode("utf-8", "replace"), f"tensor {i}'s name")

    def tshow(self, i: int) -> str:
        """Tensor i's name as an error message shows it (see :func:`shown`)."""
        return shown(self.tname(i))

    def tshape(self, i: int) -> tuple[int, ...]:
        t = self.tensor(i)
        n = t.ShapeLength()
        if n > MAX_RANK:
            raise TinyBnnError(f"{self.f.path}: tensor {i} ('{self.tshow(i)}') declares {n} dimensions; supported: "
                               f"at most {MAX_RANK} (the file is damaged)")
        return tuple(int(v) for v in self.f.guard(lambda: t.ShapeAsNumpy(), f"tensor {i}'s shape")) if n else ()

    def ttype(self, i: int) -> str:
        return self.type_names.get(self.tensor(i).Type(), f"type {self.tensor(i).Type()}")

    def const(self, i: int) -> np.ndarray | None:
        """The data of a constant tensor (a non-empty buffer), in its declared type and shape; None for an
        activation."""
        t = self.tensor(i)
        b = self.f.guard(lambda: self.model.Buffers(t.Buffer()), f"buffer {t.Buffer()} of tensor {i}")
        off = self.f.guard(lambda: b.Offset(), f"buffer {t.Buffer()}")
        if off > 1:  # large models keep buffers after the FlatBuffer, at an absolute file offset
            size = b.Size()
            if off + size > len(self.f.buf):
                raise TinyBnnError(f"{self.f.path}: tensor {i}'s data at bytes {off}..{off + size} is past the end "
                                   f"of the file ({len(self.f.buf)} bytes); the file is truncated")
            raw = np.frombuffer(self.f.buf, np.uint8, size, off)
        else:
            raw = self.f.guard(lambda: b.DataAsNumpy(), f"the data of tensor {i}")
            if isinstance(raw, int) or len(raw) == 0:
                return None
        dt = {"FLOAT32": "<f4", "INT32": "<i4", "INT8": "i1", "UINT8": "u1", "INT64": "<i8", "INT16": "<i2",
              "FLOAT16": "<f2"}.get(self.ttype(i))
        if dt is None:
            raise TinyBnnError(f"{self.f.path}: tensor {i} ('{self.tshow(i)}') holds constant data of type "
                               f"{self.ttype(i)}; supported: float32, int32, int8")
        shape = self.tshape(i)
        n = math.prod(shape)  # Python integers: a damaged shape cannot wrap around
        if min(shape, default=1) < 0 or raw.size != n * np.dtype(dt).itemsize:
            raise TinyBnnError(f"{self.f.path}: tensor {i} ('{self.tshow(i)}') has shape {list(shape)} "
                               f"({n * np.dtype(dt).itemsize} bytes of {self.ttype(i)}) but its buffer holds "
                               f"{raw.size} bytes")
        arr = np.frombuffer(raw.tobytes(), dt).reshape(shape)
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise TinyBnnError(f"{self.f.path}: tensor {i} ('{self.tshow(i)}') holds non-finite values (NaN or "
                               "infinity); supported: finite parameters")
        return arr

    # ---- writing ------------------------------------------------------------------------------
    def fresh(self, base: str) -> str:
        base = base.split(";")[0] or "t"  # the converter joins the names of fused ops with ';'
        name, j = base, 0
        while name in self.names:
            j += 1
            name = f"{base}_{j}"
        self.names.add(name)
        return name

    def emit(self, op: str, name: str, x: str, attrs: dict, shape: tuple, origin: str) -> str:
        out = self.fresh(name)
        attrs = dict(attrs, onnx_op=origin)
        self.nodes.append(Node(op, out, [x], [out], attrs))
        self.shapes[out] = tuple(shape)
        return out

    def act(self, k: int, name: str, i: int) -> str:
        if i in self.padded:
            raise self.fail(k, name, f"reads '{self.tshow(i)}', written by PAD",
                            "PAD before CONV_2D, DEPTHWISE_CONV_2D or AVERAGE_POOL_2D (VALID, PAD of 0)")
        if i not in self.ir:
            if self.const(i) is not None:
                raise self.fail(k, name, f"reads the constant tensor '{self.tshow(i)}' where an activation is "
                                "expected")
            raise self.fail(k, name, f"reads tensor '{self.tshow(i)}', which no earlier operator writes")
        return self.ir[i]

    def ir_shape(self, i: int) -> tuple:
        """TFLite NHWC / (N, F) shape of tensor i as the IR's NCHW / (N, F), batch 1."""
        s = self.tshape(i)
        if len(s) == 4:
            return (1, s[3], s[1], s[2])
        if len(s) == 2:
            return (1, s[1])
        return (1,) + tuple(s[1:])

    def fused(self, k: int, name: str, opts) -> None:
        self.fused_code(k, name, opts.FusedActivationFunction())

    def fused_code(self, k: int, name: str, act: int) -> None:
        """Record the operator's fused activation; :meth:`activation` applies it to the output after the rule.
        RELU is exact in the IR (a PRelu of slope 0); RELU_N1_TO_1 only where LceQuantize alone reads the output
        (clipping to [-1, 1] keeps every sign, 0 included); RELU6 (and the rest) clip a real value the IR
        cannot hold."""
        A = self.tfl.ActivationFunctionType
        acts = _enum_names(A)
        if act not in (A.NONE, A.RELU, A.RELU_N1_TO_1):
            raise self.fail(k, name, f"has the fused activation {acts.get(act, act)}",
                            FUSED_SUPPORTED)
        self.act_code = act

    def activation(self, k: int, name: str, o: int) -> None:
        A = self.tfl.ActivationFunctionType
        act, self.act_code = self.act_code, A.NONE
        if act == A.NONE:
            return
        if o in self.bits:
            raise self.fail(k, name, "has a fused activation on bitpacked output", FUSED_SUPPORTED)
        y = self.ir[o]
        if act == A.RELU:
            C = self.shapes[y][1]
            pre = self.fresh(y + "/pre_relu")
            self.shapes[pre] = self.shapes[y]
            for n in self.nodes:  # the operator's last node writes the value before the activation
                if n.output == y:
                    n.name, n.outputs = pre, [pre]
            self.names.discard(y)
            self.ir[o] = self.emit("PRelu", y, pre, {"slope": np.zeros(C)}, self.shapes[y], name + " RELU")
            return
        readers = self.readers(o)
        if act == A.RELU_N1_TO_1 and readers and all(r == "LceQuantize" for r in readers) and o != self.outp:
            return  # the sign of clip(x, -1, 1) is the sign of x
        raise self.fail(k, name, "has the fused activation RELU_N1_TO_1 on a tensor not read by LceQuantize alone",
                        FUSED_SUPPORTED)

    def readers(self, t: int) -> list[str]:
        """The operator names of every operator reading tensor t."""
        out = []
        for j in range(self.sg.OperatorsLength()):
            op = self.f.guard(lambda: self.sg.Operators(j), f"operator {j}")
            if op.InputsLength() and t in [int(v) for v in op.InputsAsNumpy()]:
                idx = op.OpcodeIndex()
                out.append(self.codes[idx] if idx < len(self.codes) else "?")
        return out

    def options(self, op, cls):
        t = op.BuiltinOptions()
        if t is None:
            raise TinyBnnError(f"{self.f.path}: {self.f.at}: its builtin options are missing; the file is damaged")
        want = getattr(self.tfl.BuiltinOptions, cls.__name__)
        if op.BuiltinOptionsType() != want:  # TFLite reads the options only as the type the file declares
            kind = _enum_names(self.tfl.BuiltinOptions).get(op.BuiltinOptionsType(), op.BuiltinOptionsType())
            raise TinyBnnError(f"{self.f.path}: {self.f.at}: its builtin options are {kind}; supported: "
                               f"{cls.__name__} (the file is damaged)")
        o = cls()
        o.Init(t.Bytes, t.Pos)
        return o

    # ---- the graph ----------------------------------------------------------------------------
    def run(self) -> Graph:
        f = self.f
        m = self.model
        version = m.Version()
        if version != SCHEMA_VERSION:
            raise TinyBnnError(f"{f.path}: TFLite schema version {version}; supported: version {SCHEMA_VERSION}")
        if m.SubgraphsLength() != 1:
            raise UnsupportedModel(f"{f.path}: {m.SubgraphsLength()} subgraphs; supported: one (no control flow)")
        self.sg = sg = f.guard(lambda: m.Subgraphs(0), "subgraph 0")
        ins = [int(v) for v in f.guard(lambda: sg.InputsAsNumpy(), "the subgraph's inputs")] if sg.InputsLength() else []
        outs = [int(v) for v in f.guard(lambda: sg.OutputsAsNumpy(), "the subgraph's outputs")] if sg.OutputsLength() else []
        if len(ins) != 1 or len(outs) != 1:
            raise UnsupportedModel(f"{f.path}: {len(ins)} inputs and {len(outs)} outputs; supported: one of each")
        n_tensors = sg.TensorsLength()
        for i in ins + outs:
            if not 0 <= i < n_tensors:
                raise TinyBnnError(f"{f.path}: the subgraph names tensor {i} of {n_tensors}; the file is damaged")
        inp, outp = ins[0], outs[0]
        self.outp = outp
        f.at = f"the input and output tensors ({inp} and {outp})"
        if self.ttype(inp) not in ("FLOAT32", "INT8"):
            raise UnsupportedModel(f"{f.path}: the input '{self.tshow(inp)}' is {self.ttype(inp)}; supported: "
                                   "float32 or int8 (quantized per tensor)")
        if self.ttype(outp) != "FLOAT32":
            raise UnsupportedModel(f"{f.path}: the output '{self.tshow(outp)}' is {self.ttype(outp)}; supported: "
                                   "float32 (convert with inference_output_type=tf.float32)")
        in_shape = self.tshape(inp)
        if len(in_shape) not in (2, 4) or any(d < 1 for d in in_shape[1:]):
            raise UnsupportedModel(f"{f.path}: input '{self.tshow(inp)}' has shape {list(in_shape)}; supported: "
                                   "(N, H, W, C) or (N, F) with static sizes")
        x = self.fresh(self.tname(inp) or "input")
        self.graph_input, self.graph_output = x, outp
        self.shapes[x] = self.ir_shape(inp)
        self.ir[inp] = int8.input_int8(self, inp, x) if self.ttype(inp) == "INT8" else x

        written = {inp: "the model's input"}  # tensor -> who writes it
        f.at = "the operator codes"
        self.codes = codes = []
        for c in range(m.OperatorCodesLength()):
            oc = f.guard(lambda: m.OperatorCodes(c), f"operator code {c}")
            code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
            custom = oc.CustomCode()
            codes.append(shown(custom.decode("utf-8", "replace"), 40) if custom else
                         self.builtin_names.get(code, f"builtin {code}"))
        for k in range(sg.OperatorsLength()):
            f.at = f"operator {k}"
            op = f.guard(lambda: sg.Operators(k), f"operator {k}")
            idx = op.OpcodeIndex()
            if idx >= len(codes):
                raise TinyBnnError(f"{f.path}: operator {k} names operator code {idx} of {len(codes)}; "
                                   "the file is damaged")
            name = codes[idx]
            f.at = f"operator {k} ({name})"
            ii = [int(v) for v in f.guard(lambda: op.InputsAsNumpy(), f"operator {k}'s inputs")] if op.InputsLength() else []
            oo = [int(v) for v in f.guard(lambda: op.OutputsAsNumpy(), f"operator {k}'s outputs")] if op.OutputsLength() else []
            for i in ii + oo:
                if not -1 <= i < n_tensors:
                    raise TinyBnnError(f"{f.path}: operator {k} ({name}) names tensor {i} of {n_tensors}; "
                                       "the file is damaged")
            if len(oo) != 1:
                raise self.fail(k, name, f"has {len(oo)} outputs", "operators with one output")
            rule = getattr(self, "op_" + name, None)
            if rule is None:
                kind = "custom op" if name not in self.builtin_names.values() else "operator"
                raise self.fail(k, name, f"this {kind} is not supported", SUPPORTED)
            lo, hi = ARITY[name]
            if not lo <= len(ii) <= hi:
                count = f"{lo}" + (f" to {hi}" if hi > lo else "") + (" inputs" if hi > 1 else " input")
                raise self.fail(k, name, f"has {len(ii)} inputs", f"{name} with {count}")
            absent = [j for j, i in enumerate(ii) if i < 0 and j not in OPTIONAL.get(name, ())]
            if absent:
                raise self.fail(k, name, f"its input {absent[0]} is absent (tensor index {ii[absent[0]]})",
                                f"a tensor for every required input of {name}")
            if oo[0] < 0 or oo[0] in written:
                raise self.fail(k, name, f"writes tensor {oo[0]}" + (f" ('{self.tshow(oo[0])}')" if oo[0] >= 0 else
                                                                     "") + ", " + written.get(oo[0], "no tensor"),
                                "each tensor written once, by one operator (the file is damaged)")
            written[oo[0]] = f"which operator {k} writes"
            self.act_code = 0
            rule(k, name, op, ii, oo[0])
            if oo[0] in self.padded:  # PAD: merged into its readers, checked there
                continue
            self.activation(k, name, oo[0])
            self.check_shape(k, name, oo[0])
        f.at = None
        if outp not in self.ir or outp in self.bits or outp in self.tab:
            raise UnsupportedModel(f"{f.path}: the output '{self.tshow(outp)}' is not a float tensor written by an "
                                   "operator")
        out = self.ir[outp]
        if not self.nodes:
            raise UnsupportedModel(f"{f.path}: the model has no operators")
        # a float tensor's int8 table (or the float computation a QUANTIZE replaced) that nothing reads: dropped
        live = {out}
        keep = []
        for n in reversed(self.nodes):
            if any(t in live for t in n.outputs):
                keep.append(n)
                live.update(n.inputs)
        self.nodes = keep[::-1]
        meta = {
            "source": str(f.path),
            "producer": f"TFLite schema v{version}" + (f" ({(m.Description() or b'').decode('utf-8', 'replace')})"
                                                      if m.Description() else ""),
            "opset": 0,
            "input_name": self.tname(inp),
            "output_name": self.tname(outp),
            "declared_batch": in_shape[0] if in_shape[0] > 0 else None,
            "onnx_input_shape": (1,) + tuple(in_shape[1:]),
            "metadata": {},
            "dialect": "lce-tflite",
            "int8_notes": list(self.int8_notes),
            # every IR tensor is the file's computation exactly: check probes them in the float graph
            "onnx_tensors": {t for n in self.nodes for t in n.outputs} - self.not_exact,
            "aliases": {},
        }
        if len(in_shape) == 4:
            meta["input_perm"] = [0, 3, 1, 2]
        return Graph(nodes=self.nodes, consts=self.consts, shapes=self.shapes, input=x, output=out, meta=meta)

    def check_shape(self, k, name, o):
        """The output's declared shape against what the operator computes (bitpacked: words of 32 channels)."""
        got = self.flat[o][1] if o in self.flat else self.shapes[self.ir[o]]
        want = self.ir_shape(o)
        if o in self.bits:
            C = got[1]
            got = got[:1] + (-(-C // 32),) + got[2:]
        if tuple(want) != tuple(got):
            raise self.fail(k, name, f"its output '{self.tshow(o)}' is declared {list(self.tshape(o))}, but the "
                            f"operator computes {list(got)} (N{'CHW' if len(got) == 4 else 'F'}, batch 1)",
                            "files whose tensor shapes agree with their operators")

    # ---- operators ----------------------------------------------------------------------------
    def float_in(self, k, name, i) -> str:
        x = self.act(k, name, i)
        if i in self.bits:
            raise self.fail(k, name, f"reads the bitpacked tensor '{self.tshow(i)}'",
                            "LceBconv2d, LceBMaxPool2d and LceDequantize on bitpacked tensors")
        if self.ttype(i) != "FLOAT32" or i in self.tab:
            raise self.fail(k, name, f"reads the {self.ttype(i)} tensor '{self.tshow(i)}'" +
                            (" (dequantized from int8)" if i in self.tab else ""),
                            "float32 tensors; int8 tensors on the way from the input or an LceBconv2d to "
                            "LceQuantize (the README's .tflite row lists them)")
        return x

    def bits_in(self, k, name, i) -> str:
        x = self.act(k, name, i)
        if i not in self.bits:
            raise self.fail(k, name, f"reads '{self.tshow(i)}', which is not an LCE bitpacked tensor",
                            "the output of LceQuantize, a bitpacked LceBconv2d or LceBMaxPool2d")
        return x

    def float_out(self, k, name, o):
        if self.ttype(o) != "FLOAT32":
            raise self.fail(k, name, f"writes {self.ttype(o)}", "float32 outputs; int8 tensors on the way from the "
                            "input or an LceBconv2d to LceQuantize (the README's .tflite row lists them)")

    def padded_in(self, k, name, i):
        """A float input that PAD may have written: (IR tensor, PAD's pads (t, l, b, r), PAD's value)."""
        if i in self.padded:
            return self.padded[i]
        return self.float_in(k, name, i), (0, 0, 0, 0), 0.0

    def conv_pads(self, k, name, x, ppads, pvalue, padding, KH, KW, sh, sw, dh, dw):
        """The pads of a convolution reading PAD's output: PAD's and its own SAME padding (computed on the
        padded map), one padding value."""
        H, W = self.shapes[x][2:]
        t, l, b, r = ppads
        own = self._window(k, name, x, padding, KH, KW, sh, sw, dh, dw, hw=(H + t + b, W + l + r))
        if any(own) and any(ppads) and pvalue != 0.0:
            raise self.fail(k, name, f"reads PAD of {pvalue:g} and pads with zeros itself (SAME)",
                            "one padding value per convolution")
        return tuple(a + c for a, c in zip(ppads, own))

    def conv_geometry(self, k, name, x, O, KH, KW, padding, strides, dilations, ppads=(0, 0, 0, 0), pvalue=0.0):
        """A convolution's strides and dilations checked, its pads (conv_pads: a PAD it reads merged with its own
        SAME padding) and its NCHW output shape (1, O, OH, OW), refused when empty."""
        (sh, sw), (dh, dw) = strides, dilations
        if min(sh, sw, dh, dw) < 1:
            raise self.fail(k, name, f"strides {(sh, sw)}, dilations {(dh, dw)}", "values >= 1")
        pads = self.conv_pads(k, name, x, ppads, pvalue, padding, KH, KW, sh, sw, dh, dw)
        H, W = self.shapes[x][2:]
        oh, ow = self._out_hw(H, W, pads, KH, KW, sh, sw, dh, dw)
        if oh < 1 or ow < 1:
            raise self.fail(k, name, "its output map is empty")
        return pads, (1, O, oh, ow)

    @staticmethod
    def builtin_window(opts):
        """(strides, dilations) of a builtin CONV_2D / DEPTHWISE_CONV_2D's options."""
        return (opts.StrideH(), opts.StrideW()), (opts.DilationHFactor(), opts.DilationWFactor())

    def bias_of(self, k, name, ii, O, per: str):
        """The optional bias (input 2) of a CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED: a constant float32 (O,)
        vector, or None when the operator has none."""
        if len(ii) <= 2 or ii[2] < 0:
            return None
        bias = self.const(ii[2])
        if bias is None or bias.shape != (O,) or bias.dtype != np.float32:
            raise self.fail(k, name, "its bias is not a constant float32 tensor of shape "
                            f"[{O}]" + (f" (shape {list(bias.shape)})" if bias is not None else ""),
                            f"one float32 bias per {per}")
        return bias

    def add_bias(self, k, name, o, y, bias, shape, origin) -> str:
        """y, or y plus bias as an Affine named after the output o."""
        if bias is None:
            return y
        return self.emit("Affine", self.tname(o), y, {"scale": np.ones(len(bias)), "bias": bias.astype(np.float64),
                                                      "origin": origin}, shape, name)

    def _pad(self, k, name, op, ii, o):
        x = self.float_in(k, name, ii[0])
        self.float_out(k, name, o)
        p = self.const(ii[1]) if len(ii) > 1 and ii[1] >= 0 else None
        if p is None or p.dtype.kind != "i":
            raise self.fail(k, name, "its paddings are not a constant integer tensor", "PAD with constant paddings")
        if len(self.shapes[x]) != 4 or p.shape != (4, 2) or np.any(p[0]) or np.any(p[3]) or np.any(p < 0):
            pp = p.tolist() if p.size <= 8 else short(p.reshape(-1).tolist())
            raise self.fail(k, name, f"paddings {pp} on a tensor of shape {list(self.tshape(ii[0]))}",
                            "PAD of the spatial axes (H, W) of an NHWC map by non-negative amounts")
        value = 0.0
        if name == "PADV2" and len(ii) > 2 and ii[2] >= 0:
            v = self.const(ii[2])
            if v is None or v.size != 1 or v.dtype.kind != "f":
                raise self.fail(k, name, "its constant_values is not a constant float scalar",
                                "PADV2 with a constant scalar value")
            value = float(v.reshape(-1)[0])
        (t, b), (l, r) = (int(v) for v in p[1]), (int(v) for v in p[2])
        C, H, W = self.shapes[x][1:]
        want = (1, C, H + t + b, W + l + r)
        if tuple(self.ir_shape(o)) != want:
            raise self.fail(k, name, f"its output '{self.tshow(o)}' is declared {list(self.tshape(o))}, but PAD "
                            f"computes {list(want)} (NCHW, batch 1)", "files whose tensor shapes agree with their "
                            "operators")
        readers = self.readers(o)
        bad = [r for r in readers if r not in ("CONV_2D", "DEPTHWISE_CONV_2D", "AVERAGE_POOL_2D")]
        if bad or not readers or o == self.outp:
            raise self.fail(k, name, f"its output is read by {', '.join(bad) if bad else 'no operator'}",
                            "PAD read only by CONV_2D, DEPTHWISE_CONV_2D or AVERAGE_POOL_2D (merged into their "
                            "padding)")
        self.padded[o] = (x, (t, l, b, r), value)

    def op_PAD(self, k, name, op, ii, o):
        self._pad(k, name, op, ii, o)

    def op_PADV2(self, k, name, op, ii, o):
        self._pad(k, name, op, ii, o)

    def op_LceQuantize(self, k, name, op, ii, o):
        if self.ttype(ii[0]) == "INT8" or ii[0] in self.tab:
            if self.ttype(o) != "INT32":
                raise self.fail(k, name, f"writes {self.ttype(o)}", "an int32 bitpacked output")
            if ii[0] in self.tab:
                return int8.lce_quantize_tab(self, k, name, ii, o)
            return int8.lce_quantize(self, k, name, ii, o)
        x = self.float_in(k, name, ii[0])
        if self.ttype(o) != "INT32":
            raise self.fail(k, name, f"writes {self.ttype(o)}", "an int32 bitpacked output")
        self.ir[o] = self.emit("Sign", self.tname(o), x, {"zero": "+1"}, self.shapes[x], name)
        self.bits.add(o)

    def op_LceDequantize(self, k, name, op, ii, o):
        x = self.bits_in(k, name, ii[0])
        self.float_out(k, name, o)
        self.ir[o] = x  # the canonical graph already holds the +-1 values

    def _window(self, k, name, x, padding, kh, kw, sh, sw, dh=1, dw=1, hw=None):
        H, W = hw or self.shapes[x][2:]
        if padding == self.tfl.Padding.SAME:
            # a window beyond twice the map has taps that only ever read padding (and the padding is materialized
            # in the float graph: a window of 2**31 would pad each map by gigabytes)
            ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
            if ekh > max(2 * H - 1, SAME_WINDOW_FLOOR) or ekw > max(2 * W - 1, SAME_WINDOW_FLOOR):
                raise self.fail(k, name, f"its {ekh}x{ekw} window (dilations included) with SAME padding on a "
                                f"{H}x{W} map", f"SAME windows up to twice the map (or {SAME_WINDOW_FLOOR})")
            t, b = _same_pads(H, kh, sh, dh)
            l, r = _same_pads(W, kw, sw, dw)
            return (t, l, b, r)
        if padding == self.tfl.Padding.VALID:
            return (0, 0, 0, 0)
        raise self.fail(k, name, f"padding {padding}", "SAME or VALID")

    def pool_hw(self, k, name, H, W, pads, kh, kw, sh, sw) -> tuple[int, int]:
        """A pool's output size, refused when empty (a window larger than the map)."""
        oh, ow = self._out_hw(H, W, pads, kh, kw, sh, sw)
        if oh < 1 or ow < 1:
            raise self.fail(k, name, f"its output map is empty (a {kh}x{kw} window on a {H}x{W} map)",
                            "windows that fit the (padded) map")
        return oh, ow

    @staticmethod
    def _out_hw(H, W, pads, kh, kw, sh, sw, dh=1, dw=1):
        t, l, b, r = pads
        return ((H + t + b - ((kh - 1) * dh + 1)) // sh + 1, (W + l + r - ((kw - 1) * dw + 1)) // sw + 1)

    def op_LceBconv2d(self, k, name, op, ii, o):
        opts = _custom_options(self.f, op, k, name)
        x = self.bits_in(k, name, ii[0])
        if len(ii) != 5:
            raise self.fail(k, name, f"has {len(ii)} inputs", "input, filter, multiplier, bias, thresholds")
        wp = self.const(ii[1])
        if wp is None or wp.dtype != np.int32 or wp.ndim != 4:
            raise self.fail(k, name, "its filter is not a constant int32 [O, KH, KW, words] tensor")
        C = self.shapes[x][1]
        cin = opts.int("channels_in", -1)
        O, KH, KW, words = wp.shape
        # grouped (Keras groups): channels_in stays the input's channels, the filter holds the words of one group's
        # channels. LCE's converter refuses a group of channels other than 32 k ("the number of input channels
        # per-group must be a multiple of 32"), so the words per tap give the group size; output o reads group
        # o // (O / G)
        if cin == C and words == -(-C // 32):
            G, cg = 1, C
        else:
            cg = 32 * words
            G = C // cg if cin == C and C % cg == 0 else 0
        if G < 1 or O % G:
            raise self.fail(k, name, f"channels_in {cin} with {words} filter words per tap for an input of {C} "
                            f"channels and {O} outputs", "channels_in = the input channels, ceil(channels_in / 32) "
                            "words per tap, or grouped: 32 k channels per group, the groups dividing the outputs")
        groups = opts.int("groups", G)  # LCE 0.16 writes none; a file that names one must agree with its filter
        if groups != G:
            raise self.fail(k, name, f"its groups option is {groups}, but its {words}-word filter taps on an input of "
                            f"{C} channels make {G} group{'s' if G != 1 else ''}",
                            "a groups option equal to the input channels / (32 x the filter words per tap)")
        self.fused_code(k, name, opts.int("fused_activation_function", 0))
        pad_value = opts.int("pad_values", 0)
        if pad_value not in (0, 1):
            raise self.fail(k, name, f"pad_values {pad_value}", "0 or 1")
        sh, sw = opts.int("stride_height", 1), opts.int("stride_width", 1)
        dh, dw = opts.int("dilation_height_factor", 1), opts.int("dilation_width_factor", 1)
        padding = opts.int("padding", self.tfl.Padding.VALID)
        pads, shape = self.conv_geometry(k, name, x, O, KH, KW, padding, (sh, sw), (dh, dw))
        # unpack: bit j of word w is channel 32 w + j, bit 1 = -1
        bits = np.unpackbits(wp.astype("<i4").view(np.uint8).reshape(O, KH, KW, words, 4), axis=-1,
                             bitorder="little").reshape(O, KH, KW, words * 32)[..., :cg]
        W = (1.0 - 2.0 * bits).transpose(0, 3, 1, 2).astype(np.float64)
        conv = self.emit("Conv", self.tname(o) + "/conv", x, {
            "W": W, "strides": (sh, sw), "dilations": (dh, dw), "pads": pads,
            "pad_value": float(pad_value), "group": G}, shape, name)
        otype = self.ttype(o)
        if otype == "FLOAT32":
            mul, bias = self.const(ii[2]), self.const(ii[3])
            if mul is None or bias is None or mul.shape != (O,) or bias.shape != (O,):
                raise self.fail(k, name, "its post-activation multiplier and bias are not constant float32 [O] "
                                "tensors")
            self.ir[o] = self.emit("Affine", self.tname(o), conv, {
                "scale": mul.astype(np.float64), "bias": bias.astype(np.float64), "origin": "LceBconv2d"},
                shape, name)
            int8.shadow_bconv(self, o, conv, mul, bias, KH * KW * cg)
        elif otype == "INT32":
            thr = self.const(ii[4]) if ii[4] >= 0 else None
            if thr is None or thr.shape != (O,) or thr.dtype != np.int32:
                raise self.fail(k, name, "writes bitpacked output without constant int32 [O] thresholds")
            if pad_value == 0 and any(pads):
                raise self.fail(k, name, "writes bitpacked output with zero padding",
                                "bitpacked output with VALID padding or pad_values 1")
            # bit = accum > thr, accum = popcount(x XOR w) over all K taps; the conv's +-1 output is K - 2 accum
            K = KH * KW * cg
            offset = -(K - 2 * thr.astype(np.float64))
            a = self.emit("Affine", self.tname(o) + "/threshold", conv, {
                "scale": np.ones(O), "bias": offset, "origin": "LceBconv2d threshold"}, shape, name)
            # y - (K - 2 thr) < 0 <=> accum > thr <=> bit 1 (-1); an exact 0 is +1
            self.ir[o] = self.emit("Sign", self.tname(o), a, {"zero": "+1"}, shape, name)
            self.bits.add(o)
        elif otype == "INT8":
            int8.bconv_int8(self, k, name, ii, o, conv, O, KH * KW * cg, pad_value, pads,
                            opts.int("fused_activation_function", 0), shape)
        else:
            raise self.fail(k, name, f"writes {otype}", "float32, int8 or bitpacked int32 output")

    def op_LceBMaxPool2d(self, k, name, op, ii, o):
        opts = _custom_options(self.f, op, k, name)
        x = self.bits_in(k, name, ii[0])
        if self.ttype(o) != "INT32":
            raise self.fail(k, name, f"writes {self.ttype(o)}", "an int32 bitpacked output")
        kh, kw = opts.int("filter_height", 0), opts.int("filter_width", 0)
        sh, sw = opts.int("stride_height", 0), opts.int("stride_width", 0)
        if min(kh, kw, sh, sw) < 1:
            raise self.fail(k, name, f"filter {(kh, kw)}, stride {(sh, sw)}", "sizes >= 1")
        pads = self._window(k, name, x, opts.int("padding", self.tfl.Padding.VALID), kh, kw, sh, sw)
        H, W = self.shapes[x][2:]
        shape = (1, self.shapes[x][1]) + self.pool_hw(k, name, H, W, pads, kh, kw, sh, sw)
        self.ir[o] = self.emit("MaxPool", self.tname(o), x, {"kernel": (kh, kw), "strides": (sh, sw),
                                                              "pads": pads}, shape, name)
        self.bits.add(o)

    def op_MAX_POOL_2D(self, k, name, op, ii, o):
        if self.ttype(ii[0]) == "INT8":
            return int8.maxpool_tab(self, k, name, op, ii, o)
        x = self.float_in(k, name, ii[0])
        self.float_out(k, name, o)
        opts = self.options(op, self.tfl.Pool2DOptions)
        self.fused(k, name, opts)
        kh, kw, sh, sw = opts.FilterHeight(), opts.FilterWidth(), opts.StrideH(), opts.StrideW()
        if min(kh, kw, sh, sw) < 1:
            raise self.fail(k, name, f"filter {(kh, kw)}, stride {(sh, sw)}", "sizes >= 1")
        pads = self._window(k, name, x, opts.Padding(), kh, kw, sh, sw)
        H, W = self.shapes[x][2:]
        shape = (1, self.shapes[x][1]) + self.pool_hw(k, name, H, W, pads, kh, kw, sh, sw)
        self.ir[o] = self.emit("MaxPool", self.tname(o), x, {"kernel": (kh, kw), "strides": (sh, sw),
                                                              "pads": pads}, shape, name)
        if ii[0] in self.shadow:
            int8.maxpool_tab(self, k, name, op, ii, o, shadow=True)

    def op_AVERAGE_POOL_2D(self, k, name, op, ii, o):
        x, ppads, pvalue = self.padded_in(k, name, ii[0])
        self.float_out(k, name, o)
        opts = self.options(op, self.tfl.Pool2DOptions)
        self.fused(k, name, opts)
        kh, kw, sh, sw = opts.FilterHeight(), opts.FilterWidth(), opts.StrideH(), opts.StrideW()
        if min(kh, kw, sh, sw) < 1:
            raise self.fail(k, name, f"filter {(kh, kw)}, stride {(sh, sw)}", "sizes >= 1")
        H, W = self.shapes[x][2:]
        t, l, b, r = ppads
        pads = self._window(k, name, x, opts.Padding(), kh, kw, sh, sw, hw=(H + t + b, W + l + r))
        include = 0
        if any(ppads):  # PAD's zeros are taps of the window: the mean over the whole window
            if pvalue != 0.0 or any(pads):
                raise self.fail(k, name, f"reads PAD of {pvalue:g}" + (" with SAME padding" if any(pads) else ""),
                                "AVERAGE_POOL_2D (VALID) after PAD of 0")
            pads, include = ppads, 1
        elif any(pads):
            # TFLite averages a border window over its valid taps only: a divisor per window the integer model
            # does not hold. Where only LceQuantize reads the result its sign is the sign of the window's sum,
            # so the pool counting the padded taps as zeros (a positive multiple of TFLite's) is exact.
            readers = self.readers(o)
            if not readers or o == self.outp or any(r != "LceQuantize" for r in readers):
                raise self.fail(k, name, f"SAME padding {list(pads)} (border windows averaged over their valid "
                                "taps) read by " + (", ".join(sorted(set(readers))) or "no operator"),
                                "AVERAGE_POOL_2D with SAME padding read only by LceQuantize, or without padding")
            include = 1
        shape = (1, self.shapes[x][1]) + self.pool_hw(k, name, H, W, pads, kh, kw, sh, sw)
        y = self.emit("AvgPool", self.tname(o), x, {"kernel": (kh, kw), "strides": (sh, sw), "pads": pads,
                                                     "count_include_pad": include}, shape, name)
        if include and not any(ppads):
            self.not_exact.add(y)  # its signs are the file's, its values the window sums / (kh kw)
        self.ir[o] = y

    def op_MEAN(self, k, name, op, ii, o):
        x = self.float_in(k, name, ii[0])
        self.float_out(k, name, o)
        axes = self.const(ii[1]) if len(ii) > 1 else None
        if len(self.shapes[x]) != 4 or axes is None or sorted(int(a) % 4 for a in axes.reshape(-1)) != [1, 2]:
            raise self.fail(k, name, f"averages over axes {None if axes is None else short(axes.reshape(-1).tolist())}",
                            "MEAN over the spatial axes (1, 2) of an NHWC map (global average pooling)")
        keep = self.options(op, self.tfl.ReducerOptions).KeepDims()
        C, H, W = self.shapes[x][1:]
        base = self.tname(o)
        y = self.emit("AvgPool", base + ("" if keep else "/pool"), x, {
            "kernel": (H, W), "strides": (1, 1), "pads": (0, 0, 0, 0), "count_include_pad": 0, "global": True},
            (1, C, 1, 1), name)
        if not keep:
            y = self.emit("Flatten", base, y, {"perm": None}, (1, C), name)
        self.ir[o] = y

    def op_QUANTIZE(self, k, name, op, ii, o):
        if ii and (ii[0] in self.tab or ii[0] in self.shadow):
            return int8.quantize_tab(self, k, name, ii, o)
        int8.op_QUANTIZE(self, k, name, op, ii, o)

    def op_DEQUANTIZE(self, k, name, op, ii, o):
        if ii and ii[0] in self.tab:
            self.float_out(k, name, o)
            return int8.dequantize_tab(self, k, name, ii, o)
        int8.op_DEQUANTIZE(self, k, name, op, ii, o)

    def op_CONV_2D(self, k, name, op, ii, o):
        if self.ttype(ii[0]) == "INT8":
            return self._conv2d_int8(k, name, op, ii, o)
        x, ppads, pvalue = self.padded_in(k, name, ii[0])
        self.float_out(k, name, o)
        opts = self.options(op, self.tfl.Conv2DOptions)
        self.fused(k, name, opts)
        W = self.const(ii[1])
        C = self.shapes[x][1]
        if W is None or W.dtype != np.float32 or W.ndim != 4 or W.shape[3] != C:
            raise self.fail(k, name, f"its filter is not a constant float32 [O, KH, KW, {C}] tensor",
                            "float weights (groups = 1)")
        O, KH, KW, _ = W.shape
        strides, dilations = self.builtin_window(opts)
        pads, shape = self.conv_geometry(k, name, x, O, KH, KW, opts.Padding(), strides, dilations, ppads, pvalue)
        bias = self.bias_of(k, name, ii, O, "channel")
        y = self.emit("Conv", self.tname(o) + ("/conv" if bias is not None else ""), x, {
            "W": W.transpose(0, 3, 1, 2).astype(np.float64), "strides": strides, "dilations": dilations,
            "pads": pads, "pad_value": pvalue if any(ppads) else 0.0, "group": 1}, shape, name)
        self.ir[o] = self.add_bias(k, name, o, y, bias, shape, "CONV_2D bias")

    def _conv2d_int8(self, k, name, op, ii, o):
        x = self.act(k, name, ii[0])
        opts = self.options(op, self.tfl.Conv2DOptions)
        W = self.const(ii[1])
        if W is None or W.ndim != 4:
            raise self.fail(k, name, "its filter is not a constant [O, KH, KW, C] tensor")
        O, KH, KW, _ = W.shape
        pads, shape = self.conv_geometry(k, name, x, O, KH, KW, opts.Padding(), *self.builtin_window(opts))
        int8.conv2d(self, k, name, op, ii, o, opts, pads, shape)

    def op_FULLY_CONNECTED(self, k, name, op, ii, o):
        x = self.float_in(k, name, ii[0])
        self.float_out(k, name, o)
        opts = self.options(op, self.tfl.FullyConnectedOptions)
        self.fused(k, name, opts)
        if opts.WeightsFormat() != 0 or opts.KeepNumDims():
            raise self.fail(k, name, "shuffled weights or keep_num_dims", "the default weights format, 2-D output")
        if len(self.shapes[x]) != 2:
            raise self.fail(k, name, f"reads a tensor of shape {list(self.tshape(ii[0]))}",
                            "a (N, features) input (a RESHAPE before it)")
        W = self.const(ii[1])
        F = self.shapes[x][1]
        if W is None or W.dtype != np.float32 or W.ndim != 2 or W.shape[1] != F:
            raise self.fail(k, name, f"its weights are not a constant float32 [units, {F}] tensor")
        O = W.shape[0]
        bias = self.bias_of(k, name, ii, O, "unit")
        y = self.emit("Dense", self.tname(o) + ("/matmul" if bias is not None else ""), x,
                      {"W": W.astype(np.float64)}, (1, O), name)
        self.ir[o] = self.add_bias(k, name, o, y, bias, (1, O), "FULLY_CONNECTED bias")

    def _arith(self, k, name, op, ii, o, cls):
        if any(i in self.tab for i in ii):
            opts = self.options(op, cls)
            int8.no_activation(self, k, name, opts.FusedActivationFunction())
            consts = [self.const(i) for i in ii]
            if len(ii) != 2 or sum(c is None for c in consts) != 1:
                raise self.fail(k, name, "combines two activations, one dequantized from int8",
                                "one activation and one constant")
            return int8.arith_tab(self, k, name, op, ii, o, consts)
        self.float_out(k, name, o)
        opts = self.options(op, cls)
        self.fused(k, name, opts)
        consts = [self.const(i) for i in ii]
        acts = [i for i, c in zip(ii, consts) if c is None]
        if name == "ADD" and len(acts) == 2 and len(ii) == 2:  # a residual connection: two real tensors
            a, b = (self.float_in(k, name, i) for i in acts)
            if self.shapes[a] != self.shapes[b]:
                raise self.fail(k, name, f"adds tensors of shapes {list(self.tshape(acts[0]))} and "
                                f"{list(self.tshape(acts[1]))}", "ADD of two tensors of the same shape")
            out = self.fresh(self.tname(o))
            self.nodes.append(Node("Sum", out, [a, b], [out], {"onnx_op": name}))
            self.shapes[out] = self.shapes[a]
            self.ir[o] = out
            return
        if len(acts) != 1 or len(ii) != 2:
            raise self.fail(k, name, f"combines {len(acts)} activations",
                            "one activation and one constant (a folded BatchNorm, a bias)")
        x = self.float_in(k, name, acts[0])
        c = next(c for c in consts if c is not None)
        C = self.shapes[x][1]
        if c.dtype != np.float32:
            raise self.fail(k, name, f"its constant is {c.dtype}", "a float32 constant")
        if c.size == 1:
            v = np.full(C, float(c.reshape(-1)[0]))
        elif c.shape[-1] == C and c.size == C:  # per channel: TFLite broadcasts along the last (channel) axis
            v = c.reshape(-1).astype(np.float64)
        else:
            raise self.fail(k, name, f"its constant has shape {list(c.shape)} for {C} channels",
                            "a scalar or one value per channel")
        scale, bias = (v, np.zeros(C)) if name == "MUL" else (np.ones(C), v)
        self.ir[o] = self.emit("Affine", self.tname(o), x, {"scale": scale, "bias": bias, "origin": name},
                               self.shapes[x], name)
        if acts[0] in self.shadow:
            int8.arith_tab(self, k, name, op, ii, o, consts, shadow=True)

    def op_MUL(self, k, name, op, ii, o):
        self._arith(k, name, op, ii, o, self.tfl.MulOptions)

    def op_ADD(self, k, name, op, ii, o):
        self._arith(k, name, op, ii, o, self.tfl.AddOptions)

    def op_RESHAPE(self, k, name, op, ii, o):
        if ii and ii[0] in self.tab:
            return int8.reshape_tab(self, k, name, ii, o)
        x = self.float_in(k, name, ii[0])
        self.float_out(k, name, o)
        s_in, s_out = self.tshape(ii[0]), self.tshape(o)
        n_in = int(np.prod(self.shapes[x][1:]))
        if len(s_out) != 2 or s_out[1] != n_in:
            raise self.fail(k, name, f"reshapes {list(s_in)} to {list(s_out)}",
                            "flattening to (N, features) before FULLY_CONNECTED")
        if len(self.shapes[x]) == 2:
            self.ir[o] = x
            return
        # TFLite flattens its NHWC map in H, W, C order; the IR map is NCHW
        perm = [0, 2, 3, 1] if len(self.shapes[x]) == 4 else None
        self.ir[o] = self.emit("Flatten", self.tname(o), x, {"perm": perm}, (1, n_in), name)
        if ii[0] in self.shadow:
            int8.reshape_shadow(self, ii, o)

    def op_DEPTHWISE_CONV_2D(self, k, name, op, ii, o):
        """``Conv`` with group = C: TFLite's [1, KH, KW, C * M] filter, output channel c M + m reading input
        channel c, as OIHW (C M, 1, KH, KW)."""
        x, ppads, pvalue = self.padded_in(k, name, ii[0])
        self.float_out(k, name, o)
        opts = self.options(op, self.tfl.DepthwiseConv2DOptions)
        self.fused(k, name, opts)
        W = self.const(ii[1]) if len(ii) > 1 and ii[1] >= 0 else None
        C = self.shapes[x][1]
        if len(self.shapes[x]) != 4 or W is None or W.dtype != np.float32 or W.ndim != 4 or W.shape[0] != 1 or \
                W.shape[3] % C:
            raise self.fail(k, name, f"its filter is not a constant float32 [1, KH, KW, {C} * multiplier] tensor")
        _, KH, KW, O = W.shape
        strides, dilations = self.builtin_window(opts)
        pads, shape = self.conv_geometry(k, name, x, O, KH, KW, opts.Padding(), strides, dilations, ppads, pvalue)
        bias = self.bias_of(k, name, ii, O, "channel")
        y = self.emit("Conv", self.tname(o) + ("/conv" if bias is not None else ""), x, {
            "W": W[0].transpose(2, 0, 1)[:, None].astype(np.float64), "strides": strides, "dilations": dilations,
            "pads": pads, "pad_value": pvalue if any(ppads) else 0.0, "group": C}, shape, name)
        self.ir[o] = self.add_bias(k, name, o, y, bias, shape, "DEPTHWISE_CONV_2D bias")

    def op_CONCATENATION(self, k, name, op, ii, o):
        """``Concat`` on the channel axis (the last of an NHWC map) of float activations."""
        self.float_out(k, name, o)
        opts = self.options(op, self.tfl.ConcatenationOptions)
        self.fused(k, name, opts)
        xs = [self.float_in(k, name, i) for i in ii]
        rank = len(self.tshape(ii[0])) if ii else 0
        axis = opts.Axis()
        shapes = [self.shapes[x] for x in xs]
        if rank != 4 or axis % 4 != 3 or len(xs) < 2 or any(len(s) != 4 or s[2:] != shapes[0][2:] for s in shapes):
            raise self.fail(k, name, f"concatenates {len(xs)} tensors of shapes "
                            f"{short(list(self.tshape(i)) for i in ii)} on axis {axis}",
                            "CONCATENATION of two or more NHWC maps of one size on the channel axis (3 or -1)")
        out = self.fresh(self.tname(o))
        self.nodes.append(Node("Concat", out, list(xs), [out], {"onnx_op": name}))
        self.shapes[out] = (1, sum(s[1] for s in shapes)) + tuple(shapes[0][2:])
        self.ir[o] = out

    def op_SOFTMAX(self, k, name, op, ii, o):
        """The model's output only: ``Softmax`` (beta) over the classes, applied on the host after the output
        layer's affine."""
        x = self.float_in(k, name, ii[0])
        self.float_out(k, name, o)
        beta = float(self.options(op, self.tfl.SoftmaxOptions).Beta())
        if o != self.outp or len(self.shapes[x]) != 2 or not (np.isfinite(beta) and beta > 0):
            raise self.fail(k, name, f"softmax with beta {beta:g} on {list(self.tshape(ii[0]))}" +
                            ("" if o == self.outp else " inside the model"),
                            "SOFTMAX (beta > 0) of an (N, classes) tensor as the model's output")
        self.ir[o] = self.emit("Softmax", self.tname(o), x, {"beta": beta}, self.shapes[x], name)


def import_tflite(path) -> Graph:
    """Read the .tflite file at ``path`` into the canonical float graph (see the module's table)."""
    path = check_file(path, "a .tflite file")
    f = _File(path)
    imp = _Importer(f)
    # a FlatBuffers accessor reading past the end of a truncated or damaged file: one line, with the byte
    return f.guard(imp.run, "the model")
