"""What the report shows, read from the result objects: the view both templates render.

Nothing here computes a statistic. It picks, groups, sorts and formats what discovery, scoring,
tiers, validation and the store already measured, and notes which sections have no data so the
report can say what to add instead of showing an empty table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from icpkit.errors import IcpError
from icpkit.profile import IcpProfile, RuleEvidence
from icpkit.report import formatting as fmt
from icpkit.report.formatting import Table, records_table
from icpkit.rules import parse_segment

CATEGORIES = ("firmographics", "technographics", "behaviour", "buying process", "other attributes")
FIRMOGRAPHIC = frozenset(
    {
        "industry",
        "sub_industry",
        "employees",
        "annual_revenue",
        "revenue",
        "country",
        "region",
        "state",
        "city",
        "founded_year",
        "company_age",
        "ownership",
        "funding_stage",
        "segment",
    }
)
_TECH_WORDS = ("tech", "stack", "tool", "platform", "integration", "software")
_BUYING_WORDS = (
    "champion",
    "title",
    "persona",
    "seniority",
    "department",
    "role",
    "decision",
    "buyer",
    "committee",
    "stakeholder",
    "cycle",
    "budget",
    "procurement",
    "contract",
    "deal",
    "amount",
    "acv",
    "discount",
    "product",
)
_BEHAVIOUR_WORDS = (
    "visit",
    "usage",
    "engagement",
    "signal",
    "intent",
    "nps",
    "csat",
    "login",
    "active",
    "download",
    "webinar",
    "event",
    "trial",
    "source",
    "referral",
    "hiring",
    "funding_round",
    "leadership",
    "churn",
    "tenure",
    "expansion",
)
ONEPAGER_CRITERIA = 8  # more rows than this would push the one-pager onto a second page
ONEPAGER_DISQUALIFIERS = 4
KPI_ORDER = (
    "win_rate",
    "conversion",
    "avg_deal_size",
    "median_sales_cycle_days",
    "churn_rate",
    "ltv",
    "cac",
)
SHARE_KPIS = frozenset({"win_rate", "conversion", "churn_rate"})
EVIDENCE_LEVELS = ("strong", "moderate", "weak", "insufficient")


@dataclass(frozen=True)
class CriterionRow:
    """One criterion or disqualifier as displayed, with its evidence in compact form."""

    category: str
    text: str
    rule: str
    support: str
    coverage: str
    precision: str
    lift: str
    lift_ci: str
    q_value: str
    evidence: str


@dataclass(frozen=True)
class Chart:
    """A declared chart: its key, title, one-line caption and the SVG markup."""

    key: str
    title: str
    caption: str
    svg: str


@dataclass(frozen=True)
class Titled:
    """A titled table (one attribute's single-trait profile, one validation table…)."""

    title: str
    table: Table
    note: str = ""


@dataclass(frozen=True)
class ReportView:
    """Everything the templates show, already formatted; ``missing`` says what is absent and why."""

    title: str
    version_label: str
    data_date: str
    built_at: str
    statement: str
    criteria_groups: list[tuple[str, list[CriterionRow]]]
    criteria_hidden: int
    disqualifiers: list[CriterionRow]
    disqualifiers_hidden: int
    tiers: Table
    tiers_detail: Table
    tier_note: str
    charts: list[Chart]
    counts_line: str
    segments: Table
    single_traits: list[Titled]
    scorecard: Table
    scorecard_note: str
    validation_lines: list[str]
    validation_tables: list[Titled]
    gains_chart: Chart | None
    quality_lines: list[str]
    quality_tables: list[Titled]
    diff_text: str
    method_lines: list[str]
    caveats: list[str]
    missing: dict[str, str] = field(default_factory=dict)


MISSING = {
    "criteria": "No criterion has enough evidence yet: add more closed deals or outcomes.",
    "disqualifiers": "No disqualifier has enough evidence yet.",
    "tiers": "Tiers not available: the ICP has no scorecard (add a deals table so icpkit can learn "
    "one, or write a spec).",
    "charts": "Charts not available: they need the single-trait profiles or tiers of a "
    "learned ICP.",
    "segments": "Segments not available: discovery reported none.",
    "single_traits": "Single-trait profiles not available: discovery reported none.",
    "scorecard": "Scorecard not available: add a deals table (won/lost) so icpkit can learn "
    "points.",
    "validation": "Backtest not available: add a deals table with created_at dates so icpkit can "
    "test the ICP on deals after a cut date.",
    "data_quality": "Data-quality summary not available: run `icpkit check` on the workspace.",
    "diff": "No previous version to compare with: this is the first saved version.",
}


def attribute_category(attr: str, op: str = "eq") -> str:
    """Which kind of criterion an attribute is: firmographics, technographics, behaviour…

    Known firmographic columns first; a multi-valued (``contains``) attribute is a technographic
    tag; otherwise the attribute's name decides, and anything unknown is 'other attributes'.
    """
    name = attr.lower()
    if name in FIRMOGRAPHIC:
        return "firmographics"
    if op == "contains" or any(w in name for w in _TECH_WORDS):
        return "technographics"
    if any(w in name for w in _BUYING_WORDS):
        return "buying process"
    if any(w in name for w in _BEHAVIOUR_WORDS):
        return "behaviour"
    return "other attributes"


def rule_category(rule: str) -> str:
    """The category of a rule: its most specific condition's (buying process over behaviour over
    technographics over firmographics), because that is the signal a seller acts on."""
    try:
        conditions = list(parse_segment(rule))
    except IcpError:
        return "other attributes"
    found = {attribute_category(c.attr, c.op) for c in conditions}
    for category in ("buying process", "behaviour", "technographics", "firmographics"):
        if category in found:
            return category
    return "other attributes"


def criterion_row(r: RuleEvidence) -> CriterionRow:
    """A rule and its evidence, formatted for a table."""
    return CriterionRow(
        category=rule_category(r.rule),
        text=_sentence_case(r.description) or r.rule,
        rule=r.rule,
        support=f"{r.support:,}",
        coverage=fmt.percent(r.coverage),
        precision=fmt.percent(r.precision),
        lift=fmt.lift(r.lift),
        lift_ci=fmt.interval(r.lift_ci[0], r.lift_ci[1]),
        q_value=fmt.q_value(r.q_value),
        evidence=r.evidence,
    )


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]


def group_criteria(rows: Sequence[CriterionRow]) -> list[tuple[str, list[CriterionRow]]]:
    """Criteria by category, categories in the fixed reading order, rows in discovery's order."""
    return [
        (c, [r for r in rows if r.category == c])
        for c in CATEGORIES
        if any(r.category == c for r in rows)
    ]


def tier_records(
    tiers: Mapping[str, Any] | None, validation: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The per-tier rows of the tiers result (count, success rate…) with each tier's least score.

    With a backtest, each row also carries the tier's out-of-time win rate (value, interval, n),
    so the in-sample success rate is never shown alone.
    """
    if not tiers:
        return []
    rows = tiers.get("table") or tiers.get("tiers") or []
    if isinstance(rows, Mapping):  # {"Tier 1": {...}, ...}
        rows = [{"tier": name, **dict(v)} for name, v in rows.items()]
    cuts = tiers.get("cuts") or {}
    least: dict[str, Any] = {f"Tier {i}": cuts.get(f"tier{i}") for i in (1, 2, 3)}
    if cuts.get("tier3") is not None:  # Non-fit: below Tier 3, or any score with a disqualifier
        least["Non-fit"] = f"<{cuts['tier3']}"
    backtest = backtest_win_rates(validation)
    out = []
    for r in rows:
        if isinstance(r, Mapping):
            score = least.get(str(r.get("tier")))
            extra = {"backtest_win_rate": backtest[str(r.get("tier"))]} if backtest else {}
            out.append({**({"min_score": score} if score is not None else {}), **r, **extra})
    return out


def backtest_win_rates(validation: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    """Out-of-time win rate per tier from the backtest KPIs: {tier: {value, ci_low, ci_high, n}}."""
    kpis = (validation or {}).get("kpis") or []
    return {
        str(k["group"]): k
        for k in kpis
        if isinstance(k, Mapping)
        and k.get("kpi") == "win_rate"
        and k.get("value") is not None
        and str(k.get("group", "")).startswith(("Tier", "Non-fit"))
    }


def backtest_cell(k: Mapping[str, Any], *, interval: bool = True) -> str:
    """'58% [51–64%] n=225' (or '58% n=225' where space is short): a rate, interval and n."""
    low, high = k.get("ci_low"), k.get("ci_high")
    ci = ""
    if interval and low is not None and high is not None:
        ci = f" [{fmt.percent(float(low))}–{fmt.percent(float(high))}]"
    return f"{fmt.percent(k['value'])}{ci} n={k.get('n', '?')}"


TIER_COLUMNS = (
    "tier",
    "min_score",
    "count",
    "n_accounts",
    "share",
    "share_accounts",
    "success_rate",
    "success_share",
    "backtest_win_rate",
)
ONEPAGER_TIER_COLUMNS = (
    "tier",
    "min_score",
    "count",
    "n_accounts",
    "success_rate",
    "backtest_win_rate",
)


def tiers_table(
    tiers: Mapping[str, Any] | None,
    columns: Sequence[str] = TIER_COLUMNS,
    validation: Mapping[str, Any] | None = None,
    *,
    compact: bool = False,
) -> Table:
    """Tiers with their least score, counts, share of accounts and historical success rate."""
    rows = [
        {**r, "backtest_win_rate": backtest_cell(r["backtest_win_rate"], interval=not compact)}
        if "backtest_win_rate" in r
        else r
        for r in tier_records(tiers, validation)
    ]
    present = [c for c in columns if any(c in r for r in rows)]
    table = records_table(rows, present or None)
    names = {
        "count": "accounts",
        "share": "share of accounts",
        "success_share": "share of successes",
        "success_rate": "success (build)",
        "backtest_win_rate": "win rate (backtest)",
    }
    headers = (
        tuple(names.get(c, h) for c, h in zip(present, table.columns, strict=True))
        if present
        else ()
    )
    numeric = tuple(n or c == "min_score" for c, n in zip(present, table.numeric, strict=True))
    return Table(headers or table.columns, table.rows, numeric or table.numeric)


def tier_note(tiers: Mapping[str, Any] | None) -> str:
    """One line on what the tiers achieve (Tier 1+2 share of accounts and of successes)."""
    m = (tiers or {}).get("bar") or (tiers or {}).get("madkudu") or {}
    share, success = m.get("tier12_share"), m.get("tier12_success_share")
    if share is None or success is None:
        return ""
    return (
        f"Tier 1 and 2 are {fmt.percent(share)} of accounts and hold "
        f"{fmt.percent(success)} of the successes."
    )


def scorecard_table(scorecard: Mapping[str, Any] | None) -> tuple[Table, str]:
    """The points table (attribute, bin, points) and a line on how points add up to the score."""
    if not scorecard:
        return Table((), (), ()), ""
    card = scorecard.get("scorecard", scorecard)
    rows = []
    for feature in card.get("features", []):
        labels, points = feature.get("labels", []), feature.get("points", [])
        for i, (label, pts) in enumerate(zip(labels, points, strict=False)):
            rows.append(
                {
                    "attribute": feature.get("name", "") if i == 0 else "",
                    "bin": label,
                    "points": f"{pts:+d}" if isinstance(pts, int) else pts,
                }
            )
    table = records_table(rows, ["attribute", "bin", "points"])
    table = Table(table.columns, table.rows, (False, False, True))
    base = card.get("base")
    note = (
        ""
        if base is None
        else (
            f"Every account starts at {base} points; its fit score (0–100) is that base plus the "
            "points of the bin it falls in for each attribute."
        )
    )
    return table, note


def kpi_table(validation: Mapping[str, Any]) -> Table:
    """Backtest KPIs, one row per group (tiers, ICP, non-ICP, all), each cell ``value (CI) n``."""
    cells: dict[str, dict[str, str]] = {}
    kpis = [k for k in validation.get("kpis", []) if isinstance(k, Mapping)]
    for k in kpis:
        cells.setdefault(str(k.get("group")), {})[str(k.get("kpi"))] = _kpi_cell(k)
    names = [n for n in KPI_ORDER if any(n in row for row in cells.values())]
    names += sorted({n for row in cells.values() for n in row} - set(names))
    names = [n for n in names if any(row.get(n, fmt.DASH) != fmt.DASH for row in cells.values())]
    rows = tuple((g, *(row.get(n, fmt.DASH) for n in names)) for g, row in cells.items())
    headers = ("group", *(fmt.header(n).replace("avg ", "average ") for n in names))
    # cells hold a value, an interval and n: they wrap, so they are not set as numeric columns
    return Table(headers, rows, (False, *(False for _ in names)))


def _kpi_cell(k: Mapping[str, Any]) -> str:
    v = k.get("value")
    if v is None:
        return fmt.DASH
    name = str(k.get("kpi"))
    key = "rate" if name in SHARE_KPIS else "value"
    text = fmt.value(key, float(v))
    lo, hi = k.get("ci_low"), k.get("ci_high")
    if lo is not None and hi is not None:
        text += f" ({fmt.value(key, float(lo))}–{fmt.value(key, float(hi))})"
    return f"{text} n={int(k.get('n') or 0):,}"


def validation_lines(v: Mapping[str, Any]) -> list[str]:
    """The backtest in sentences: cut, sizes, AUC, top-decile lift, coverage, weakened rules."""
    lines = [
        f"Backtest from {v.get('cut_date') or 'the cut date'}: {v.get('n_deals', 0):,} deals "
        f"({v.get('n_closed', 0):,} closed) on {v.get('n_accounts', 0):,} accounts; "
        f"evidence {v.get('evidence', 'unknown')}."
    ]
    auc = v.get("auc") or {}
    if auc.get("value") is not None:
        lines.append(
            f"AUC of the fit score on won vs lost deals: {auc['value']:.2f} "
            f"({_pair(auc, 'number')}, n={auc.get('n', 0):,})."
        )
    if v.get("top_decile_lift") is not None:
        lines.append(
            f"Top decile of fit score: {fmt.lift(v['top_decile_lift'])} the average win rate."
        )
    m = v.get("madkudu") or {}
    if m.get("flagged_share") is not None and m.get("wins_share") is not None:
        lines.append(
            f"Tier 1 and 2 flag {fmt.percent(m['flagged_share'])} of accounts and hold "
            f"{fmt.percent(m['wins_share'])} of the wins."
        )
    c = v.get("coverage") or {}
    if c.get("best_in_icp_share") is not None:
        lines.append(
            f"The ICP describes {fmt.percent(c['best_in_icp_share'])} of the "
            f"{c.get('n_best', 0):,} best customers after the cut."
        )
    weak = [r.get("rule") for r in v.get("criteria", []) if r.get("weakened")]
    if weak:
        lines.append("Criteria whose evidence weakened after the cut: " + "; ".join(map(str, weak)))
    return lines


def _pair(d: Mapping[str, Any], kind: str) -> str:
    lo, hi = d.get("ci_low"), d.get("ci_high")
    return fmt.DASH if lo is None or hi is None else fmt.interval(lo, hi, kind)


def validation_tables(v: Mapping[str, Any]) -> list[Titled]:
    """KPIs by tier, the gains table, calibration and the criteria re-check, each when present."""
    out = [
        Titled(
            "KPIs by tier after the cut",
            kpi_table(v),
            "Cells: value (95% confidence interval) and the number of deals or accounts.",
        )
    ]
    gains_cols = [
        "decile",
        "n_deals",
        "n_won",
        "win_rate",
        "lift",
        "cum_share_of_deals",
        "cum_share_of_wins",
        "cum_lift",
    ]
    named = (
        ("gains", "Gains by decile of fit score", gains_cols),
        ("reliability", "Calibration: predicted probability vs observed win rate", None),
        ("criteria", "Criteria re-checked on the best customers after the cut", None),
    )
    for key, title, cols in named:
        rows = [r for r in v.get(key) or [] if isinstance(r, Mapping)]
        if rows:
            present = [c for c in cols if any(c in r for r in rows)] if cols else None
            out.append(Titled(title, records_table(rows, present)))
    return [t for t in out if t.table]


TRAIT_COLUMNS = (
    "rule",
    "support",
    "share_best",
    "share_not_best",
    "lift_best",
    "lift_best_ci",
    "q_best",
    "share_worst",
)
TRAIT_ROWS = 12  # per attribute; the JSON profile keeps every condition


def single_trait_tables(traits: Sequence[Mapping[str, Any]]) -> list[Titled]:
    """One table per attribute: each condition's share among the best, the rest and the worst.

    Conditions keep discovery's order (most significant first); each ``*_lo``/``*_hi`` pair is shown
    as one interval column.
    """
    by_attribute: dict[str, list[dict[str, Any]]] = {}
    for t in traits:
        row = dict(t)
        for key in [k for k in row if k.endswith("_lo") and k[:-3] + "_hi" in row]:
            row[key[:-3] + "_ci"] = [row[key], row[key[:-3] + "_hi"]]
        by_attribute.setdefault(str(t.get("attribute", "attribute")), []).append(row)
    out = []
    for attribute, rows in by_attribute.items():
        known = [c for c in TRAIT_COLUMNS if any(c in r for r in rows)]
        columns = known or [k for k in rows[0] if k != "attribute"]
        hidden = len(rows) - TRAIT_ROWS
        note = f"{hidden} more conditions in the JSON profile." if hidden > 0 else ""
        out.append(Titled(attribute, records_table(rows[:TRAIT_ROWS], columns), note))
    return out


def segment_records(profile: IcpProfile) -> list[dict[str, Any]]:
    """Every reported segment; the criteria and disqualifiers when discovery stored none."""
    if profile.segments:
        return [dict(s) for s in profile.segments]
    return [
        {**r.model_dump(mode="json"), "kind": kind}
        for kind, rules in (
            ("criterion", profile.criteria),
            ("disqualifier", profile.disqualifiers),
        )
        for r in rules
    ]


SEGMENT_COLUMNS = (
    "rule",
    "kind",
    "support",
    "coverage",
    "precision",
    "lift",
    "lift_ci",
    "q_value",
    "evidence",
    "holdout_lift",
)


def segments_table(profile: IcpProfile) -> Table:
    """Every segment with its evidence, in discovery's order (search internals stay in the JSON)."""
    rows = segment_records(profile)
    return records_table(rows, [c for c in SEGMENT_COLUMNS if any(c in r for r in rows)])


def quality_summary(
    quality: Mapping[str, Any] | None, check_lines: Sequence[str] | None
) -> tuple[list[str], list[Titled]]:
    """Data-quality sentences (warnings, missing tables and what they would unlock) and tables."""
    lines: list[str] = list(check_lines or [])
    tables: list[Titled] = []
    if not quality:
        return lines, tables
    n = int(quality.get("n_warnings", len(quality.get("warnings", []))))
    lines.append(
        f"{n:,} warning{'s' if n != 1 else ''} while loading the data."
        if n
        else "No warnings while loading the data."
    )
    lines += [f"Warning: {w}" for w in list(quality.get("warnings", []))[:20]]
    if n > 20:
        lines.append(f"… and {n - 20:,} more (run `icpkit check` for the full list).")
    missing = quality.get("missing_tables") or {}
    if isinstance(missing, Mapping):
        lines += [f"Missing table {t}: it would unlock {what}." for t, what in missing.items()]
    else:
        lines += [f"Missing table {t}." for t in missing]
    sizes = quality.get("tables") or {}
    if sizes:
        rows = [{"table": t, "rows": int(v)} for t, v in sizes.items()]
        tables.append(Titled("Rows per table", records_table(rows)))
    return lines, tables


def counts_line(counts: Mapping[str, int]) -> str:
    """The sample sizes behind the ICP, in one line."""
    names = (
        ("n_accounts", "accounts"),
        ("n_best", "best"),
        ("n_worst", "worst"),
        ("n_rest", "in between"),
        ("n_deals", "deals"),
    )
    parts = [f"{counts[k]:,} {label}" for k, label in names if k in counts]
    return "Based on " + ", ".join(parts) + "." if parts else ""


def method_lines(profile: IcpProfile) -> list[str]:
    """How the ICP was found and how much to trust it, in plain sentences from stored results."""
    lines = []
    sd = profile.success_definition
    metrics = [
        str(m.get("name", m.get("metric", "")))
        for m in sd.get("metrics", [])
        if isinstance(m, Mapping)
    ]
    if metrics:
        best, worst = sd.get("best_share"), sd.get("worst_share")
        shares = (
            f" The top {fmt.percent(best)} are the best customers and the bottom "
            f"{fmt.percent(worst)} the worst."
            if best is not None and worst is not None
            else ""
        )
        lines.append(f"Customers are ranked by a success score from {', '.join(metrics)}." + shares)
    if counts_line(profile.counts):
        lines.append(counts_line(profile.counts))
    rules = [*profile.criteria, *profile.disqualifiers]
    tally = {lvl: sum(r.evidence == lvl for r in rules) for lvl in EVIDENCE_LEVELS}
    if rules:
        lines.append(
            "Evidence of the criteria and disqualifiers: "
            + ", ".join(f"{n} {lvl}" for lvl, n in tally.items() if n)
            + "."
        )
    weak = [r for r in rules if r.evidence in ("weak", "insufficient")]
    if weak:
        lines.append(
            "Weak evidence — treat these as hypotheses to test, not facts: "
            + "; ".join(
                f"{r.rule} ({r.support:,} accounts, q {fmt.q_value(r.q_value)})" for r in weak
            )
            + "."
        )
    lines.append(
        "Coverage is the share of the best customers (worst, for a disqualifier) a rule "
        "describes; lift is how much likelier a covered account is to be among them "
        "than an average account, with its 95% confidence interval; q is the "
        "significance after correcting for the many rules tried."
    )
    return lines
