"""A slimmer install: charts drawn as plain SVG, duckdb only as the `sql` extra."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

import pytest

from icpkit.errors import ConfigError
from icpkit.report.svg import Bar, column_bars, gains_line, grouped_bars, nice_ticks

ROOT = Path(__file__).parents[1]


def test_no_plotting_or_browser_engine_in_the_base_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    for heavy in ("altair", "vl-convert", "duckdb", "openpyxl"):
        assert heavy not in base, heavy
    assert any("duckdb" in d for d in project["optional-dependencies"]["sql"])
    sources = list((ROOT / "src").rglob("*.py"))
    # top level only: an optional part is imported inside the function that needs it, with an
    # install hint (openpyxl for writing .xlsx output)
    pattern = re.compile(r"^(import|from) (altair|vl_convert|openpyxl)\b", re.M)
    assert sources and not [p for p in sources if pattern.search(p.read_text())]


def test_duckdb_missing_is_a_clear_install_hint(tmp_path: Path, monkeypatch) -> None:
    from icpkit.data import read_table

    (tmp_path / "crm.duckdb").write_bytes(b"not really a database")
    monkeypatch.setitem(sys.modules, "duckdb", None)  # import duckdb now raises ImportError
    with pytest.raises(ConfigError, match=r"icpkit\[sql\]"):
        read_table(tmp_path / "crm.duckdb")


def test_charts_are_self_contained_escaped_svg() -> None:
    svgs = [
        grouped_bars(
            ["<script>alert(1)</script>", "Software & Services"],
            [("best", "#123456", [0.4, 0.1]), ("rest", "#abcdef", [0.2, 0.3])],
            x_title="share",
            y_title="industry",
            key="industry",
        ),
        column_bars(
            [Bar("Tier 1", 0.57, 0.4, 0.7, "57%"), Bar("Non-fit", 0.16, None, None, "16%")],
            x_title="tier",
            y_title="win rate",
            key="tiers",
        ),
        gains_line([(0, 0), (0.5, 0.7), (1, 1)], x_title="deals", y_title="wins", key="gains"),
    ]
    for svg in svgs:
        assert svg.startswith("<svg") and svg.endswith("</svg>")
        assert "<script" not in svg and "href" not in svg
    assert "&lt;script&gt;" in svgs[0] and "Software &amp; Services" in svgs[0]
    assert svgs[0].count("<rect x=") == 4  # two levels × two groups


@pytest.mark.parametrize("top", [0.07, 0.35, 0.57, 1.0, 0.0])
def test_ticks_cover_the_data_with_round_steps(top: float) -> None:
    ticks = nice_ticks(top)
    assert ticks[0] == 0 and ticks[-1] >= top and 2 <= len(ticks) <= 6
