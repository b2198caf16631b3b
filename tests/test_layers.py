"""The dependency direction of ARCHITECTURE.md, enforced by reading every import in src/icpkit.

Each module has a layer; a module imports only from lower layers. A new module must be given a
layer here, so no module escapes the rule by being forgotten.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "icpkit"
EDGE_LIBS = {"typer", "fastapi", "uvicorn", "starlette"}
LAYER = {
    "errors": 0, "stats": 0,
    "config": 1, "atomic": 1,
    "data": 2, "rules": 2, "synthetic": 2,
    "profile": 3, "datasets": 3, "outcomes": 3, "backtest": 3, "tiers": 3,
    "scoring": 4, "discovery": 4, "kpis": 4, "stability": 4, "diff": 4, "store": 4,
    "validation": 5, "drift": 5, "report": 5,
    "pipeline": 6,
    "cli": 7, "web": 7, "__init__": 7,
}  # fmt: skip
EDGES = {"cli", "web"}
# IcpProfile.score() imports the scorer inside the method: a convenience for Python users.
ALLOWED_UPWARD = {("profile", "scoring")}
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
            if parts[0] == "icpkit" and len(parts) > 1 and parts[1] != "__version__":
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
    upward = {m for m in inner if LAYER.get(m, 99) >= LAYER[top] and (top, m) not in ALLOWED_UPWARD}
    assert not upward, f"{path} imports from its own layer or above: {sorted(upward)}"
    if top == "report":
        assert inner <= REPORT_MAY_IMPORT, (
            f"{path.name} computes: imports {inner - REPORT_MAY_IMPORT}"
        )
