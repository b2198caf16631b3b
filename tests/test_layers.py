"""The dependency direction of ARCHITECTURE.md, enforced by reading every import in src/icpkit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "icpkit"
EDGES = {"cli", "web"}
EDGE_LIBS = {"typer", "fastapi", "uvicorn", "starlette"}
# module (first component under icpkit) → icpkit modules it must never import
FORBIDDEN = {
    "errors": {"*"},
    "config": {
        "data",
        "outcomes",
        "discovery",
        "scoring",
        "tiers",
        "validation",
        "store",
        "report",
        "pipeline",
        "drift",
        "diff",
        "datasets",
    },
    "data": {
        "outcomes",
        "discovery",
        "scoring",
        "tiers",
        "validation",
        "store",
        "report",
        "pipeline",
        "drift",
        "diff",
        "datasets",
    },
    "rules": {
        "outcomes",
        "discovery",
        "scoring",
        "tiers",
        "validation",
        "store",
        "report",
        "pipeline",
        "datasets",
    },
    "outcomes": {"discovery", "scoring", "tiers", "validation", "store", "report", "pipeline"},
    "discovery": {"scoring", "tiers", "validation", "store", "report", "pipeline"},
    "scoring": {"discovery", "validation", "store", "report", "pipeline"},
    "tiers": {"discovery", "validation", "store", "report", "pipeline"},
    "validation": {"store", "report", "pipeline"},
    "drift": {"store", "report", "pipeline"},
    "report": {
        "discovery",
        "scoring",
        "tiers",
        "validation",
        "outcomes",
        "drift",
        "diff",
        "store",
        "pipeline",
    },
    "pipeline": set(),
    # split out of validation and drift; same direction as the modules they came from
    "stats": {"*"},
    "backtest": {"outcomes", "discovery", "scoring", "tiers", "validation", "store", "report"},
    "kpis": {"outcomes", "discovery", "scoring", "tiers", "validation", "store", "report"},
    "stability": {"validation", "drift", "store", "report", "pipeline"},
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            if node.module == "icpkit":
                names.update(f"icpkit.{alias.name}" for alias in node.names)
    return names


def _modules() -> list[tuple[str, Path]]:
    return [(p.relative_to(SRC).parts[0].removesuffix(".py"), p) for p in sorted(SRC.rglob("*.py"))]


@pytest.mark.parametrize(("top", "path"), _modules(), ids=lambda v: str(v))
def test_core_never_imports_the_edges(top: str, path: Path) -> None:
    if top in EDGES:
        return
    imported = _imports(path)
    roots = {name.split(".")[0] for name in imported}
    assert not roots & EDGE_LIBS, f"{path.name} imports an edge library: {roots & EDGE_LIBS}"
    inner = {name.split(".")[1] for name in imported if name.startswith("icpkit.")}
    assert not inner & EDGES, f"{path.name} imports {inner & EDGES}"
    forbidden = FORBIDDEN.get(top, set())
    if "*" in forbidden:
        assert not inner, f"{path.name} must not import other icpkit modules: {inner}"
    else:
        assert not inner & forbidden, f"{path.name} imports upward: {inner & forbidden}"
