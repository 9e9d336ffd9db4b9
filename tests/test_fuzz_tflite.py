"""Hostile .tflite files: the holes a structural fuzzer found in the TFLite frontend, one regression per class.

Each case starts from a trained fixture (tests/fixtures/lce_*.tflite) and patches its FlatBuffer the way the
fuzzer did -- an operator's inputs cut or absent, options of the wrong kind or of the wrong type, a tensor
written twice, names and shape vectors of any length and bytes, int8 scales whose arithmetic overflows -- and
the file must be refused in ONE short, printable line naming the file and the operator (and, through the
command line, exit code 2 with no traceback). Before the fixes these were a "damaged file" message that
named nothing (an IndexError or TypeError masked as a read error), a file silently read with other options
than TFLite's, a NumPy overflow reaching an int8 table, or a ValueError traceback from the lowering.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinybnn.errors import TinyBnnError
from tinybnn.model import float_graph

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures"
NAMES = sorted(p.stem for p in FIX.glob("lce_*.tflite"))


# ---- FlatBuffer patching (the tflite package's accessors give the byte positions) ------------------------------
def _model(buf):
    import tflite

    return tflite.Model.GetRootAsModel(bytes(buf), 0)


def _field(table, slot: int) -> int:
    """The byte position of a table's field (vtable slot ``slot``), which must be present."""
    o = table._tab.Offset(4 + 2 * slot)
    assert o, f"field {slot} absent"
    return table._tab.Pos + o


def _vector(table, slot: int) -> int:
    """The byte position of a vector field's first element (its length is the uint32 before it)."""
    return table._tab.Vector(table._tab.Offset(4 + 2 * slot))


def _redirect(buf: bytearray, field: int, payload: bytes) -> None:
    """Point the offset field at ``field`` to ``payload`` (a vector or string with its length), appended."""
    while len(buf) % 8:
        buf.append(0)
    at = len(buf)
    buf += payload
    struct.pack_into("<I", buf, field, at - field)


def _op_name(m, op) -> str:
    import tflite

    oc = m.OperatorCodes(op.OpcodeIndex())
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    return oc.CustomCode().decode() if oc.CustomCode() else names[max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())]


def _find(m, name: str, nth: int = 0) -> int:
    sg = m.Subgraphs(0)
    return [k for k in range(sg.OperatorsLength()) if _op_name(m, sg.Operators(k)) == name][nth]


def _write(tmp_path, buf, name="hostile.tflite") -> Path:
    p = tmp_path / name
    p.write_bytes(bytes(buf))
    return p


def _fixture(name: str):
    """A fixture's bytes, to patch, and its parsed model."""
    buf = bytearray((FIX / f"{name}.tflite").read_bytes())
    return buf, _model(buf)


def _cli_error(*args) -> str:
    """The command line's error for these arguments: exit code 2, one line, no traceback."""
    r = subprocess.run([sys.executable, "-m", "tinybnn", *map(str, args)], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("tinybnn: error: "), r.stderr
    return r.stderr.strip()


def _refused(p: Path, match: str, cli: bool = False) -> str:
    with pytest.raises(TinyBnnError, match=match) as e:
        float_graph(p)
    msg = str(e.value)
    assert "\n" not in msg and str(p) in msg and len(msg) < 600 and msg.isprintable(), msg
    if cli:
        _cli_error("inspect", p)
    return msg


# ---- every operator of every fixture: inputs cut, a required input absent, options of the wrong kind ----------
def _ops(name):
    m = _model((FIX / f"{name}.tflite").read_bytes())
    sg = m.Subgraphs(0)
    return [(name, k, _op_name(m, sg.Operators(k))) for k in range(sg.OperatorsLength())]


OPS = [c for n in NAMES for c in _ops(n)]


@pytest.mark.parametrize("name,k,op", OPS, ids=[f"{n}-{k}-{o}" for n, k, o in OPS])
def test_every_operator_with_its_inputs_cut_or_absent(tmp_path, name, k, op):
    """Operator k with no inputs, then with input 0 absent (-1): refused naming the operator, its op and
    what it needs (once an IndexError masked as 'the file is damaged', or a read of tensor -1's garbage)."""
    good = (FIX / f"{name}.tflite").read_bytes()
    o = _model(good).Subgraphs(0).Operators(k)
    vec = _vector(o, 1)  # Operator.inputs
    cut = bytearray(good)
    struct.pack_into("<I", cut, vec - 4, 0)
    absent = bytearray(good)
    struct.pack_into("<i", absent, vec, -1)
    # an earlier operator may be refused first: it looks ahead at its readers (a PAD, an int8 CONV_2D)
    for buf, want in ((cut, f"operator {k} ({op}): has 0 inputs; supported: {op} with "),
                      (absent, f"operator {k} ({op}): its input 0 is absent (tensor index -1)")):
        msg = _refused(_write(tmp_path, buf), r"operator \d+ \(")
        assert int(msg.split(": operator ")[1].split(" ")[0]) < k or want in msg, msg


BUILTIN_WITH_OPTIONS = [c for c in OPS if c[2] in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D",
                                                    "AVERAGE_POOL_2D", "MUL", "ADD", "CONCATENATION", "SOFTMAX")]


@pytest.mark.parametrize("name,k,op", BUILTIN_WITH_OPTIONS, ids=[f"{n}-{k}-{o}" for n, k, o in BUILTIN_WITH_OPTIONS])
def test_builtin_options_of_the_wrong_kind(tmp_path, name, k, op):
    """The options' declared type changed (to the options of RESHAPE): TFLite would not read them as the op's;
    tinybnn read the table as the op's options regardless, silently. Now one line."""
    import tflite

    buf = bytearray((FIX / f"{name}.tflite").read_bytes())
    o = _model(buf).Subgraphs(0).Operators(k)
    buf[_field(o, 3)] = tflite.BuiltinOptions.ReshapeOptions  # Operator.builtin_options_type
    _refused(_write(tmp_path, buf), rf"operator {k} \({op}\): its builtin options are ReshapeOptions; supported: "
                                    r"\w+Options \(the file is damaged\)")


# ---- LCE's custom options of another type than an integer --------------------------------------------------
@pytest.mark.parametrize("key,value,shown", [
    ("channels_in", "x", "'x'"),
    ("dilation_height_factor", [1, 2], r"\[1, 2\]"),
    ("stride_width", 2**40, str(2**40)),
    ("pad_values", 1.5, "1.5"),
    ("padding", None, "None"),
])
def test_lce_option_of_another_type(tmp_path, key, value, shown):
    """A FlexBuffer option that is a string, list, float, None or beyond int32 (once a TypeError or
    ValueError masked as a damaged file, or a silent int() of a float)."""
    from flatbuffers import flexbuffers

    buf, m = _fixture("lce_cnn")
    k = _find(m, "LceBconv2d")
    op = m.Subgraphs(0).Operators(k)
    opts = flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())
    opts[key] = value
    data = flexbuffers.Dumps(opts)
    _redirect(buf, _field(op, 5), struct.pack("<I", len(data)) + data)  # Operator.custom_options
    _refused(_write(tmp_path, buf), rf"operator {k} \(LceBconv2d\): its custom option '{key}' is {shown}; "
                                    r"supported: an int32 value", cli=key == "channels_in")


def test_lce_pool_window_larger_than_the_map(tmp_path):
    """An LceBMaxPool2d window of 99 on a 8x8 map: an empty output, refused where it is computed."""
    from flatbuffers import flexbuffers

    buf, m = _fixture("lce_bitpacked")
    k = _find(m, "LceBMaxPool2d")
    op = m.Subgraphs(0).Operators(k)
    raw = op.CustomOptionsAsNumpy().tobytes()
    opts = flexbuffers.Loads(raw)
    opts["filter_height"] = 99
    new = flexbuffers.Dumps(opts)
    assert len(new) == len(raw)
    at = _vector(op, 5)
    buf[at:at + len(new)] = new
    _refused(_write(tmp_path, buf), rf"operator {k} \(LceBMaxPool2d\): its output map is empty \(a 99x2 window on "
                                    r"a 8x8 map\)")


def test_lce_bmaxpool_writing_float(tmp_path):
    """LceBMaxPool2d's bitpacked output declared FLOAT32: LCE refuses it; tinybnn read it as bits, silently."""
    buf, m = _fixture("lce_bitpacked")
    k = _find(m, "LceBMaxPool2d")
    t = m.Subgraphs(0).Tensors(int(m.Subgraphs(0).Operators(k).OutputsAsNumpy()[0]))
    buf[_field(t, 1)] = 0  # Tensor.type: FLOAT32
    _refused(_write(tmp_path, buf), rf"operator {k} \(LceBMaxPool2d\): writes FLOAT32; supported: an int32 "
                                    r"bitpacked output")


@pytest.mark.parametrize("name,op,value", [("lce_dscnn", "AVERAGE_POOL_2D", 2**31 - 1),
                                           ("lce_cnn", "MAX_POOL_2D", 40), ("lce_cnn", "LceBconv2d", 2**30)])
def test_same_window_far_beyond_the_map(tmp_path, name, op, value):
    """A SAME window (a filter width, or an LceBconv2d dilation) of up to 2**31 on a small map: TFLite pads
    it; the float graph materialized that padding -- tinybnn check tried to allocate 33 TiB (a MemoryError
    traceback)."""
    import tflite
    from flatbuffers import flexbuffers

    buf, m = _fixture(name)
    k = _find(m, op)
    o = m.Subgraphs(0).Operators(k)
    if op == "LceBconv2d":
        opts = flexbuffers.Loads(o.CustomOptionsAsNumpy().tobytes())
        opts.update(padding=tflite.Padding.SAME, pad_values=1, dilation_width_factor=value)
        data = flexbuffers.Dumps(opts)
        _redirect(buf, _field(o, 5), struct.pack("<I", len(data)) + data)
    else:
        t = o.BuiltinOptions()
        opts = tflite.Pool2DOptions()
        opts.Init(t.Bytes, t.Pos)
        struct.pack_into("<i", buf, _field(opts, 3), value)  # FilterWidth
        if opts._tab.Offset(4):
            struct.pack_into("<b", buf, _field(opts, 0), tflite.Padding.SAME)
    p = _write(tmp_path, buf)
    _refused(p, rf"operator {k} \({op}\): its \d+x\d+ window \(dilations included\) with SAME padding on a "
                r"\d+x\d+ map; supported: SAME windows up to twice the map")
    _cli_error("check", p, "--data", FIX / f"{name}.npz")


# ---- the graph: a tensor written twice, the input overwritten --------------------------------------------------
def test_tensor_written_twice(tmp_path):
    good = (FIX / "lce_cnn.tflite").read_bytes()
    m = _model(good)
    sg = m.Subgraphs(0)
    first = int(sg.Operators(3).OutputsAsNumpy()[0])
    buf = bytearray(good)
    struct.pack_into("<i", buf, _vector(sg.Operators(4), 2), first)  # operator 4's output := operator 3's
    _refused(_write(tmp_path, buf), rf"operator 4 \(ADD|MUL\): writes tensor {first} \('.*'\), which operator 3 "
                                    r"writes; supported: each tensor written once", cli=True)
    buf = bytearray(good)
    inp = int(sg.InputsAsNumpy()[0])
    struct.pack_into("<i", buf, _vector(sg.Operators(0), 2), inp)  # operator 0 writes the model's input
    _refused(_write(tmp_path, buf), rf"operator 0 \(CONV_2D\): writes tensor {inp} \('.*'\), the model's input")


# ---- names and shape vectors of any length and bytes ----------------------------------------------------------
def test_names_of_any_bytes_stay_one_short_printable_line(tmp_path):
    good = (FIX / "lce_cnn.tflite").read_bytes()
    m = _model(good)
    k = _find(m, "LceBconv2d")
    code = m.OperatorCodes(m.Subgraphs(0).Operators(k).OpcodeIndex())
    buf = bytearray(good)
    name = b"\x1b[31m" + b"a" * 5000 + b"\x00\r\n"
    _redirect(buf, _field(code, 1), struct.pack("<I", len(name)) + name + b"\x00")  # OperatorCode.custom_code
    msg = _refused(_write(tmp_path, buf), rf"operator {k} \(\\x1b\[31maaaa.*\.\.\.\): this custom op is not "
                                          r"supported", cli=True)
    assert "\x1b" not in msg
    # the input's name: control characters shown escaped in the message about it
    buf = bytearray(good)
    sg = m.Subgraphs(0)
    t = sg.Tensors(int(sg.InputsAsNumpy()[0]))
    name = b"in\nput\x07"
    _redirect(buf, _field(t, 3), struct.pack("<I", len(name)) + name + b"\x00")  # Tensor.name
    struct.pack_into("<i", buf, _vector(t, 0) + 4, 0)  # its shape [1, 0, 8, 1]
    _refused(_write(tmp_path, buf), r"input 'in\\nput\\x07' has shape \[1, 0, 8, 1\]; supported")


def test_shape_vector_of_hundreds_of_dimensions(tmp_path):
    """A shape of 300 dimensions (a damaged length): refused by count, not printed (it was 10,000s of chars)."""
    good = (FIX / "lce_dscnn.tflite").read_bytes()
    m = _model(good)
    sg = m.Subgraphs(0)
    o = int(sg.Operators(1).OutputsAsNumpy()[0])
    buf = bytearray(good)
    _redirect(buf, _field(sg.Tensors(o), 0), struct.pack("<I", 300) + struct.pack("<300i", *([2] * 300)))
    _refused(_write(tmp_path, buf), rf"tensor {o} \('.*'\) declares 300 dimensions; supported: at most 8")


# ---- int8: scales whose arithmetic overflows --------------------------------------------------------------------
def _set_scale(buf, i: int, value: float) -> None:
    q = _model(buf).Subgraphs(0).Tensors(i).Quantization()
    struct.pack_into("<f", buf, _vector(q, 2), value)  # QuantizationParameters.scale[0]


def test_int8_conv_rescale_beyond_int32(tmp_path):
    """The int8 CONV_2D's output scale 1e-40 (finite, positive): its multiplier s_in s_w / s_out ~ 1e35 would
    shift TFLite's int32 accumulator far out of range (an OverflowError masked as a damaged file, or int64
    products wrapping silently)."""
    buf, m = _fixture("lce_cnn_int8")
    _set_scale(buf, int(m.Subgraphs(0).Operators(0).OutputsAsNumpy()[0]), 1e-40)
    _refused(_write(tmp_path, buf), r"operator 0 \(CONV_2D\): its requantization rescales by .*e\+\d+, which "
                                    r"overflows TFLite's int32 arithmetic", cli=True)


@pytest.mark.parametrize("name,op", [("lce_cnn_int8", "LceBconv2d"), ("lce_cnn_int8_float_in", "QUANTIZE")])
def test_int8_table_overflowing_float32(tmp_path, name, op):
    """An int8 output scale of 1e-44: LceBconv2d's float32 output transform (mul / scale), or QUANTIZE's
    x / scale, overflows to infinity; the int8 table was then cast from inf/NaN (a RuntimeWarning and an
    arbitrary code) -- now refused."""
    import warnings

    buf, m = _fixture(name)
    sg = m.Subgraphs(0)
    ks = [k for k in range(sg.OperatorsLength()) if _op_name(m, sg.Operators(k)) == op]
    k = ks[-1] if op == "QUANTIZE" else ks[0]  # the QUANTIZE of a float LceBconv2d's table, not of the input
    _set_scale(buf, int(sg.Operators(k).OutputsAsNumpy()[0]), 1e-44)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _refused(_write(tmp_path, buf), rf"operator {k} \({op}\): its float32 values overflow \(infinity or NaN\)")


# ---- the lowering: a real-valued layer whose requantization cannot be represented -----------------------------
def test_requantization_out_of_range_is_one_line(tmp_path):
    """A float CONV_2D bias of 1e30 on QuickNet's residual stream: no 30-bit multiplier and 62-bit offset
    hold it (a ValueError traceback from tinybnn/ir/requant.py before)."""
    buf, m = _fixture("lce_quicknet")
    sg = m.Subgraphs(0)
    k = _find(m, "CONV_2D", 1)
    b = sg.Tensors(int(sg.Operators(k).InputsAsNumpy()[2]))
    data = _vector(m.Buffers(b.Buffer()), 0)
    n = int(np.prod(b.ShapeAsNumpy()))
    struct.pack_into(f"<{n}f", buf, data, *([1e30] * n))
    line = _cli_error("inspect", _write(tmp_path, buf))
    assert "(CONV_2D): its requantization" in line and "does not fit a 30-bit multiplier" in line, line


@pytest.mark.parametrize("groups,refused", [(1, False), (2, True), (0, True)])
def test_lce_groups_option_agrees_with_the_filter(tmp_path, groups, refused):
    """LCE 0.16 writes no 'groups' option (the group count comes from the filter's words per tap); a file that
    names one is read only when it agrees: an ungrouped LceBconv2d saying groups 2 (or 0) is refused in one
    line, saying 1 is the same model."""
    from flatbuffers import flexbuffers

    buf, m = _fixture("lce_cnn")
    k = _find(m, "LceBconv2d")
    op = m.Subgraphs(0).Operators(k)
    opts = flexbuffers.Loads(op.CustomOptionsAsNumpy().tobytes())
    assert "groups" not in opts
    opts["groups"] = groups
    data = flexbuffers.Dumps(opts)
    _redirect(buf, _field(op, 5), struct.pack("<I", len(data)) + data)  # Operator.custom_options
    p = _write(tmp_path, buf)
    if refused:
        _refused(p, rf"operator {k} \(LceBconv2d\): its groups option is {groups}, but its 1-word filter taps on "
                    r"an input of \d+ channels make 1 group; supported: a groups option equal to", cli=groups == 2)
    else:
        g = float_graph(p)
        assert len(g.nodes) == len(float_graph(FIX / "lce_cnn.tflite").nodes)
