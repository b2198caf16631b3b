"""The ICP document: sections, charts, formats, the one-page PDF, gaps, escaping and privacy."""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from icpkit.errors import ConfigError
from icpkit.profile import SCHEMA_VERSION, IcpProfile, RuleEvidence
from icpkit.report import (
    ReportInput,
    build_view,
    render,
    render_html,
    render_markdown,
    render_onepager_pdf,
)
from icpkit.report import formatting as fmt
from icpkit.report.view import attribute_category, rule_category

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ONEPAGER_SECTIONS = ("statement", "criteria", "disqualifiers", "tiers", "charts")
DETAIL_SECTIONS = (
    "segments",
    "single-traits",
    "scorecard",
    "validation",
    "data-quality",
    "changes",
    "method",
)


def _profile(name: str) -> IcpProfile:
    return IcpProfile.read(FIXTURES / f"profile_{name}.json")


@pytest.fixture(scope="module")
def full() -> ReportInput:
    return ReportInput(
        _profile("full"),
        version=3,
        version_note="after Q2",
        diff_text="+ criterion added: region = 'EMEA'",
    )


@pytest.fixture(scope="module")
def full_html(full: ReportInput) -> str:
    return render_html(full)


class _Outline(HTMLParser):
    """Section ids, declared chart figures and the <svg> elements inside them, every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.figures: list[str] = []
        self.svgs_in_figures = 0
        self.links: list[str] = []
        self._in_figure = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "section" and a.get("id"):
            self.sections.append(str(a["id"]))
        if tag == "figure" and a.get("data-chart"):
            self.figures.append(str(a["data-chart"]))
            self._in_figure = True
        if tag == "svg" and self._in_figure:
            self.svgs_in_figures += 1
            self._in_figure = False
        self.links += [str(v) for k, v in attrs if k in ("src", "href", "xlink:href") and v]


def _outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    parser.close()
    return parser


def test_html_has_every_section_and_one_svg_per_declared_chart(
    full: ReportInput, full_html: str
) -> None:
    outline = _outline(full_html)
    assert set(ONEPAGER_SECTIONS + DETAIL_SECTIONS) <= set(outline.sections)
    declared = [c.key for c in build_view(full).charts] + ["gains"]
    # page 1 shows the value-by-tier chart first; every declared chart is drawn exactly once
    assert sorted(outline.figures) == sorted(declared) and outline.figures[0] == "tiers"
    assert set(declared) >= {"industry", "size", "geography", "tiers"}
    assert outline.svgs_in_figures == len(declared)


def test_html_is_self_contained(full_html: str) -> None:
    outline = _outline(full_html)
    assert not [link for link in outline.links if not link.startswith("#")]
    assert "<script" not in full_html
    assert "@import" not in full_html and "url(http" not in full_html


def test_html_shows_numbers_as_a_reader_wants(full_html: str) -> None:
    text = re.sub(r"<svg.*?</svg>", "", full_html, flags=re.S)
    assert "41%" in text and "2.6×" in text and "2.2–3.0×" in text
    assert not re.search(r"\d\.\d{5,}", text), "unrounded number in the report"


def test_criteria_are_grouped_by_category(full_html: str) -> None:
    positions = [
        full_html.find(f'<th colspan="5">{c}</th>')
        for c in ("firmographics", "technographics", "behaviour", "buying process")
    ]
    assert all(p > 0 for p in positions) and positions == sorted(positions)


@pytest.mark.parametrize(
    ("attr", "op", "category"),
    [
        ("industry", "eq", "firmographics"),
        ("annual_revenue", "range", "firmographics"),
        ("tech_stack", "contains", "technographics"),
        ("tools", "contains", "technographics"),
        ("web_visits_90d", "range", "behaviour"),
        ("champion_title", "eq", "buying process"),
        ("sales_cycle_days", "range", "buying process"),
        ("favourite_colour", "eq", "other attributes"),
    ],
)
def test_attribute_category(attr: str, op: str, category: str) -> None:
    assert attribute_category(attr, op) == category


def test_rule_category_takes_the_most_specific_condition() -> None:
    assert rule_category("region = 'EMEA' AND tech_stack contains 'Snowflake'") == "technographics"
    assert rule_category("industry = 'Software' AND employees in [100, 5000)") == "firmographics"
    assert rule_category("this is not a rule ((") == "other attributes"


def test_json_round_trips(full: ReportInput, tmp_path: Path) -> None:
    path = render(full, "json", tmp_path / "icp.json")
    assert IcpProfile.from_json(path.read_text(encoding="utf-8")) == full.profile


def test_markdown_has_the_json_criteria_and_writes_its_charts(
    full: ReportInput, tmp_path: Path
) -> None:
    path = render(full, "md", tmp_path / "icp.md")
    text = path.read_text(encoding="utf-8")
    profile = IcpProfile.from_json(render(full, "json", tmp_path / "icp.json").read_text("utf-8"))
    for rule in [*profile.criteria, *profile.disqualifiers]:
        assert f"`{rule.rule}`" in text
    links = re.findall(r"!\[[^\]]*\]\(([^)]+\.svg)\)", text)
    assert links and all((tmp_path / link).read_text("utf-8").startswith("<svg") for link in links)
    assert profile.statement in text


def test_markdown_table_cells_cannot_break_the_table() -> None:
    rule = RuleEvidence(
        rule="segment = 'a|b'",
        support=5,
        coverage=0.1,
        precision=0.2,
        lift=1.5,
        lift_ci=(1.0, 2.0),
        description="pipes | and <b>tags</b>",
    )
    text, _ = render_markdown(ReportInput(IcpProfile(criteria=[rule])))
    line = next(x for x in text.splitlines() if x.startswith("| `segment"))
    cells = re.split(r"(?<!\\)\|", line)[1:-1]
    assert len(cells) == 6 and "<b>" not in line


def test_missing_sections_degrade_gracefully() -> None:
    report = ReportInput(_profile("minimal"))
    html = render_html(report)
    outline = _outline(html)
    assert set(ONEPAGER_SECTIONS + DETAIL_SECTIONS) <= set(outline.sections)
    assert outline.figures == []
    for phrase in (
        "Backtest not available",
        "Scorecard not available",
        "Tiers not available",
        "Charts not available",
        "No previous version",
    ):
        assert phrase in html
    text, charts = render_markdown(report)
    assert "Backtest not available" in text and charts == {}


def test_empty_profile_renders_every_format(tmp_path: Path) -> None:
    report = ReportInput(IcpProfile())
    for fmt_name in ("html", "md", "json"):
        assert render(report, fmt_name, tmp_path / f"empty.{fmt_name}").stat().st_size > 0


def test_user_text_is_escaped_everywhere() -> None:
    planted = "<script>alert(1)</script>"
    profile = _profile("full")
    traits = [
        t.model_copy(update={"rule": "industry = '<script>alert(1)</script>'"}) if i == 0 else t
        for i, t in enumerate(profile.single_traits)
    ]
    profile = profile.model_copy(
        update={
            "statement": planted,
            "name": planted,
            "single_traits": traits,
            "caveats": [planted],
        }
    )
    html = render_html(ReportInput(profile))
    assert "<script" not in html and "&lt;script&gt;" in html
    text, charts = render_markdown(ReportInput(profile))
    assert "<script" not in text and all("<script" not in svg for svg in charts.values())


def test_unknown_format_and_missing_weasyprint_are_config_errors(
    full: ReportInput, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="unknown report format 'docx'"):
        render(full, "docx", tmp_path / "icp.docx")
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(ConfigError, match=r"icpkit\[pdf\]"):
        render(full, "pdf", tmp_path / "icp.pdf")
    assert not (tmp_path / "icp.pdf").exists()


def _crowded_profile() -> IcpProfile:
    """As much as the one-pager ever shows, with long words: it must still fit one page."""
    profile = _profile("full")
    attrs = [
        "industry",
        "tech_stack",
        "web_visits_90d",
        "champion_title",
        "favourite_colour",
        "annual_revenue",
        "funding_stage",
        "sales_cycle_days",
        "nps",
    ]
    rules = [
        RuleEvidence(
            rule=f"{a} = 'a rather long level name number {i}' AND country = 'US'",
            support=100 + i,
            coverage=0.2,
            precision=0.3,
            lift=1.8,
            lift_ci=(1.2, 2.4),
            evidence="moderate",
            description=f"A long plain-words description of criterion {i} that "
            "goes on for a while to wrap across the table cell",
        )
        for i, a in enumerate(attrs)
    ]
    return profile.model_copy(
        update={"criteria": rules, "disqualifiers": rules[:6], "statement": profile.statement * 2}
    )


@pytest.mark.parametrize(
    "profile",
    [_profile("full"), _crowded_profile(), _profile("minimal")],
    ids=["full", "crowded", "minimal"],
)
def test_onepager_pdf_is_exactly_one_page(profile: IcpProfile, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    path = render_onepager_pdf(ReportInput(profile, version=1), tmp_path / "one.pdf")
    assert len(pypdf.PdfReader(path).pages) == 1


def test_full_pdf_starts_with_the_onepager(full: ReportInput, tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    reader = pypdf.PdfReader(render(full, "pdf", tmp_path / "icp.pdf"))
    assert len(reader.pages) > 1
    first, second = (reader.pages[i].extract_text() for i in (0, 1))
    assert "WHO TO TARGET" in first.upper() and "Detailed report" not in first
    assert "Detailed report" in second


@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["coverage", "lift", "q_value", "n", "mean_value", "points", "win_rate_ci"]),
)
def test_every_float_formats_without_noise(x: float, key: str) -> None:
    text = fmt.value(key, x)
    assert text and "e+" not in text and "nan" not in text.lower()
    assert not re.search(r"\.\d{4,}", text)


@pytest.mark.parametrize(
    ("x", "expected"), [(0.414, "41%"), (0.004, "<1%"), (0.0, "0%"), (1.0, "100%")]
)
def test_percent(x: float, expected: str) -> None:
    assert fmt.percent(x) == expected


def test_records_table_formats_by_field_name() -> None:
    table = fmt.records_table(
        [
            {
                "tier": "Tier 1",
                "n_accounts": 1200,
                "win_rate": 1 / 3,
                "win_rate_ci": [0.25, 0.41],
                "lift": 2.55,
                "extra": None,
            }
        ]
    )
    assert table.columns == ("tier", "accounts", "win rate", "win rate 95% CI", "lift")
    assert table.rows == (("Tier 1", "1,200", "33%", "25–41%", "2.5×"),)
    assert table.numeric == (False, True, True, True, True)


def test_report_never_shows_contacts(tmp_path: Path) -> None:
    """Plant contact names and e-mails in the CRM, build for real, grep every format."""
    pipeline = pytest.importorskip("icpkit.pipeline")
    from icpkit.config import config_from_dict
    from icpkit.datasets import make_crm

    crm = make_crm(n_accounts=400, seed=3)
    names = crm.contacts["name"].to_list() + crm.contacts["email"].to_list()
    assert any(n.startswith("Contact ") for n in names)
    config = config_from_dict({}, origin="test")
    built = pipeline.build_icp(crm.to_crm_data(), config, validate=False)
    report = ReportInput(built.profile, version=1)
    outputs = {f: render(report, f, tmp_path / f"icp.{f}") for f in ("html", "md", "json")}
    texts = [p.read_text("utf-8") for p in outputs.values()]
    texts += [p.read_text("utf-8") for p in (tmp_path / "icp_charts").glob("*.svg")]
    planted = re.compile(r"Contact \d+|contact\d+@example\.com")
    assert not [m.group(0) for t in texts for m in [planted.search(t)] if m]
    assert json.loads(outputs["json"].read_text("utf-8"))["schema_version"] == SCHEMA_VERSION


def test_render_version_reads_the_store_and_diffs_against_the_previous_version(
    tmp_path: Path,
) -> None:
    from icpkit.config import WorkspaceConfig
    from icpkit.pipeline import Workspace
    from icpkit.pipeline import render_report as render_version

    workspace = Workspace(tmp_path, WorkspaceConfig())
    first = _profile("full")
    second = first.model_copy(update={"criteria": first.criteria[1:]})
    for profile, note in ((first, "first"), (second, "dropped one")):
        workspace.store.save(
            profile.to_json(), config_hash="c", fingerprint={}, validation=None, note=note
        )
    path = render_version(workspace, "latest", "md")
    assert path == tmp_path / "reports" / "icp-v2.md"
    text = path.read_text("utf-8")
    assert "v2 — dropped one" in text and first.criteria[0].rule in text.split("## Changes")[1]
    older = render_version(workspace, 1, "html", tmp_path / "v1.html").read_text("utf-8")
    assert "No previous version to compare with" in older


def test_tiers_show_the_backtest_beside_the_in_sample_rate() -> None:
    """In-sample tier rates are optimistic; with a backtest the one-pager shows both, and the
    'value by tier' chart plots the out-of-time win rate, never the in-sample rate alone."""
    profile = _profile("full")
    html = render_html(ReportInput(profile, version=1), onepager_only=True)
    assert "win rate (backtest)" in html and "success (build)" in html
    assert "52% n=140" in html  # Tier 1 win rate after the cut, with its sample size
    assert "backtest, 95% intervals" in html
    without = profile.model_copy(update={"validation": None})
    html = render_html(ReportInput(without, version=1), onepager_only=True)
    assert "win rate (backtest)" not in html
    assert "in-sample: optimistic" in html
