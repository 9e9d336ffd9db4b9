"""Static memory planner: every activation and scratch buffer gets a byte offset in ONE arena.

Buffers
-------
A buffer has a size in bytes (rounded up to :data:`ALIGN` = 4, so every offset is word aligned) and a
lifetime ``[first, last]`` in layer steps (step i = running device layer i). For a model (:func:`plan_model`):

* ``input``: the int8 model input. It LIVES IN THE ARENA: ``tb_model_run`` copies the caller's input in
  (so the caller's buffer needs no alignment and its memory is free again after its last reader).
  Live from step 0 to the step of the last layer that reads it (step 0 in a chain).
* ``L<i>.out``: the output of layer i, live from step i (written) to the step of its last reader (i + 1 in
  a chain; a branch keeps it alive until the join).
* ``L<i>.scratch``: the kernel's scratch (``<fn>_get_buffer_size``, mirrored by :func:`scratch_bytes`),
  live at step i only; omitted when 0.
* The model OUTPUT is NOT in the arena: the last layer writes its int32 accumulators straight into the
  caller's ``int32_t *output``.

In place: a residual add (``tb_add_s8`` / ``tb_add_s16``, whose contract lets the output be either input)
or a PReLU (``tb_prelu_s8`` / ``tb_prelu_s16``: the output may be the input) writes over an input of its own
size that no later layer reads. Its ``L<i>.out`` is then an *alias* of that input's buffer (``alias`` = the
buffer's name, same offset), and that buffer lives on until the output's last reader. Only the buffers that
are not aliases are placed; an alias takes its buffer's offset. A chain of blocks (s = s + f(s)) thus keeps
one stream buffer instead of a new one per add.

Algorithm (as TFLM's ``GreedyMemoryPlanner``)
--------------------------------------------
Sort the buffers by size, largest first (ties: earlier ``first``, then name). Place each at the lowest
offset where it overlaps no already-placed buffer whose lifetime intersects its own (first fit over the
gaps between those buffers, taken in offset order). The arena is the largest ``offset + size``.

Greedy first fit is not optimal in general. For a chain (every step's live set is at most one buffer
being read, one being written and the step's scratch), the two-ended "ping-pong" layout is: consecutive
activations alternate between the bottom of the arena (offset 0) and its top (offset arena - size), with
each step's scratch just above that step's bottom buffer. It needs exactly :func:`lower_bound` bytes
(because in + out + scratch <= lower bound at every step). :func:`plan` computes both when the buffers
form such a chain and keeps the smaller valid plan (greedy on ties), so chain models always get an arena
equal to the lower bound.

:func:`check_plan` proves a plan valid: no two buffers with intersecting lifetimes overlap in bytes, every
offset is aligned, every buffer lies inside the arena. :func:`lower_bound` is the maximum over steps of
the total size of the buffers live at that step; no plan can use less.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..ir.bits import words
from ..errors import TinyBnnError
from ..ir.layers import ADD, CONV2D, PRELU, out_dtype

ALIGN = 4
IN_PLACE_OPS = (ADD, PRELU)  # elementwise stream kernels whose contract lets the output be an input


def align(n: int) -> int:
    return -(-int(n) // ALIGN) * ALIGN


@dataclass(frozen=True)
class Buffer:
    name: str
    size: int    # bytes, a multiple of ALIGN
    first: int   # first step it is live (inclusive)
    last: int    # last step it is live (inclusive)
    kind: str = "activation"  # "input" | "activation" | "scratch"
    offset: int = -1          # bytes from the start of the arena; -1 until planned
    layer: int = -1           # the layer that writes it (scratch: uses it); -1 for the input
    alias: str = ""           # the buffer whose bytes it reuses (an in-place output), or ""

    def lives_with(self, other: "Buffer") -> bool:
        return self.first <= other.last and other.first <= self.last

    def overlaps(self, other: "Buffer") -> bool:
        return self.offset < other.offset + other.size and other.offset < self.offset + self.size


@dataclass
class Plan:
    buffers: list[Buffer]
    arena_bytes: int
    strategy: str = "greedy"
    notes: list[str] = field(default_factory=list)

    def buffer(self, name: str) -> Buffer:
        for b in self.buffers:
            if b.name == name:
                return b
        raise KeyError(name)

    def to_json(self) -> list[dict]:
        return [{"name": b.name, "kind": b.kind, "offset": b.offset, "bytes": b.size, "first": b.first,
                 "last": b.last, **({"in_place_of": b.alias} if b.alias else {})}
                for b in sorted(self.buffers, key=lambda b: (b.offset, b.name))]


# ------------------------------------------------------------------------------------------- sizes --
def scratch_bytes(node) -> int:
    """Scratch bytes of the reference kernel running ``node``: mirrors ``<fn>_get_buffer_size()``."""
    a = node.attrs
    if node.op == CONV2D and a["in_dtype"] == "int8" and a.get("groups", 1) == 1:
        KH, KW = a["kernel"]
        return 2 * int(KH) * int(KW) * int(a["in_shape"][2])  # one int16 im2col column
    return 0


def output_bytes(node) -> int:
    """Bytes of a device layer's output in its device representation."""
    a = node.attrs
    shape = tuple(int(v) for v in a["out_shape"])
    if out_dtype(node) == "bits":
        return 4 * int(np.prod(shape[:-1], dtype=np.int64)) * words(shape[-1])
    if out_dtype(node) in ("int8", "int16"):
        return (2 if out_dtype(node) == "int16" else 1) * int(np.prod(shape, dtype=np.int64))
    return 4 * int(np.prod(shape, dtype=np.int64))


def layer_wiring(model) -> list[list[int]]:
    """Model.layer_inputs: per layer the layers it reads (-1: the input); a chain for models built without it
    (e.g. the kernel benchmark's)."""
    return getattr(model, "layer_inputs", None) or [[i - 1] for i in range(len(model.layers))]


def in_place_input(layers, wiring, last_read, i) -> int | None:
    """The layer whose output layer i may write over with its own, or None: layer i is a residual add or a
    PReLU (IN_PLACE_OPS: their kernels allow the output to be an input), the input is a layer's output (not
    the model input) of the same bytes, and no later layer reads it."""
    if layers[i].op not in IN_PLACE_OPS or scratch_bytes(layers[i]):
        return None
    for j in wiring[i]:
        if j >= 0 and last_read[j] == i and output_bytes(layers[j]) == output_bytes(layers[i]):
            return j
    return None


def model_buffers(model) -> list[Buffer]:
    """The arena buffers of a model, chain or DAG (see the module docstring): each activation lives from
    the step that writes it to the step of its last reader (liveness), so a branch keeps its input alive
    until the join; an add's or PReLU's output in place of an input that dies there (an alias)."""
    layers = model.layers
    if not layers:
        raise TinyBnnError("the model has no device layers")
    wiring = layer_wiring(model)
    last_read = {j: i for i, ins in enumerate(wiring) for j in ins}
    n_in = int(np.prod(model.device_input_shape, dtype=np.int64))
    bufs = [Buffer("input", align(n_in), 0, last_read[-1], "input", layer=-1)]
    index = {}  # name -> position in bufs
    for i, n in enumerate(layers):
        s = scratch_bytes(n)
        if s:
            bufs.append(Buffer(f"L{i}.scratch", align(s), i, i, "scratch", layer=i))
        if i < len(layers) - 1:
            b = Buffer(f"L{i}.out", align(output_bytes(n)), i, last_read[i], "activation", layer=i)
            j = in_place_input(layers, wiring, last_read, i)
            if j is not None:
                src = bufs[index[f"L{j}.out"]]
                root = src.alias or src.name
                r = index[root]
                bufs[r] = replace(bufs[r], last=max(bufs[r].last, b.last))  # it lives on in the in-place output
                b = replace(b, alias=root)
            index[b.name] = len(bufs)
            bufs.append(b)
    return bufs


# -------------------------------------------------------------------------------------- planning --
def greedy(buffers: list[Buffer]) -> list[Buffer]:
    """Greedy by size, first fit over lifetimes (TFLM GreedyMemoryPlanner). No aliases."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size, buffers[i].first, buffers[i].name))
    placed: list[Buffer] = []
    for i in order:
        b = buffers[i]
        live = sorted((p for p in placed if p.lives_with(b)), key=lambda p: (p.offset, p.size))
        off = 0
        for p in live:
            if off + b.size <= p.offset:
                break  # fits in the gap before p
            off = max(off, p.offset + p.size)
        placed.append(replace(b, offset=off))
    by_name = {p.name: p for p in placed}
    return [by_name[b.name] for b in buffers]


def _is_chain(buffers: list[Buffer]) -> bool:
    """Non-scratch buffers: at most two live at any step, and consecutive ones (by first) are the pairs."""
    acts = sorted((b for b in buffers if b.kind != "scratch"), key=lambda b: (b.first, b.last))
    for i, a in enumerate(acts):
        for b in acts[i + 2:]:
            if a.lives_with(b):
                return False
    return True


def ping_pong(buffers: list[Buffer], arena: int) -> list[Buffer]:
    """Two-ended layout of a chain: activations alternate bottom/top, scratch above the bottom one."""
    acts = sorted((b for b in buffers if b.kind != "scratch"), key=lambda b: (b.first, b.last))
    out = {}
    for k, b in enumerate(acts):
        out[b.name] = replace(b, offset=0 if k % 2 == 0 else arena - b.size)
    for b in buffers:
        if b.kind == "scratch":
            below = [out[a.name] for a in acts if out[a.name].offset == 0 and a.lives_with(b)]
            off = max((a.size for a in below), default=0)
            # several scratch buffers at one step stack up
            for s in out.values():
                if s.kind == "scratch" and s.lives_with(b):
                    off = max(off, s.offset + s.size)
            out[b.name] = replace(b, offset=off)
    return [out[b.name] for b in buffers]


def plan(buffers: list[Buffer]) -> Plan:
    """Offsets for ``buffers`` (sizes must be multiples of ALIGN) in one arena; see the module docstring.
    The buffers that are not aliases are placed; each alias then takes its buffer's offset."""
    names = [b.name for b in buffers]
    if len(set(names)) != len(names):
        raise ValueError("buffer names must be unique")
    for b in buffers:
        if b.size < 0 or b.size % ALIGN or b.first > b.last:
            raise ValueError(f"bad buffer {b}")
    primary = [b for b in buffers if not b.alias]
    best = _plan_primary(primary)
    if len(primary) < len(buffers):
        placed = {b.name: b for b in best.buffers}
        for b in buffers:
            if b.alias:
                if b.alias not in placed:
                    raise ValueError(f"buffer {b.name}: in place of {b.alias!r}, which is not a placed buffer")
                placed[b.name] = replace(b, offset=placed[b.alias].offset)
        best.buffers = [placed[b.name] for b in buffers]
    check_plan(best)
    return best


def _plan_primary(buffers: list[Buffer]) -> Plan:
    g = greedy(buffers)
    best = Plan(g, _arena(g), "greedy")
    lb = _lower_bound(buffers)
    if best.arena_bytes > lb and _is_chain(buffers):
        pp = Plan(ping_pong(buffers, lb), lb, "ping-pong")
        if _valid(pp) and pp.arena_bytes < best.arena_bytes:
            pp.notes.append(f"greedy first fit needed {best.arena_bytes} bytes")
            best = pp
    return best


def plan_model(model) -> Plan:
    return plan(model_buffers(model))


def _arena(bufs: list[Buffer]) -> int:
    return max((b.offset + b.size for b in bufs), default=0)


def _lower_bound(bufs: list[Buffer]) -> int:
    bufs = [b for b in bufs if not b.alias]  # an alias occupies its buffer's bytes
    if not bufs:
        return 0
    steps = sorted({b.first for b in bufs})  # the live total only grows at a buffer's first step
    return max(sum(b.size for b in bufs if b.first <= t <= b.last) for t in steps)


def lower_bound(plan_: Plan) -> int:
    """Max over steps of the total size of the buffers live at that step (aliases counted once, in their
    buffer): no valid plan of these buffers is smaller."""
    return _lower_bound(plan_.buffers)


def _problems(p: Plan) -> list[str]:
    errs = []
    by_name = {b.name: b for b in p.buffers}
    for b in p.buffers:
        if b.alias:  # it must sit exactly in its buffer, inside that buffer's lifetime
            r = by_name.get(b.alias)
            if r is None:
                errs.append(f"{b.name}: in place of {b.alias!r}, which is not a buffer of the plan")
            elif r.alias:
                errs.append(f"{b.name}: in place of {r.name}, itself in place of {r.alias!r}; an output may "
                            f"only alias a placed buffer")
            elif b.offset != r.offset or b.size > r.size or not r.first <= b.first <= b.last <= r.last:
                errs.append(f"{b.name} [{b.offset}, {b.offset + b.size}) steps {b.first}..{b.last} is not inside "
                            f"{r.name} [{r.offset}, {r.offset + r.size}) steps {r.first}..{r.last}, its buffer")
        if b.offset < 0 or b.offset % ALIGN or b.size % ALIGN:
            errs.append(f"{b.name}: offset {b.offset} / size {b.size} not aligned to {ALIGN}")
        if b.offset + b.size > p.arena_bytes:
            errs.append(f"{b.name}: [{b.offset}, {b.offset + b.size}) outside the {p.arena_bytes}-byte arena")
    bs = p.buffers
    for i in range(len(bs)):
        for j in range(i + 1, len(bs)):
            a, b = bs[i], bs[j]
            if (a.alias or a.name) == (b.alias or b.name):
                continue  # the same bytes by design: an in-place output and its buffer (checked above)
            if a.size and b.size and a.lives_with(b) and a.overlaps(b):
                errs.append(f"{a.name} [{a.offset}, {a.offset + a.size}) steps {a.first}..{a.last} overlaps "
                            f"{b.name} [{b.offset}, {b.offset + b.size}) steps {b.first}..{b.last}")
    return errs


def _valid(p: Plan) -> bool:
    return not _problems(p)


def check_plan(p: Plan) -> None:
    """Raise AssertionError unless no two simultaneously-live buffers overlap (and all are aligned and inside)."""
    errs = _problems(p)
    if errs:
        raise AssertionError("invalid memory plan: " + "; ".join(errs[:5]))
