"""The one IR every converter pass works on.

A :class:`Graph` is a list of :class:`Node` in topological order over named tensors. At import the nodes
carry ONNX op types; the passes in :mod:`tinybnn.passes` rewrite them step by step into tinybnn's
integer layer ops (see :mod:`tinybnn.ir.layers`), which the golden model executes and the C renderer emits.

Tensors are either constants (``graph.consts``, NumPy arrays) or activations with a static shape
(``graph.shapes``; the leading batch axis is always 1 inside the IR).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np



@dataclass
class Node:
    op: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    domain: str = ""

    @property
    def output(self) -> str:
        return self.outputs[0]

    def __repr__(self) -> str:  # compact, for debugging
        return f"Node({self.op} {self.name!r} {self.inputs}->{self.outputs})"


@dataclass
class Graph:
    nodes: list[Node]
    consts: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]
    input: str
    output: str
    meta: dict = field(default_factory=dict)

    # ---- queries -------------------------------------------------------------------------
    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    def is_const(self, tensor: str) -> bool:
        return tensor in self.consts

    def const(self, tensor: str) -> np.ndarray:
        return self.consts[tensor]

    def act_inputs(self, node: Node) -> list[str]:
        """The non-constant (activation) inputs of a node."""
        return [t for t in node.inputs if t and t not in self.consts]

    def copy(self) -> "Graph":
        return copy.deepcopy(self)

    # ---- edits ---------------------------------------------------------------------------
    def remove(self, node: Node, keep: str | None = None) -> None:
        """Remove a single-output node, rewiring its consumers to ``keep`` (its activation input)."""
        if keep is None:
            acts = self.act_inputs(node)
            keep = acts[0]
        out = node.output
        self.nodes.remove(node)
        self.rename(out, keep)

    def rename(self, old: str, new: str) -> None:
        for n in self.nodes:
            n.inputs = [new if t == old else t for t in n.inputs]
        if self.output == old:
            self.output = new
            if old in self.shapes and new not in self.shapes:
                self.shapes[new] = self.shapes[old]

    def replace(self, old: Node, new_nodes: list[Node]) -> None:
        i = self.nodes.index(old)
        self.nodes[i : i + 1] = new_nodes

    def fresh(self, base: str) -> str:
        names = {t for n in self.nodes for t in n.inputs + n.outputs} | set(self.consts)
        i = 0
        while f"{base}_{i}" in names:
            i += 1
        return f"{base}_{i}"
