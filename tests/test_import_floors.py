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
from concurrent.futures import ThreadPoolExecutor
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
# Packages held to less than "any floor below": workflow code runs in Temporal's sandbox and must
# replay, so it sees only the shared core (contracts, keys, activity declarations), never the rooms
# with activity code, the knowledge base or the niches, even though they sit on lower floors.
ONLY: dict[str, frozenset[str]] = {"workflows": frozenset({"tubeflow"})}


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _parse(source: str) -> ast.Module:
    """``ast.parse`` on a thread of its own. CPython 3.11.7 can raise "SystemError: AST constructor
    recursion depth mismatch" when it parses at the stack depth a long pytest session leaves
    (seen twice in the full suite, never alone); a new thread starts its count afresh."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(ast.parse, source).result()


def _imports(path: Path, mod: str) -> set[str]:
    """Absolute names of the project modules ``path`` (module ``mod``) imports, relative imports resolved."""
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(_parse(path.read_text(encoding="utf-8"))):
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


def _graph(root: Path = ROOT) -> dict[str, set[str]]:
    modules = {
        _module_name(p, root): p for pkg in LEVEL for p in (root / pkg).rglob("*.py") if "__pycache__" not in p.parts
    }
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


def _wrong_arrows(graph: dict[str, set[str]]) -> list[str]:
    """Each import that runs up a floor, sideways to a neighbour room, or out of what ``ONLY`` allows."""
    wrong = []
    for src, targets in sorted(graph.items()):
        src_pkg = src.split(".")[0]
        for dst in sorted(targets):
            dst_pkg = dst.split(".")[0]
            if dst_pkg == src_pkg:
                continue
            if LEVEL[dst_pkg] >= LEVEL[src_pkg]:
                wrong.append(f"{src} -> {dst}")
            elif src_pkg in ONLY and dst_pkg not in ONLY[src_pkg]:
                allowed = ", ".join(f"{p}/" for p in sorted(ONLY[src_pkg] | {src_pkg}))
                wrong.append(f"{src} -> {dst} ({src_pkg}/ imports only {allowed})")
    return wrong


def test_no_import_runs_up_or_sideways() -> None:
    wrong = _wrong_arrows(_graph())
    why = "imports that run up, sideways or out of bounds (move the shared piece down):\n"
    assert not wrong, why + "\n".join(wrong)


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


def test_the_check_flags_planted_arrows(tmp_path: Path) -> None:
    """A planted tree with one arrow of each kind: every wrong one is reported, the allowed ones are not."""
    files = {
        "tubeflow/__init__.py": "",
        "tubeflow/contracts.py": "",
        "tubeflow/bad.py": "def f():\n    from cli import main\n",  # up, and lazy
        "niches/__init__.py": "",
        "niches/config.py": "from tubeflow import contracts\n",  # down: fine
        "knowledge/__init__.py": "",
        "knowledge/facts.py": "from niches.config import X\n",  # down: fine
        "activities/__init__.py": "",
        "activities/tts.py": "import gpu_activities.render\n",  # sideways
        "gpu_activities/__init__.py": "",
        "gpu_activities/render.py": "",
        "workflows/__init__.py": "",
        "workflows/ok.py": "from tubeflow.contracts import Stage\nfrom . import other\n",  # the core and itself
        "workflows/other.py": "",
        "workflows/bad.py": (
            "from activities import tts\nimport gpu_activities.render\n"
            "def f():\n    from knowledge.facts import g\n    from niches import config\n"
        ),
        "cli/__init__.py": "",
        "cli/main.py": "from workflows import ok\nfrom activities import tts\n",  # down: fine
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    only = "(workflows/ imports only tubeflow/, workflows/)"
    assert _wrong_arrows(_graph(tmp_path)) == [  # ``from pkg import mod`` is an arrow to both
        "activities.tts -> gpu_activities.render",
        "tubeflow.bad -> cli",
        "tubeflow.bad -> cli.main",
        f"workflows.bad -> activities {only}",
        f"workflows.bad -> activities.tts {only}",
        f"workflows.bad -> gpu_activities.render {only}",
        f"workflows.bad -> knowledge.facts {only}",
        f"workflows.bad -> niches {only}",
        f"workflows.bad -> niches.config {only}",
    ]
