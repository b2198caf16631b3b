"""Fast start: `icpkit --help` / `--version` and `import icpkit` load no heavy library."""

from __future__ import annotations

import json
import subprocess
import sys

import icpkit

HEAVY = ("polars", "pandas", "pyarrow", "sklearn", "scipy", "weasyprint", "numpy", "jinja2")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    modules = set(json.loads(out.splitlines()[-1]))
    return [m for m in HEAVY if m in modules]


def test_importing_the_cli_loads_no_heavy_library() -> None:
    assert _loaded_after("import icpkit.cli") == []


def test_version_and_help_load_no_heavy_library() -> None:
    code = (
        "from typer.testing import CliRunner\n"
        "from icpkit.cli import app\n"
        "r = CliRunner()\n"
        "assert r.invoke(app, ['--version']).exit_code == 0\n"
        "assert r.invoke(app, ['--help']).exit_code == 0\n"
        "assert r.invoke(app, ['score', '--help']).exit_code == 0\n"
    )
    assert _loaded_after(code) == []


def test_the_public_names_resolve_lazily() -> None:
    assert _loaded_after("import icpkit; icpkit.__version__") == []
    for name in icpkit.__all__:
        assert getattr(icpkit, name) is not None, name
    assert icpkit.score is icpkit.score_accounts
    assert set(dir(icpkit)) >= set(icpkit.__all__)
