"""Pass 0: read an ONNX file into the IR (:class:`tinybnn.ir.graph.Graph`).

Only structure is read here; meaning (which node is a binarizer, which weight is binary) is recognised by
later passes from patterns, never from node names.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import TinyBnnError, UnsupportedModel
from ...ir.graph import Graph, Node
from ...plumbing import check_file
from .check import (QONNX_DOMAINS, check_external_data, check_input_size, check_model, check_text,
                    check_versions)

def _attr_value(a):
    import onnx
    from onnx import numpy_helper

    if a.type == onnx.AttributeProto.TENSOR:
        return numpy_helper.to_array(a.t)
    v = onnx.helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, list) and v and isinstance(v[0], bytes):
        return [x.decode("utf-8", "replace") for x in v]
    return v


MAX_MODEL_BYTES = 2**31 - 1  # protobuf's limit for one message; larger models keep weights in external data


def _load_proto(path: Path):
    import onnx
    from google.protobuf.message import DecodeError
    from onnx import external_data_helper as edh

    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise TinyBnnError(f"{path}: {size:,} bytes, more than protobuf's 2 GiB limit for an ONNX file; "
                           "supported: models under 2 GiB (weights may be in external data files)")
    data = path.read_bytes()
    if not data:
        raise TinyBnnError(f"{path}: empty file (0 bytes), expected an ONNX model")
    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, RuntimeError, ValueError):
        raise TinyBnnError(f"{path}: not a valid ONNX protobuf: {_wire_fault(data)}") from None
    if not model.HasField("graph") or len(model.graph.node) == 0 or model.ir_version == 0:
        raise TinyBnnError(f"{path}: not an ONNX model (no graph or no IR version in its {len(data)} bytes)")
    check_text(model, path)
    check_versions(model, path)
    # external data: every tensor stored outside the file is inside the model's folder, with the right size
    check_external_data(model, path)
    try:
        edh.load_external_data_for_model(model, str(path.parent))
    except Exception as e:  # pragma: no cover - guarded by the checks above
        raise TinyBnnError(f"{path}: cannot load external data: {e}") from None
    _graph_input(model, path)
    check_model(model, path)
    return model


def _wire_fault(data: bytes) -> str:
    """Where the protobuf wire format of a file first goes wrong (a truncated or foreign file)."""

    def varint(i):
        v, shift = 0, 0
        while True:
            if i >= len(data):
                raise IndexError
            b = data[i]
            v |= (b & 0x7F) << shift
            i += 1
            if not b & 0x80:
                return v, i
            shift += 7
            if shift > 63:
                raise ValueError

    i = 0
    while i < len(data):
        start = i
        try:
            key, i = varint(i)
            wt = key & 7
            if key >> 3 == 0 or wt in (3, 4, 6, 7):
                return f"byte {start} holds no valid field key (0x{data[start]:02x}); not an ONNX file"
            if wt == 0:
                _, i = varint(i)
            elif wt == 1:
                i += 8
            elif wt == 5:
                i += 4
            else:
                n, i = varint(i)
                i += n
            if i > len(data):
                return (f"the field starting at byte {start} needs {i - len(data)} more bytes than the file's "
                        f"{len(data)}; the file is truncated")
        except (IndexError, ValueError):
            return f"the field starting at byte {start} is cut off at the end of the file ({len(data)} bytes)"
    return f"{len(data)} bytes of well-formed fields that do not decode as an ONNX ModelProto"


def _static_shape(vi, path) -> tuple[int, ...]:
    dims = []
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        raise UnsupportedModel(f"{path}: input '{vi.name}' has no declared shape; static shapes are required")
    for i, d in enumerate(tt.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif i == 0:
            dims.append(1)  # batch axis: any size
        elif d.HasField("dim_value"):
            raise UnsupportedModel(f"{path}: input '{vi.name}' has size {d.dim_value} at axis {i}; supported: "
                                   "sizes >= 1 (static, except the batch axis)")
        else:
            sym = d.dim_param or "?"
            raise UnsupportedModel(f"{path}: input '{vi.name}' has a dynamic dimension '{sym}' at axis {i}; "
                                   "only the batch axis (axis 0) may be dynamic")
    return tuple(dims)


def _graph_input(model, path):
    """The one graph input (a float tensor of static shape but for the batch axis) and its shape."""
    import onnx

    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in inits]
    if len(inputs) != 1:
        names = ", ".join(repr(v.name) for v in inputs) or "none"
        raise UnsupportedModel(f"{path}: the graph has {len(inputs)} inputs ({names}); exactly one input "
                               "tensor is supported")
    if len(g.output) != 1:
        raise UnsupportedModel(f"{path}: the graph has {len(g.output)} outputs; exactly one is supported")
    inp = inputs[0]
    elem = inp.type.tensor_type.elem_type
    if elem not in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16):
        try:
            name = onnx.TensorProto.DataType.Name(elem)
        except ValueError:
            name = f"unknown type {elem}"
        raise UnsupportedModel(f"{path}: input '{inp.name}' has element type {name}; a float input is supported")
    shape = _static_shape(inp, path)
    check_input_size(shape, inp.name, path)
    return inp, shape


def import_onnx(path: str | Path) -> Graph:
    """Read ``path`` into a Graph: nodes, constants, graph input and output, static input shape."""
    from onnx import numpy_helper

    path = check_file(path)
    model = _load_proto(path)
    g = model.graph
    inp, shape = _graph_input(model, path)
    consts: dict[str, np.ndarray] = {}
    for init in g.initializer:
        consts[init.name] = numpy_helper.to_array(init)
    declared_batch = None
    d0 = inp.type.tensor_type.shape.dim[0] if len(inp.type.tensor_type.shape.dim) else None
    if d0 is not None and d0.HasField("dim_value"):
        declared_batch = int(d0.dim_value)

    nodes = []
    used_names = set()
    for i, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{i}"
        while name in used_names:
            name = f"{name}_{i}"
        used_names.add(name)
        attrs = {a.name: _attr_value(a) for a in n.attribute}
        nodes.append(Node(op=n.op_type, name=name, inputs=list(n.input), outputs=list(n.output),
                          attrs=attrs, domain=n.domain or ""))
    opsets = {o.domain or "": o.version for o in model.opset_import}
    meta = {
        "source": str(path),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "opset": opsets.get("", 0),
        "input_name": inp.name,
        "output_name": g.output[0].name,
        "declared_batch": declared_batch,
        "onnx_input_shape": shape,
        "metadata": {p.key: p.value for p in model.metadata_props},
        "dialect": _dialect(nodes, model),
        "onnx_tensors": {t for n in nodes for t in n.outputs},
        "aliases": {},  # IR tensor -> (ONNX tensor, perm): the ONNX tensor is the IR one transposed by perm
    }
    graph = Graph(nodes=nodes, consts=consts, shapes={inp.name: shape}, input=inp.name,
                  output=g.output[0].name, meta=meta)
    return graph


def _dialect(nodes, model) -> str:
    if any(n.domain in QONNX_DOMAINS for n in nodes):
        return "qonnx"
    prod = (model.producer_name or "").lower()
    if "tf2onnx" in prod:
        return "tf2onnx"
    if "pytorch" in prod or "torch" in prod:
        return "pytorch"
    return prod or "onnx"
