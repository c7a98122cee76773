"""The house's import rules, read from the source: plot/ only draws, no package imports a package
that imports it back, and the light packages stay light."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "vizkit"


def _imports(path: Path) -> set[str]:
    """Every module ``path`` imports (at any depth: function-local imports count), absolute."""
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out.add(mod)
            out.update(f"{mod}.{a.name}" for a in node.names)  # `from . import x` is module x
    return out


def _package_of(module: str) -> str | None:
    """``vizkit.plot.errors`` -> ``vizkit.plot``; ``vizkit.cli`` -> ``vizkit.cli``."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "vizkit" and len(parts) > 1 else None


FORBIDDEN_IN_PLOT = ("vizkit.analysis", "vizkit.train", "vizkit.models", "vizkit.figures",
                     "vizkit.estimator", "vizkit.hooks", "vizkit._torch", "vizkit.gallery", "torch")


def test_imports_are_read_right():
    """The reader of this file resolves relative imports (a check of the check)."""
    found = _imports(PKG / "figures" / "errors.py")
    assert {"vizkit.plot.errors", "vizkit.analysis.errors", "vizkit.plot.figure"} <= found
    assert "vizkit.figures._write" in _imports(PKG / "figures" / "__init__.py")


@pytest.mark.parametrize("path", sorted((PKG / "plot").glob("*.py")), ids=lambda p: p.name)
def test_plot_only_draws(path):
    """plot/ imports no analysis, training, models or torch, not even inside a function."""
    bad = sorted(m for m in _imports(path)
                 if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_PLOT))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_no_import_circle_between_packages():
    """The graph of vizkit's packages (module-level and function-local imports alike) has no
    cycle; a cycle is named when there is one."""
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        rel = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        src = _package_of(rel.removesuffix(".__init__")) or "vizkit"
        deps = {_package_of(m) for m in _imports(path)} - {None, src, "vizkit"}
        graph.setdefault(src, set()).update(d for d in deps if d)
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(trail + [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert "vizkit.estimator" not in graph["vizkit.plot"]
    assert {"vizkit.analysis", "vizkit.train", "vizkit.models"}.isdisjoint(graph["vizkit.plot"])


def _loaded_after(statement: str) -> set[str]:
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)), check=True)
    return set(json.loads(r.stdout))


def test_import_costs_in_a_fresh_interpreter():
    """The estimator does not load matplotlib or the plotters; the plotters load no analysis,
    training or torch; the family registry (and so the CLI's --what help) loads no torch."""
    est = _loaded_after("import vizkit.estimator")
    assert not {m for m in est if m.startswith(("vizkit.plot", "matplotlib"))}
    plot = _loaded_after("import vizkit.plot")
    assert not {m for m in plot if m.startswith(("vizkit.analysis", "vizkit.train", "vizkit.models",
                                                 "vizkit.estimator", "vizkit.figures", "torch"))}
    reg = _loaded_after("import vizkit.figures")
    assert not {m for m in reg if m.startswith(("torch", "vizkit.analysis", "vizkit.train"))}
