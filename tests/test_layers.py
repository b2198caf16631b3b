"""The dependency direction of ARCHITECTURE.md, enforced by reading every import in src/icpkit.

Each module has a layer; a module imports only from lower layers. A new module must be given a
layer here, so no module escapes the rule by being forgotten.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "icpkit"
EDGE_LIBS = {"typer", "fastapi", "uvicorn", "starlette"}
LAYER = {
    "errors": 0, "stats": 0, "vocab": 0, "version": 0,
    "config": 1, "atomic": 1,
    "data": 2, "rules": 2,
    "profile": 3, "datasets": 3, "outcomes": 3,
    "scoring": 4, "discovery": 4, "themes": 4, "personas": 4, "signals": 4,
    "evaluation": 5, "lifecycle": 5, "report": 5, "export": 5, "engines": 5, "lookalikes": 5,
    # sync reuses export's hardened HTTP client (5) and is called by the pipeline's refresh (6)
    "sync": 5.5,

    "worklist": 5,
    "pipeline": 6,
    "web": 7, "__init__": 7, "cli": 8, "__main__": 9,
}  # fmt: skip
EDGES = {"cli", "web", "__main__"}
# Rendering reads result objects only; it never computes.
REPORT_MAY_IMPORT = {"errors", "stats", "config", "atomic", "rules", "profile"}


def _icpkit_imports(path: Path) -> tuple[set[str], set[str]]:
    """(icpkit modules imported, third-party roots imported) by one file."""
    inner: set[str] = set()
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "icpkit":
                names += [f"icpkit.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "icpkit" and len(parts) > 1:
                inner.add(parts[1])
            elif parts[0] != "icpkit":
                roots.add(parts[0])
    return inner, roots


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(SRC).parts[0].removesuffix(".py"), p) for p in sorted(SRC.rglob("*.py"))]


@pytest.mark.parametrize(("top", "path"), _modules(), ids=lambda v: str(v))
def test_imports_point_down_the_layers(top: str, path: Path) -> None:
    assert top in LAYER, f"{top} has no layer: give it one in tests/test_layers.py"
    inner, roots = _icpkit_imports(path)
    inner.discard(top)
    if top not in EDGES:
        assert not roots & EDGE_LIBS, f"{path.name} imports an edge library: {roots & EDGE_LIBS}"
    upward = {m for m in inner if LAYER.get(m, 99) >= LAYER[top]}
    assert not upward, f"{path} imports from its own layer or above: {sorted(upward)}"
    if top == "report":
        assert inner <= REPORT_MAY_IMPORT, (
            f"{path.name} computes: imports {inner - REPORT_MAY_IMPORT}"
        )


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@pytest.mark.parametrize(("top", "path"), _modules(), ids=lambda v: str(v))
def test_no_private_name_is_imported_from_another_module(top: str, path: Path) -> None:
    """A leading underscore means "this module only": another module that needs it gets a public name."""
    own = _module_name(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("icpkit"):
            private = [a.name for a in node.names if a.name.startswith("_") and node.module != own]
            assert not private, f"{path.name} imports private {private} from {node.module}"


def _graph() -> dict[str, set[str]]:
    """Module → the icpkit modules it imports at import time (TYPE_CHECKING blocks and imports
    inside functions are not import-time edges and cannot form a cycle at load)."""
    modules = {_module_name(p): p for p in SRC.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def test_no_import_cycles() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            # A package's __init__ importing its own submodules is not a cycle with them.
            if node.startswith(nxt + ".") or nxt.startswith(node + "."):
                continue
            if state.get(nxt) == 1:
                raise AssertionError(
                    "import cycle: " + " -> ".join([*stack[stack.index(nxt) :], nxt])
                )
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_the_architecture_map_lists_every_package() -> None:
    """docs/architecture.md draws the layout; it names every top-level module and package, and
    only those, so the map cannot go stale without this test failing."""
    doc = (SRC.parents[1] / "docs" / "architecture.md").read_text(encoding="utf-8")
    block = doc.split("<!-- layout -->")[1].split("<!-- /layout -->")[0]
    named = set(re.findall(r"^  ([a-z_]+)(?:\.py|/)", block, flags=re.M))
    present = {
        p.name.removesuffix(".py")
        for p in SRC.iterdir()
        if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert named == present, f"in the map only: {named - present}; in src only: {present - named}"
