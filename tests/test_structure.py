"""The engine's shape, checked from the source: no import cycles in core/ (function-local imports
included), no Streamlit or app layer inside core/, and small modules."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MAX_LINES = 300
FORBIDDEN_IN_CORE = ("streamlit", "app_support", "pages", "devtools")


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: str) -> dict[str, Path]:
    return {module_name(p): p for p in sorted((REPO / package).rglob("*.py"))}


def imported_names(path: Path) -> list[str]:
    """Every module an `import` anywhere in the file names, including inside functions;
    `from a import b` names `a.b` too, in case b is a submodule."""
    out: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.append(node.module)
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def core_graph() -> dict[str, set[str]]:
    mods = modules("core")
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        graph[name] = {m for m in imported_names(path) if m in mods and m != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert find_cycles(graph) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_core_has_no_import_cycles() -> None:
    graph = core_graph()
    assert "core.index.build" in graph and graph["core.index.build"]  # the walk sees imports
    assert find_cycles(graph) == []


def test_core_imports_no_streamlit_and_no_app_layer() -> None:
    offending = {
        name: sorted(m for m in imported_names(path)
                     if m.split(".")[0] in FORBIDDEN_IN_CORE)
        for name, path in modules("core").items()
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_no_module_is_over_the_size_limit() -> None:
    sizes = {str(p.relative_to(REPO)): len(p.read_text(encoding="utf-8").splitlines())
             for package in ("core", "app_support", "pages", "devtools", "benchmarks")
             for p in (REPO / package).rglob("*.py")}
    sizes[str(Path("streamlit_app.py"))] = len((REPO / "streamlit_app.py").read_text().splitlines())
    assert {f: n for f, n in sizes.items() if n > MAX_LINES} == {}
