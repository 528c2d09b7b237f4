"""Strict layers: the subpackages of simart import each other without a cycle.

Nodes: the top-level subpackages of ``src/simart`` (``config.py``, ``io.py`` ... directly
under it count as their own nodes; ``__init__.py`` as ``__init__``). Edges: every import
between two nodes -- at module level, inside functions and under ``TYPE_CHECKING`` alike
(absolute, relative, and ``from simart import x``). The test walks the source (ast), it
imports nothing.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
ROOT = SRC / "simart"


def _module(path: Path) -> list[str]:
    """Dotted name parts of a source file (``simart.train.loop``; packages: their name)."""
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _node(dotted: list[str]) -> str | None:
    """The layer of a module inside simart (None outside simart or for ``simart`` itself)."""
    if len(dotted) < 2 or dotted[0] != "simart":
        return None
    return dotted[1]


def _imported(tree: ast.AST, path: Path) -> list[tuple[list[str], int]]:
    """Every module a file imports (dotted parts), with its line."""
    package = _module(path) if path.name == "__init__.py" else _module(path)[:-1]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name.split("."), node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - (node.level - 1)]
                mod = base + (node.module.split(".") if node.module else [])
            else:
                mod = node.module.split(".")
            if mod == ["simart"]:  # from simart import physics: the subpackage / module
                out += [(["simart", a.name], node.lineno) for a in node.names]
            else:
                out.append((mod, node.lineno))
    return out


def layer_graph() -> dict[tuple[str, str], list[str]]:
    """``{(importer, imported): ["path:line", ...]}`` between different layers."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(ROOT.rglob("*.py")):
        src = path.stem if path.parent == ROOT else path.relative_to(ROOT).parts[0]
        tree = ast.parse(path.read_text(), filename=str(path))
        for mod, line in _imported(tree, path):
            dst = _node(mod)
            if dst is not None and not (ROOT / dst).is_dir() and not (ROOT / f"{dst}.py").exists():
                dst = "__init__"  # from simart import NAME: a name of simart/__init__.py
            if dst is not None and dst != src:
                edges[(src, dst)].append(f"{path.relative_to(SRC.parent)}:{line}")
    return dict(edges)


def strongly_connected(nodes: set[str], succ: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one node."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(succ.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def test_the_walk_sees_imports_of_every_kind():
    edges = layer_graph()
    # module level, inside a function, relative / "from simart import" forms are all read
    assert ("train", "models") in edges and ("train", "data") in edges
    assert ("data", "io") in edges


def test_subpackages_import_each_other_without_a_cycle():
    edges = layer_graph()
    succ: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        succ[a].add(b)
    nodes = {n for e in edges for n in e}
    cycles = strongly_connected(nodes, succ)
    lines = []
    for comp in cycles:
        lines.append(f"import cycle between {comp}:")
        for (a, b), where in sorted(edges.items()):
            if a in comp and b in comp:
                lines.append(f"  {a} -> {b}: {', '.join(where)}")
    assert not cycles, "\n".join(lines)


def test_modules_import_each_other_without_a_cycle_at_module_level():
    """Module-level imports (``TYPE_CHECKING`` blocks included, function bodies not) between
    the modules of simart form no cycle (e.g. train.batches <-> train.loop)."""
    paths = {".".join(_module(p)): p for p in ROOT.rglob("*.py")}
    succ: dict[str, set[str]] = defaultdict(set)
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, path in paths.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        for stmt in tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            for mod, line in _imported(stmt, path):
                dst = ".".join(mod)
                while dst and dst not in paths:  # from pkg.mod import name -> pkg.mod
                    dst = dst.rpartition(".")[0]
                if dst and dst != name:
                    succ[name].add(dst)
                    where[(name, dst)].append(f"{path.relative_to(SRC.parent)}:{line}")
    cycles = strongly_connected(set(paths), succ)
    lines = [f"{a} -> {b}: {', '.join(w)}" for (a, b), w in sorted(where.items())
             if any(a in c and b in c for c in cycles)]
    assert not cycles, f"module import cycles {cycles}:\n" + "\n".join(lines)
