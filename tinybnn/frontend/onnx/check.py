"""Pass 0a: validate an ONNX model before any of it is used.

Runs on the parsed ``ModelProto`` before :mod:`tinybnn.frontend.onnx.importer` reads it into the IR, in this
order, so that nothing is allocated from a size the file merely declares:

1. versions: IR version, opset of the default domain, op domains (what tinybnn supports, said in the error);
2. external data: every tensor stored beside the model lies inside the model's folder, in a regular file,
   and its byte range matches the tensor's dims (checked by :func:`check_external_data` before loading);
3. tensors: every initializer and constant's declared dims match the bytes it holds; element types are
   numeric; parameters are finite;
4. the graph: unique initializer and tensor names, every node has an output, the one graph output is
   produced by a node and every node feeds it (no dead or dangling part);
5. ``onnx.checker.check_model(full_check=True)``: schemas, attribute types, shape inference;
6. the attributes tinybnn reads from custom-domain (QONNX) ops, and the values of the ONNX ones the
   checker lets through (stride 0, negative pads).

Every failure raises :class:`tinybnn.errors.UnsupportedModel` with one line naming the file, the node or
tensor, and what is supported.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import numpy as np

from ...errors import UnsupportedModel
from ...plumbing import describe_mode

QONNX_DOMAINS = ("qonnx.custom_op.general", "finn.custom_op.general", "onnx.brevitas")
QONNX_VERSIONS = (1, 2)
MIN_OPSET = 9  # Sign and Where exist, BatchNormalization has lost its `spatial` attribute
MIN_IR = 3  # the first IR version with opset imports
MAX_INPUT_ELEMS = 1 << 24  # per sample; the largest input a microcontroller model is given


def max_opset() -> int:
    import onnx

    return int(onnx.defs.onnx_opset_version())


def max_ir() -> int:
    import onnx

    return int(onnx.IR_VERSION)


def supported_versions() -> str:
    return (f"IR versions {MIN_IR} to {max_ir()}, default-domain opsets {MIN_OPSET} to {max_opset()}, "
            f"QONNX domains ({', '.join(QONNX_DOMAINS)}) versions {QONNX_VERSIONS[0]} to {QONNX_VERSIONS[-1]}")


# element types tinybnn reads: TensorProto data type -> (name, bytes per element, typed field)
_NUMERIC = {
    1: ("float32", 4, "float_data"),
    2: ("uint8", 1, "int32_data"),
    3: ("int8", 1, "int32_data"),
    4: ("uint16", 2, "int32_data"),
    5: ("int16", 2, "int32_data"),
    6: ("int32", 4, "int32_data"),
    7: ("int64", 8, "int64_data"),
    9: ("bool", 1, "int32_data"),
    10: ("float16", 2, "int32_data"),
    11: ("float64", 8, "double_data"),
    12: ("uint32", 4, "uint64_data"),
    13: ("uint64", 8, "uint64_data"),
}
_FLOATS = (1, 10, 11)
SUPPORTED_TYPES = "float32, float16, float64, int8..int64, uint8..uint64, bool"


def _type_name(dt: int) -> str:
    import onnx

    try:
        return onnx.TensorProto.DataType.Name(dt)
    except ValueError:
        return f"unknown type {dt}"


def _node_label(n, i: int) -> str:
    op = f"{n.domain}.{n.op_type}" if n.domain and n.domain != "ai.onnx" else n.op_type
    return f"node '{n.name or f'{n.op_type}_{i}'}' ({op})"


def _fail(path, what: str, supported: str | None = None) -> UnsupportedModel:
    msg = f"{path}: {what}"
    if supported:
        msg += f"; supported: {supported}"
    return UnsupportedModel(msg)


# ------------------------------------------------------------------------------ 0. text fields --
def _repeated(fd) -> bool:
    r = getattr(fd, "is_repeated", None)  # protobuf >= 5; older versions have only `label`
    return bool(r) if r is not None else fd.label == fd.LABEL_REPEATED


def check_text(msg, path, where: str = "the model") -> None:
    """Every string field of the protobuf is UTF-8 text (protobuf hands invalid UTF-8 back as bytes)."""
    from google.protobuf.descriptor import FieldDescriptor as FD

    for fd, value in msg.ListFields():
        if fd.type == FD.TYPE_STRING:
            vals = value if _repeated(fd) else [value]
            if any(isinstance(v, bytes) for v in vals):
                raise _fail(path, f"field '{fd.name}' of {where} is not UTF-8 text", "UTF-8 names and strings")
        elif fd.type == FD.TYPE_MESSAGE:
            name = getattr(msg, "name", "") if hasattr(msg, "name") else ""
            sub = f"{msg.DESCRIPTOR.name} '{name}'" if isinstance(name, str) and name else where
            for m in (value if _repeated(fd) else [value]):
                check_text(m, path, sub)


# ------------------------------------------------------------------------------ 1. versions ----
def check_versions(model, path) -> None:
    ir = int(model.ir_version)
    if not MIN_IR <= ir <= max_ir():
        raise _fail(path, f"IR version {ir}", supported_versions())
    opsets: dict[str, int] = {}
    for o in model.opset_import:
        d = "" if o.domain in ("", "ai.onnx") else o.domain
        if d in opsets:
            raise _fail(path, f"opset domain '{d or 'ai.onnx'}' is imported twice", "one import per domain")
        opsets[d] = int(o.version)
    if "" not in opsets:
        raise _fail(path, "no opset import for the default ONNX domain", supported_versions())
    if not MIN_OPSET <= opsets[""] <= max_opset():
        raise _fail(path, f"default-domain opset {opsets['']}", supported_versions())
    for d in QONNX_DOMAINS:
        if d in opsets and opsets[d] not in QONNX_VERSIONS:
            raise _fail(path, f"domain '{d}' opset {opsets[d]}", supported_versions())
    for i, n in enumerate(model.graph.node):
        d = "" if n.domain in ("", "ai.onnx") else n.domain
        if d and d not in QONNX_DOMAINS:
            raise _fail(path, f"{_node_label(n, i)}: op domain '{d}' is not supported",
                        "the default ONNX domain and the QONNX domains " + ", ".join(QONNX_DOMAINS))
        if d not in opsets:
            raise _fail(path, f"{_node_label(n, i)}: its domain '{d}' has no opset import",
                        "every node's domain listed in opset_import")
    if len(model.functions):
        raise _fail(path, f"the model defines {len(model.functions)} local function(s) "
                    f"('{model.functions[0].name}')", "graphs of ONNX and QONNX ops only")


# ------------------------------------------------------------------------------ 2. external data ---
def _all_tensors(model):
    """(label, TensorProto, graph tensor name) of every initializer and tensor-valued attribute."""
    out = []

    def graph(g):
        for t in g.initializer:
            out.append((f"initializer '{t.name}'", t, t.name))
        for i, n in enumerate(g.node):
            for a in n.attribute:
                name = n.output[0] if n.op_type == "Constant" and len(n.output) else ""
                if a.HasField("t"):
                    out.append((f"{_node_label(n, i)} attribute '{a.name}'", a.t, name))
                for t in a.tensors:
                    out.append((f"{_node_label(n, i)} attribute '{a.name}'", t, ""))
                if a.HasField("g"):
                    graph(a.g)
                for sg in a.graphs:
                    graph(sg)

    graph(model.graph)
    return out


def _declared(t):
    dims = [int(d) for d in t.dims]
    count = 1
    for d in dims:
        count *= d
    return dims, count


def _check_dims(path, label, t):
    dims, count = _declared(t)
    if any(d < 0 for d in dims):
        raise _fail(path, f"{label} has negative dims {dims}", "dims >= 0")
    if t.data_type not in _NUMERIC:
        raise _fail(path, f"{label} has element type {_type_name(t.data_type)}", SUPPORTED_TYPES)
    return dims, count


def check_external_data(model, path: Path) -> None:
    """Every tensor stored outside the file: inside the model's folder, a regular file, the right bytes.

    Nothing about a file outside the model's folder (not even whether it exists) appears in a message.
    """
    from onnx import external_data_helper as edh

    folder = path.parent.resolve()
    for label, t, _ in _all_tensors(model):
        if not edh.uses_external_data(t):
            continue
        info = {e.key: e.value for e in t.external_data}
        loc = info.get("location", "")
        where = f"{label} is stored in external data file '{loc}'"
        dims, count = _check_dims(path, label, t)
        if not loc or os.path.isabs(loc) or Path(loc).drive or ".." in Path(loc.replace("\\", "/")).parts:
            raise _fail(path, f"{where}, a path that leaves the model's folder",
                        "external data files inside the model's folder, named relative to it")
        target = (path.parent / loc).resolve()
        if target != folder and folder not in target.parents:
            raise _fail(path, f"{where}, which resolves (through a link) outside the model's folder",
                        "external data files inside the model's folder")
        try:
            st = os.stat(target)
        except FileNotFoundError:
            raise _fail(path, f"{where}, which is missing (expected at {path.parent / loc})") from None
        except OSError as e:
            raise _fail(path, f"{where}, which cannot be read ({e.strerror})") from None
        if not stat.S_ISREG(st.st_mode):
            raise _fail(path, f"{where}, which is {describe_mode(st.st_mode)}", "regular files")
        try:
            offset = int(info.get("offset", 0) or 0)
            length = int(info["length"]) if info.get("length") else None
        except ValueError:
            raise _fail(path, f"{where} with a non-numeric offset or length") from None
        need = count * _NUMERIC[t.data_type][1]
        if length is None:
            length = need
        if offset < 0 or length != need:
            raise _fail(path, f"{where} with offset {offset} and length {length}, but its dims {dims} "
                        f"need {need} bytes", "an external byte range that matches the tensor's dims")
        if offset + length > st.st_size:
            raise _fail(path, f"{where}: it needs bytes {offset}..{offset + length} of '{loc}', which has "
                        f"only {st.st_size} bytes")


# ------------------------------------------------------------------------------ 3. tensors ---------
def check_tensor(path, label, t, inf_ok: bool = False) -> None:
    """Declared dims against the bytes held (before anything is allocated), then finiteness."""
    from onnx import numpy_helper

    dims, count = _check_dims(path, label, t)
    name, size, field = _NUMERIC[t.data_type]
    if t.HasField("raw_data") or (len(t.raw_data) and not len(getattr(t, field))):
        have = len(t.raw_data)
        need = count * size
        if have != need:
            raise _fail(path, f"{label} declares dims {dims} ({count} {name} values, {need} bytes) but holds "
                        f"{have} bytes", "tensors whose data matches their dims")
    else:
        have = len(getattr(t, field))
        others = [f for f in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data",
                              "string_data") if f != field and len(getattr(t, f))]
        if others:
            raise _fail(path, f"{label} is {name} but stores its values in {others[0]}",
                        f"{name} values in raw_data or {field}")
        if have != count:
            raise _fail(path, f"{label} declares dims {dims} ({count} {name} values) but holds {have}",
                        "tensors whose data matches their dims")
    if t.data_type in _FLOATS and count:
        v = numpy_helper.to_array(t)
        nan = int(np.count_nonzero(np.isnan(v)))
        inf = int(np.count_nonzero(np.isinf(v)))
        if nan or (inf and not inf_ok):
            what = ", ".join(s for s in (f"{nan} NaN" if nan else "", f"{inf} infinite" if inf else "") if s)
            raise _fail(path, f"{label} holds {what} value(s)", "finite weights and parameters")


def _inf_allowed(graph) -> set[str]:
    """Tensors where +-inf is meaningful: Clip bounds and a Pad's constant value."""
    ok = set()
    for n in graph.node:
        if n.op_type == "Clip":
            ok.update(n.input[1:3])
        elif n.op_type == "Pad":
            ok.update(n.input[2:3])
    return ok


def check_tensors(model, path) -> None:
    g = model.graph
    inf_ok = _inf_allowed(g)
    for label, t, name in _all_tensors(model):
        check_tensor(path, label, t, inf_ok=bool(name) and name in inf_ok)
    for i, n in enumerate(g.node):
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name in ("sparse_value", "value_string", "value_strings"):
                    raise _fail(path, f"{_node_label(n, i)}: a {a.name} constant is not supported",
                                "value, value_float(s), value_int(s)")
                if a.name in ("value_float", "value_floats"):
                    vals = [a.f] if a.name == "value_float" else list(a.floats)
                    if not all(np.isfinite(vals)) and not set(n.output) & inf_ok:
                        raise _fail(path, f"{_node_label(n, i)}: {a.name} holds a NaN or infinite value",
                                    "finite weights and parameters")


# ------------------------------------------------------------------------------ 4. graph -----------
def _node_inputs(n) -> list[str]:
    """A node's inputs, with the outer tensors its subgraphs (If/Loop bodies) read."""
    names = [t for t in n.input if t]
    for a in n.attribute:
        for sg in ([a.g] if a.HasField("g") else []) + list(a.graphs):
            for m in sg.node:
                names.extend(_node_inputs(m))
    return names


def check_graph(model, path) -> None:
    g = model.graph
    if len(g.sparse_initializer):
        raise _fail(path, f"sparse initializer '{g.sparse_initializer[0].values.name}'", "dense initializers")
    seen: set[str] = set()
    for t in g.initializer:
        if not t.name:
            raise _fail(path, "an initializer has no name", "named initializers")
        if t.name in seen:
            raise _fail(path, f"initializer '{t.name}' is defined twice (which value is meant is ambiguous)",
                        "unique initializer names")
        seen.add(t.name)
    inits = seen
    graph_inputs = {vi.name for vi in g.input}
    produced: dict[str, int] = {}
    for i, n in enumerate(g.node):
        if not n.op_type:
            raise _fail(path, f"node '{n.name or i}' has no op type")
        outs = [o for o in n.output if o]
        if not outs or not n.output[0]:
            raise _fail(path, f"{_node_label(n, i)} has no output", "nodes with at least one named output")
        for o in outs:
            if o in produced or o in inits or o in graph_inputs:
                raise _fail(path, f"{_node_label(n, i)}: its output '{o}' is also produced elsewhere "
                            "(a graph input, an initializer or another node)", "each tensor defined once")
            produced[o] = i
        for t in n.input:
            if t and t not in produced and t not in inits and t not in graph_inputs:
                raise _fail(path, f"{_node_label(n, i)}: input '{t}' is not produced by any earlier node, "
                            "initializer or graph input", "nodes in topological order, every input defined")
    if len(g.output) != 1:
        raise _fail(path, f"the graph has {len(g.output)} outputs", "exactly one graph output")
    out = g.output[0].name
    if out not in produced:
        src = "a graph input" if out in graph_inputs else "an initializer" if out in inits else "no node"
        raise _fail(path, f"graph output '{out}' is produced by {src}", "one output produced by the last layer")
    # every node must feed the output: walk back from it
    need = {out}
    live = set()
    for i in range(len(g.node) - 1, -1, -1):
        n = g.node[i]
        if any(o in need for o in n.output if o):
            live.add(i)
            need.update(_node_inputs(n))
    # an unused Constant changes nothing (exporters leave some); any other unused node means the graph
    # computes something its output does not show
    dead = [i for i in range(len(g.node)) if i not in live and g.node[i].op_type != "Constant"]
    if dead:
        n = g.node[dead[0]]
        last = g.node[produced[out]]
        raise _fail(path, f"{_node_label(n, dead[0])}: its result reaches no graph output (the output "
                    f"'{out}' comes from {_node_label(last, produced[out])}; {len(dead)} node(s) unused)",
                    "graphs whose every node feeds the one output")


# ------------------------------------------------------------------------------ 5. onnx.checker ----
_CONTEXT = re.compile(r"Name:\s*(?P<name>.*?)\s+OpType:\s*(?P<op>\S+)")


def run_checker(model, path) -> None:
    import onnx

    if any(o.type.HasField("tensor_type") and not o.type.tensor_type.HasField("shape") for o in model.graph.output):
        # the checker wants a declared shape on graph outputs; tinybnn computes shapes itself, so an output
        # declared without one (onnxruntime accepts that too) is checked with its inferred shape
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception:  # noqa: BLE001 - the checker below reports what is wrong
            pass
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise _fail(path, f"not a valid ONNX model ({_checker_text(str(e))})") from None
    except (ValueError, RuntimeError) as e:  # e.g. a model larger than protobuf's 2 GiB
        raise _fail(path, f"onnx.checker cannot check this model ({_checker_text(str(e))})") from None


_INFERENCE = re.compile(r"\(op_type:(?P<op>[^,]*), node name: (?P<name>[^)]*)\):\s*(?P<msg>.*?)(?=\s*\(op_type:|$)", re.S)


def _checker_text(msg: str) -> str:
    """The checker's multi-line message as one line, naming the node; of several shape-inference errors
    only the first (the others follow from it)."""
    inf = _INFERENCE.search(msg)
    if inf:
        text = " ".join(inf.group("msg").split())
        return f"node '{inf.group('name')}' ({inf.group('op')}): {text}"[:400]
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
    ctx = _CONTEXT.search(msg)
    text = " ".join(ln for ln in lines if not ln.startswith("==> Context"))[:400]
    if ctx:
        text = f"node '{ctx.group('name')}' ({ctx.group('op')}): {text}"
    return text


# ------------------------------------------------------------------------------ 6. attributes ------
_ROUNDING = ("ROUND", "CEIL", "FLOOR", "ROUND_TO_ZERO", "DOWN", "UP", "HALF_UP", "HALF_DOWN")
# custom-domain ops the checker cannot check: (number of inputs, {attribute: (type, allowed values)})
_QONNX_OPS = {
    "BipolarQuant": ((2, 2), {}),
    "Quant": ((4, 4), {"signed": ("INT", (0, 1)), "narrow": ("INT", (0, 1)), "rounding_mode": ("STRING", _ROUNDING)}),
    "IntQuant": ((4, 4), {"signed": ("INT", (0, 1)), "narrow": ("INT", (0, 1)), "rounding_mode": ("STRING", _ROUNDING)}),
}


def check_attributes(model, path) -> None:
    import onnx

    A = onnx.AttributeProto
    for i, n in enumerate(model.graph.node):
        label = _node_label(n, i)
        attrs = {a.name: a for a in n.attribute}
        for a in n.attribute:
            vals = [a.f] if a.type == A.FLOAT else list(a.floats) if a.type == A.FLOATS else []
            inf_ok = (n.op_type, a.name) in (("Clip", "min"), ("Clip", "max"), ("Pad", "value"))
            if any(np.isnan(v) or (np.isinf(v) and not inf_ok) for v in vals):
                raise _fail(path, f"{label}: attribute '{a.name}' is {vals[0] if len(vals) == 1 else vals}",
                            "finite attribute values")
        if n.domain in QONNX_DOMAINS:
            spec = _QONNX_OPS.get(n.op_type)
            if spec is None:  # tinybnn reads ops by name: a custom op named like an ONNX one must not pass
                raise _fail(path, f"{label}: op '{n.op_type}' of domain '{n.domain}' is not supported",
                            "the QONNX ops " + ", ".join(_QONNX_OPS))
            (lo, hi), allowed = spec
            if not lo <= len(n.input) <= hi or not all(n.input):
                raise _fail(path, f"{label}: {len(n.input)} inputs", f"{lo} named inputs")
            for key, (typ, values) in allowed.items():
                a = attrs.get(key)
                if a is None:
                    continue
                if a.type != getattr(A, typ):
                    raise _fail(path, f"{label}: attribute '{key}' is {A.AttributeType.Name(a.type)}",
                                f"{key} of type {typ}")
                v = a.i if typ == "INT" else a.s.decode("utf-8", "replace").upper()
                if v not in values:
                    raise _fail(path, f"{label}: attribute '{key}' is {v!r}",
                                f"{key} one of {', '.join(map(str, values))}")
            continue
        if n.op_type in ("Conv", "MaxPool", "AveragePool", "ConvTranspose"):
            for key, low in (("strides", 1), ("dilations", 1), ("kernel_shape", 1), ("pads", 0)):
                a = attrs.get(key)
                if a is not None and any(v < low for v in a.ints):
                    raise _fail(path, f"{label}: {key} {list(a.ints)}", f"{key} >= {low}")
            a = attrs.get("group")
            if a is not None and a.i < 1:
                raise _fail(path, f"{label}: group {a.i}", "group >= 1")


# ------------------------------------------------------------------------------ the pass -----------
def check_input_size(shape, name, path) -> None:
    per_sample = 1
    for d in shape[1:]:
        per_sample *= int(d)
    if per_sample > MAX_INPUT_ELEMS:
        raise _fail(path, f"input '{name}' declares {per_sample:,} values per sample {list(shape)}",
                    f"at most {MAX_INPUT_ELEMS:,} values per sample")


def check_model(model, path) -> None:
    """Everything above except external data (checked before loading it): raise or return None."""
    check_versions(model, path)
    check_graph(model, path)
    check_tensors(model, path)
    check_attributes(model, path)
    run_checker(model, path)
