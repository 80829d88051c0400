"""The import map: every package imports only from its own floor's package or the floors below.

Why: the shared core must stay importable by a GPU worker on another machine without the API or
the CLI, and workflows must not drag heavy activity code into the sandbox.  A room may not import
its neighbour on the same floor (activities ↔ gpu_activities, api ↔ autoscaler): what both need
moves down a floor.  The check reads the source (every ``import``, also inside functions), so a
lazy import cannot hide an arrow that runs back up, and it finds circles between modules.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Bottom to top; packages on one floor are rooms that must not import each other.
FLOORS: list[tuple[str, ...]] = [
    ("tubeflow",),
    ("niches",),
    ("knowledge",),
    ("activities", "gpu_activities"),
    ("workflows",),
    ("service",),
    ("api", "autoscaler"),
    ("cli",),
]
LEVEL = {pkg: i for i, floor in enumerate(FLOORS) for pkg in floor}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, mod: str) -> set[str]:
    """Absolute names of the project modules ``path`` (module ``mod``) imports, relative imports resolved."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            # ``from pkg import mod`` imports the submodule when there is one.
            for alias in node.names:
                found.add(f"{target}.{alias.name}")
    return {name for name in found if name.split(".")[0] in LEVEL}


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for pkg in LEVEL for p in (ROOT / pkg).rglob("*.py") if "__pycache__" not in p.parts}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for target in _imports(path, name):
            # Resolve to the longest existing module name (``a.b.func`` -> ``a.b``).
            parts = target.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts and ".".join(parts) != name:
                graph[name].add(".".join(parts))
    return graph


def test_every_package_is_on_a_floor() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= set(LEVEL) | {"tests", "bench"}, f"place new packages on a floor: {packages - set(LEVEL)}"


def test_no_import_runs_up_or_sideways() -> None:
    wrong = []
    for src, targets in _graph().items():
        src_pkg = src.split(".")[0]
        for dst in sorted(targets):
            dst_pkg = dst.split(".")[0]
            if dst_pkg == src_pkg:
                continue
            if LEVEL[dst_pkg] >= LEVEL[src_pkg]:
                wrong.append(f"{src} -> {dst}")
    assert not wrong, "imports that run up or sideways (move the shared piece down a floor):\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
                circles.append(sorted(component))

    for v in sorted(set(graph) | {w for ws in graph.values() for w in ws}):
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_the_check_sees_a_wrong_arrow(tmp_path: Path) -> None:
    """Relative and lazy imports are resolved, so the rules above cannot pass vacuously."""
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from cli.main import main\n    from .settings import Settings\n")
    found = _imports(probe, "tubeflow.probe")
    assert {"cli.main", "tubeflow.settings"} <= found
    assert LEVEL["cli"] > LEVEL["tubeflow"]
