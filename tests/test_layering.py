"""The package's layering, read from the source: no import cycle inside tinybnn/, stages import only downwards,
and one Jinja environment renders every template.

Every import counts, the ones inside functions too: a cycle hidden in a function body is still a cycle a
newcomer has to untangle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "tinybnn"

# Lower layers first. A module may import from its own layer and the layers before it, never after.
# Modules not listed (tinybnn/__init__, cli, __main__) sit on top and may import anything.
LAYERS = [
    ("base", ["tinybnn._version", "tinybnn.errors", "tinybnn.plumbing", "tinybnn.console", "tinybnn.resources",
              "tinybnn.data"]),
    ("ir", ["tinybnn.ir"]),
    ("frontend, passes", ["tinybnn.frontend", "tinybnn.passes"]),
    ("pipeline", ["tinybnn.model", "tinybnn.check"]),
    ("backend", ["tinybnn.backend"]),
    ("targets", ["tinybnn.targets"]),
    ("device", ["tinybnn.device"]),
]


def _modules() -> dict[str, Path]:
    mods = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def import_graph() -> dict[str, set[str]]:
    """module -> the tinybnn modules it imports (``from . import x`` of a submodule counts as that submodule)."""
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if not target.startswith("tinybnn"):
                    continue
                for alias in node.names:
                    sub = f"{target}.{alias.name}"
                    graph[name].add(sub if sub in mods else target)
            elif isinstance(node, ast.Import):
                graph[name].update(a.name for a in node.names if a.name in mods)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _layer(mod: str) -> int | None:
    for i, (_, prefixes) in enumerate(LAYERS):
        if any(mod == p or mod.startswith(p + ".") for p in prefixes):
            return i
    return None


def test_no_import_cycle():
    cycles = _cycles(import_graph())
    assert not cycles, "import cycles inside tinybnn/: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_stages_import_downwards_only():
    bad = []
    for mod, deps in import_graph().items():
        lm = _layer(mod)
        if lm is None:
            continue
        for d in deps:
            ld = _layer(d)
            if ld is None or ld > lm:
                bad.append(f"{mod} ({LAYERS[lm][0]}) imports {d} ({LAYERS[ld][0] if ld is not None else 'top'})")
    assert not bad, "layering broken:\n" + "\n".join(sorted(bad))


def test_the_cycle_detector_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_one_jinja_environment():
    """Every template is rendered through tinybnn.backend.ctext.environment(): one place sets the options."""
    makers = []
    for mod, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                if name == "Environment":
                    makers.append(f"{mod}:{node.lineno}")
    assert makers == [m for m in makers if m.startswith("tinybnn.backend.ctext:")] and len(makers) == 1, makers
