"""The market size (``profile.MarketSize``) as lines, Markdown and HTML with SVG charts; formatting only."""

from __future__ import annotations

from html import escape

from icpkit.profile import EnrichmentSummary, MarketEstimate, MarketRow, MarketSize

_ACCENT, _INK, _GRID = "#1f5f8b", "#2b2f33", "#e6e8eb"


def _num(x: float) -> str:
    if abs(x) >= 1e9:
        return f"{x / 1e9:.1f}B"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.1f}M"
    if abs(x) >= 1e4:
        return f"{x / 1e3:.0f}k"
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}"


def _est(e: MarketEstimate | None, money: str = "") -> str:
    if e is None:
        return "—"
    return f"{money}{_num(e.mean)} ({money}{_num(e.low)}–{money}{_num(e.high)})"


def _row_cells(r: MarketRow, currency: str) -> list[str]:
    return [
        r.value, f"{r.companies:,}", f"{r.customers:,} ({r.penetration:.1%})",
        f"{r.win_rate.mean:.1%} ({r.win_rate.low:.1%}–{r.win_rate.high:.1%})",
        _est(r.expected_wins), _est(r.acv, currency + " "), _est(r.revenue_potential, currency + " "),
    ]  # fmt: skip


HEAD = ["segment", "companies", "customers (penetration)", "win rate (80%)",
        "expected wins (80%)", "ACV (80%)", "revenue potential (80%)"]  # fmt: skip
TITLES = {"all": "All", "tier": "By tier", "country": "By country", "industry": "By industry"}


def market_lines(m: MarketSize) -> list[str]:
    """The market for the terminal: one line per segment."""
    lines = [f"Market in {m.universe}: {m.companies:,} companies, scored by version {m.version}"]
    for by, title in TITLES.items():
        rows = [r for r in m.rows if r.by == by]
        if not rows:
            continue
        lines.append(f"{title}:")
        for r in rows:
            c = _row_cells(r, m.currency)
            lines.append(
                f"  {c[0]}: {c[1]} companies, customers {c[2]}, win rate {c[3]}, "
                f"expected wins {c[4]}, revenue potential {c[6]}"
            )
    lines.append(m.method)
    lines += [f"warning: {w}" for w in m.warnings]
    return lines


def market_markdown(m: MarketSize) -> str:
    """The market section in Markdown: one table per grouping, intervals in brackets."""
    out = [f"## Market size: {m.universe}", "",
           f"{m.companies:,} companies scored by ICP version {m.version}. {m.method}", ""]  # fmt: skip
    for by, title in TITLES.items():
        rows = [r for r in m.rows if r.by == by]
        if not rows:
            continue
        out += [f"### {title}", "", "| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
        out += ["| " + " | ".join(_row_cells(r, m.currency)) + " |" for r in rows]
        out.append("")
    out += [f"- warning: {w}" for w in m.warnings]
    return "\n".join(out) + "\n"


def interval_bars(rows: list[MarketRow], key: str, money: bool = False) -> str:
    """Horizontal bars of expected wins (or revenue potential) with their 80% interval."""
    values = [(r.value, r.revenue_potential if money else r.expected_wins) for r in rows]
    values = [(v, e) for v, e in values if e is not None]
    if not values:
        return ""
    top = max(e.high for _, e in values) or 1.0  # type: ignore[union-attr]
    left, width, bar = 150, 300, 18
    height = len(values) * (bar + 6) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" '
        f'role="img" aria-label="{escape(key)}" font-family="Helvetica, Arial, sans-serif" font-size="11">'
    ]
    for i, (label, e) in enumerate(values):
        assert e is not None
        y = 6 + i * (bar + 6)
        w = e.mean / top * width
        lo, hi = left + e.low / top * width, left + e.high / top * width
        parts.append(
            f'<text x="{left - 6}" y="{y + 13}" text-anchor="end" fill="{_INK}">{escape(label[:22])}</text>'
        )
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar}" fill="{_ACCENT}"/>')
        parts.append(
            f'<line x1="{lo:.1f}" y1="{y + bar / 2}" x2="{hi:.1f}" y2="{y + bar / 2}" stroke="{_INK}" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{hi + 4:.1f}" y="{y + 13}" fill="{_INK}">{escape(_num(e.mean))}</text>'
        )
    axis = "revenue potential" if money else "expected wins"
    parts.append(
        f'<line x1="{left}" y1="{height - 16}" x2="{left + width}" y2="{height - 16}" stroke="{_GRID}"/>'
    )
    parts.append(
        f'<text x="{left}" y="{height - 4}" fill="{_INK}">{axis}, bar = mean, line = 80% interval</text>'
    )
    return "".join(parts) + "</svg>"


def market_html(m: MarketSize) -> str:
    """A standalone HTML page: the tables and a chart per grouping."""
    body = [f"<h2>Market size: {escape(m.universe)}</h2>",
            f"<p>{m.companies:,} companies scored by ICP version {m.version}. {escape(m.method)}</p>"]  # fmt: skip
    for by, title in TITLES.items():
        rows = [r for r in m.rows if r.by == by]
        if not rows:
            continue
        body.append(f"<h3>{title}</h3>")
        if by != "all":
            body.append(interval_bars(rows, f"market-{by}"))
            body.append(interval_bars(rows, f"market-{by}-revenue", money=True))
        body.append("<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in HEAD) + "</tr>")
        for r in rows:
            body.append(
                "<tr>"
                + "".join(f"<td>{escape(c)}</td>" for c in _row_cells(r, m.currency))
                + "</tr>"
            )
        body.append("</table>")
    body += [f"<p>warning: {escape(w)}</p>" for w in m.warnings]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Market size</title>"
        "<style>body{font-family:Helvetica,Arial,sans-serif;color:#2b2f33;max-width:960px;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border-bottom:1px solid #e6e8eb;padding:3px 8px;text-align:left}"
        "</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )


# --- the report's sections: enrichment provenance and the market (rendered by render.py) ---


def enrichment_report_lines(summary: EnrichmentSummary | None) -> list[str]:
    """Where the accounts' firmographics came from: each source's matches and fills, then the
    fill rates before and after ('industry: 71% → 96%, +412 from FinanceDatabase')."""
    if summary is None:
        return []
    lines = [
        f"Enriched {summary.at[:10]} from {len(summary.sources)} universe(s) in waterfall order "
        f"(match probability ≥ {summary.threshold:.2f}; CRM values "
        f"{'overwritten' if summary.overwrite else 'kept'})."
    ]
    for s in summary.sources:
        fills = ", ".join(f"{f} +{n:,}" for f, n in s.filled.items() if n) or "nothing"
        lines.append(
            f"{s.universe}: {s.matched:,} of {summary.accounts:,} accounts matched "
            f"({s.match_rate:.0%}); filled {fills}"
        )
    for field, after in summary.fill_after.items():
        before = summary.fill_before.get(field, 0.0)
        if after != before:
            lines.append(f"{field}: filled {before:.0%} → {after:.0%}")
    if summary.n_conflicts:
        lines.append(f"{summary.n_conflicts:,} values disagreed between sources; the first kept")
    if summary.duplicates:
        lines.append(f"{len(summary.duplicates):,} pairs of CRM accounts look like one company")
    return lines


def market_report_html(m: MarketSize | None) -> str:
    """The market section's body for the HTML report (tables and charts), or ''."""
    if m is None:
        return ""
    page = market_html(m)
    return page[page.index("<body>") + 6 : page.index("</body>")]
