"""The evidence tables of the report: tiers, the points scorecard and the backtest KPIs.

Like view.py, nothing here computes a statistic: it picks, orders and formats what scoring, tiers
and validation measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from icpkit.report import formatting as fmt
from icpkit.report.formatting import Table, records_table
from icpkit.report.view import Titled

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
    # How tiers are really assigned (score and criterion and disqualifier), when stored
    least.update({str(k): str(v) for k, v in (tiers.get("rules") or {}).items()})
    backtest = backtest_win_rates(validation)
    out = []
    for r in rows:
        if isinstance(r, Mapping):
            score = least.get(str(r.get("tier")))
            tier_rate = backtest.get(str(r.get("tier")))
            extra = {"backtest_win_rate": tier_rate} if tier_rate is not None else {}
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
        "success_rate": success_header(tiers),
        "backtest_win_rate": held_out_header(validation),
    }
    headers = (
        tuple(names.get(c, h) for c, h in zip(present, table.columns, strict=True))
        if present
        else ()
    )
    worded = bool((tiers or {}).get("rules"))
    if worded:
        headers = tuple(
            "assigned when" if c == "min_score" else h
            for c, h in zip(present, headers, strict=True)
        )
    numeric = tuple(
        (n or c == "min_score") and not (worded and c == "min_score")
        for c, n in zip(present, table.numeric, strict=True)
    )
    return Table(headers or table.columns, table.rows, numeric or table.numeric)


def success_header(tiers: Mapping[str, Any] | None) -> str:
    """The in-sample rate's header, named by what it is: 'won (build)' or 'best (build)'."""
    name = str((tiers or {}).get("success_name") or "")
    if name == "won":
        return "won (build)"
    if name.startswith("best"):
        return "best (build)"
    return "success (build)"


def held_out_header(validation: Mapping[str, Any] | None) -> str:
    """The held-out rate's header: what is counted and how the held-out data was chosen."""
    v = validation or {}
    what = "best share" if str(v.get("outcome", "")).startswith("best") else "win rate"
    how = "cross-validated" if v.get("method") == "cross-validated" else "backtest"
    return f"{what} ({how})"


def tier_note(tiers: Mapping[str, Any] | None) -> str:
    """One line on what the tiers achieve (Tier 1+2 share of accounts and of successes)."""
    m = (tiers or {}).get("bar") or (tiers or {}).get("madkudu") or {}
    share, success = m.get("tier12_share"), m.get("tier12_success_share")
    rules = (
        " Tiers follow the 'assigned when' column: the best tier whose every condition an account "
        "meets (near a criterion = misses at most one of its conditions)."
        if (tiers or {}).get("rules")
        else ""
    )
    if share is None or success is None:
        return rules.strip()
    return (
        f"Tier 1 and 2 are {fmt.percent(share)} of accounts and hold "
        f"{fmt.percent(success)} of the successes." + rules
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
    means = (card.get("info") or {}).get("probability_of")
    if means and card.get("probability"):
        note += f" fit_probability is the calibrated probability that {means}."
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
    where = (
        "Cross-validated (not out-of-time), each account scored by an ICP built without it"
        if v.get("method") == "cross-validated"
        else f"Backtest from {v.get('cut_date') or 'the cut date'}"
    )
    lines = [
        *[str(x) for x in (v.get("verdict") or {}).get("lines", [])],
        f"{where}: {v.get('n_deals', 0):,} deals "
        f"({v.get('n_closed', 0):,} closed) on {v.get('n_accounts', 0):,} accounts; "
        f"evidence {v.get('evidence', 'unknown')}.",
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
