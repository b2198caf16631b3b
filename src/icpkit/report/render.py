"""Render an ICP version as a one-page ICP plus a detailed report: HTML, PDF, Markdown or JSON.

The HTML is self-contained (styles inline, charts inline as SVG, no fonts, scripts or links to
fetch), so it opens offline and prints the same everywhere. The PDF is that HTML through
WeasyPrint (the ``pdf`` extra). Markdown carries the tables and statement, with the charts as SVG
files beside it. JSON is the profile itself. Every file is written atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jinja2

from icpkit.atomic import atomic_path, write_text_atomic
from icpkit.errors import ConfigError
from icpkit.profile import EnrichmentSummary, IcpProfile, MarketSize
from icpkit.report import charts as chart_makers
from icpkit.report import signals_view as sv
from icpkit.report import tables_view as t
from icpkit.report import view as v
from icpkit.report.enrich_view import (
    enrichment_report_lines,
    market_markdown,
    market_report_html,
)
from icpkit.report.feedback_view import feedback_view
from icpkit.report.lookalikes_view import find_more_view
from icpkit.report.personas_view import personas_view
from icpkit.report.themes_view import pains_view
from icpkit.report.usage_view import usage_tables

Format = Literal["html", "pdf", "md", "json"]
FORMATS: tuple[str, ...] = ("html", "pdf", "md", "json")
SUFFIX = {"html": ".html", "pdf": ".pdf", "md": ".md", "json": ".json"}
PDF_MISSING = "PDF output needs WeasyPrint: pip install 'icpkit[pdf]'"


@dataclass(frozen=True)
class ReportInput:
    """What a report renders: a profile and, optionally, its version and changelog.

    ``diff_text`` is the changelog against the previous version, computed by the caller
    (``pipeline.render_report`` runs :func:`icpkit.lifecycle.diff.diff_profiles` on the two
    stored versions and passes ``ProfileDiff.to_text()``); the report only renders it.
    """

    profile: IcpProfile
    version: int | None = None
    version_note: str = ""
    diff_text: str | None = None
    lookalikes: dict[str, Any] | None = None  # the last lookalikes run ("Where to find more")
    enrichment: EnrichmentSummary | None = None  # the last `icpkit enrich` run (issue 29)
    market: MarketSize | None = None  # the last `icpkit market` run (issue 29)
    enrichment_examples: tuple[str, ...] = ()  # a few filled values with their provenance


Limits = tuple[int, int]
# Rows of criteria and disqualifiers the one-pager shows, most first: the PDF takes the first that
# fits one A4 page (long statements and descriptions wrap), the HTML the first.
ONEPAGER_LIMITS: tuple[Limits, ...] = (
    (v.ONEPAGER_CRITERIA, v.ONEPAGER_DISQUALIFIERS),
    (6, 3),
    (4, 2),
    (3, 1),
    (2, 1),
    (1, 1),
)


def build_view(report: ReportInput, limits: Limits = ONEPAGER_LIMITS[0]) -> v.ReportView:
    """Read the result objects into what the templates show (no statistics are computed).

    ``limits`` caps the criteria and disqualifier rows on the one-pager; the detailed report
    always lists every segment.
    """
    p = report.profile
    max_criteria, max_disqualifiers = limits
    rows = [v.criterion_row(r) for r in p.criteria]
    disq = [v.criterion_row(r) for r in p.disqualifiers]
    scorecard, scorecard_note = t.scorecard_table(p.scorecard)
    quality_lines, quality_tables = v.quality_summary(p.data_quality)
    fate_lines, fate_tables = v.column_fates_summary(p.column_fates)
    quality_lines, quality_tables = [*quality_lines, *fate_lines], [*quality_tables, *fate_tables]
    view = v.ReportView(
        title=p.name if p.name and p.name != "icp" else "Ideal Customer Profile",
        version_label=_version_label(report),
        data_date=p.success_definition.as_of or "–",
        built_at=p.created_at[:10],
        statement=p.statement,
        criteria_groups=v.group_criteria(rows[:max_criteria]),
        criteria_hidden=max(0, len(rows) - max_criteria),
        disqualifiers=disq[:max_disqualifiers],
        disqualifiers_hidden=max(0, len(disq) - max_disqualifiers),
        tiers=t.tiers_table(p.tiers, t.ONEPAGER_TIER_COLUMNS, p.validation, compact=True),
        tiers_detail=t.tiers_table(p.tiers, validation=p.validation),
        tier_note=t.tier_note(p.tiers),
        charts=chart_makers.onepager_charts(p),
        counts_line=v.counts_line(p.counts),
        segments=v.segments_table(p),
        single_traits=v.single_trait_tables(p.single_traits),
        scorecard=scorecard,
        scorecard_note=scorecard_note,
        validation_lines=t.validation_lines(p.validation) if p.validation else [],
        validation_tables=t.validation_tables(p.validation) if p.validation else [],
        gains_chart=chart_makers.gains_chart(p.validation),
        quality_lines=quality_lines,
        quality_tables=quality_tables,
        diff_text=report.diff_text or "",
        method_lines=v.method_lines(p),
        caveats=[*p.caveats, *(p.validation.caveats if p.validation else [])],
        held_out=v.held_out(
            p.validation, [*p.caveats, *(p.validation.caveats if p.validation else [])]
        ),
        pains=pains_view(p),
        personas=personas_view(p.personas),
        **_signals_fields(p),
        feedback=feedback_view(p.feedback),
    )
    partition_lines, partition_tables = v.partition_view(p.partitions)
    view = replace(view, partition_lines=partition_lines, partition_tables=partition_tables)
    view = replace(view, find_more=find_more_view(report.lookalikes))
    view = replace(
        view,
        enrichment_lines=[
            *enrichment_report_lines(report.enrichment),
            *(f"e.g. {e}" for e in report.enrichment_examples),
        ],
        market_html=market_report_html(report.market),
        market_markdown=market_markdown(report.market) if report.market else "",
    )

    view = replace(view, usage_tables=usage_tables(p))  # product usage (issue 28)
    return _with_missing(view)


def _signals_fields(p: IcpProfile) -> dict[str, Any]:
    """'When to reach out' and the buying-signals detail (icpkit.signals, issue 15)."""
    section = p.signals
    tables = []
    if section is not None and section.available:
        tables = [
            v.Titled("Signal types", sv.signals_table(section)),
            v.Titled("Fit + intent vs fit alone, out of time", sv.backtest_table(section.backtest)),
            v.Titled("By value (rounds, roles, tools)", sv.value_table(section)),
        ]
    return {
        "reach_out_lines": sv.reach_out_lines(section),
        "signals_note": sv.unavailable_text(section) or sv.detail_note(section),
        "signals_tables": [t for t in tables if t.table],
    }


def _version_label(report: ReportInput) -> str:
    label = f"v{report.version}" if report.version is not None else "unsaved"
    return f"{label} — {report.version_note}" if report.version_note else label


def _with_missing(view: v.ReportView) -> v.ReportView:
    present = {
        "criteria": bool(view.criteria_groups),
        "disqualifiers": bool(view.disqualifiers),
        "tiers": bool(view.tiers),
        "charts": bool(view.charts),
        "segments": bool(view.segments),
        "single_traits": bool(view.single_traits),
        "scorecard": bool(view.scorecard),
        "validation": bool(view.validation_lines),
        "data_quality": bool(view.quality_lines or view.quality_tables),
        "diff": bool(view.diff_text),
        "personas": view.personas is not None,
    }
    missing = {k: v.MISSING[k] for k, ok in present.items() if not ok}
    return v.ReportView(**{**view.__dict__, "missing": missing})


# ---------------------------------------------------------------------------------------------
# Templates


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("icpkit.report", "templates"),
        # HTML is escaped everywhere (names and rule values come from the user's data); the
        # Markdown template escapes table cells itself.
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=True
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["md"] = _markdown_cell
    env.filters["mdcode"] = _markdown_code
    env.filters["fence"] = _markdown_fence
    return env


def _css() -> str:
    return resources.files("icpkit.report").joinpath("templates/style.css").read_text("utf-8")


# Markdown that data can never turn into markup: link and image brackets, emphasis, code, table
# pipes and raw HTML are escaped; a bare URL or e-mail address (which GitHub-flavoured Markdown
# links by itself) gets an invisible word joiner so it stays text. Used for every data value
# and for the user's --note (a tracking-pixel image or a phishing link must not render).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~!])")
_AUTOLINK = re.compile(r"(?i)(https?:|ftp:|www\.)")
_WORD_JOINER = "\u2060"


def _markdown_cell(text: Any) -> str:
    """Data as Markdown text: cannot break a table, inject HTML, or become a link or image."""
    out = str(text).replace("\r", " ").replace("\n", " ")
    out = _MD_SPECIAL.sub(r"\\\1", out)
    out = out.replace("<", "&lt;").replace(">", "&gt;")
    out = _AUTOLINK.sub(_WORD_JOINER + r"\1", out)
    return out.replace("@", "@" + _WORD_JOINER)


def _markdown_code(text: Any) -> str:
    """Data as a Markdown code span (backticks included), safe inside a table cell."""
    body = str(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or longest else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def _markdown_fence(text: Any) -> str:
    """A code fence longer than any backtick run in ``text``, so the text cannot close it."""
    longest = max((len(m) for m in re.findall(r"`+", str(text))), default=0)
    return "`" * max(3, longest + 1)


def render_html(
    report: ReportInput,
    *,
    onepager_only: bool = False,
    limits: Limits = ONEPAGER_LIMITS[0],
    find_more_on_page: bool = True,
) -> str:
    """The report as one self-contained HTML page (the one-pager, then the detailed report).

    Parameters
    ----------
    report : ReportInput
        The profile and its version information.
    onepager_only : bool
        Leave out the detailed report (used for the one-page PDF).
    limits : tuple of (int, int)
        Most criteria and disqualifier rows on the one-pager.
    find_more_on_page : bool
        Show the "Where to find more" line on the one-pager (when a lookalikes run was saved).

    Returns
    -------
    str
        The HTML document.
    """
    template = _environment().get_template("report.html.j2")
    view = build_view(report, limits)
    return template.render(
        v=view, css=_css(), onepager_only=onepager_only, find_more_on_page=find_more_on_page
    )


def render_markdown(report: ReportInput, chart_dir: str = "charts") -> tuple[str, dict[str, str]]:
    """The report as Markdown, and the chart files it links to.

    Parameters
    ----------
    report : ReportInput
        The profile and its version information.
    chart_dir : str
        Folder (relative to the Markdown file) the charts are linked from.

    Returns
    -------
    tuple of (str, dict)
        The Markdown text and ``{relative path: SVG text}`` of every linked chart.
    """
    view = build_view(report)
    charts = [*view.charts, *([view.gains_chart] if view.gains_chart else [])]
    files = {f"{chart_dir}/{c.key}.svg": c.svg for c in charts}
    text = _environment().get_template("report.md.j2").render(v=view, chart_dir=chart_dir)
    return text, files


def render(report: ReportInput, fmt: Format | str, output: Path) -> Path:
    """Write the report in one format to ``output`` atomically and return the path.

    ``md`` also writes the charts as SVG files in ``<stem>_charts/`` beside the Markdown file;
    ``json`` writes the profile itself; ``pdf`` needs WeasyPrint (the ``pdf`` extra).

    Raises
    ------
    ConfigError
        For an unknown format, or PDF output without WeasyPrint installed.
    """
    output = Path(output)
    if fmt == "html":
        return write_text_atomic(output, render_html(report))
    if fmt == "json":
        return write_text_atomic(output, report.profile.to_json() + "\n")
    if fmt == "pdf":
        return _write_pdf(report, output, onepager_only=False)
    if fmt == "md":
        chart_dir = f"{output.stem}_charts"
        text, files = render_markdown(report, chart_dir)
        for relative, svg in files.items():
            write_text_atomic(output.parent / relative, svg)
        return write_text_atomic(output, text)
    raise ConfigError(f"unknown report format {fmt!r} (expected one of {', '.join(FORMATS)})")


def render_onepager_pdf(report: ReportInput, output: Path) -> Path:
    """Write the one-page ICP alone as a PDF (the first page of the full PDF report)."""
    return _write_pdf(report, Path(output), onepager_only=True)


def _write_pdf(report: ReportInput, output: Path, *, onepager_only: bool) -> Path:
    """Lay the one-pager out with the most rows that fit one page, then write the PDF."""
    try:
        import weasyprint
    except ImportError:
        raise ConfigError(PDF_MISSING) from None
    # "Where to find more" stays on page 1 only when it costs no criterion (else: detailed report)
    on_page = report.lookalikes is not None
    if on_page:
        html = render_html(report, onepager_only=True, limits=ONEPAGER_LIMITS[0])
        on_page = len(weasyprint.HTML(string=html).render().pages) == 1
    for limits in ONEPAGER_LIMITS:
        html = render_html(report, onepager_only=True, limits=limits, find_more_on_page=on_page)
        rendered = weasyprint.HTML(string=html).render()
        if len(rendered.pages) == 1:
            break
    if not onepager_only:
        html = render_html(report, limits=limits, find_more_on_page=on_page)
        rendered = weasyprint.HTML(string=html).render()
    with atomic_path(output) as tmp:
        rendered.write_pdf(str(tmp))
    return output
